// The Stripe events we act on, checked with zod before anything is stored (a signed body of
// the wrong shape is 400), and what each does to the database. Amounts are Stripe's integer
// minor units; currencies are upper-cased to ISO 4217 as the ledger keeps them.
import { z } from "zod";
import type { TransactionSql } from "../../db.ts";
import { parseOrThrow } from "../../errors.ts";
import { storableJson } from "../../storable.ts";
import { jsonb } from "../../webhooks/jsonb.ts";
import { type Settled, settled } from "../settled.ts";
import type { StripeClient } from "./client.ts";
import { identifyRefund } from "../../money/provider-refunds.ts";
import { isRefundRequestId } from "../refund-request.ts";
import {
  findIntentId,
  findPayment,
  type PaymentSuccess,
  paymentSuccessEffect,
  recordPaymentFailure,
  recordPendingRefund,
  recordRefund,
  recordRefundFailure,
} from "../../webhooks/payments.ts";
import { type AppliedOutcome, EffectWaits, type WebhookEvent } from "../../webhooks/store-then-apply.ts";

/**
 * An id of one kind of Stripe object: one of its `prefixes`. Some kinds have more than one: the
 * charge of a payment made with some methods other than a card (SEPA Direct Debit, ACH, a
 * payment converted to the settlement currency) is py_..., its refunds pyr_..., and a Dispute
 * may be du_...; an event about one of them is refused otherwise (400), and its refund or
 * dispute never recorded while Stripe has moved the money.
 */
const id = (...prefixes: [string, ...string[]]) =>
  z.string().max(255).refine((value) => prefixes.some((prefix) => value.startsWith(prefix)), {
    message: `must start with ${prefixes.join(" or ")}`,
  });
/** The ids of the objects that have several kinds of ids. */
const CHARGE = ["ch_", "py_"] as const;
const REFUND = ["re_", "pyr_"] as const;
const DISPUTE = ["dp_", "du_"] as const;
const amount = z.int().nonnegative();
const currency = z.string().regex(/^[a-zA-Z]{3}$/, "must be a 3-letter currency code").transform((c) => c.toUpperCase());
const metadata = z.record(z.string(), z.string()).nullish().transform((m) => m ?? {});
/** An id, or the expanded object carrying it. */
const reference = (...prefixes: [string, ...string[]]) =>
  z.union([id(...prefixes), z.object({ id: id(...prefixes) }).transform((o) => o.id)]);

const envelope = z.object({
  id: id("evt_"),
  type: z.string().min(1).max(255),
  created: z.int().positive(),
  data: z.object({ object: z.record(z.string(), z.unknown()) }),
});

const paymentIntent = z.object({
  id: id("pi_"),
  amount: amount.positive(),
  amount_received: amount.optional(),
  currency,
  metadata,
  last_payment_error: z.object({ code: z.string().nullish(), message: z.string().nullish() }).nullish(),
});

/**
 * The PaymentIntent of payment_intent.canceled: canceled at Stripe, which refuses to confirm it
 * from then on. cancellation_reason is null or what canceled it: abandoned, duplicate,
 * fraudulent, requested_by_customer (given by whoever canceled it: an operator in the dashboard,
 * or stripe-poll, which gives abandoned) or automatic, expired, failed_invoice, void_invoice
 * (Stripe's own); any string is taken, as Stripe may add reasons.
 */
const canceledPaymentIntent = paymentIntent.extend({
  status: z.literal("canceled"),
  cancellation_reason: z.string().min(1).max(255).nullish(),
});

const checkoutSession = z.object({
  id: id("cs_"),
  payment_status: z.enum(["paid", "unpaid", "no_payment_required"]),
  payment_intent: reference("pi_").nullish(),
  amount_total: amount.nullish(),
  currency: currency.nullish(),
  metadata,
});

const refund = z.object({
  id: id(...REFUND),
  amount: amount.positive(),
  status: z.string().nullish(),
  reason: z.string().nullish(),
  failure_reason: z.string().nullish(),
  charge: reference(...CHARGE).nullish(),
  payment_intent: reference("pi_").nullish(),
  metadata,
});

