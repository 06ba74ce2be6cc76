// Store-then-apply: every provider event is stored in webhook_events and its effect applied in
// ONE transaction, as service_role with the request's context (so the audit trail sees the
// correlation id and client). The effect runs in a savepoint: when it throws, only the effect
// is rolled back and the event is kept as failed with the error (dead after 5 attempts).
// Each event of a delivery is stored and applied in a savepoint of its own too, so that one
// event that cannot even be stored rolls back alone and never takes the others with it.
// Duplicates, including concurrent ones, wait on the first delivery's row lock in
// webhook_event_begin and then see its outcome, so an event takes effect at most once.
// A delivery of one payment success takes the fast path: the database stores, applies and
// finishes it in one statement (webhook_ingest_payment_success, the same steps in SQL, the
// request context as arguments). The statement is its own transaction: the delivery holds a
// pooled connection for one statement, and the locks on the credited accounts are released by
// the statement's commit, never held while this process gets round to sending COMMIT.
import type { Context } from "hono";
import { clientAddress } from "../client-address.ts";
import {
  databaseUnavailable,
  headersObject,
  isDatabaseUnavailable,
  type RequestContext,
  type Sql,
  type TransactionSql,
  withRequestContext,
} from "../db.ts";
import { HttpError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { SharedEnv } from "../middleware.ts";
import { storablePayload } from "../storable.ts";
import { jsonb } from "./jsonb.ts";
import type { PaymentSuccess } from "./payments.ts";

export type WebhookProvider = "whatsapp" | "stripe" | "momo" | "revolut";

/** What an effect did: changed something, or had nothing to do for this event. */
export type AppliedOutcome = "processed" | "ignored";
/**
 * What became of one delivered event. "waiting": its effect threw EffectWaits; the event is
 * kept failed, and the provider is asked to retry as for "failed".
 */
export type EventOutcome = AppliedOutcome | "duplicate" | "failed" | "waiting" | "dead";

/**
 * Thrown by an effect that cannot apply yet and will once something else ends (a lost Stripe
 * dispute waits for the refunds of its payment pending at Stripe). The event is kept failed
 * with the message, for the provider's retries and the polls to apply again, and never made
 * dead (webhook_event_finish 'waiting'): a dead event is applied by nothing but an admin.
 */
export class EffectWaits extends Error {}

/** How webhook_event_finish records an effect that threw `error`. */
export const failedStatus = (error: unknown): "failed" | "waiting" => error instanceof EffectWaits ? "waiting" : "failed";

export interface WebhookEvent {
  /** The provider's event identity (the dedupe key, unique per provider). */
  eventId: string;
  type: string;
  /** Stored as webhook_events.payload (a JSON object); the effect must be replayable from it. */
  payload: Record<string, unknown>;
  apply(tx: TransactionSql): Promise<AppliedOutcome>;
  /** Set when `apply` is exactly this payment's success (paymentSuccessEffect): the fast path. */
  paymentSuccess?: PaymentSuccess;
}

export interface EventResult {
  event_id: string;
  outcome: EventOutcome;
}

interface BeginRow {
  id: string;
  outcome: "new" | "retry" | "duplicate" | "dead";
}

// Headers that carry credentials never reach request.headers (and so never the audit trail).
const CREDENTIAL_HEADER = /signature|authorization|cookie|token|api-key/i;

function contextHeaders(headers: Headers): Record<string, string> {
  return Object.fromEntries([...headers.entries()].filter(([name]) => !CREDENTIAL_HEADER.test(name)));
}

/** The error text kept in webhook_events.last_error: SQLSTATE (when there is one) and message. */
export function describeFailure(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

/** Stores and applies a delivery's `events` in one transaction and returns the outcome of each. */
export function storeThenApply(
  sql: Sql,
  c: Context<SharedEnv>,
  provider: WebhookProvider,
  events: readonly WebhookEvent[],
  logger: Logger,
): Promise<EventResult[]> {
  return storeThenApplyAs(sql, webhookContext(c), provider, events, logger);
}

/** The request context of a webhook's transactions: service_role with the request's headers. */
export function webhookContext(c: Context<SharedEnv>): RequestContext & { role: "service_role" } {
  return {
    role: "service_role",
    claims: {},
    headers: contextHeaders(c.req.raw.headers),
    correlationId: c.get("correlationId"),
    clientAddress: clientAddress(c.req.raw.headers, c.env),
  };
}

/**
 * storeThenApply for events no provider delivered (a scheduled job found them), in the
 * request context `context` (role service_role).
 */
export async function storeThenApplyAs(
  sql: Sql,
  context: RequestContext & { role: "service_role" },
  provider: WebhookProvider,
  events: readonly WebhookEvent[],
  logger: Logger,
): Promise<EventResult[]> {
  const onFailure = (failure: AttemptFailure) =>
    failure.status === "waiting"
      ? logger.warn("webhook_event_waiting", { correlation_id: context.correlationId, provider, ...failure })
      : logger.error("webhook_event_failed", { correlation_id: context.correlationId, provider, ...failure });
  // Not stored: the provider's retry brings it again; the other events stand.
  const notStored = (event: WebhookEvent, error: unknown): EventResult => {
    logger.error("webhook_event_not_stored", {
      correlation_id: context.correlationId,
      provider,
      event_id: event.eventId,
      type: event.type,
      error: describeFailure(error),
    });
    return { event_id: event.eventId, outcome: "failed" };
  };
  const [only] = events;
  if (events.length === 1 && only!.paymentSuccess) {
    try {
      return [{
        event_id: only!.eventId,
        outcome: await ingestPaymentSuccess(sql, context, provider, only!, only!.paymentSuccess, onFailure),
      }];
    } catch (error) {
      if (error instanceof HttpError) throw error;
      return [notStored(only!, error)];
    }
  }
  return withRequestContext(sql, context, async (tx) => {
    const results: EventResult[] = [];
    for (const event of events) {
      try {
        results.push({ event_id: event.eventId, outcome: await tx.savepoint((sp) => storeAndApply(sp, provider, event, onFailure)) });
      } catch (error) {
        if (isDatabaseUnavailable(error)) throw error;
        results.push(notStored(event, error));
      }
    }
    return results;
  });
}

interface AttemptFailure {
  event_id: string;
  type: string;
  attempts: number;
  status: "failed" | "waiting" | "dead";
  error: string;
}

/** Stores one event (storablePayload: storable text, no credential keys) and applies it, unless it is a duplicate or dead. */
async function storeAndApply(
  tx: TransactionSql,
  provider: WebhookProvider,
  event: WebhookEvent,
  onFailure: (failure: AttemptFailure) => void,
): Promise<EventOutcome> {
  const [begun] = await tx<BeginRow[]>`
    select id, outcome from public.webhook_event_begin(${provider}, ${event.eventId}, ${event.type},
                                                       ${jsonb(tx, storablePayload(event.payload))})`;
  if (begun!.outcome === "duplicate" || begun!.outcome === "dead") return begun!.outcome;
  try {
    const applied = await tx.savepoint((sp) => event.apply(sp));
    await tx`select 1 from public.webhook_event_finish(${begun!.id}::uuid, ${applied})`;
    return applied;
  } catch (error) {
    const message = describeFailure(error);
    const finish = failedStatus(error);
    const [finished] = await tx<{ status: "failed" | "dead"; attempts: number }[]>`
      select status, attempts from public.webhook_event_finish(${begun!.id}::uuid, ${finish}, ${message})`;
    const outcome = finish === "waiting" ? finish : finished!.status;
    onFailure({ event_id: event.eventId, type: event.type, attempts: finished!.attempts, status: outcome, error: message });
    return outcome;
  }
}

/** One event that is a payment success, stored, applied and finished by the database in one call. */
async function ingestPaymentSuccess(
  sql: Sql,
  context: RequestContext & { role: "service_role" },
  provider: WebhookProvider,
  event: WebhookEvent,
  payment: PaymentSuccess,
  onFailure: (failure: AttemptFailure) => void,
): Promise<EventOutcome> {
  let row: { outcome: EventOutcome; attempts: number | null; last_error: string | null } | undefined;
  const raw = storablePayload(payment.raw);
  try {
    [row] = await sql<NonNullable<typeof row>[]>`
      select outcome, attempts, last_error
        from public.webhook_ingest_payment_success(${provider}, ${event.eventId}, ${event.type},
                                                   ${jsonb(sql, storablePayload(event.payload))}, ${payment.providerPaymentId},
                                                   ${payment.intentHint}, ${payment.amount}::bigint, ${payment.currency},
                                                   ${jsonb(sql, raw)}, ${context.correlationId}, ${context.clientAddress},
                                                   ${jsonb(sql, headersObject(context.headers))})`;
  } catch (error) {
    if (isDatabaseUnavailable(error)) throw databaseUnavailable();
    throw error;
  }
  if (row!.last_error !== null) {
    onFailure({
      event_id: event.eventId,
      type: event.type,
      attempts: row!.attempts!,
      status: row!.outcome as AttemptFailure["status"],
      error: row!.last_error,
    });
  }
  return row!.outcome;
}

/**
 * The answer to the provider: 200 with the outcomes, or 500 when an effect failed and should
 * be retried (a dead event is answered 200: retrying cannot help, an admin replays it).
 */
export function webhookResponse(c: Context<SharedEnv>, results: readonly EventResult[]): Response {
  const failed = results.filter((result) => result.outcome === "failed" || result.outcome === "waiting");
  if (failed.length > 0) {
    throw new HttpError(500, "event_failed", "The event was stored but could not be applied; retry later.", {
      event_ids: failed.map((result) => result.event_id),
    });
  }
  return c.json({ received: true, events: results }, 200);
}
