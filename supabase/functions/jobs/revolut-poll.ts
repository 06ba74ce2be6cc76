// revolut-poll: Revolut delivers an order's webhook at most three times, ten minutes apart. When
// all three are lost, a completed top-up order would never be credited (its intent expires: the
// customer paid for nothing) and a refund Revolut answered as pending would never be recorded
// (the card gets the money back, the wallet keeps it). So top-up intents still waiting for the
// payer and Revolut refunds still pending after JOBS_REVOLUT_POLL_AFTER_SECONDS are read back
// from the Merchant API (GET /api/orders/{id}), and the state Revolut reports is applied by the
// webhook's own event for that order: the event Revolut would have sent (ORDER_COMPLETED,
// ORDER_FAILED, ORDER_CANCELLED) with the order as looked up, under the webhook's dedupe key, so
// a late webhook after the poll, or a poll after the webhook, is a duplicate. Any other state
// (pending, processing, authorised) leaves the item for a later run.
//
// A top-up order stays payable at Revolut until it is cancelled there: its customer can pay the
// checkout link a day later. So past JOBS_INTENT_TTL_SECONDS, an order nobody has paid (pending)
// is cancelled at Revolut first (POST /api/orders/{id}/cancel), and its intent canceled here
// only once Revolut answered the order cancelled. Revolut refusing the cancel because the order
// moved on meanwhile reports it as read back after the refusal, which is applied as above
// (completed: credited through ORDER_COMPLETED; processing, authorised: waits); nothing is
// canceled. An order Revolut does not know (a 404 to its look-up, also the read-back after a
// refused cancel: nothing there can be paid) is logged and counted not_found, and cancels its
// intent once past the TTL; a 404 to the cancel itself proves nothing (the order is read back
// and judged as above: still pending, it counts an error and stays payable). A refund
// order Revolut does not know is left (the admins find it in reconcile). Revolut unreachable or
// refusing otherwise (no answer, a 5xx, 429, our key refused, a cancel refused while the order
// is still pending) leaves the item and counts an error. Neither stops the run's other items. Each item is leased for JOBS_LEASE_SECONDS, or a
// quarter of the time it has waited. expire-intents leaves the intents with an order to this job.
import { withRequestContext } from "../_shared/db.ts";
import { type RevolutOrder, RevolutUnknownOrderError } from "../_shared/providers/revolut/client.ts";
import { revolutWebhookEvent } from "../_shared/providers/revolut/events.ts";
import { expireUnpaidIntent } from "./expire-intents.ts";
import type { Job, JobRun } from "./job.ts";
import { applyConfirmed, type LeasedPayment, noPollCounts, settleWithProvider, takeWaiting, type Verdict } from "./poll.ts";

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
 * the day before it is canceled, not one a run.
 */
const LEASE_GROWTH = 0.25;

/** Top-up intents (their payment order), then Revolut refunds (their refund order). */
const KINDS = ["intents", "refunds"] as const;

/** The state of an order its payer has not paid yet: its checkout link can be paid until it is cancelled at Revolut. */
const UNPAID_STATE = "pending";

/**
 * The state Revolut reports applied as its webhook would; an order Revolut answered cancelled
 * when this job asked it to cancels its intent (nothing at Revolut can pay it any more).
 */
async function applyOrder(run: JobRun, item: LeasedPayment, order: RevolutOrder, cancelAsked: boolean): Promise<Verdict> {
  if (cancelAsked && order.state === "cancelled") return await expireUnpaidIntent(run, item.id) ? "canceled" : "pending";
  const event = Object.hasOwn(EVENT_OF_STATE, order.state) ? EVENT_OF_STATE[order.state]! : null;
  if (event === null) return "pending";
  const webhookEvent = await revolutWebhookEvent({ event, order_id: item.referenceId }, { ok: true, value: order });
  return await applyConfirmed(run, "revolut", webhookEvent);
}

/** Reads the item's order back (a top-up's cancelled first when unpaid past the TTL) and applies it; Revolut's failures counted. */
function settle(run: JobRun, kind: typeof KINDS[number], item: LeasedPayment): Promise<Verdict> {
  const revolut = run.revolut();
  return settleWithProvider(run, item, kind === "intents", {
    log: { prefix: "revolut_poll", ids: { kind, id: item.id, order_id: item.referenceId } },
    readBack: () => revolut.order(item.referenceId),
    unpaid: (order) => order.state === UNPAID_STATE,
    cancel: () => revolut.cancelOrder(item.referenceId),
    state: (order) => order.state,
    unknown: (error) => error instanceof RevolutUnknownOrderError,
    apply: (order, cancelAsked) => applyOrder(run, item, order, cancelAsked),
  });
}

export const revolutPoll: Job = async (run) => {
  const counts = noPollCounts();
  for (const kind of KINDS) {
    const batch = run.settings.batchSize - counts.taken;
    if (batch <= 0) break;
    const items = await withRequestContext(
      run.sql,
      run.context,
      (tx) => takeWaiting(tx, run, { job: "revolut-poll", kind }, run.settings.revolutPollAfterSeconds, batch, LEASE_GROWTH),
    );
    counts.taken += items.length;
    for (const item of items) counts[await settle(run, kind, item)] += 1;
  }
  return { ...counts };
};
