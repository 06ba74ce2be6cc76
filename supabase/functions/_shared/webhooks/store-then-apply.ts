// Store-then-apply: every provider event is stored in webhook_events and its effect applied in
// ONE transaction, as service_role with the request's context (so the audit trail sees the
// correlation id and client). The effect runs in a savepoint: when it throws, only the effect
// is rolled back and the event is kept as failed with the error (dead after 5 attempts).
// Each event of a delivery is stored and applied in a savepoint of its own too, so that one
// event that cannot even be stored rolls back alone and never takes the others with it.
// Duplicates, including concurrent ones, wait on the first delivery's row lock in
// webhook_event_begin and then see its outcome, so an event takes effect at most once.
import type { Context } from "hono";
import { clientAddress } from "../client-address.ts";
import { isDatabaseUnavailable, type RequestContext, type Sql, type TransactionSql, withRequestContext } from "../db.ts";
import { HttpError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { SharedEnv } from "../middleware.ts";
import { storableJson } from "../storable.ts";
import { jsonb } from "./jsonb.ts";

export type WebhookProvider = "whatsapp" | "stripe" | "momo" | "revolut";

/** What an effect did: changed something, or had nothing to do for this event. */
export type AppliedOutcome = "processed" | "ignored";
/** What became of one delivered event. */
export type EventOutcome = AppliedOutcome | "duplicate" | "failed" | "dead";

export interface WebhookEvent {
  /** The provider's event identity (the dedupe key, unique per provider). */
  eventId: string;
  type: string;
  /** Stored as webhook_events.payload (a JSON object); the effect must be replayable from it. */
  payload: Record<string, unknown>;
  apply(tx: TransactionSql): Promise<AppliedOutcome>;
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
export function storeThenApplyAs(
  sql: Sql,
  context: RequestContext & { role: "service_role" },
  provider: WebhookProvider,
  events: readonly WebhookEvent[],
  logger: Logger,
): Promise<EventResult[]> {
  return withRequestContext(sql, context, async (tx) => {
    const results: EventResult[] = [];
    for (const event of events) {
      let outcome: EventOutcome;
      try {
        outcome = await tx.savepoint((sp) =>
          storeAndApply(sp, provider, event, (failure) => {
            logger.error("webhook_event_failed", { correlation_id: context.correlationId, provider, ...failure });
          })
        );
      } catch (error) {
        if (isDatabaseUnavailable(error)) throw error;
        // Not stored: the provider's retry brings it again; the other events stand.
        outcome = "failed";
        logger.error("webhook_event_not_stored", {
          correlation_id: context.correlationId,
          provider,
          event_id: event.eventId,
          type: event.type,
          error: describeFailure(error),
        });
      }
      results.push({ event_id: event.eventId, outcome });
    }
    return results;
  });
}

interface AttemptFailure {
  event_id: string;
  type: string;
  attempts: number;
  status: "failed" | "dead";
  error: string;
}

/** Stores one event (its text made storable) and applies it, unless it is a duplicate or dead. */
async function storeAndApply(
  tx: TransactionSql,
  provider: WebhookProvider,
  event: WebhookEvent,
  onFailure: (failure: AttemptFailure) => void,
): Promise<EventOutcome> {
  const [begun] = await tx<BeginRow[]>`
    select id, outcome from public.webhook_event_begin(${provider}, ${event.eventId}, ${event.type},
                                                       ${jsonb(tx, storableJson(event.payload))})`;
  if (begun!.outcome === "duplicate" || begun!.outcome === "dead") return begun!.outcome;
  try {
    const applied = await tx.savepoint((sp) => event.apply(sp));
    await tx`select 1 from public.webhook_event_finish(${begun!.id}::uuid, ${applied})`;
    return applied;
  } catch (error) {
    const message = describeFailure(error);
    const [finished] = await tx<{ status: "failed" | "dead"; attempts: number }[]>`
      select status, attempts from public.webhook_event_finish(${begun!.id}::uuid, 'failed', ${message})`;
    onFailure({ event_id: event.eventId, type: event.type, attempts: finished!.attempts, status: finished!.status, error: message });
    return finished!.status;
  }
}

/**
 * The answer to the provider: 200 with the outcomes, or 500 when an effect failed and should
 * be retried (a dead event is answered 200: retrying cannot help, an admin replays it).
 */
export function webhookResponse(c: Context<SharedEnv>, results: readonly EventResult[]): Response {
  const failed = results.filter((result) => result.outcome === "failed");
  if (failed.length > 0) {
    throw new HttpError(500, "event_failed", "The event was stored but could not be applied; retry later.", {
      event_ids: failed.map((result) => result.event_id),
    });
  }
  return c.json({ received: true, events: results }, 200);
}
