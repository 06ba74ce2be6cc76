// The deployed revolut-webhook: its app with the process's webhook dependencies and the
// Merchant API client, which reads its configuration when an order is first looked up.
import { createLogger } from "../_shared/logger.ts";
import { revolutClientFromEnv } from "../_shared/providers/revolut/client.ts";
import { webhookDependenciesFromEnv } from "../_shared/webhooks/from-env.ts";
import { createRevolutWebhookApp } from "./app.ts";

export default createRevolutWebhookApp({
  logger: createLogger(),
  dependencies: () => ({ ...webhookDependenciesFromEnv(), revolut: revolutClientFromEnv }),
});