const charge = z.object({
  id: id(...CHARGE),
  payment_intent: reference("pi_").nullish(),
  amount,
  amount_refunded: amount,
  currency,
});

/** The Refund object of charge.refund.updated, refund.updated and refund.failed. */
const refundObject = refund.extend({ currency });

const dispute = z.object({
  id: id(...DISPUTE),
  amount: amount.positive(),
  currency,
  charge: reference(...CHARGE),
  payment_intent: reference("pi_").nullish(),
  reason: z.string().nullish(),
});

const closedDispute = dispute.extend({
  status: z.enum([
    "won",
    "lost",
    "warning_closed",
    "warning_needs_response",
    "warning_under_review",
    "needs_response",
    "under_review",
    "prevented",
  ]),
});

const timestamp = z.int().positive().nullish();
const subscription = z.object({
  id: id("sub_"),
  customer: reference("cus_"),
  status: z.enum(["incomplete", "incomplete_expired", "trialing", "active", "past_due", "unpaid", "paused", "canceled"]),
  cancel_at_period_end: z.boolean().nullish(),
  current_period_start: timestamp,
  current_period_end: timestamp,
  items: z.object({
    data: z.array(z.object({
      price: z.object({ id: z.string() }).nullish(),
      current_period_start: timestamp,
      current_period_end: timestamp,
    })),
  }).nullish(),
  metadata,
});

const invoice = z.object({
  id: id("in_"),
  customer: reference("cus_"),
  subscription: reference("sub_").nullish(),
  parent: z.object({ subscription_details: z.object({ subscription: reference("sub_").nullish() }).nullish() }).nullish(),
  status: z.enum(["draft", "open", "paid", "void", "uncollectible"]),
  amount_due: amount,
  amount_paid: amount,
  currency,
  metadata,
});

export type StripeEnvelope = z.output<typeof envelope>;

/**
 * The refunds of a charge as Stripe listed them (newest first), or why they could not be read:
 * a charge.refunded event is applied from them, and fails (retried) without them.
 */
export type ChargeRefunds = Settled<readonly unknown[]>;

const refundedCharge = z.object({ type: z.literal("charge.refunded"), data: z.object({ object: z.object({ id: id(...CHARGE) }) }) });
const lostDispute = z.object({
  type: z.literal("charge.dispute.closed"),
  data: z.object({ object: z.object({ status: z.literal("lost"), charge: reference(...CHARGE) }) }),
});

/**
 * The charge whose refunds must be read from Stripe before `raw` is applied, or null:
 * charge.refunded (the event carries the charge's amount_refunded, not its refunds), and a lost
 * charge.dispute.closed (it takes what the charge's refunds leave, and a refund's own events may
 * not have arrived yet). The read happens before the transaction opens, so that no database
 * connection waits on Stripe.
 */
function chargeToRead(raw: unknown): string | null {
  const refunded = refundedCharge.safeParse(raw);
  if (refunded.success) return refunded.data.data.object.id;
  const lost = lostDispute.safeParse(raw);
  return lost.success ? lost.data.data.object.charge : null;
}

/** The event `raw` with the refunds of the charge it names read from Stripe, when it names one (chargeToRead). */
export async function stripeEventWithRefunds(raw: unknown, stripe: () => Pick<StripeClient, "listChargeRefunds">): Promise<WebhookEvent> {
  const chargeId = chargeToRead(raw);
  return stripeWebhookEvent(raw, chargeId === null ? null : await settled(() => stripe().listChargeRefunds(chargeId)));
}

/**
 * The webhook event for a verified Stripe event: its shape checked (HttpError 400 otherwise)
 * and its effect bound. The stored payload is the whole event, from which the effect can be
 * replayed (with the charge's refunds read again). `refunds` are those of the charge a
 * charge.refunded names (chargeToRead); without them such an event fails.
 */
export function stripeWebhookEvent(raw: unknown, refunds: ChargeRefunds | null = null): WebhookEvent {
  const event = parseOrThrow(envelope, raw);
  const identity = { eventId: event.id, type: event.type, payload: raw as Record<string, unknown> };
  const payment = paymentOf(event);
  return payment ? { ...identity, ...paymentSuccessEffect(payment) } : { ...identity, apply: effectOf(event, refunds) };
}

