// stripe-poll: Stripe retries a webhook for three days, but a PaymentIntent stays payable until
// it is canceled at Stripe: a customer finishing 3-D Secure late, a delayed payment method, a
// client keeping its client_secret, or a customer retrying after a failed attempt can pay it a
// day later, and an endpoint misconfigured for longer than the retries loses the success for
// good. So top-up intents still open at Stripe after JOBS_STRIPE_POLL_AFTER_SECONDS are read back
// (paymentIntents.retrieve): those waiting for the payer, and those the webhook's
// payment_intent.payment_failed failed (the user was told; Stripe lets the customer pay the same
// PaymentIntent with another method, and with the webhooks lost only this job would see that
// payment). What Stripe reports is applied by the webhook's own event for it
// (stripePolledEvent): `succeeded` as payment_intent.succeeded (credited once, a failed intent
// too: a late webhook finds the payment recorded). A failed attempt (`requires_payment_method`
// with a last_payment_error) ends nothing: the intent keeps being read back. Past
// JOBS_INTENT_TTL_SECONDS (api_private.intent_past_ttl decides), a PaymentIntent nobody has paid
// (requires_payment_method, requires_confirmation, requires_action) is canceled at Stripe first
// (paymentIntents.cancel), and its intent canceled here only once Stripe answered it canceled (a
// failed intent too, without a second notice to the user); Stripe refusing because the
// PaymentIntent moved on meanwhile (payment_intent_unexpected_state) reports it as it is now,
// which is applied as above (succeeded: credited; processing: waits). A PaymentIntent canceled
// at Stripe by someone else (an operator in the dashboard, Stripe itself) can never be paid
// (Stripe refuses to confirm it), so it is applied at once, whatever the intent's age, as
// payment_intent.canceled (the intent canceled with Stripe's cancellation_reason; a late webhook
// finds it canceled). One Stripe does not know (404 resource_missing) cancels its intent only
// once past the TTL: Stripe answers the same 404 for a PaymentIntent of another account or mode,
// so a secret key swapped for another account's (or a test key in production) would otherwise
// cancel every open top-up while its PaymentIntent stays payable where it is. `processing` and
// `requires_capture` wait for their outcome, past the TTL too. expire-intents leaves these
// intents (Stripe's, with a PaymentIntent) to this job.
//
// Pending refunds (an admin's refund Stripe answered pending, or whose answer was lost) are
// completed or closed only by Stripe's webhooks, and meanwhile reserve their part of the credit
// (no ledger reversal of it, no closing of its account). So those still pending after
// JOBS_STRIPE_POLL_AFTER_SECONDS are read back too (refunds.retrieve) and applied by the
// webhook's own event: `succeeded` as refund.updated (the pending refund completed, the credit
// reversed once), `failed` as refund.failed and `canceled` as refund.updated (the pending
// refund closed, its reservation released); a late webhook finds the refund no longer pending
// and changes nothing. `pending` and `requires_action` wait. A refund recorded before Stripe was
// asked and still under the admin's request id (Stripe's answer was lost, or Stripe never got
// the request) is looked for among the payment's refunds by metadata.refund_request_id; found,
// it is applied the same way, and the event gives the refund Stripe's id. When Stripe has none,
// the request never reached it: within a day of the refund (REFUND_RESEND_WITHIN_SECONDS,
// Stripe's Idempotency-Key retention) it is sent again with the admin's Idempotency-Key and the
// same parameters, counted resent, and the refund it makes is read back and applied; a refund
// older than that counts not_found, pending for an admin (reconcile lists it after two days). A
// refund Stripe does not know (404) is logged and counted not_found, and left for reconcile.
//
// A dispute's hold (charge.dispute.created) is released only by charge.dispute.closed; with
// every delivery of it lost, the user's money would stay frozen for good. So dispute holds still
// pending after JOBS_STRIPE_POLL_AFTER_SECONDS are read back too (disputes.retrieve): a dispute
// Stripe closed (won, lost, warning_closed) is applied by charge.dispute.closed (the hold
// voided; lost: the charge's refunds as Stripe lists them recorded, then the forced refund
// once), and a late webhook finds both done. Any other status waits. A dispute Stripe does not
// know (404) is logged, counted not_found, and left.
//
// Stripe unreachable or refusing otherwise (a 5xx, a 429, our key refused) leaves the item and
// counts an error; neither stops the run's other items. Each item is leased for
// JOBS_LEASE_SECONDS, or a quarter of the time it has waited.
import {
  type StripeClient,
  type StripeDispute,
  type StripePaymentIntent,
  type StripeRefund,
  StripeUnknownDisputeError,
  StripeUnknownPaymentIntentError,
  StripeUnknownRefundError,
} from "../_shared/providers/stripe/client.ts";
import { isRefundRequestId } from "../_shared/providers/refund-request.ts";
import { findOrSendAgain } from "./refund-resend.ts";
import { sendStripeRefund } from "../_shared/money/stripe-refunds.ts";
import { stripePolledDispute, stripePolledEvent } from "../_shared/providers/stripe/events.ts";
import { expireUnpaidIntent } from "./expire-intents.ts";
import type { Job, JobRun } from "./job.ts";
import { applyConfirmed, type LeasedPayment, pollKinds, settleWithProvider, type Verdict } from "./poll.ts";

