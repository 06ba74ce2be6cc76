// POST /stripe-webhook: Stripe events, verified with the official library over the raw body
// (Stripe-Signature, tolerance 300 s), stored and applied once (docs/WEBHOOKS.md).
import { env } from "../_shared/env.ts";
import { storableJson } from "../_shared/storable.ts";
import { requireValidSignature } from "../_shared/webhooks/signature-check.ts";
import { STRIPE_SIGNATURE_HEADER, verifyStripeEvent } from "../_shared/providers/stripe/signature.ts";
import { createWebhookApp, webhookLogger, webhookSql } from "../_shared/webhooks/app.ts";
import { storeThenApply, webhookResponse } from "../_shared/webhooks/store-then-apply.ts";
import { stripeWebhookEvent } from "../_shared/providers/stripe/events.ts";

const app = createWebhookApp({ functionName: "stripe-webhook", provider: "stripe", methods: ["POST"] });

app.post("/", async (c) => {
  const { STRIPE_WEBHOOK_SECRET } = env("STRIPE_WEBHOOK_SECRET");
  const check = await verifyStripeEvent(c.get("rawBody"), c.req.header(STRIPE_SIGNATURE_HEADER) ?? null, STRIPE_WEBHOOK_SECRET);
  requireValidSignature(check);
  const event = stripeWebhookEvent(storableJson((check as { event: unknown }).event));
  return webhookResponse(c, await storeThenApply(webhookSql(), c, "stripe", [event], webhookLogger()));
});

export default app;