/**
 * The event of `type` that Stripe sends for `object` as a poll read it back (stripe-poll, after
 * the webhook's deliveries were lost): payment_intent.succeeded or payment_intent.canceled for a
 * PaymentIntent, refund.updated
 * (succeeded, canceled) or refund.failed for a refund, charge.dispute.closed for a closed
 * dispute (stripePolledDispute, which reads a lost one's charge's refunds as the webhook does).
 * It is the webhook's own event with the object as its data.object, so that it takes the
 * webhook's effect. Stripe's event id cannot be
 * learnt from the object, so the poll's is `evt_poll:<type>:<object id>` (never one of Stripe's,
 * whose ids have no colon): a second poll of the same outcome is a duplicate, and Stripe's own
 * delivery of it finds its effect done (a success finds the payment recorded and is ignored, as
 * the deposit key payment:stripe:<pi id> guarantees anyway; a cancellation finds the intent
 * canceled; a refund's finds it no longer
 * pending; a dispute's finds its hold released and its forced refund recorded).
 */
export function stripePolledEvent(
  type: "payment_intent.succeeded" | "payment_intent.canceled" | "refund.updated" | "refund.failed",
  object: { id: string },
): WebhookEvent {
  return stripeWebhookEvent(stripePolledPayload(type, object));
}

/** stripePolledEvent's charge.dispute.closed, with the refunds of a lost dispute's charge read from Stripe (chargeToRead). */
export function stripePolledDispute(dispute: { id: string }, stripe: () => Pick<StripeClient, "listChargeRefunds">): Promise<WebhookEvent> {
  return stripeEventWithRefunds(stripePolledPayload("charge.dispute.closed", dispute), stripe);
}

/** The payload of the poll's event of `type` for `object` (stripePolledEvent). */
function stripePolledPayload(type: string, object: { id: string }) {
  return {
    id: `evt_poll:${type}:${object.id}`,
    object: "event",
    type,
    created: Math.floor(Date.now() / 1000),
    data: { object: storableJson(object) },
  };
}

/**
 * The payment a payment_intent.succeeded or a paid checkout session reports, or null. Both
 * record the payment under the PaymentIntent id; payment_success_apply serialises them per
 * PaymentIntent, and whichever comes second finds the payment recorded and changes nothing,
 * even when only one of them names the intent (then a payment first stored for no intent stays
 * needs_review for an operator).
 */
function paymentOf(event: StripeEnvelope): PaymentSuccess | null {
  const type = event.type;
  const succeeded = (paymentIntentId: string, intentHint: string | undefined, amountReceived: number, cur: string) => ({
    provider: "stripe" as const,
    providerPaymentId: paymentIntentId,
    intentHint: intentHint ?? null,
    amount: amountReceived,
    currency: cur,
    raw: event.data.object,
  });
  if (type === "payment_intent.succeeded") {
    const pi = parseObject(paymentIntent, event);
    return succeeded(pi.id, pi.metadata.intent_id, pi.amount_received || pi.amount, pi.currency);
  }
  if (type === "checkout.session.completed" || type === "checkout.session.async_payment_succeeded") {
    const session = parseObject(checkoutSession, event);
    // Unpaid sessions (delayed methods) are paid later by async_payment_succeeded; sessions
    // without a PaymentIntent (subscriptions, free) move no wallet money.
    if (session.payment_status !== "paid" || !session.payment_intent || !session.amount_total || !session.currency) return null;
    return succeeded(session.payment_intent, session.metadata.intent_id, session.amount_total, session.currency);
  }
  return null;
}

// The envelope schema of each object schema, made once: zod compiles a schema on its first
// parse, and a schema made per event would be compiled for every delivery.
const envelopes = new Map<z.ZodType, z.ZodType>();

/** The event's data.object checked with `schema`; failing fields are named from the event root. */
function parseObject<T extends z.ZodType>(schema: T, event: StripeEnvelope): z.output<T> {
  let envelopeOf = envelopes.get(schema);
  if (!envelopeOf) {
    envelopeOf = z.object({ data: z.object({ object: schema }) });
    envelopes.set(schema, envelopeOf);
  }
  const parsed = parseOrThrow(envelopeOf, event) as { data: { object: z.output<T> } };
  return parsed.data.object;
}