/** The statuses of a PaymentIntent nobody has paid: the customer can still pay it until it is canceled at Stripe. */
const UNPAID = new Set<string>(["requires_payment_method", "requires_confirmation", "requires_action"]);

/** The event Stripe sends when a refund reaches its end (pending and requires_action wait for it). */
const EVENT_OF_REFUND_STATUS: Record<string, "refund.updated" | "refund.failed"> = {
  succeeded: "refund.updated",
  canceled: "refund.updated",
  failed: "refund.failed",
};

/** The statuses of a dispute Stripe has closed: charge.dispute.closed carries one of them. */
const CLOSED_DISPUTE = new Set<string>(["won", "lost", "warning_closed"]);

/** Top-up intents (their PaymentIntent), then Stripe refunds still pending, then dispute holds. */
const KINDS = ["intents", "refunds", "disputes"] as const;

/**
 * The state Stripe reports applied as its webhook would, or the intent canceled once nothing at
 * Stripe can pay it: expired when this run canceled the PaymentIntent past the TTL
 * (`canceledHere`), as payment_intent.canceled when someone else canceled it.
 */
async function applyState(run: JobRun, item: LeasedPayment, paymentIntent: StripePaymentIntent, canceledHere: boolean): Promise<Verdict> {
  if (paymentIntent.status === "succeeded") {
    return await applyConfirmed(run, "stripe", stripePolledEvent("payment_intent.succeeded", paymentIntent));
  }
  if (paymentIntent.status === "canceled" && canceledHere) return await expireUnpaidIntent(run, item.id) ? "canceled" : "pending";
  if (paymentIntent.status === "canceled") {
    const verdict = await applyConfirmed(run, "stripe", stripePolledEvent("payment_intent.canceled", paymentIntent));
    return verdict === "applied" ? "canceled" : verdict;
  }
  // Anything else can still be paid (a failed attempt included) or is being paid: it waits.
  return "pending";
}

/** A refund's end as Stripe reports it, applied as its webhook would; a refund still under way waits. */
async function applyRefund(run: JobRun, refund: StripeRefund): Promise<Verdict> {
  const status = refund.status ?? "pending";
  if (!Object.hasOwn(EVENT_OF_REFUND_STATUS, status)) return "pending";
  return await applyConfirmed(run, "stripe", stripePolledEvent(EVENT_OF_REFUND_STATUS[status]!, refund));
}

