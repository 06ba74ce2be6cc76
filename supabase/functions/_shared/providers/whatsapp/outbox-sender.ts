// Sends outbox messages (docs/WHATSAPP.md, "Sending"). A sender leases each row it was given,
// when it is due, just before sending it (private.whatsapp_outbox_lease: one sender per row,
// so a row is never sent by two), calls the Graph API outside any transaction, and records
// each outcome:
//   accepted                           sent, with its wamid
//   131047 (outside the 24-hour window) a notification is sent again as the approved template
//                                      WHATSAPP_NOTIFY_TEMPLATE (notify-template.ts); a command
//                                      reply is dropped (failed)
//   130429, 131056, 5xx, no answer     queued again after 30 s, 2 min, 8 min, 15 min (backoffSeconds);
//                                      dead after the 5th attempt
//   any other refusal (4xx)            dead at once
// A notification goes as the template at once when its recipient has not written within 24
// hours, and when Meta took it and failed it later, in a status webhook, with 131047 (the
// database queues it again as {"type": "template", "notification": <the message>}, keeping
// what it says for the template's parameter: private.whatsapp_outbox_queue_template).
// The webhook calls it right after its transaction commits; the whatsapp-send job calls it
// for the rows that are due. Log lines name the row, the masked number and the outcome, never
// the message.
import { type RequestContext, type Sql, withRequestContext } from "../../db.ts";
import { env } from "../../env.ts";
import { leaseOutlastingCalls } from "../call-lease.ts";
import type { Logger } from "../../logger.ts";
import { type OutboundMessage, WhatsAppApiError, type WhatsAppClient, whatsAppClientFromEnv } from "./client.ts";
import { notificationText, notifyTemplateMessage } from "./notify-template.ts";

export const MAX_ATTEMPTS = 5;
const FIRST_BACKOFF_SECONDS = 30;
const MAX_BACKOFF_SECONDS = 15 * 60;
const BACKOFF_FACTOR = 4;
/** Rows one sender works on at once. */
const CONCURRENCY = 8;

const OUTSIDE_WINDOW = 131047;
const THROTTLED = new Set([130429, 131056]);

/** The Graph API and what the sender sends through it. */
export interface WhatsAppSending {
  client: WhatsAppClient;
  /** The template a notification falls back to outside the 24-hour window (none: it fails). */
  notifyTemplate: string | null;
  /** The template has one body parameter, which the notification's text fills. */
  notifyTemplateWithText: boolean;
  /** How long a leased row stays with one sender; longer than two Graph API calls can take. */
  leaseSeconds: number;
}

export interface SenderDependencies {
  sql: Sql;
  /** The caller's context as service_role (the audit sees its correlation id). */
  context: RequestContext;
  logger: Logger;
  whatsapp: WhatsAppSending;
}

/**
 * The Graph API client of the environment, WHATSAPP_NOTIFY_TEMPLATE(_WITH_TEXT), and the lease:
 * JOBS_LEASE_SECONDS, but never shorter than one row's two Graph API calls (a text refused
 * outside the window, then its template) of up to PROVIDER_TIMEOUT_MS each. A shorter lease
 * ran out while its sender still waited for Meta: whatsapp-send leased the row again and sent
 * it a second time, and Meta delivered both.
 */
export function whatsAppSendingFromEnv(): WhatsAppSending {
  const e = env("WHATSAPP_NOTIFY_TEMPLATE", "WHATSAPP_NOTIFY_TEMPLATE_WITH_TEXT", "JOBS_LEASE_SECONDS");
  return {
    client: whatsAppClientFromEnv(),
    notifyTemplate: e.WHATSAPP_NOTIFY_TEMPLATE ?? null,
    notifyTemplateWithText: e.WHATSAPP_NOTIFY_TEMPLATE_WITH_TEXT,
    leaseSeconds: leaseOutlastingCalls(2, 10, e.JOBS_LEASE_SECONDS),
  };
}

export interface SendCounts {
  taken: number;
  sent: number;
  retried: number;
  failed: number;
  dead: number;
}

