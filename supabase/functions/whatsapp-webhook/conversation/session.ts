// One webhook delivery's share of the conversation, in three steps around the transaction
// that stores its events:
//   before  each inbound message counts against its sender's rate limit (after the signature
//           check: a forged request never gets this far); a sender within it is made a contact
//           (an Auth user and a wallet account on first contact), outside the transaction, so
//           that the Auth Admin API call never holds a database connection that the
//           transaction's pool may need; a sender whose number an unconfirmed user holds is
//           only told why it is not served; Meta's notice that a sender changed number moves
//           their user to the new one, through the same Admin API;
//   answer  in the message's savepoint, right after it is stored for the first time (a
//           replayed wamid is not stored again, so it is not answered again): parse, act, and
//           enqueue the replies in the same transaction;
//   after   once committed: MoMo's side of top-ups and cash-outs (with their replies), then
//           the new outbox rows are sent at once (what fails is retried by whatsapp-send).
import { z } from "zod";
import { type RequestContext, type Sql, type TransactionSql, withRequestContext } from "../../_shared/db.ts";
import type { Logger } from "../../_shared/logger.ts";
import { ProviderError } from "../../_shared/providers/errors.ts";
import type { NumberChange } from "../../_shared/providers/whatsapp/identity.ts";
import type { RateLimiter } from "../../_shared/rate-limit/limiter.ts";
import { jsonb } from "../../_shared/webhooks/jsonb.ts";
import { type CashOut, sendCashOut } from "../../_shared/money/cashouts.ts";
import { type AsService, type Intent, type ProviderClients, startTopUp } from "../../_shared/money/topups.ts";
import { act, type FollowUp, learnWhen, sentence, type Turn } from "./act.ts";
import { formatMoney } from "./amounts.ts";
import { type Command, commandOfId, parseCommand } from "./commands.ts";
import { type OutboundMessage, textMessage } from "./messages.ts";
import { displayPhone } from "./phone.ts";

/** What the conversation needs of the WhatsApp platform (identity and the outbox sender), in a request's context. */
export interface ConversationPlatform {
  /** The sender's user; null when a user who never confirmed the number holds it (identity.ts). */
  ensureContact(
    context: RequestContext,
    contact: { waId: string; profileName: string | null },
  ): Promise<{ userId: string; created: boolean } | null>;
  /**
   * The person of `from`'s contact now writes from `to`, as the notice `notice` (a wamid) of
   * Meta's time `at` (unix seconds) says (identity.ts, moveContactNumber).
   */
  moveNumber(context: RequestContext, change: { from: string; to: string; notice: string; at: number }): Promise<NumberChange>;
  sendOutboxMessages(context: RequestContext, ids: readonly string[]): Promise<unknown>;
}

export interface ConversationDependencies {
  sql: Sql;
  limiter: RateLimiter;
  /** Messages per minute per sender (RATE_LIMIT_WHATSAPP_SENDER_PER_MIN). */
  senderPerMinute: number;
  settings: { defaultCurrency: string; defaultRegion: string };
  providers: () => ProviderClients;
  platform: ConversationPlatform;
  logger: Logger;
}

/** The fields of an inbound message the conversation reads (events.ts checks the rest). */
export interface InboundMessage {
  id: string;
  /** The sender's phone number; absent when Meta withholds it (a WhatsApp username). */
  from?: string;
  /** When the person sent it (unix seconds, Meta's clock). */
  timestamp: string;
  type: string;
  text?: { body: string };
  button?: { text: string };
  interactive?: { button_reply?: { id?: string }; list_reply?: { id?: string } };
  /** Meta's notice of type system: a number change names the new number (wa_id; new_wa_id before v12). */
  system?: unknown;
}

// No wallet is served to a number whose Auth user never confirmed it: that user may be anyone
// who signed up with this number (docs/WHATSAPP.md, "Identity"). Not "verify it in the app":
// the person writing may not be the one who signed up, and verifying would hand them that
// account. Support resolves it.
const UNCONFIRMED_NUMBER = "This number was used to sign up in the mfuko app but was never verified, so mfuko cannot " +
  "open a wallet for it here. Please contact mfuko support.";

