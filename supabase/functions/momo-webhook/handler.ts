// The deployed momo-webhook: its app with the process's webhook dependencies and the MoMo
// client, which reads its configuration when a callback is first confirmed.
import { createLogger } from "../_shared/logger.ts";
import { momoClientFromEnv } from "../_shared/providers/momo/client.ts";
import { webhookDependenciesFromEnv } from "../_shared/webhooks/from-env.ts";
import { createMomoWebhookApp } from "./app.ts";

export default createMomoWebhookApp({
  logger: createLogger(),
  dependencies: () => ({ ...webhookDependenciesFromEnv(), momo: momoClientFromEnv }),
});