/** A notification queued again to go as the notification template, which only the sender knows. */
type TemplateToCome = { type: "template"; template?: undefined; notification: OutboundMessage };

const isTemplateToCome = (body: OutboundMessage | TemplateToCome): body is TemplateToCome =>
  body.type === "template" && body.template === undefined;

interface LeasedMessage {
  id: string;
  wa_id: string;
  kind: string;
  body: OutboundMessage | TemplateToCome;
  purpose: "reply" | "notification";
  attempts: number;
  language: string;
  /** The recipient wrote to us within 24 hours: a message other than a template may be sent. */
  window_open: boolean;
}

type Outcome =
  | { outcome: "sent"; wamid: string; body?: OutboundMessage }
  | { outcome: "retry"; error: string; retrySeconds: number }
  | { outcome: "failed" | "dead"; error: string };

/**
 * Seconds before attempt `attempts + 1`: 30 s, four times longer per attempt, at most 15 min
 * (30 s, 2 min, 8 min, 15 min). The five attempts span 25.5 minutes of a Graph API outage
 * before a message is dead; doubled, the wait never reached its 15-minute cap within five
 * attempts, and "Sent" or "You received" died after a 7.5-minute outage.
 */
export function backoffSeconds(attempts: number): number {
  return Math.min(FIRST_BACKOFF_SECONDS * BACKOFF_FACTOR ** Math.max(attempts - 1, 0), MAX_BACKOFF_SECONDS);
}

/** What to do with a message the Graph API did not take, by Meta's error class. */
export function outcomeOfRefusal(
  error: WhatsAppApiError,
  message: { purpose: string; kind: string; attempts: number },
): { outcome: "retry" | "failed" | "dead" | "template"; error: string } {
  const reason = error.message.slice(0, 1000);
  if (error.code === OUTSIDE_WINDOW) {
    if (message.purpose === "notification" && message.kind !== "template") return { outcome: "template", error: reason };
    return { outcome: "failed", error: `outside the 24-hour window, not sent: ${reason}` };
  }
  const transient = error.httpStatus === null || error.httpStatus >= 500 || (error.code !== null && THROTTLED.has(error.code));
  if (!transient) return { outcome: "dead", error: reason };
  if (message.attempts >= MAX_ATTEMPTS) return { outcome: "dead", error: `gave up after ${MAX_ATTEMPTS} attempts: ${reason}` };
  return { outcome: "retry", error: reason };
}

/** Whether `message` is a notification that may only go as the template now (see the top of this file). */
function outsideWindow(message: LeasedMessage): boolean {
  if (message.kind === "template") return isTemplateToCome(message.body);
  return message.purpose === "notification" && !message.window_open;
}

async function attempt(deps: SenderDependencies, message: LeasedMessage): Promise<Outcome> {
  if (outsideWindow(message)) return await attemptTemplate(deps, message, "the recipient has not written within 24 hours");
  try {
    return { outcome: "sent", wamid: (await deps.whatsapp.client.send(message.wa_id, message.body as OutboundMessage)).wamid };
  } catch (error) {
    if (!(error instanceof WhatsAppApiError)) throw error;
    const refusal = outcomeOfRefusal(error, message);
    if (refusal.outcome === "retry") return { ...refusal, outcome: "retry", retrySeconds: backoffSeconds(message.attempts) };
    if (refusal.outcome !== "template") return { outcome: refusal.outcome, error: refusal.error };
    return await attemptTemplate(deps, message, refusal.error);
  }
}

/**
 * Sends the notification `message` as WHATSAPP_NOTIFY_TEMPLATE in the contact's language, with
 * what it says as the parameter when the template has one (failed without a template). A
 * notification with nothing to say there goes without it, and Meta's 132000 makes it dead.
 */
