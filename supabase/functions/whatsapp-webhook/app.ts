// /whatsapp-webhook: GET answers Meta's subscription challenge; POST receives notifications
// signed with X-Hub-Signature-256 over the raw body (up to 3 MiB), stored and applied once
// per message and status (docs/WEBHOOKS.md).
import type { Hono } from "hono";
import { MIB, parseJsonBody } from "../_shared/body.ts";
import type { AppOptions } from "../_shared/composition.ts";
import { env } from "../_shared/env.ts";
import { HttpError } from "../_shared/errors.ts";
import { timingSafeEqual } from "../_shared/hmac.ts";
import type { SharedEnv } from "../_shared/middleware.ts";
import { notificationSchema, whatsAppEvents } from "../_shared/providers/whatsapp/events.ts";
import { verifyWhatsAppSignature, WHATSAPP_SIGNATURE_HEADER } from "../_shared/providers/whatsapp/signature.ts";
import { createWebhookApp, type WebhookDependencies } from "../_shared/webhooks/app.ts";
import { requireValidSignature } from "../_shared/webhooks/signature-check.ts";

const encoder = new TextEncoder();
// Meta's challenge is a number; anything else is not echoed back.
const CHALLENGE = /^[A-Za-z0-9._-]{1,256}$/;

export function createWhatsAppWebhookApp(options: AppOptions<WebhookDependencies>): Hono<SharedEnv> {
  const { app, deliver } = createWebhookApp({
    ...options,
    functionName: "whatsapp-webhook",
    provider: "whatsapp",
    methods: ["GET", "POST"],
    maxBodyBytes: 3 * MIB,
  });

  app.get("/", (c) => {
    const { WHATSAPP_VERIFY_TOKEN } = env("WHATSAPP_VERIFY_TOKEN");
    const token = c.req.query("hub.verify_token") ?? "";
    const challenge = c.req.query("hub.challenge");
    const tokenMatches = timingSafeEqual(encoder.encode(token), encoder.encode(WHATSAPP_VERIFY_TOKEN));
    if (c.req.query("hub.mode") !== "subscribe" || !tokenMatches || !challenge || !CHALLENGE.test(challenge)) {
      throw new HttpError(403, "verification_failed", "The subscription could not be verified.");
    }
    return c.text(challenge, 200);
  });

  app.post("/", async (c) => {
    const { WHATSAPP_APP_SECRET } = env("WHATSAPP_APP_SECRET");
    const rawBody = c.get("rawBody");
    requireValidSignature(await verifyWhatsAppSignature(rawBody, c.req.header(WHATSAPP_SIGNATURE_HEADER) ?? null, WHATSAPP_APP_SECRET));
    return deliver(c, await whatsAppEvents(parseJsonBody(rawBody, notificationSchema)));
  });
  return app;
}
