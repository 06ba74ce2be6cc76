// /whatsapp-webhook: GET answers Meta's subscription challenge; POST receives notifications
// signed with X-Hub-Signature-256 over the raw body (up to 3 MiB), stored and applied once
// per message and status (docs/WEBHOOKS.md), and answers each person's message
// (docs/WHATSAPP.md, "The conversation").
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
import { webhookContext } from "../_shared/webhooks/store-then-apply.ts";
import { type ConversationDependencies, ConversationSession, profileNames } from "./conversation/session.ts";

export interface WhatsAppWebhookDependencies extends WebhookDependencies {
  /** What answering a person's message needs; asked for only when a delivery carries messages. */
  conversation(): ConversationDependencies;
}

const encoder = new TextEncoder();
// Meta's challenge is a number; anything else is not echoed back.
const CHALLENGE = /^[A-Za-z0-9._-]{1,256}$/;

export function createWhatsAppWebhookApp(options: AppOptions<WhatsAppWebhookDependencies>): Hono<SharedEnv> {
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
    const notification = parseJsonBody(rawBody, notificationSchema);
    const values = notification.entry.flatMap((entry) => entry.changes.map((change) => change.value));
    // Meta sends the webhooks of every business number of the app's accounts to its one callback
    // URL (Meta's test number, another product's number). Only what people write to mfuko's own
    // number (the one it answers from) is a command; the others are stored, never acted on.
    const ours = values.some((value) => (value.messages ?? []).length > 0)
      ? env("WHATSAPP_PHONE_NUMBER_ID").WHATSAPP_PHONE_NUMBER_ID
      : null;
    const messages = values.filter((value) => value.metadata?.phone_number_id === ours).flatMap((value) => value.messages ?? []);
    const session = messages.length === 0 ? null : new ConversationSession(options.dependencies().conversation(), webhookContext(c));
    await session?.admit(messages, new Map(values.flatMap((value) => [...profileNames(value)])));
    // The answers' follow-ups (MoMo's side of a top-up or cash-out) and sends run once the
    // messages are committed, also when another event of the delivery failed (500): the
    // redelivery finds these messages duplicates and would never answer them.
    return await deliver(c, await whatsAppEvents(notification, session?.answer), session ? () => session.afterCommit() : undefined);
  });
  return app;
}