// Meta does not promise order: a message redelivered after a failure, or simply late, can
// arrive after newer ones. A late send, top-up or cash-out would replace the person's newer
// request (whose Confirm would then be refused) or start what they wrote before changing their
// mind, so it is not acted on; they are told.
const REQUESTS_ACTED_IN_ORDER = new Set<Command["kind"]>(["send", "topup", "cashout"]);
const OVERTAKEN = "A newer message of yours reached mfuko before this one, so this one was not acted on and nothing was " +
  "done. If you still want it, write it again.";

/** Whether `from` is a phone number as WhatsApp gives it (E.164 digits without '+'). */
const isWaId = (from: string | undefined): from is string => from !== undefined && /^[1-9][0-9]{6,14}$/.test(from);

// Meta's notice that the person changed their WhatsApp number: the new number, as wa_id (or
// new_wa_id, its name before Graph API v12).
const numberChange = z.looseObject({
  type: z.literal("user_changed_number"),
  wa_id: z.string().regex(/^[1-9][0-9]{6,14}$/).optional(),
  new_wa_id: z.union([z.string(), z.number()]).transform(String).pipe(z.string().regex(/^[1-9][0-9]{6,14}$/)).optional(),
});

/** The number `message`'s sender moved to, when it is Meta's notice of a number change. */
function movedTo(message: InboundMessage): string | null {
  if (message.type !== "system") return null;
  const notice = numberChange.safeParse(message.system);
  return notice.success ? notice.data.wa_id ?? notice.data.new_wa_id ?? null : null;
}

/**
 * Whether a message its sender wrote to mfuko's number after `message` is already stored:
 * `message` came late. (What the sender wrote to another business number, stored under that
 * number's id, is another conversation.)
 */
async function overtaken(tx: TransactionSql, message: InboundMessage & { from: string }): Promise<boolean> {
  const [row] = await tx<{ overtaken: boolean }[]>`
    select exists (select 1 from public.whatsapp_messages m
                    where m.sender = ${message.from} and m.direction = 'inbound'
                      and m.sent_at > to_timestamp(${Number(message.timestamp)})
                      and m.phone_number_id is not distinct from
                          (select o.phone_number_id from public.whatsapp_messages o where o.wamid = ${message.id})) as overtaken`;
  return row!.overtaken;
}

// A contact whose number Meta withholds (a WhatsApp username) comes without wa_id.
const profiles = z.array(
  z.looseObject({ wa_id: z.string().optional(), profile: z.looseObject({ name: z.string().max(255) }).optional() }),
);

/** The profile names Meta sends with a change's messages, by wa_id. */
export function profileNames(value: Record<string, unknown>): Map<string, string> {
  const parsed = profiles.safeParse(value.contacts ?? []);
  return new Map(
    parsed.success ? parsed.data.flatMap((c) => c.profile && c.wa_id !== undefined ? [[c.wa_id, c.profile.name] as const] : []) : [],
  );
}

/**
 * The command a message carries. A message with nothing to read (media, a sticker, a location,
 * an edit Meta reports as unsupported, ...) gets the menu, saying what mfuko reads; a person
 * opening the chat (request_welcome) is welcomed. Null, not answered, for what asks nothing of
 * mfuko: Meta's system notices, and reactions (a thumbs-up on "Sent ..." wants no menu back).
 */
export function commandOf(message: InboundMessage): Command | null {
  const tapped = message.interactive?.button_reply?.id ?? message.interactive?.list_reply?.id;
  if (tapped !== undefined) return commandOfId(tapped) ?? { kind: "menu", understood: false };
  const typed = message.text?.body ?? message.button?.text;
  if (typed !== undefined) return parseCommand(typed);
  if (message.type === "system" || message.type === "reaction") return null;
  if (message.type === "request_welcome") return { kind: "menu", understood: true };
  return { kind: "menu", understood: false, unreadable: true };
}

