// revolut-poll: Revolut delivers an order's webhook at most three times, ten minutes apart. When
// all three are lost, a completed top-up order would never be credited (its intent expires: the
// customer paid for nothing) and a refund Revolut answered as pending would never be recorded
// (the card gets the money back, the wallet keeps it). So top-up intents still waiting for the
// payer and Revolut refunds still pending after JOBS_REVOLUT_POLL_AFTER_SECONDS are read back
// from the Merchant API (GET /api/orders/{id}), and the state Revolut reports is applied by the
// webhook's own event for that order: the event Revolut would have sent (ORDER_COMPLETED,
// ORDER_FAILED, ORDER_CANCELLED) with the order as looked up, under the webhook's dedupe key, so
// a late webhook after the poll, or a poll after the webhook, is a duplicate. Any other state
// (pending, processing, authorised) leaves the item for a later run. An order event that failed
// whenever Revolut delivered it (a dashboard refund's, which no table holds until it applies,
// whose top-up was not credited yet or whose look-ups failed) is applied again after the
// intents, with its order read back now, under its own key, as a fourth delivery would. A refund recorded before
// Revolut was asked and whose answer was lost is still stored under the admin's request id: its
// refund order is found by that reference (merchant_order_data.reference), and applying it gives
// the refund the order's id. When Revolut has no refund order of that reference, the request
// never reached it (it failed or went unanswered before Revolut made anything): within a day of
// the refund it is sent again, with the admin's Idempotency-Key and the same body, and the
// refund order it makes is applied like one found; a refund older than that counts not_found,
// pending for an admin (reconcile lists it after two days).
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
import { type RevolutClient, type RevolutOrder, RevolutUnknownOrderError, UNPAID_STATE } from "../_shared/providers/revolut/client.ts";
import { isRefundRequestId } from "../_shared/providers/refund-request.ts";
import { revolutWebhookEvent } from "../_shared/providers/revolut/events.ts";
import { applyRefundOrder } from "../_shared/providers/revolut/refund-orders.ts";
import { sendRevolutRefund } from "../_shared/money/revolut-refunds.ts";
import { findOrSendAgain } from "./refund-resend.ts";
import { withRequestContext } from "../_shared/db.ts";
import { expireUnpaidIntent } from "./expire-intents.ts";
import type { Job, JobRun } from "./job.ts";
import { applyConfirmed, type LeasedPayment, pollKinds, settleWithProvider, type Verdict } from "./poll.ts";

/** The webhook event that announces an order's final state (declined: a refund order Revolut refused). */
const EVENT_OF_STATE: Record<string, string> = {
  completed: "ORDER_COMPLETED",
  failed: "ORDER_FAILED",
  declined: "ORDER_FAILED",
  cancelled: "ORDER_CANCELLED",
};

/** Top-up intents (their payment order), Revolut refunds (their refund order), then failed order events (their order). */
const KINDS = ["intents", "refunds", "events"] as const;

/**
 * The state Revolut reports applied as its webhook would; an order Revolut answered cancelled
 * when this job asked it to cancels its intent (nothing at Revolut can pay it any more).
 */
async function applyOrder(run: JobRun, item: LeasedPayment, order: RevolutOrder, cancelAsked: boolean): Promise<Verdict> {
  if (cancelAsked && order.state === "cancelled") return await expireUnpaidIntent(run, item.id) ? "canceled" : "pending";
  const event = Object.hasOwn(EVENT_OF_STATE, order.state) ? EVENT_OF_STATE[order.state]! : null;
  if (event === null) return "pending";
  const webhookEvent = await revolutWebhookEvent({ event, order_id: order.id }, { ok: true, value: order });
  const verdict = await applyConfirmed(run, "revolut", webhookEvent);
  if (verdict !== "already_applied" || order.type !== "refund") return verdict;
  return await settleLeftRefund(run, item, order) ? "applied" : verdict;
}