type Effect = (tx: TransactionSql) => Promise<AppliedOutcome>;

/** Serialises, until commit, the effects that name the same thing (a PaymentIntent, a charge, a dispute). */
async function serialiseOn(tx: TransactionSql, name: string): Promise<void> {
  await tx`select pg_advisory_xact_lock(hashtextextended(${name}, 0))`;
}

function effectOf(event: StripeEnvelope, refunds: ChargeRefunds | null): Effect {
  const type = event.type;
  if (type === "checkout.session.completed" || type === "checkout.session.async_payment_succeeded") {
    // A session that moved no money: paymentOf takes the paid ones.
    return () => Promise.resolve("ignored");
  }
  if (type === "payment_intent.payment_failed") {
    const pi = parseObject(paymentIntent, event);
    const reason = pi.last_payment_error?.message ?? pi.last_payment_error?.code ?? "payment_failed";
    return async (tx) => {
      const intentId = await findIntentId(tx, "stripe", pi.id, pi.metadata.intent_id, { unattachedOnly: true });
      if (!intentId) return "ignored";
      await recordPaymentFailure(tx, intentId, reason);
      return "processed";
    };
  }
  if (type === "payment_intent.canceled") {
    const pi = parseObject(canceledPaymentIntent, event);
    const reason = `stripe canceled the PaymentIntent: ${pi.cancellation_reason ?? "no reason given"}`;
    return async (tx) => {
      const intentId = await findIntentId(tx, "stripe", pi.id, pi.metadata.intent_id, { unattachedOnly: true });
      if (!intentId) return "ignored";
      const [row] = await tx<{ outcome: AppliedOutcome }[]>`
        select api_private.stripe_intent_canceled(${intentId}::uuid, ${reason}) as outcome`;
      return row!.outcome;
    };
  }
  if (type === "charge.refunded") {
    const ch = parseObject(charge, event);
    return (tx) => {
      if (!refunds) throw new Error(`the refunds of charge ${ch.id} were not read from Stripe`);
      return refundCharge(tx, ch, refunds);
    };
  }
  if (type === "charge.refund.updated" || type === "refund.updated" || type === "refund.failed") {
    const re = parseObject(refundObject, event);
    return (tx) => updateRefund(tx, re);
  }
  if (type === "charge.dispute.created") {
    const dp = parseObject(dispute, event);
    return (tx) => holdDisputedAmount(tx, dp);
  }
  if (type === "charge.dispute.closed") {
    const dp = parseObject(closedDispute, event);
    return (tx) => settleDispute(tx, dp, refunds);
  }
  if (type.startsWith("customer.subscription.")) {
    const sub = parseObject(subscription, event);
    return (tx) => mirrorSubscription(tx, sub, event.data.object, event.created);
  }
  if (type.startsWith("invoice.")) {
    const inv = parseObject(invoice, event);
    return (tx) => mirrorInvoice(tx, inv, event.data.object, event.created);
  }
  return () => Promise.resolve("ignored");
}

/**
 * The payment a charge belongs to (`locked`: under its row lock, findPayment); a refund or
 * dispute for a payment not yet recorded is retried.
 */
async function paymentOfCharge(tx: TransactionSql, paymentIntentId: string | null | undefined, chargeId: string, locked = false) {
  const payment = paymentIntentId ? await findPayment(tx, "stripe", paymentIntentId, locked) : null;
  if (!payment) throw new Error(`no recorded Stripe payment for charge ${chargeId} (payment intent ${paymentIntentId ?? "none"})`);
  return payment;
}

type Refund = z.output<typeof refund>;
const FAILED_REFUND = new Set(["failed", "canceled"]);
const PENDING_REFUND = new Set(["pending", "requires_action"]);
const isFailed = (re: Refund): re is Refund & { status: "failed" | "canceled" } => FAILED_REFUND.has(re.status ?? "");

/**
 * Records the charge's refunds as Stripe listed them when the event arrived (`refunds`, read by
 * the webhook before the transaction: the event's charge carries only amount_refunded), each by
 * its own id (applyRefund), oldest first. Refunds Stripe did not list are left as they are.
 * Serialised per charge with the refund events; the payment is read under its row lock, so a
 * refund being recorded (an admin's pending refund, or Stripe's answer to it) is recorded first
 * and the listing then finds its row.
 */