/**
 * `command` as the first message of a new contact reads it: what mfuko could not understand or
 * read, "start" (notifications are on from the first message) and thanks are answered with the
 * welcome, not "Sorry, I did not understand that." or a notifications notice to someone who never
 * saw the menu.
 */
function asFirstContact(command: Command): Command {
  if (command.kind === "start" || command.kind === "thanks") return { kind: "menu", understood: true };
  if (command.kind === "menu") return { ...command, understood: true };
  return command;
}

export class ConversationSession {
  /** The sender admitted for each message of this delivery, by wamid; null for a number held unconfirmed. */
  private readonly admitted = new Map<string, { userId: string; created: boolean } | null>();
  private readonly outboxIds: string[] = [];
  private readonly followUps: FollowUp[] = [];

  constructor(private readonly deps: ConversationDependencies, private readonly context: RequestContext) {}

  /**
   * Rate limit and identity, before the transaction; `names` from profileNames. A message
   * without the sender's phone number (Meta withholds it for a person with a WhatsApp username)
   * is not admitted: a wallet here is a phone number's, which MoMo pays and people pay.
   */
  async admit(messages: readonly InboundMessage[], names: ReadonlyMap<string, string>): Promise<void> {
    for (const message of messages) {
      const to = movedTo(message);
      if (to !== null && isWaId(message.from) && to !== message.from) await this.moveNumber(message.from, to, message);
      if (commandOf(message) === null || !isWaId(message.from)) continue;
      const decision = await this.deps.limiter.limit(`whatsapp-sender:${message.from}`, this.deps.senderPerMinute);
      if (!decision.success) {
        this.deps.logger.warn("whatsapp_sender_rate_limited", { wa_id: message.from, limit: decision.limit });
        continue;
      }
      const contact = await this.deps.platform.ensureContact(this.context, {
        waId: message.from,
        profileName: names.get(message.from) ?? null,
      });
      if (!contact) this.deps.logger.warn("whatsapp_sender_number_unconfirmed", { wa_id: message.from });
      this.admitted.set(message.id, contact ? { userId: contact.userId, created: contact.created } : null);
    }
  }

  /**
   * The sender of `from` changed their WhatsApp number to `to` (Meta signed the notice): their
   * user, wallet and all, now answers at `to`, and `from` reaches nothing of theirs. Nothing is
   * sent: `from` is no longer theirs, and `to` has not written yet (its first message is
   * answered as the same user's). When another user already holds `to`, nothing changes and
   * support is needed; the log line says so, with both numbers masked. A notice delivered
   * again (its wamid stored) moves nobody, nor does one older, by Meta's time, than a change
   * of the person's already made (superseded).
   */
  private async moveNumber(from: string, to: string, notice: InboundMessage): Promise<void> {
    const outcome = await this.deps.platform.moveNumber(this.context, { from, to, notice: notice.id, at: Number(notice.timestamp) });
    this.deps.logger[outcome === "new_number_taken" ? "error" : "info"]("whatsapp_number_changed", { from, to, outcome });
  }

  /** Answers `message` (stored just now) in the webhook's transaction `tx`. */
  readonly answer = async (tx: TransactionSql, message: InboundMessage): Promise<void> => {
    const contact = this.admitted.get(message.id);
    const read = commandOf(message);
    const from = message.from;
    // Only admitted messages, each with its sender's number, are answered.
    if (contact === undefined || read === null || from === undefined) return;
    if (contact === null) {
      this.outboxIds.push(await enqueueReply(tx, from, textMessage(UNCONFIRMED_NUMBER)));
      return;
    }
    const command = contact.created ? asFirstContact(read) : read;
    const ids: string[] = [];
    const followUps: FollowUp[] = [];
    const turn: Turn = {
      tx,
      wamid: message.id,
      sender: { waId: from, userId: contact.userId },
      settings: this.deps.settings,
      reply: async (reply) => {
        ids.push(await enqueueReply(tx, from, reply));
      },
      later: (followUp) => followUps.push(followUp),
    };
    const late = REQUESTS_ACTED_IN_ORDER.has(command.kind) && await overtaken(tx, { ...message, from });
    await (late ? turn.reply(textMessage(OVERTAKEN)) : act(turn, command));
    // The notifications the answer's effects wrote (a payment's recipient told), sent with
    // the replies: every row queued in this transaction carries its start time.
    const notified = await tx<{ id: string }[]>`
      select id from public.whatsapp_outbox where status = 'queued' and next_attempt_at = now() and purpose = 'notification'`;
    // Kept only once the whole answer succeeded: a failed one rolls back with its savepoint.
    for (const id of [...ids, ...notified.map((row) => row.id)]) if (!this.outboxIds.includes(id)) this.outboxIds.push(id);
    this.followUps.push(...followUps);
  };

