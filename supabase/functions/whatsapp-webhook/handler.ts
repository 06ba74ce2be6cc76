// The deployed whatsapp-webhook: its app with the process's webhook dependencies.
import { createLogger } from "../_shared/logger.ts";
import { webhookDependenciesFromEnv } from "../_shared/webhooks/from-env.ts";
import { createWhatsAppWebhookApp } from "./app.ts";

export default createWhatsAppWebhookApp({ logger: createLogger(), dependencies: webhookDependenciesFromEnv });