async function refundCharge(tx: TransactionSql, ch: z.output<typeof charge>, refunds: ChargeRefunds): Promise<AppliedOutcome> {
  await serialiseOn(tx, `stripe-refund:${ch.id}`);
  const payment = await paymentOfCharge(tx, ch.payment_intent, ch.id, true);
  return await applyListedRefunds(tx, payment.id, ch.id, refunds);
}

/** Records each refund of charge `chargeId` as Stripe listed them (`refunds`), oldest first (applyRefund). */
async function applyListedRefunds(tx: TransactionSql, paymentId: string, chargeId: string, refunds: ChargeRefunds | null) {
  if (!refunds) throw new Error(`the refunds of charge ${chargeId} were not read from Stripe`);
  if (!refunds.ok) throw refunds.error;
  const listed = parseOrThrow(z.array(refund), refunds.value);
  let outcome: AppliedOutcome = "ignored";
  for (const re of listed.reverse()) {
    if (await applyRefund(tx, paymentId, re) === "processed") outcome = "processed";
  }
  return outcome;
}

/**
 * A refund's change of status (charge.refund.updated, refund.updated, refund.failed, and
 * stripe-poll's read-back of a pending refund): the refund is recorded as the Refund object
 * reports it (applyRefund).
 */
async function updateRefund(tx: TransactionSql, re: z.output<typeof refundObject>): Promise<AppliedOutcome> {
  const chargeId = re.charge ?? null;
  await serialiseOn(tx, `stripe-refund:${chargeId ?? re.payment_intent ?? re.id}`);
  const payment = await paymentOfCharge(tx, re.payment_intent, chargeId ?? re.id);
  return applyRefund(tx, payment.id, re);
}

/**
 * Records one Stripe refund by its id as Stripe reports it (an admin's refund still under its
 * request id, named by metadata.refund_request_id, takes that id first): succeeded -> refund_record (a pending
 * row completed, a new one debited; the reversal forced when the money was spent), pending or
 * requires_action -> a pending refund reserving its amount (refund_record_pending), failed or
 * canceled -> refund_record_failure (a succeeded refund credited back, a pending one closed, one
 * never recorded kept failed with no ledger effect). A refund's status at Stripe only moves
 * forward (pending, succeeded, then failed or canceled), so a report behind what is recorded
 * (a late or replayed event) changes nothing: a failed or canceled refund stays so, a succeeded
 * one is never made pending again. Each refund moves the ledger at most once per step, whatever
 * order and however often its reports come.
 */
async function applyRefund(tx: TransactionSql, paymentId: string, re: Refund): Promise<AppliedOutcome> {
  const requestId = re.metadata.refund_request_id;
  // An admin's refund recorded under its request id before Stripe was asked takes Stripe's id
  // first, so that it is completed or closed below and never recorded a second time.
  if (requestId && isRefundRequestId(requestId)) {
    await identifyRefund(tx, "stripe", requestId, re, re.payment_intent ?? re.charge ?? null);
  }
  const [recorded] = await tx<{ status: string; reason: string | null }[]>`
    select status, reason from public.refunds where provider = 'stripe' and provider_refund_id = ${re.id}`;
  if (recorded && FAILED_REFUND.has(recorded.status)) return "ignored";
  if (isFailed(re)) {
    await recordRefundFailure(tx, paymentId, {
      providerRefundId: re.id,
      amount: re.amount,
      status: re.status,
      reason: `stripe refund ${re.status}: ${re.failure_reason ?? "unknown"}`,
    });
    if (recorded?.status === "succeeded") await disputeTakesWhatTheRefundGaveBack(tx, paymentId, re.id);
    return "processed";
  }
  if (re.status === "succeeded" && recorded?.status !== "succeeded") {
    await recordRefund(tx, paymentId, re.amount, re.id, recorded?.reason ?? re.reason ?? "stripe refund");
    return "processed";
  }
  if (PENDING_REFUND.has(re.status ?? "") && !recorded) {
    await recordPendingRefund(tx, paymentId, re.amount, re.id, re.reason ?? "stripe refund");
    return "processed";
  }
  return "ignored";
}