  /** After the commit: the follow-ups, then every outbox row of this delivery is sent. */
  async afterCommit(): Promise<void> {
    for (const followUp of this.followUps) {
      try {
        const reply = followUp.kind === "topup" ? await this.topUp(followUp) : await this.cashOut(followUp);
        if (reply) this.outboxIds.push(await this.replyAsService(followUp, reply));
      } catch (error) {
        this.deps.logger.error("whatsapp_follow_up_failed", { kind: followUp.kind, wa_id: followUp.waId, error: String(error) });
      }
    }
    if (this.outboxIds.length === 0) return;
    try {
      await this.deps.platform.sendOutboxMessages(this.context, this.outboxIds);
    } catch (error) {
      // Queued and committed: the whatsapp-send job retries them.
      this.deps.logger.error("whatsapp_send_failed", { messages: this.outboxIds.length, error: String(error) });
    }
  }

  /**
   * One transaction as the service that answers `followUp`'s sender itself (the notification
   * triggers leave that user out: app.whatsapp_answering).
   */
  private asServiceAnswering(followUp: FollowUp): AsService {
    return (fn) =>
      withRequestContext(this.deps.sql, this.context, async (tx) => {
        await tx`select set_config('app.whatsapp_answering', ${followUp.userId}, true)`;
        return await fn(tx);
      });
  }

  /** A provider's reason for a failed top-up (payer) or cash-out (payee) as the person is told it, ": <words>" or "". */
  private async failureWords(reason: string | null, side: "payer" | "payee"): Promise<string> {
    if (!reason) return "";
    const [row] = await withRequestContext(
      this.deps.sql,
      this.context,
      (tx) => tx<{ words: string | null }[]>`select private.failure_words(${reason}, ${side}) as words`,
    );
    return row!.words === null ? "" : `: ${row!.words}`;
  }

  private async replyAsService(followUp: FollowUp, reply: OutboundMessage): Promise<string> {
    return await withRequestContext(this.deps.sql, this.context, (tx) => enqueueReply(tx, followUp.waId, reply));
  }

  /**
   * The provider step of a confirmed top-up or cash-out: its record read as the service, its
   * amount in words, then `step`. A provider that does not answer is logged under `logKey` and
   * told to the user in `unavailable`'s words; any other failure of the step (a configuration,
   * the database) is logged and told in `fault`'s, or thrown when `fault` throws it: the person
   * is never left without an answer to what committed.
   */
  private async providerStep<R extends { id: string; amount: string | number; currency: string }>(
    read: (tx: TransactionSql) => Promise<R[]>,
    logKey: "intent_id" | "cashout_id",
    step: (record: R, money: string) => Promise<OutboundMessage>,
    { unavailable, fault }: { unavailable: (money: string) => string; fault: (money: string, error: unknown) => Promise<string> },
  ): Promise<OutboundMessage> {
    const [record] = await withRequestContext(this.deps.sql, this.context, read);
    const money = formatMoney(BigInt(record!.amount), record!.currency);
    try {
      return await step(record!, money);
    } catch (error) {
      if (error instanceof ProviderError) {
        this.deps.logger.warn("provider_unavailable", { provider: error.provider, [logKey]: record!.id, error: error.message });
        return textMessage(unavailable(money));
      }
      const words = await fault(money, error);
      this.deps.logger.error("whatsapp_provider_step_failed", { [logKey]: record!.id, error: String(error) });
      return textMessage(words);
    }
  }

