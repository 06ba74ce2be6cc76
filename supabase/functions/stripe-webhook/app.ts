// POST /stripe-webhook: Stripe events, verified with the official library over the raw body
// (Stripe-Signature, tolerance 300 s), stored and applied once (docs/WEBHOOKS.md). A
// charge.refunded is applied from the charge's refunds as Stripe lists them, read before the
// transaction opens.
import type { Hono } from "hono";
import type { AppOptions } from "../_shared/composition.ts";
import { env } from "../_shared/env.ts";
import type { SharedEnv } from "../_shared/middleware.ts";
import type { StripeClient } from "../_shared/providers/stripe/client.ts";
import { stripeEventWithRefunds } from "../_shared/providers/stripe/events.ts";
import { STRIPE_SIGNATURE_HEADER, verifyStripeEvent } from "../_shared/providers/stripe/signature.ts";
import { storableJson } from "../_shared/storable.ts";
import { createOneEventWebhookApp, type WebhookDependencies } from "../_shared/webhooks/app.ts";
import { requireValidSignature } from "../_shared/webhooks/signature-check.ts";

export interface StripeWebhookDependencies extends WebhookDependencies {
  /** The API client a charge's refunds are read with. */
  stripe(): StripeClient;
}

export function createStripeWebhookApp(options: AppOptions<StripeWebhookDependencies>): Hono<SharedEnv> {
  return createOneEventWebhookApp({ ...options, functionName: "stripe-webhook", provider: "stripe" }, async (c) => {
    const { STRIPE_WEBHOOK_SECRET } = env("STRIPE_WEBHOOK_SECRET");
    const check = await verifyStripeEvent(c.get("rawBody"), c.req.header(STRIPE_SIGNATURE_HEADER) ?? null, STRIPE_WEBHOOK_SECRET);
    requireValidSignature(check);
    const event = storableJson((check as { event: unknown }).event);
    return await stripeEventWithRefunds(event, () => options.dependencies().stripe());
  });
}
