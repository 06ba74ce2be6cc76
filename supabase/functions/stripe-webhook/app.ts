// POST /stripe-webhook: Stripe events, verified with the official library over the raw body
// (Stripe-Signature, tolerance 300 s), stored and applied once (docs/WEBHOOKS.md).
import type { Hono } from "hono";
import type { AppOptions } from "../_shared/composition.ts";
import { env } from "../_shared/env.ts";
import type { SharedEnv } from "../_shared/middleware.ts";
import { stripeWebhookEvent } from "../_shared/providers/stripe/events.ts";
import { STRIPE_SIGNATURE_HEADER, verifyStripeEvent } from "../_shared/providers/stripe/signature.ts";
import { storableJson } from "../_shared/storable.ts";
import { createWebhookApp, type WebhookDependencies } from "../_shared/webhooks/app.ts";
import { requireValidSignature } from "../_shared/webhooks/signature-check.ts";

export function createStripeWebhookApp(options: AppOptions<WebhookDependencies>): Hono<SharedEnv> {
  const { app, deliver } = createWebhookApp({ ...options, functionName: "stripe-webhook", provider: "stripe", methods: ["POST"] });

  app.post("/", async (c) => {
    const { STRIPE_WEBHOOK_SECRET } = env("STRIPE_WEBHOOK_SECRET");
    const check = await verifyStripeEvent(c.get("rawBody"), c.req.header(STRIPE_SIGNATURE_HEADER) ?? null, STRIPE_WEBHOOK_SECRET);
    requireValidSignature(check);
    return deliver(c, [stripeWebhookEvent(storableJson((check as { event: unknown }).event))]);
  });
  return app;
}
