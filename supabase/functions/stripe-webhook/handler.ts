// The deployed stripe-webhook: its app with the process's webhook dependencies and the Stripe
// API client, which reads its configuration when a charge's refunds are first read.
import { createLogger } from "../_shared/logger.ts";
import { stripeClientFromEnv } from "../_shared/providers/stripe/client.ts";
import { webhookDependenciesFromEnv } from "../_shared/webhooks/from-env.ts";
import { createStripeWebhookApp } from "./app.ts";

export default createStripeWebhookApp({
  logger: createLogger(),
  dependencies: () => ({ ...webhookDependenciesFromEnv(), stripe: stripeClientFromEnv }),
});