/** Reads the intent's PaymentIntent back (canceled first when unpaid past the TTL) and applies it; Stripe's failures counted. */
function settleIntent(run: JobRun, item: LeasedPayment): Promise<Verdict> {
  const stripe = run.stripe();
  return settleWithProvider(run, item, {
    log: { prefix: "stripe_poll", ids: { kind: "intents", intent_id: item.id, payment_intent_id: item.referenceId } },
    readBack: () => stripe.retrievePaymentIntent(item.referenceId),
    topUp: {
      unpaid: (paymentIntent) => UNPAID.has(paymentIntent.status),
      cancel: () => stripe.cancelPaymentIntent(item.referenceId),
    },
    state: (paymentIntent) => paymentIntent.status,
    unknown: (error) => error instanceof StripeUnknownPaymentIntentError,
    apply: (paymentIntent, canceled) => applyState(run, item, paymentIntent, canceled),
  });
}

/**
 * The item's refund as Stripe has it: by its id, or, for a refund still under its request id
 * (Stripe's answer to the refund was lost, or Stripe never got it), the payment's refund that
 * carries the request id in its metadata, or the one the request sent again makes
 * (refund-resend.ts).
 */
function readBackRefund(stripe: StripeClient, run: JobRun, item: LeasedPayment, resent: () => void): Promise<StripeRefund> {
  if (!isRefundRequestId(item.referenceId)) return stripe.retrieveRefund(item.referenceId);
  return findOrSendAgain(run, item, {
    provider: "stripe",
    find: (unanswered) => stripe.refundOfRequest(unanswered.providerPaymentId, item.referenceId),
    sendAgain: (unanswered) => sendStripeRefund(stripe, unanswered),
    read: (id) => stripe.retrieveRefund(id),
    unknown: (message) => new StripeUnknownRefundError(message, 404),
  }, resent);
}

/** Reads the pending refund back (its request sent again when Stripe never received it) and applies its end; Stripe's failures counted. */
function settleRefund(run: JobRun, item: LeasedPayment): Promise<Verdict> {
  const stripe = run.stripe();
  return settleWithProvider(run, item, {
    log: { prefix: "stripe_poll", ids: { kind: "refunds", refund_id: item.id, stripe_refund_id: item.referenceId } },
    readBack: (resent) => readBackRefund(stripe, run, item, resent),
    topUp: null,
    state: (refund) => refund.status ?? "pending",
    unknown: (error) => error instanceof StripeUnknownRefundError,
    apply: (refund) => applyRefund(run, refund),
  });
}

/** Reads the held dispute back and applies it once Stripe has closed it; Stripe's failures counted. */
function settleDispute(run: JobRun, item: LeasedPayment): Promise<Verdict> {
  const stripe = run.stripe();
  return settleWithProvider(run, item, {
    log: { prefix: "stripe_poll", ids: { kind: "disputes", hold_id: item.id, stripe_dispute_id: item.referenceId } },
    readBack: () => stripe.retrieveDispute(item.referenceId),
    topUp: null,
    state: (dispute) => dispute.status,
    unknown: (error) => error instanceof StripeUnknownDisputeError,
    apply: async (dispute: StripeDispute) =>
      CLOSED_DISPUTE.has(dispute.status)
        ? await applyConfirmed(run, "stripe", await stripePolledDispute(dispute, () => stripe))
        : "pending",
  });
}

const SETTLE = { intents: settleIntent, refunds: settleRefund, disputes: settleDispute };

/**
 * One item settled as a run settles it, without taking it through poll_take: a test settles its
 * own items this way, never the items other test files leave in the shared database.
 */
export const settleStripeItem = (run: JobRun, kind: (typeof KINDS)[number], item: LeasedPayment): Promise<Verdict> =>
  SETTLE[kind](run, item);

export const stripePoll: Job = async (run) => ({
  ...await pollKinds(run, "stripe-poll", KINDS, run.settings.stripePollAfterSeconds, (kind, item) => SETTLE[kind](run, item)),
});