/**
 * A lost dispute of the payment took back what its refunds left (settleDispute); refund
 * `refundId`, one of them, has failed since and its failure gave its amount back to the payer.
 * Stripe's chargeback took the disputed amount all the same, so the dispute now takes back what
 * it could not take then, as far as the payment goes, as a refund keyed
 * <dispute id>:<refund id> (decision 0029: the dispute takes what the succeeded refunds leave).
 * Without it the payer would keep money Stripe took back.
 */
async function disputeTakesWhatTheRefundGaveBack(tx: TransactionSql, paymentId: string, refundId: string): Promise<void> {
  // The dispute's applied charge.dispute.closed: `ignored` when the refunds had left it nothing.
  const [dispute] = await tx<
    { id: string; disputed: string; reason: string | null; taken: string; amount: string; amount_refunded: string }[]
  >`
    select d.id, d.disputed, d.reason, p.amount, p.amount_refunded,
           (select coalesce(sum(t.amount), 0) from public.refunds t
             where t.payment_id = p.id and t.status = 'succeeded'
               and (t.provider_refund_id = d.id or starts_with(t.provider_refund_id, d.id || ':'))) as taken
      from public.payments p
      cross join lateral (
        select e.payload #>> '{data,object,id}' as id, (e.payload #>> '{data,object,amount}')::bigint as disputed,
               e.payload #>> '{data,object,reason}' as reason
          from public.webhook_events e
         where e.provider = 'stripe' and e.type = 'charge.dispute.closed' and e.status in ('processed', 'ignored')
           and e.payload #>> '{data,object,status}' = 'lost'
           and coalesce(e.payload #>> '{data,object,payment_intent,id}', e.payload #>> '{data,object,payment_intent}') = p.provider_payment_id
         limit 1) d
     where p.id = ${paymentId}::uuid`;
  if (!dispute) return;
  const rest = { id: dispute.id, amount: Number(dispute.disputed) - Number(dispute.taken) };
  const payment = { id: paymentId, amount: dispute.amount, amount_refunded: dispute.amount_refunded };
  // The rest is a take of the lost dispute like its first: it waits for the refunds pending at Stripe too.
  await waitForPendingRefunds(tx, rest, payment);
  const more = Math.min(rest.amount, Number(payment.amount) - Number(payment.amount_refunded));
  if (more > 0) await recordRefund(tx, paymentId, more, `${dispute.id}:${refundId}`, `stripe dispute lost: ${dispute.reason ?? "unknown"}`);
}

/** Whether the dispute's charge.dispute.closed has been applied already (deliveries can come in any order). */
async function disputeClosed(tx: TransactionSql, disputeId: string): Promise<boolean> {
  const [closed] = await tx`
    select 1 from public.webhook_events
     where provider = 'stripe' and type = 'charge.dispute.closed'
       and payload #>> '{data,object,id}' = ${disputeId} and status in ('processed', 'ignored')`;
  return closed !== undefined;
}

/**
 * Freezes the disputed amount in the credited account with a hold, as far as the money is
 * still there: the hold's metadata records what was asked and what could be held. A dispute
 * already closed gets no hold: nothing would release it.
 */
async function holdDisputedAmount(tx: TransactionSql, dp: z.output<typeof dispute>): Promise<AppliedOutcome> {
  await serialiseOn(tx, `stripe-dispute:${dp.id}`);
  if (await disputeClosed(tx, dp.id)) return "ignored";
  const payment = await paymentOfCharge(tx, dp.payment_intent, dp.charge);
  if (!payment.wallet_transaction_id) return "ignored"; // never credited (needs_review): nothing to freeze
  // What the account has available: its row and its balance shards (wallet_account_balances).
  // The row alone leaves out the credits in the shards of a hot account (a merchant paid many
  // times at once), and the dispute then held less than was there, or nothing.
  const [account] = await tx<{ id: string; available: string; currency: string }[]>`
    select a.account_id as id, a.available, a.currency
      from public.wallet_transactions t join public.wallet_account_balances a on a.account_id = t.to_account_id
     where t.id = ${payment.wallet_transaction_id}::uuid`;
  const held = Math.min(dp.amount, Number(account!.available));
  if (held <= 0) return "ignored";
  const metadata = { stripe_dispute_id: dp.id, stripe_charge_id: dp.charge, reason: dp.reason ?? null, disputed_amount: dp.amount };
  await tx`
    select 1 from public.wallet_hold(${account!.id}::uuid, ${held}::bigint, ${dp.currency},
                                     ${`dispute:stripe:${dp.id}`}, ${jsonb(tx, metadata)})`;
  return "processed";
}