  private topUp(followUp: Extract<FollowUp, { kind: "topup" }>): Promise<OutboundMessage> {
    // The request may have reached MoMo although its answer did not: the intent is polled
    // (momo-poll), so an approval on the phone is credited; a request MoMo never got stays open.
    const mayNotHaveStarted = (money: string) =>
      `the top-up of ${money} may not have started. ` +
      `If your phone asks you to approve it, do: ${learnWhen(followUp.optedOut, "it is received")}. ` +
      "Otherwise try again in a few minutes.";
    return this.providerStep(
      (tx) => tx<Intent[]>`select * from public.payment_intents where id = ${followUp.intentId}::uuid`,
      "intent_id",
      async (intent, money) => {
        const started = await startTopUp(this.deps.providers(), this.asServiceAnswering(followUp), this.deps.logger, intent, {
          msisdn: followUp.waId,
        });
        if (started.outcome === "declined") {
          const why = await this.failureWords(started.reason, "payer");
          return textMessage(`MoMo refused the top-up of ${money}${why}. No money was taken.`);
        }
        return textMessage(
          `MoMo is asking ${displayPhone(followUp.waId)} to approve ${money}: approve it on your phone. ` +
            sentence(learnWhen(followUp.optedOut, "it is received")),
        );
      },
      {
        unavailable: (money) => `MoMo is not answering right now, so ${mayNotHaveStarted(money)}`,
        fault: (money) => Promise.resolve(`mfuko could not reach MoMo just now, so ${mayNotHaveStarted(money)}`),
      },
    );
  }

  private cashOut(followUp: Extract<FollowUp, { kind: "cashout" }>): Promise<OutboundMessage> {
    const read = (tx: TransactionSql) => tx<CashOut[]>`select * from public.cashouts where id = ${followUp.cashOutId}::uuid`;
    return this.providerStep(
      read,
      "cashout_id",
      async (cashOut, money) => {
        const sent = await sendCashOut(this.deps.providers(), this.asServiceAnswering(followUp), this.deps.logger, cashOut);
        if (sent.outcome === "declined") {
          const why = await this.failureWords(sent.cashOut.reason, "payee");
          return textMessage(`MoMo refused the cash-out of ${money}${why}. The money is back in your wallet.`);
        }
        return textMessage(
          `Cash-out of ${money} to ${displayPhone(followUp.waId)} is on its way. ${
            sentence(learnWhen(followUp.optedOut, "MoMo has paid it"))
          }`,
        );
      },
      {
        unavailable: (money) => `MoMo is not answering right now. ${heldAndPending(money, followUp.optedOut)}`,
        // A fault once the Confirm committed: the hold stands and momo-poll sends the transfer
        // MoMo has not got, so the person is told that, not nothing.
        fault: async (money, error) => {
          const [now] = await withRequestContext(this.deps.sql, this.context, read);
          if (now?.status !== "pending") throw error;
          return heldAndPending(money, followUp.optedOut);
        },
      },
    );
  }
}

/** What a cash-out that may not have reached MoMo yet is, said to the person. */
const heldAndPending = (money: string, optedOut: boolean) =>
  `Your cash-out of ${money} is held and pending: ${learnWhen(optedOut, "it is paid, or when the money is back in your wallet")}.`;

/** Queues `message` as a reply to `waId` in `tx`; its outbox id. */
async function enqueueReply(tx: TransactionSql, waId: string, message: OutboundMessage): Promise<string> {
  const [row] = await tx<{ id: string }[]>`
    select private.whatsapp_enqueue(${waId}, ${message.type}, ${jsonb(tx, message)}, 'reply') as id`;
  return row!.id;
}
