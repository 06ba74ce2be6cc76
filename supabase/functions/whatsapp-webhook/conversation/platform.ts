// The WhatsApp platform as the conversation uses it: identity (a contact, its Auth user and
// wallet account) and the outbox sender, configured from the environment.
import type { Sql } from "../../_shared/db.ts";
import type { Logger } from "../../_shared/logger.ts";
import { env } from "../../_shared/env.ts";
import { authAdminFromEnv, ensureContact, moveContactNumber } from "../../_shared/providers/whatsapp/identity.ts";
import { sendOutboxMessages, whatsAppSendingFromEnv } from "../../_shared/providers/whatsapp/outbox-sender.ts";
import type { ConversationPlatform } from "./session.ts";

export function whatsAppPlatformFromEnv(sql: Sql, logger: Logger): ConversationPlatform {
  const { WHATSAPP_DEFAULT_CURRENCY } = env("WHATSAPP_DEFAULT_CURRENCY");
  const whatsapp = whatsAppSendingFromEnv();
  return {
    ensureContact: (context, contact) =>
      ensureContact({ sql, context, authAdmin: authAdminFromEnv(), defaultCurrency: WHATSAPP_DEFAULT_CURRENCY }, contact),
    moveNumber: (context, change) =>
      moveContactNumber({ sql, context, authAdmin: authAdminFromEnv(), defaultCurrency: WHATSAPP_DEFAULT_CURRENCY }, change),
    sendOutboxMessages: (context, ids) => sendOutboxMessages({ sql, context, logger, whatsapp }, ids),
  };
}