/**
 * A closed dispute releases its hold. A lost one first records the charge's refunds as Stripe
 * listed them when the event was applied (`refunds`, chargeToRead), then takes the disputed
 * money back, as far as they left it, as a forced refund keyed by the dispute id (the account
 * may go negative when it was spent), so payments.amount_refunded and reconciliation see it like
 * any other refund. Applied a second
 * time (stripe-poll's event, then Stripe's own, whose ids differ), it finds both done: the
 * refund already recorded is not asked again for what is left of the payment, which would
 * differ from it. A lost dispute that would take back part of what the payment's refunds
 * pending at Stripe reserve waits for them (EffectWaits), its hold kept: the refund and the
 * chargeback are independent at Stripe, and what the dispute takes from the payer's credit
 * depends on how the refund ends (decision 0029).
 */
async function settleDispute(
  tx: TransactionSql,
  dp: z.output<typeof closedDispute>,
  refunds: ChargeRefunds | null,
): Promise<AppliedOutcome> {
  await serialiseOn(tx, `stripe-dispute:${dp.id}`);
  // A lost one records the charge's refunds as Stripe lists them before it takes anything,
  // serialised with the refund events of the charge as they are: a refund made before the
  // dispute whose events are late would otherwise find its part of the payment taken by the
  // dispute, and its charge.refunded fail (WL008) until it went dead, the refund never recorded.
  if (dp.status === "lost") await serialiseOn(tx, `stripe-refund:${dp.charge}`);
  // Under the payment's row lock, taken before the hold's account as the refund functions take
  // it before the deposit's: a charge.refunded of the same payment then waits instead of
  // locking the other way round, and what remains to refund is read as it stands.
  let payment = await paymentOfCharge(tx, dp.payment_intent, dp.charge, true);
  const [hold] = await tx<{ id: string }[]>`
    select id from public.wallet_transactions
     where idempotency_key = ${`dispute:stripe:${dp.id}`} and initiated_by is null and kind = 'hold' and status = 'pending'`;
  if (hold) await tx`select 1 from public.wallet_void(${hold.id}::uuid)`;
  const [recorded] = await tx`select 1 from public.refunds where provider = 'stripe' and provider_refund_id = ${dp.id}`;
  if (dp.status !== "lost" || recorded) return hold ? "processed" : "ignored";
  // Waiting for the refunds known to be pending needs no call to Stripe's list.
  await waitForPendingRefunds(tx, dp, payment);
  if (await applyListedRefunds(tx, payment.id, dp.charge, refunds) === "processed") {
    payment = await paymentOfCharge(tx, dp.payment_intent, dp.charge, true);
    await waitForPendingRefunds(tx, dp, payment);
  }
  const remaining = Number(payment.amount) - Number(payment.amount_refunded);
  if (remaining <= 0) return hold ? "processed" : "ignored";
  await recordRefund(tx, payment.id, Math.min(dp.amount, remaining), dp.id, `stripe dispute lost: ${dp.reason ?? "unknown"}`);
  return "processed";
}

/**
 * Throws EffectWaits when lost dispute `dp` would take back part of what the payment's refunds
 * pending at Stripe reserve (`dp.amount`: what it has still to take).
 */
async function waitForPendingRefunds(
  tx: TransactionSql,
  dp: { id: string; amount: number },
  payment: { id: string; amount: string; amount_refunded: string },
) {
  const remaining = Number(payment.amount) - Number(payment.amount_refunded);
  const taken = Math.min(dp.amount, remaining);
  const [{ reserved }] = await tx<{ reserved: string }[]>`
    select coalesce(sum(amount), 0) as reserved from public.refunds where payment_id = ${payment.id}::uuid and status = 'pending'`;
  if (taken > 0 && taken > remaining - Number(reserved)) {
    throw new EffectWaits(
      `lost dispute ${dp.id} takes back ${taken} of payment ${payment.id}, and ${reserved} of what remains is reserved by ` +
        `refunds pending at Stripe: it is recorded once they end`,
    );
  }
}