async function attemptTemplate(deps: SenderDependencies, message: LeasedMessage, why: string): Promise<Outcome> {
  if (!deps.whatsapp.notifyTemplate) {
    return { outcome: "failed", error: `outside the 24-hour window and no WHATSAPP_NOTIFY_TEMPLATE: ${why}` };
  }
  const notification = isTemplateToCome(message.body) ? message.body.notification : message.body;
  const text = deps.whatsapp.notifyTemplateWithText ? notificationText(notification) : null;
  const template = notifyTemplateMessage(deps.whatsapp.notifyTemplate, message.language, text);
  const sent = await attempt(deps, { ...message, kind: "template", body: template });
  return sent.outcome === "sent" ? { ...sent, body: template } : sent;
}

async function deliver(deps: SenderDependencies, message: LeasedMessage, counts: SendCounts): Promise<void> {
  const result = await attempt(deps, message);
  await withRequestContext(deps.sql, deps.context, (tx) =>
    tx`
    select 1 from private.whatsapp_outbox_record(
      ${message.id}::uuid, ${result.outcome},
      ${result.outcome === "sent" ? result.wamid : null},
      ${result.outcome === "sent" ? null : result.error},
      ${result.outcome === "retry" ? result.retrySeconds : null}::int,
      ${result.outcome === "sent" && result.body ? tx.json(result.body as never) : null})`);
  counts[result.outcome === "retry" ? "retried" : result.outcome] += 1;
  deps.logger[result.outcome === "sent" ? "info" : "warn"]("whatsapp_send", {
    correlation_id: deps.context.correlationId,
    id: message.id,
    wa_id: message.wa_id,
    purpose: message.purpose,
    attempt: message.attempts,
    outcome: result.outcome,
    ...(result.outcome === "sent" ? { template: result.body !== undefined } : { error: result.error }),
  });
}

/**
 * `ids` split by recipient, each person's in the order given. Several messages to one person
 * (two answers of one delivery, notifications queued during an outage) must reach them in the
 * order they were written, and sent at once they may not: Meta takes concurrent requests in
 * any order, and limits how fast one number may write to another (131056).
 */
async function byRecipient(deps: SenderDependencies, ids: readonly string[]): Promise<string[][]> {
  if (ids.length < 2) return ids.map((id) => [id]);
  const rows = await withRequestContext(
    deps.sql,
    deps.context,
    (tx) => tx<{ id: string; wa_id: string }[]>`select id, wa_id from public.whatsapp_outbox where id = any (${ids}::uuid[])`,
  );
  const recipientOf = new Map(rows.map((row) => [row.id, row.wa_id]));
  const queues = new Map<string, string[]>();
  for (const id of ids) {
    const waId = recipientOf.get(id);
    if (waId === undefined) continue;
    const queue = queues.get(waId);
    if (queue) queue.push(id);
    else queues.set(waId, [id]);
  }
  return [...queues.values()];
}

/**
 * Sends those of `ids` that are due and not leased by another sender, and records each
 * outcome. Resolves with the counts; rows another sender holds are not counted. One person's
 * messages go one after another, in the order given; different people's at once. Each row is
 * leased just before its own send, not the batch at once: the lease covers one send (two Graph
 * API calls at most), so a row late in a batch behind a slow Graph API is never sent after its
 * lease ran out, when the next run may have leased and sent it too.
 */
export async function sendOutboxMessages(deps: SenderDependencies, ids: readonly string[]): Promise<SendCounts> {
  const counts: SendCounts = { taken: 0, sent: 0, retried: 0, failed: 0, dead: 0 };
  const recipients = await byRecipient(deps, ids);
  const worker = async () => {
    for (let queue = recipients.shift(); queue; queue = recipients.shift()) {
      for (const id of queue) {
        const [message] = await withRequestContext(deps.sql, deps.context, (tx) =>
          tx<LeasedMessage[]>`
          select id, wa_id, kind, body, purpose, attempts, language, window_open
            from private.whatsapp_outbox_lease(${[id]}::uuid[], ${deps.whatsapp.leaseSeconds}::int)`);
        if (!message) continue;
        counts.taken += 1;
        await deliver(deps, message, counts);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, recipients.length) }, worker));
  return counts;
}
