// /whatsapp-webhook: GET answers Meta's subscription challenge; POST receives notifications
// signed with X-Hub-Signature-256 over the raw body (up to 3 MiB), stored and applied once
// per message and status (docs/WEBHOOKS.md), and answers each person's message
// (docs/WHATSAPP.md, "The conversation").
import { MIB, parseJsonBody } from "../_shared/body.ts";
import { env } from "../_shared/env.ts";
import { HttpError } from "../_shared/errors.ts";
import { timingSafeEqual } from "../_shared/hmac.ts";
import { requireValidSignature } from "../_shared/signatures/check.ts";
import { verifyWhatsAppSignature, WHATSAPP_SIGNATURE_HEADER } from "../_shared/signatures/whatsapp.ts";
import { createWebhookApp, webhookLimiter, webhookLogger, webhookSql } from "../_shared/webhooks/app.ts";
import { storeThenApply, webhookContext, webhookResponse } from "../_shared/webhooks/store-then-apply.ts";
import { providerClientsFromEnv } from "../payments/provider-clients-from-env.ts";
import { type ConversationDependencies, ConversationSession, profileNames } from "./conversation/session.ts";
import { whatsAppPlatformFromEnv } from "./conversation/platform.ts";
import { notificationSchema, whatsAppEvents } from "./events.ts";

const app = createWebhookApp({ functionName: "whatsapp-webhook", provider: "whatsapp", methods: ["GET", "POST"], maxBodyBytes: 3 * MIB });

const encoder = new TextEncoder();
// Meta's challenge is a number; anything else is not echoed back.
const CHALLENGE = /^[A-Za-z0-9._-]{1,256}$/;

let conversation: ConversationDependencies | undefined;

/** The conversation's dependencies, made on the first message so that loading needs no configuration. */
function conversationDependencies(): ConversationDependencies {
  if (!conversation) {
    const settings = env("WHATSAPP_DEFAULT_CURRENCY", "WHATSAPP_DEFAULT_REGION", "RATE_LIMIT_WHATSAPP_SENDER_PER_MIN");
    const providers = providerClientsFromEnv();
    conversation = {
      sql: webhookSql(),
      limiter: webhookLimiter(),
      senderPerMinute: settings.RATE_LIMIT_WHATSAPP_SENDER_PER_MIN,
      settings: { defaultCurrency: settings.WHATSAPP_DEFAULT_CURRENCY, defaultRegion: settings.WHATSAPP_DEFAULT_REGION },
      providers: () => providers,
      platform: whatsAppPlatformFromEnv(webhookSql(), webhookLogger()),
      logger: webhookLogger(),
    };
  }
  return conversation;
}

app.get("/", (c) => {
  const { WHATSAPP_VERIFY_TOKEN } = env("WHATSAPP_VERIFY_TOKEN");
  const token = c.req.query("hub.verify_token") ?? "";
  const challenge = c.req.query("hub.challenge");
  const tokenMatches = timingSafeEqual(encoder.encode(token), encoder.encode(WHATSAPP_VERIFY_TOKEN));
  if (c.req.query("hub.mode") !== "subscribe" || !tokenMatches || !challenge || !CHALLENGE.test(challenge)) {
    throw new HttpError(403, "verification_failed", "The subscription could not be verified.");
  }
  return c.text(challenge, 200);
});

app.post("/", async (c) => {
  const { WHATSAPP_APP_SECRET } = env("WHATSAPP_APP_SECRET");
  const rawBody = c.get("rawBody");
  requireValidSignature(await verifyWhatsAppSignature(rawBody, c.req.header(WHATSAPP_SIGNATURE_HEADER) ?? null, WHATSAPP_APP_SECRET));
  const notification = parseJsonBody(rawBody, notificationSchema);
  const values = notification.entry.flatMap((entry) => entry.changes.map((change) => change.value));
  const messages = values.flatMap((value) => value.messages ?? []);
  const session = messages.length === 0 ? null : new ConversationSession(conversationDependencies(), webhookContext(c));
  await session?.admit(messages, new Map(values.flatMap((value) => [...profileNames(value)])));
  const events = await whatsAppEvents(notification, session?.answer);
  const results = await storeThenApply(webhookSql(), c, "whatsapp", events, webhookLogger());
  await session?.afterCommit();
  return webhookResponse(c, results);
});

export default app;
