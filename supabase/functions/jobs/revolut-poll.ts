// revolut-poll: Revolut delivers an order's webhook at most three times, ten minutes apart. When
// all three are lost, a completed top-up order would never be credited (its intent expires: the
// customer paid for nothing) and a refund Revolut answered as pending would never be recorded
// (the card gets the money back, the wallet keeps it). So top-up intents still waiting for the
// payer and Revolut refunds still pending after JOBS_REVOLUT_POLL_AFTER_SECONDS are read back
// from the Merchant API (GET /api/orders/{id}), and the state Revolut reports is applied by the
// webhook's own event for that order: the event Revolut would have sent (ORDER_COMPLETED,
// ORDER_FAILED, ORDER_CANCELLED) with the order as looked up, under the webhook's dedupe key, so
// a late webhook after the poll, or a poll after the webhook, is a duplicate. Any other state
// (pending, processing, authorised) leaves the item for a later run. Revolut unreachable or
// answering an error leaves the item and counts an error; an order Revolut does not know (404)
// is logged and left (the admins find the intent or refund in reconcile). Neither stops the
// run's other items. Each item is leased for JOBS_LEASE_SECONDS. expire-intents leaves these
// intents to this job: past JOBS_INTENT_TTL_SECONDS, an intent whose order Revolut does not know,
// or whose payer has not paid it (pending), is canceled; one whose payment is underway
// (processing, authorised) waits for its outcome.
import { withRequestContext } from "../_shared/db.ts";
import { ProviderError } from "../_shared/providers/errors.ts";
import type { RevolutOrder } from "../_shared/providers/revolut/client.ts";
import { revolutWebhookEvent } from "../_shared/providers/revolut/events.ts";
import { expireUnpaidIntent } from "./expire-intents.ts";
import type { Job, JobRun } from "./job.ts";
import { applyConfirmed, type LeasedPayment, takeWaiting } from "./poll.ts";

/** The webhook event that announces an order's final state (declined: a refund order Revolut refused). */
const EVENT_OF_STATE: Record<string, string> = {
  completed: "ORDER_COMPLETED",
  failed: "ORDER_FAILED",
  declined: "ORDER_FAILED",
  cancelled: "ORDER_CANCELLED",
};

/**
 * An item still undecided is asked about again after a quarter of the time it has waited (at
 * least the job's lease, at most an hour): an abandoned checkout costs some 30 look-ups in
 * the day before expire-intents cancels it, not one a run.
 */
const LEASE_GROWTH = 0.25;

/** Top-up intents (their payment order), then Revolut refunds (their refund order). */
const KINDS = ["intents", "refunds"] as const;

interface Counts {
  taken: number;
  applied: number;
  already_applied: number;
  pending: number;
  not_found: number;
  errors: number;
}

/** The state of an order its payer has not paid yet. */
const UNPAID_STATE = "pending";

/**
 * The order as Revolut reports it; "not_found" when Revolut does not know it, or null when
 * Revolut could not say (both counted and logged).
 */
async function lookUp(run: JobRun, kind: string, item: LeasedPayment, counts: Counts): Promise<RevolutOrder | "not_found" | null> {
  try {
    return await run.revolut().order(item.referenceId);
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    const notFound = error.httpStatus === 404;
    counts[notFound ? "not_found" : "errors"] += 1;
    run.logger.warn(notFound ? "revolut_poll_order_not_found" : "revolut_poll_unconfirmed", {
      correlation_id: run.context.correlationId,
      kind,
      id: item.id,
      order_id: item.referenceId,
      http_status: error.httpStatus,
      error: error.message,
    });
    return notFound ? "not_found" : null;
  }
}

export const revolutPoll: Job = async (run) => {
  const counts: Counts = { taken: 0, applied: 0, already_applied: 0, pending: 0, not_found: 0, errors: 0 };
  for (const kind of KINDS) {
    const batch = run.settings.batchSize - counts.taken;
    if (batch <= 0) break;
    const items = await withRequestContext(
      run.sql,
      run.context,
      (tx) => takeWaiting(tx, run, { job: "revolut-poll", kind }, run.settings.revolutPollAfterSeconds, batch, LEASE_GROWTH),
    );
    counts.taken += items.length;
    for (const item of items) {
      const order = await lookUp(run, kind, item, counts);
      if (order === null) continue;
      // Nothing of the order is underway: its intent ends here once past its TTL.
      if (kind === "intents" && (order === "not_found" || order.state === UNPAID_STATE)) await expireUnpaidIntent(run, item.id);
      if (order === "not_found") continue;
      const event = Object.hasOwn(EVENT_OF_STATE, order.state) ? EVENT_OF_STATE[order.state]! : null;
      if (event === null) {
        counts.pending += 1;
        continue;
      }
      const webhookEvent = await revolutWebhookEvent({ event, order_id: item.referenceId }, { ok: true, value: order });
      counts[await applyConfirmed(run, "revolut", webhookEvent)] += 1;
    }
  }
  return { ...counts };
};
