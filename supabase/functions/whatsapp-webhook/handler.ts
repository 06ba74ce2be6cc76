// The deployed whatsapp-webhook: its app with the process's webhook dependencies and the
// conversation's, the latter made on the first message so that Meta's subscription challenge
// and status updates never need the providers' configuration.
import { onFirstUse } from "../_shared/composition.ts";
import { env } from "../_shared/env.ts";
import { createLogger } from "../_shared/logger.ts";
import { webhookDependenciesFromEnv } from "../_shared/webhooks/from-env.ts";
import { providerClientsFromEnv } from "../_shared/money/provider-clients.ts";
import { createWhatsAppWebhookApp, type WhatsAppWebhookDependencies } from "./app.ts";
import { whatsAppPlatformFromEnv } from "./conversation/platform.ts";

const logger = createLogger();

const conversation = onFirstUse(() => {
  const { sql, limiter } = webhookDependenciesFromEnv();
  const settings = env("WHATSAPP_DEFAULT_CURRENCY", "WHATSAPP_DEFAULT_REGION", "RATE_LIMIT_WHATSAPP_SENDER_PER_MIN");
  const providers = providerClientsFromEnv();
  return {
    sql,
    limiter,
    senderPerMinute: settings.RATE_LIMIT_WHATSAPP_SENDER_PER_MIN,
    settings: { defaultCurrency: settings.WHATSAPP_DEFAULT_CURRENCY, defaultRegion: settings.WHATSAPP_DEFAULT_REGION },
    providers: () => providers,
    platform: whatsAppPlatformFromEnv(sql, logger),
    logger,
  };
});

export default createWhatsAppWebhookApp({
  logger,
  dependencies: (): WhatsAppWebhookDependencies => ({ ...webhookDependenciesFromEnv(), conversation }),
});