/**
 * A refund order whose event is a duplicate while the item's refund is still pending: the
 * webhook's event under that key was finished without settling it. That happens to a refund
 * still stored under its request id whose refund order's ORDER_CANCELLED or ORDER_FAILED came
 * while the webhook could not read the order: nothing told it from a top-up order, and the
 * event went that way. The refund order read back here is applied to the refund directly
 * (applyRefundOrder, as the webhook would: identify, then record or close it by the order's id, idempotent);
 * whether it settled it.
 */
async function settleLeftRefund(run: JobRun, item: LeasedPayment, order: RevolutOrder): Promise<boolean> {
  return await withRequestContext(run.sql, run.context, async (tx) => {
    const [pending] = await tx`select 1 from public.refunds where id = ${item.id}::uuid and status = 'pending'`;
    if (!pending) return false;
    return await applyRefundOrder(tx, order.id, { ok: true, value: order }) === "processed";
  });
}

/**
 * The item's order as Revolut has it: by its id, or, for a refund still stored under its request
 * id (Revolut's answer to the refund was lost, or Revolut never got it), the refund order that
 * carries the request id as its reference, or the one the request sent again makes
 * (refund-resend.ts).
 */
function readBack(revolut: RevolutClient, run: JobRun, item: LeasedPayment, resent: () => void): Promise<RevolutOrder> {
  if (!isRefundRequestId(item.referenceId)) return revolut.order(item.referenceId);
  return findOrSendAgain(run, item, {
    provider: "revolut",
    find: () => revolut.refundOrderByReference(item.referenceId),
    sendAgain: async (unanswered) => {
      const made = await sendRevolutRefund(revolut, unanswered);
      return { id: made.id, status: made.state };
    },
    read: (id) => revolut.order(id),
    unknown: (message) => new RevolutUnknownOrderError(message, 404),
  }, resent);
}

/**
 * A stored order event that failed whenever Revolut delivered it, applied again with its order
 * as Revolut reports it now, under its own key: what a fourth delivery would do. Run after the
 * intents, so that a refund order's event waiting for its top-up's credit finds it.
 */
async function applyFailedEvent(run: JobRun, item: LeasedPayment, order: RevolutOrder): Promise<Verdict> {
  const [stored] = await withRequestContext(run.sql, run.context, (tx) =>
    tx<{ payload: Record<string, unknown> }[]>`
      select payload from public.webhook_events where id = ${item.id}::uuid and status = 'failed'`);
  if (!stored) return "already_applied";
  return await applyConfirmed(run, "revolut", await revolutWebhookEvent(stored.payload, { ok: true, value: order }));
}

/**
 * Reads the item's order back (a top-up's cancelled first when unpaid past the TTL, a refund's
 * request sent again when Revolut never received it) and applies it; Revolut's failures counted.
 */
function settle(run: JobRun, kind: typeof KINDS[number], item: LeasedPayment): Promise<Verdict> {
  const revolut = run.revolut();
  const topUp = {
    unpaid: (order: RevolutOrder) => order.state === UNPAID_STATE,
    cancel: () => revolut.cancelOrder(item.referenceId),
  };
  return settleWithProvider(run, item, {
    log: { prefix: "revolut_poll", ids: { kind, id: item.id, order_id: item.referenceId } },
    readBack: (resent) => readBack(revolut, run, item, resent),
    topUp: kind === "intents" ? topUp : null,
    state: (order) => order.state,
    unknown: (error) => error instanceof RevolutUnknownOrderError,
    apply: (order, cancelAsked) => kind === "events" ? applyFailedEvent(run, item, order) : applyOrder(run, item, order, cancelAsked),
  });
}

export const revolutPoll: Job = async (run) => ({
  ...await pollKinds(run, "revolut-poll", KINDS, run.settings.revolutPollAfterSeconds, (kind, item) => settle(run, kind, item)),
});
