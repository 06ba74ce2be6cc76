// The deployed stripe-webhook: its app with the process's webhook dependencies.
import { createLogger } from "../_shared/logger.ts";
import { webhookDependenciesFromEnv } from "../_shared/webhooks/from-env.ts";
import { createStripeWebhookApp } from "./app.ts";

export default createStripeWebhookApp({ logger: createLogger(), dependencies: webhookDependenciesFromEnv });