const toTimestamp = (seconds: number | null | undefined) => (seconds ? new Date(seconds * 1000) : null);

/** metadata.user_id when it names an existing user, so that the owner can read the mirror row. */
async function knownUser(tx: TransactionSql, userId: string | undefined): Promise<string | null> {
  if (!userId || !/^[0-9a-f-]{36}$/i.test(userId)) return null;
  const [user] = await tx<{ id: string }[]>`select id from auth.users where id = ${userId}::uuid`;
  return user?.id ?? null;
}

/**
 * Upserts the subscription mirror. An event older than the one last applied, or a status move
 * the state machine does not allow (a late "active" after "canceled"), leaves the row as it is.
 */
async function mirrorSubscription(
  tx: TransactionSql,
  sub: z.output<typeof subscription>,
  raw: unknown,
  created: number,
): Promise<AppliedOutcome> {
  const item = sub.items?.data[0];
  const userId = await knownUser(tx, sub.metadata.user_id);
  const rows = await tx`
    insert into public.subscriptions as s (stripe_subscription_id, stripe_customer_id, user_id, status, price_id,
      current_period_start, current_period_end, cancel_at_period_end, last_event_at, raw)
    values (${sub.id}, ${sub.customer}, ${userId}::uuid, ${sub.status}, ${item?.price?.id ?? null},
      ${toTimestamp(sub.current_period_start ?? item?.current_period_start)},
      ${toTimestamp(sub.current_period_end ?? item?.current_period_end)},
      ${sub.cancel_at_period_end ?? false}, ${toTimestamp(created)}, ${jsonb(tx, raw)})
    on conflict (stripe_subscription_id) do update
       set stripe_customer_id = excluded.stripe_customer_id, user_id = coalesce(excluded.user_id, s.user_id),
           status = excluded.status, price_id = excluded.price_id,
           current_period_start = excluded.current_period_start, current_period_end = excluded.current_period_end,
           cancel_at_period_end = excluded.cancel_at_period_end, last_event_at = excluded.last_event_at, raw = excluded.raw
     where (s.last_event_at is null or s.last_event_at <= excluded.last_event_at)
       and private.status_transition_allowed('subscriptions', s.status, excluded.status)
    returning s.id`;
  return rows.length > 0 ? "processed" : "ignored";
}

/** Upserts the invoice mirror, with the same rules as subscriptions. */
async function mirrorInvoice(tx: TransactionSql, inv: z.output<typeof invoice>, raw: unknown, created: number): Promise<AppliedOutcome> {
  const subscriptionId = inv.subscription ?? inv.parent?.subscription_details?.subscription ?? null;
  const userId = await knownUser(tx, inv.metadata.user_id);
  const rows = await tx`
    insert into public.invoices as i (stripe_invoice_id, stripe_customer_id, stripe_subscription_id, user_id, status,
      amount_due, amount_paid, currency, last_event_at, raw)
    values (${inv.id}, ${inv.customer}, ${subscriptionId}, ${userId}::uuid, ${inv.status}, ${inv.amount_due}::bigint,
      ${inv.amount_paid}::bigint, ${inv.currency}, ${toTimestamp(created)}, ${jsonb(tx, raw)})
    on conflict (stripe_invoice_id) do update
       set stripe_subscription_id = coalesce(excluded.stripe_subscription_id, i.stripe_subscription_id),
           user_id = coalesce(excluded.user_id, i.user_id), status = excluded.status,
           amount_due = excluded.amount_due, amount_paid = excluded.amount_paid, currency = excluded.currency,
           last_event_at = excluded.last_event_at, raw = excluded.raw
     where (i.last_event_at is null or i.last_event_at <= excluded.last_event_at)
       and private.status_transition_allowed('invoices', i.status, excluded.status)
    returning i.id`;
  return rows.length > 0 ? "processed" : "ignored";
}
