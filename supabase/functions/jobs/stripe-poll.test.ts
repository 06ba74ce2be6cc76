// stripe-poll through a real Deno gateway and the Stripe stand-in: a PaymentIntent that
// succeeded with its webhooks lost is credited by the job once (a second run and Stripe's late
// webhook change nothing); past the TTL an unpaid PaymentIntent is canceled at Stripe before its
// intent, one paid between the look-up and the cancel is credited instead, and one in payment
// waits; Stripe answering 5xx or 429, or not at all, leaves the intent while the run goes on
// with the others; a PaymentIntent Stripe does not know cancels its intent past the TTL; and
// expire-intents no longer cancels a Stripe intent with a PaymentIntent by age. An intent the
// payment_intent.payment_failed webhook failed is still polled: the customer's later payment of
// the same PaymentIntent is credited, and past the TTL the PaymentIntent is canceled at Stripe
// before the intent ends, without a second WhatsApp notice. Refunds Stripe answered pending are
// read back too: completed or closed once as their webhook would, left while Stripe still works
// on them, does not answer or does not know them. So are disputes whose hold still freezes the
// money: released once Stripe has closed them (a lost one's forced refund recorded once), as
// charge.dispute.closed would, left while they are open or Stripe does not answer.
//
// Other suites share this database and make Stripe intents of their own. So the gateway polls
// only intents waiting longer than an hour, and this file ages its own rows past that mark (as
// the superuser, triggers off): every count below is about this file's rows only. Its TTL is
// two days, so that its own run of expire-intents never reaches the intents gateway.test.ts ages
// past that file's TTL of one day.
import { useTestSql } from "../../tests/support/test-sql.ts";
import { describe, expect, it } from "vitest";
import { type AdminAnswer, adminRequest, answerOf } from "../../tests/support/admin-fixtures.ts";
import {
  age,
  asServiceRole,
  balanceOf,
  createTopUp,
  createUserWithAccount,
  creditsTo,
  intentStatus,
  storedEvents,
} from "../../tests/support/payments-fixtures.ts";
import { waitingTopUp } from "../../tests/support/payments-gateway.ts";
import { stripeError, whileAnswering } from "../../tests/support/provider-standins.ts";
import { twoRunsCreditingOnce } from "../../tests/support/two-runs.ts";
import { usePaymentsGateway } from "../../tests/support/use-payments-gateway.ts";
import { useStaffCallers } from "../../tests/support/use-staff-callers.ts";
import { assertLedgerInvariants } from "../../tests/support/ledger-invariants.ts";
import { newWaId } from "../../tests/support/whatsapp-fixtures.ts";
import { stripeChargeRefunded, stripeEvent, stripePaymentSucceeded, stripeRequest } from "../../tests/support/webhook-requests.ts";
import { noPollCounts } from "./poll.ts";

const POLL_AFTER_SECONDS = 3600;
const INTENT_TTL_SECONDS = 2 * 86_400;
const PAST_TTL = INTENT_TTL_SECONDS + 60;
const EXPIRED = { status: "canceled", failure_reason: `expired: no payment within ${INTENT_TTL_SECONDS} seconds` };
const sql = useTestSql();
const gateway = usePaymentsGateway({
  JOBS_STRIPE_POLL_AFTER_SECONDS: String(POLL_AFTER_SECONDS),
  JOBS_INTENT_TTL_SECONDS: String(INTENT_TTL_SECONDS),
});
const staff = useStaffCallers(sql);

const runJob = (job = "stripe-poll"): Promise<AdminAnswer> => gateway.runJob(job);

/** Makes an intent wait past the poll's mark (or `seconds`), or (seconds 0) brings it back out of it. */
const wait = (intentId: string, seconds = POLL_AFTER_SECONDS + 60) => age(sql, "payment_intents", intentId, seconds);

/** Makes a refund wait past the poll's mark. */
const waitRefund = (refundId: string) => age(sql, "refunds", refundId, POLL_AFTER_SECONDS + 60);

/** A Stripe top-up through POST /payments/topups, its PaymentIntent waiting for the customer (requires_payment_method). */
async function stripeTopUp(amount: number) {
  const { providerRef, ...topUp } = await waitingTopUp(sql, gateway, "stripe", "USD", amount);
  return { ...topUp, paymentIntentId: providerRef };
}

/** The PaymentIntent paid at Stripe with its webhooks lost, and its intent waiting long enough to be polled. */
async function paidUnnoticed(topUp: { paymentIntentId: string; intentId: string }) {
  gateway.stripe.confirm(topUp.paymentIntentId);
  await wait(topUp.intentId);
}

const calls = (call: string) => gateway.stripe.requests.filter((r) => r === call).length;
const lookUp = (paymentIntentId: string) => `GET /v1/payment_intents/${paymentIntentId}`;
const cancel = (paymentIntentId: string) => `POST /v1/payment_intents/${paymentIntentId}/cancel`;
const stripeStatus = (paymentIntentId: string) => gateway.stripe.paymentIntents.get(paymentIntentId)?.status;

/** Stripe's signed webhook through the gateway: its status and the outcome of its event. */
async function signedWebhook(event: unknown): Promise<{ status: number; outcome: string | undefined }> {
  const answer = await answerOf(await fetch(stripeRequest(event, {}, { base: gateway.url })));
  return { status: answer.status, outcome: answer.body?.events?.[0]?.outcome };
}

/** Runs stripe-poll with `onCancel` playing what happens at Stripe as a cancel request arrives. */
const runWhileCanceling = (onCancel: (paymentIntentId: string) => void): Promise<AdminAnswer> =>
  whileAnswering(gateway.stripe, "onCancel", onCancel, runJob);

/** Lets the next run take the item (intent or refund) again before its lease runs out. */
const releaseLease = (id: string) => sql`delete from private.job_leases where job = 'stripe-poll' and item_id = ${id}::uuid`;

/** The top-up credited once: its intent succeeded and its account holds `amount`, from one credit. */
async function expectCreditedOnce(topUp: { intentId: string; accountId: string }, amount: number) {
  expect(await intentStatus(sql, topUp.intentId)).toEqual({ status: "succeeded", failure_reason: null });
  expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: amount, available: amount });
  expect(await creditsTo(sql, topUp.accountId)).toBe(1);
}

/** The customer pays the top-up's PaymentIntent now, its webhooks lost: the next run credits it once. */
async function payWithWebhooksLost(topUp: { intentId: string; accountId: string; paymentIntentId: string }, amount: number) {
  gateway.stripe.confirm(topUp.paymentIntentId);
  await releaseLease(topUp.intentId);
  expect((await runJob()).body).toMatchObject({ taken: 1, applied: 1, errors: 0 });
  await expectCreditedOnce(topUp, amount);
}

/** Stripe's signed payment_intent.payment_failed for the PaymentIntent as the stand-in has it (its last_payment_error set). */
async function paymentFailedWebhook(paymentIntentId: string, intentId: string) {
  const declined = gateway.stripe.update(paymentIntentId, {
    last_payment_error: { code: "card_declined", message: "Your card was declined." },
  });
  const answer = await signedWebhook(stripeEvent("payment_intent.payment_failed", declined));
  expect(answer).toEqual({ status: 200, outcome: "processed" });
  expect(await intentStatus(sql, intentId)).toEqual({ status: "failed", failure_reason: "Your card was declined." });
}

/** A WhatsApp contact for the user, so that the intent's notices are queued; how many notices it has. */
async function whatsappContact(userId: string): Promise<() => Promise<number>> {
  const waId = newWaId();
  await sql`insert into public.whatsapp_contacts (wa_id, user_id, opted_out) values (${waId}, ${userId}::uuid, false)`;
  return async () => (await sql<{ n: number }[]>`select count(*)::int as n from public.whatsapp_outbox where wa_id = ${waId}`)[0]!.n;
}

/**
 * A Stripe top-up of `amount` credited, recorded as its webhook records it (without spending a
 * webhook request of the gateway's shared rate limit).
 */
async function creditedTopUp(amount: number) {
  const topUp = await stripeTopUp(amount);
  gateway.stripe.confirm(topUp.paymentIntentId);
  await asServiceRole(
    sql,
    (tx) =>
      tx`select 1 from public.payment_record_success('stripe', ${topUp.paymentIntentId}, ${topUp.intentId}::uuid, ${amount}::bigint,
                                                   'USD', 0, '{}'::jsonb)`,
  );
  const [payment] = await sql<{ id: string; wallet_transaction_id: string }[]>`
    select id, wallet_transaction_id from public.payments where provider = 'stripe' and provider_payment_id = ${topUp.paymentIntentId}`;
  return { ...topUp, paymentId: payment!.id, credit: payment!.wallet_transaction_id };
}

const STRIPE_DOWN = { status: 500, body: stripeError("api_error", undefined, "Something went wrong on Stripe's end.") };
const RATE_LIMITED = {
  status: 429,
  body: stripeError("invalid_request_error", "rate_limit", "Too many requests hit the API too quickly."),
};

describe("stripe-poll", () => {
  it("credits a PaymentIntent that succeeded with its webhooks lost, once: a second run and Stripe's late webhook change nothing", async () => {
    const topUp = await stripeTopUp(2500);
    gateway.stripe.confirm(topUp.paymentIntentId);
    await wait(topUp.intentId);

    const first = await runJob();
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ ...noPollCounts(), job: "stripe-poll", taken: 1, applied: 1 });
    expect(calls(lookUp(topUp.paymentIntentId))).toBe(1);
    expect(calls(cancel(topUp.paymentIntentId))).toBe(0);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 2500, available: 2500 });
    expect(await creditsTo(sql, topUp.accountId)).toBe(1);
    expect(await intentStatus(sql, topUp.intentId)).toEqual({ status: "succeeded", failure_reason: null });
    // The webhook's own event for it, stored under the poll's key for that PaymentIntent.
    expect(await storedEvents(sql, "stripe", `evt_poll:payment_intent.succeeded:${topUp.paymentIntentId}`)).toMatchObject([
      { type: "payment_intent.succeeded", status: "processed", attempts: 1 },
    ]);

    expect((await runJob()).body).toMatchObject({ taken: 0, applied: 0 });
    // Stripe's own event, under Stripe's event id, arrives at last: the payment is recorded already.
    const late = stripePaymentSucceeded(topUp.paymentIntentId, 2500, { metadata: { intent_id: topUp.intentId } });
    expect(await signedWebhook(late)).toEqual({ status: 200, outcome: "ignored" });
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 2500, available: 2500 });
    expect(await creditsTo(sql, topUp.accountId)).toBe(1);
  });

  it("two runners at once: each PaymentIntent is looked up and credited exactly once", async () => {
    await twoRunsCreditingOnce(sql, runJob, {
      topUp: stripeTopUp,
      pay: paidUnnoticed,
      lookups: (topUp) => calls(lookUp(topUp.paymentIntentId)),
    });
  });

  it("past the TTL, an unpaid PaymentIntent is canceled at Stripe, then its intent; within the TTL it stays open", async () => {
    const unpaid = await Promise.all([stripeTopUp(100), stripeTopUp(200), stripeTopUp(300)]);
    const statuses = ["requires_payment_method", "requires_confirmation", "requires_action"];
    unpaid.forEach((topUp, n) => gateway.stripe.update(topUp.paymentIntentId, { status: statuses[n] }));
    const young = await stripeTopUp(400);
    for (const topUp of unpaid) await wait(topUp.intentId, PAST_TTL);
    await wait(young.intentId, INTENT_TTL_SECONDS - 120);

    expect((await runJob()).body).toMatchObject({ taken: 4, applied: 0, pending: 1, canceled: 3, not_found: 0, errors: 0 });
    for (const topUp of unpaid) {
      expect(calls(cancel(topUp.paymentIntentId))).toBe(1);
      expect(gateway.stripe.paymentIntents.get(topUp.paymentIntentId)).toMatchObject({
        status: "canceled",
        cancellation_reason: "abandoned",
      });
      expect(await intentStatus(sql, topUp.intentId)).toEqual(EXPIRED);
    }
    expect(calls(cancel(young.paymentIntentId))).toBe(0);
    expect(stripeStatus(young.paymentIntentId)).toBe("requires_payment_method");
    expect(await intentStatus(sql, young.intentId)).toEqual({ status: "processing", failure_reason: null });
    await wait(young.intentId, 0);
  });

  it("a PaymentIntent paid between the look-up and the cancel: Stripe refuses the cancel (payment_intent_unexpected_state) and it is credited, not canceled", async () => {
    const topUp = await stripeTopUp(1700);
    await wait(topUp.intentId, PAST_TTL);
    const run = await runWhileCanceling((id) => {
      if (id === topUp.paymentIntentId) gateway.stripe.confirm(id);
    });

    expect(run.body).toMatchObject({ taken: 1, applied: 1, canceled: 0, errors: 0 });
    expect(calls(cancel(topUp.paymentIntentId))).toBe(1);
    expect(stripeStatus(topUp.paymentIntentId)).toBe("succeeded");
    await expectCreditedOnce(topUp, 1700);
  });

  it("a PaymentIntent in payment (processing, requires_capture) waits past the TTL: canceled neither at Stripe nor here", async () => {
    const processing = await stripeTopUp(900);
    const capturable = await stripeTopUp(950);
    gateway.stripe.update(processing.paymentIntentId, { status: "processing" });
    gateway.stripe.update(capturable.paymentIntentId, { status: "requires_capture" });
    for (const topUp of [processing, capturable]) await wait(topUp.intentId, PAST_TTL);

    expect((await runJob()).body).toMatchObject({ taken: 2, applied: 0, pending: 2, canceled: 0, errors: 0 });
    for (const topUp of [processing, capturable]) {
      expect(calls(cancel(topUp.paymentIntentId))).toBe(0);
      expect(await intentStatus(sql, topUp.intentId)).toEqual({ status: "processing", failure_reason: null });
      expect(await creditsTo(sql, topUp.accountId)).toBe(0);
      await wait(topUp.intentId, 0);
    }
  });

  it("a failed attempt leaves the intent waiting, so that the customer's next attempt is credited with its webhooks lost; a PaymentIntent canceled at Stripe by someone else cancels its intent at once, as payment_intent.canceled", async () => {
    const declined = await stripeTopUp(800);
    gateway.stripe.update(declined.paymentIntentId, {
      last_payment_error: { code: "card_declined", message: "Your card was declined." },
    });
    const canceledOld = await stripeTopUp(810);
    const canceledYoung = await stripeTopUp(820);
    for (const topUp of [canceledOld, canceledYoung]) {
      gateway.stripe.update(topUp.paymentIntentId, { status: "canceled", cancellation_reason: "requested_by_customer" });
    }
    await wait(declined.intentId);
    await wait(canceledOld.intentId, PAST_TTL);
    await wait(canceledYoung.intentId);

    expect((await runJob()).body).toMatchObject({ taken: 3, applied: 0, pending: 1, canceled: 2, errors: 0 });
    // requires_payment_method after a decline: the customer may still pay the PaymentIntent.
    expect(await intentStatus(sql, declined.intentId)).toEqual({ status: "processing", failure_reason: null });
    // Canceled at Stripe (the customer asked an operator): nothing can pay it, whatever its age.
    const canceledByStripe = { status: "canceled", failure_reason: "stripe canceled the PaymentIntent: requested_by_customer" };
    for (const topUp of [canceledOld, canceledYoung]) {
      expect(await intentStatus(sql, topUp.intentId)).toEqual(canceledByStripe);
      expect(calls(cancel(topUp.paymentIntentId))).toBe(0);
      // The webhook's own event for it, under the poll's key for that PaymentIntent.
      expect(await storedEvents(sql, "stripe", `evt_poll:payment_intent.canceled:${topUp.paymentIntentId}`)).toMatchObject([
        { type: "payment_intent.canceled", status: "processed", attempts: 1 },
      ]);
    }
    // Stripe's own event arrives at last: the intent is canceled already.
    const late = stripeEvent("payment_intent.canceled", {
      ...gateway.stripe.paymentIntents.get(canceledYoung.paymentIntentId),
      metadata: { intent_id: canceledYoung.intentId },
    });
    expect(await signedWebhook(late)).toEqual({ status: 200, outcome: "ignored" });
    expect(await intentStatus(sql, canceledYoung.intentId)).toEqual(canceledByStripe);

    // The customer pays with another card; its webhooks are lost too: the next run credits it.
    await payWithWebhooksLost(declined, 800);
  });

  it("an intent the payment_failed webhook failed is still polled: the customer's later payment of the same PaymentIntent, its webhooks lost, is credited once", async () => {
    const topUp = await stripeTopUp(1300);
    const notices = await whatsappContact(topUp.userId);
    await paymentFailedWebhook(topUp.paymentIntentId, topUp.intentId);
    expect(await notices()).toBe(1);

    // expire-intents leaves it too: its PaymentIntent is still payable at Stripe.
    await wait(topUp.intentId, PAST_TTL);
    expect((await runJob("expire-intents")).status).toBe(200);
    expect(await intentStatus(sql, topUp.intentId)).toMatchObject({ status: "failed" });
    await wait(topUp.intentId);

    // Stripe lets the customer retry with another card (requires_payment_method): nothing moves.
    expect((await runJob()).body).toMatchObject({ taken: 1, applied: 0, pending: 1, canceled: 0, errors: 0 });
    expect(await intentStatus(sql, topUp.intentId)).toMatchObject({ status: "failed" });

    await payWithWebhooksLost(topUp, 1300);

    expect((await runJob()).body).toMatchObject({ taken: 0 });
    const late = stripePaymentSucceeded(topUp.paymentIntentId, 1300, { metadata: { intent_id: topUp.intentId } });
    expect(await signedWebhook(late)).toEqual({ status: 200, outcome: "ignored" });
    expect(await creditsTo(sql, topUp.accountId)).toBe(1);
  });

  it("a failed intent past the TTL: its PaymentIntent is canceled at Stripe, then the intent ends, without a second notice", async () => {
    const topUp = await stripeTopUp(1400);
    const notices = await whatsappContact(topUp.userId);
    await paymentFailedWebhook(topUp.paymentIntentId, topUp.intentId);
    await wait(topUp.intentId, PAST_TTL);

    expect((await runJob()).body).toMatchObject({ taken: 1, applied: 0, canceled: 1, errors: 0 });
    expect(calls(cancel(topUp.paymentIntentId))).toBe(1);
    expect(gateway.stripe.paymentIntents.get(topUp.paymentIntentId)).toMatchObject({
      status: "canceled",
      cancellation_reason: "abandoned",
    });
    expect(await intentStatus(sql, topUp.intentId)).toEqual(EXPIRED);
    expect(await notices()).toBe(1);
    expect((await runJob()).body).toMatchObject({ taken: 0 });
  });

  it("Stripe answering 500 to a look-up, or 429 to a cancel, leaves that intent for a later run; the run's other intents are applied", async () => {
    const down = await stripeTopUp(600);
    const cancelRefused = await stripeTopUp(650);
    const paid = await stripeTopUp(1100);
    gateway.stripe.objectBehaviour.set(lookUp(down.paymentIntentId), STRIPE_DOWN);
    gateway.stripe.objectBehaviour.set(cancel(cancelRefused.paymentIntentId), RATE_LIMITED);
    gateway.stripe.confirm(paid.paymentIntentId);
    await wait(down.intentId);
    await wait(cancelRefused.intentId, PAST_TTL);
    await wait(paid.intentId);

    expect((await runJob()).body).toMatchObject({ taken: 3, applied: 1, canceled: 0, errors: 2 });
    expect(await creditsTo(sql, paid.accountId)).toBe(1);
    expect(await intentStatus(sql, down.intentId)).toEqual({ status: "processing", failure_reason: null });
    expect(calls(cancel(cancelRefused.paymentIntentId))).toBe(1);
    expect(stripeStatus(cancelRefused.paymentIntentId)).toBe("requires_payment_method");
    expect(await intentStatus(sql, cancelRefused.intentId)).toEqual({ status: "processing", failure_reason: null });

    // Stripe is back and the first PaymentIntent succeeded: once their leases are released, the
    // next run credits the one and cancels the other, at Stripe first.
    gateway.stripe.objectBehaviour.clear();
    gateway.stripe.confirm(down.paymentIntentId);
    for (const topUp of [down, cancelRefused]) await releaseLease(topUp.intentId);
    expect((await runJob()).body).toMatchObject({ taken: 2, applied: 1, canceled: 1, errors: 0 });
    expect(await balanceOf(sql, down.accountId)).toEqual({ balance: 600, available: 600 });
    expect(stripeStatus(cancelRefused.paymentIntentId)).toBe("canceled");
    expect(await intentStatus(sql, cancelRefused.intentId)).toEqual(EXPIRED);
  });

  it("a PaymentIntent Stripe does not know (404 resource_missing) cancels its intent past the TTL, on the look-up or the cancel; within the TTL it is left", async () => {
    const unknownOld = await stripeTopUp(1500);
    const unknownYoung = await stripeTopUp(1600);
    const goneAtCancel = await stripeTopUp(1650);
    for (const topUp of [unknownOld, unknownYoung]) gateway.stripe.paymentIntents.delete(topUp.paymentIntentId);
    await wait(unknownOld.intentId, PAST_TTL);
    await wait(goneAtCancel.intentId, PAST_TTL);
    await wait(unknownYoung.intentId);
    const run = await runWhileCanceling((id) => {
      if (id === goneAtCancel.paymentIntentId) gateway.stripe.paymentIntents.delete(id);
    });

    expect(run.body).toMatchObject({ taken: 3, applied: 0, not_found: 3, errors: 0 });
    expect(calls(cancel(goneAtCancel.paymentIntentId))).toBe(1);
    for (const topUp of [unknownOld, goneAtCancel]) expect(await intentStatus(sql, topUp.intentId)).toEqual(EXPIRED);
    expect(await intentStatus(sql, unknownYoung.intentId)).toEqual({ status: "processing", failure_reason: null });
    await wait(unknownYoung.intentId, 0);
  });

  it("expire-intents leaves a Stripe intent with a PaymentIntent to stripe-poll, which cancels it at Stripe first; one without is canceled by age", async () => {
    const withPaymentIntent = await stripeTopUp(1200);
    const without = await createTopUp(sql, { provider: "stripe", amount: 1300, currency: "USD", providerRef: null });
    await wait(withPaymentIntent.intentId, PAST_TTL);
    await wait(without.intentId, PAST_TTL);

    expect((await runJob("expire-intents")).status).toBe(200);
    expect(await intentStatus(sql, withPaymentIntent.intentId)).toEqual({ status: "processing", failure_reason: null });
    expect(stripeStatus(withPaymentIntent.paymentIntentId)).toBe("requires_payment_method");
    expect(await intentStatus(sql, without.intentId)).toMatchObject({ status: "canceled" });

    expect((await runJob()).body).toMatchObject({ taken: 1, canceled: 1 });
    expect(stripeStatus(withPaymentIntent.paymentIntentId)).toBe("canceled");
    expect(await intentStatus(sql, withPaymentIntent.intentId)).toEqual(EXPIRED);
  });
});

/** A Stripe top-up of `amount` credited (creditedTopUp), then an admin refund of `refunded` that Stripe answers pending. */
async function pendingRefund(amount: number, refunded: number) {
  const paid = await creditedTopUp(amount);
  const answer = await whileAnswering(gateway.stripe, "refundStatus", "pending", () => askRefund(paid.paymentId, refunded));
  expect(answer.status).toBe(201);
  expect(answer.body.refund).toMatchObject({ status: "pending" });
  const refund = { id: answer.body.refund.id as string, stripeId: answer.body.provider.refund_id as string };
  await waitRefund(refund.id);
  return { ...paid, refund };
}

/** The admin's refund of `refunded` of the payment, with the Idempotency-Key `key`. */
const askRefund = async (paymentId: string, refunded: number, key = crypto.randomUUID()) =>
  answerOf(
    await fetch(adminRequest(gateway.url, "POST", `/admin/payments/${paymentId}/refund`, {
      token: staff.admin.token,
      idempotencyKey: key,
      body: { amount: refunded, reason: "refund whose webhooks are lost" },
    })),
  );

describe("stripe-poll for refunds", () => {
  /**
   * An admin refund of `refunded` of a credited top-up of `amount` that Stripe answers as
   * `behaviour` says (it made the refund and lost its answer, or it was down): 502, the refund
   * pending under its request id, waiting past the poll's mark.
   */
  async function unansweredRefund(amount: number, refunded: number, behaviour: "accept-silently" | typeof STRIPE_DOWN) {
    const paid = await creditedTopUp(amount);
    const key = crypto.randomUUID();
    const answer = await whileAnswering(gateway.stripe, "refundBehaviour", behaviour, () => askRefund(paid.paymentId, refunded, key));
    expect(answer.status).toBe(502);
    const [refund] = await sql<{ id: string; request_id: string }[]>`
      select id, refund_request_id as request_id from public.refunds
       where payment_id = ${paid.paymentId}::uuid and status = 'pending' and provider_refund_id = refund_request_id`;
    await waitRefund(refund!.id);
    return { ...paid, key, refund: refund! };
  }

  /** Stripe's refunds of the PaymentIntent. */
  const stripeRefundsOf = (paymentIntentId: string) =>
    [...gateway.stripe.refunds.values()].filter((r) => r.payment_intent === paymentIntentId);
  const refundRow = async (refundId: string) =>
    (await sql<{ status: string; provider_refund_id: string }[]>`
      select status, provider_refund_id from public.refunds where id = ${refundId}::uuid`)[0]!;

  const refundStatus = async (refundId: string) =>
    (await sql<{ status: string }[]>`select status from public.refunds where id = ${refundId}::uuid`)[0]!.status;
  const reversalsOf = async (credit: string) =>
    (await sql<{ n: number }[]>`select count(*)::int as n from public.wallet_transactions where reverses_id = ${credit}::uuid`)[0]!.n;
  const lookUpRefund = (stripeRefundId: string) => `GET /v1/refunds/${stripeRefundId}`;

  /** The Refund as Stripe has it, in the event Stripe sends about it (refund.updated, refund.failed). */
  const refundEvent = (type: string, stripeRefundId: string) => stripeEvent(type, gateway.stripe.refunds.get(stripeRefundId)!);

  it("a pending refund Stripe completed with its webhooks lost is completed once: the ledger reversed once, a late webhook changes nothing", async () => {
    const paid = await pendingRefund(2000, 800);

    // Stripe still working on it: the refund waits, nothing moves.
    expect((await runJob()).body).toMatchObject({ taken: 1, applied: 0, pending: 1, errors: 0 });
    expect(calls(lookUpRefund(paid.refund.stripeId))).toBe(1);
    expect(await refundStatus(paid.refund.id)).toBe("pending");
    expect(await balanceOf(sql, paid.accountId)).toEqual({ balance: 2000, available: 2000 });

    gateway.stripe.settleRefund(paid.refund.stripeId, "succeeded");
    await releaseLease(paid.refund.id);
    expect((await runJob()).body).toMatchObject({ taken: 1, applied: 1, errors: 0 });
    expect(await refundStatus(paid.refund.id)).toBe("succeeded");
    expect(await balanceOf(sql, paid.accountId)).toEqual({ balance: 1200, available: 1200 });
    expect(await reversalsOf(paid.credit)).toBe(1);
    expect(await storedEvents(sql, "stripe", `evt_poll:refund.updated:${paid.refund.stripeId}`)).toMatchObject([
      { type: "refund.updated", status: "processed", attempts: 1 },
    ]);

    expect((await runJob()).body).toMatchObject({ taken: 0 });
    // Stripe's own events, late: the refund is complete already.
    expect(await signedWebhook(refundEvent("refund.updated", paid.refund.stripeId))).toEqual({ status: 200, outcome: "ignored" });
    expect(await signedWebhook(stripeChargeRefunded(paid.paymentIntentId, 2000, 800))).toEqual({ status: 200, outcome: "ignored" });
    expect(await balanceOf(sql, paid.accountId)).toEqual({ balance: 1200, available: 1200 });
    expect(await reversalsOf(paid.credit)).toBe(1);
  });

  it("a pending pyr_ refund of a py_ charge (a payment by SEPA Direct Debit or ACH) is completed once, as a re_ one", async () => {
    const paid = await creditedTopUp(1000);
    const stripeId = `pyr_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`;
    gateway.stripe.refunds.set(stripeId, {
      id: stripeId,
      object: "refund",
      amount: 400,
      currency: "usd",
      charge: `py_${paid.paymentIntentId.slice(3)}`,
      payment_intent: paid.paymentIntentId,
      status: "succeeded",
      metadata: {},
      created: Math.floor(Date.now() / 1000),
    });
    const [pending] = await asServiceRole(sql, (tx) =>
      tx<{ id: string }[]>`
      select id from api_private.refund_record_pending(${paid.paymentId}::uuid, 400, ${stripeId}, 'sepa refund')`);
    await waitRefund(pending!.id);
    expect((await runJob()).body).toMatchObject({ taken: 1, applied: 1, errors: 0 });
    expect(await refundStatus(pending!.id)).toBe("succeeded");
    expect(await balanceOf(sql, paid.accountId)).toEqual({ balance: 600, available: 600 });
    expect(await reversalsOf(paid.credit)).toBe(1);
  });

  it("a pending refund Stripe failed with its webhooks lost is closed: its reservation released, its account can be closed again", async () => {
    const paid = await pendingRefund(1500, 1500);
    const elsewhere = await createUserWithAccount(sql, "USD");
    const close = () =>
      asServiceRole(sql, (tx) => tx`select 1 from public.wallet_set_status(${paid.accountId}::uuid, 'closed', 'customer left')`);
    await asServiceRole(
      sql,
      (tx) =>
        tx`select 1 from public.wallet_transfer(${paid.accountId}::uuid, ${elsewhere.accountId}::uuid, 1500, 'USD', ${`sp-${paid.refund.id}`})`,
    );
    await expect(close()).rejects.toMatchObject({ code: "WL008", message: expect.stringContaining("is pending") });

    gateway.stripe.settleRefund(paid.refund.stripeId, "failed", "expired_or_canceled_card");
    expect((await runJob()).body).toMatchObject({ taken: 1, applied: 1, errors: 0 });
    expect(await refundStatus(paid.refund.id)).toBe("failed");
    expect(await reversalsOf(paid.credit)).toBe(0);
    await close();
    expect((await sql<{ status: string }[]>`select status from public.wallet_accounts where id = ${paid.accountId}::uuid`)[0]!.status)
      .toBe("closed");

    expect(await signedWebhook(refundEvent("refund.failed", paid.refund.stripeId))).toEqual({ status: 200, outcome: "ignored" });
    expect((await runJob()).body).toMatchObject({ taken: 0 });
  });

  it("a lost answer healed by stripe-poll with no admin retry: the refund found by its request id is completed once under Stripe's id", async () => {
    const lost = await unansweredRefund(2500, 1000, "accept-silently");
    const creates = calls("POST /v1/refunds");
    expect((await runJob()).body).toMatchObject({ taken: 1, applied: 1, resent: 0, errors: 0 });
    const [made] = stripeRefundsOf(lost.paymentIntentId);
    expect(await refundRow(lost.refund.id)).toEqual({ status: "succeeded", provider_refund_id: made!.id });
    expect(calls("POST /v1/refunds")).toBe(creates);
    expect(await balanceOf(sql, lost.accountId)).toEqual({ balance: 1500, available: 1500 });
    expect(await reversalsOf(lost.credit)).toBe(1);
    expect((await runJob()).body).toMatchObject({ taken: 0 });
  });

  it("a refund request Stripe never received is sent again by stripe-poll with the same Idempotency-Key and recorded once", async () => {
    const never = await unansweredRefund(2000, 600, STRIPE_DOWN);
    expect(stripeRefundsOf(never.paymentIntentId)).toEqual([]);
    expect((await runJob()).body).toMatchObject({ taken: 1, resent: 1, errors: 0 });
    const made = stripeRefundsOf(never.paymentIntentId);
    expect(made).toHaveLength(1);
    expect(made[0]!.metadata).toMatchObject({ refund_request_id: never.refund.request_id, payment_id: never.paymentId });
    expect(gateway.stripe.refundKeys.filter((key) => key === never.refund.request_id)).toHaveLength(2);
    expect(await refundRow(never.refund.id)).toEqual({ status: "succeeded", provider_refund_id: made[0]!.id });
    expect(await balanceOf(sql, never.accountId)).toEqual({ balance: 1400, available: 1400 });
    expect(await reversalsOf(never.credit)).toBe(1);

    // The admin's retry with the same key finds the refund recorded: no second one at Stripe.
    const retried = await askRefund(never.paymentId, 600, never.key);
    expect(retried.status).toBe(201);
    expect(retried.body.refund).toMatchObject({ id: never.refund.id, status: "succeeded" });
    expect(stripeRefundsOf(never.paymentIntentId)).toHaveLength(1);
    expect((await runJob()).body).toMatchObject({ taken: 0 });
  });

  it("a refund Stripe never received, older than a day, is not sent again: not_found, left pending for an admin", async () => {
    const old = await unansweredRefund(1000, 400, STRIPE_DOWN);
    await age(sql, "refunds", old.refund.id, 86_400 + 60);
    const creates = calls("POST /v1/refunds");
    expect((await runJob()).body).toMatchObject({ taken: 1, resent: 0, not_found: 1, errors: 0 });
    expect(calls("POST /v1/refunds")).toBe(creates);
    expect(stripeRefundsOf(old.paymentIntentId)).toEqual([]);
    expect(await refundRow(old.refund.id)).toEqual({ status: "pending", provider_refund_id: old.refund.request_id });
    expect(await balanceOf(sql, old.accountId)).toEqual({ balance: 1000, available: 1000 });
  });

  it("Stripe down, still requiring action, or not knowing the refund: each is left pending, counted, while the run goes on", async () => {
    const down = await pendingRefund(1000, 100);
    const acting = await pendingRefund(1000, 200);
    const unknown = await pendingRefund(1000, 300);
    gateway.stripe.objectBehaviour.set(lookUpRefund(down.refund.stripeId), STRIPE_DOWN);
    gateway.stripe.refunds.set(acting.refund.stripeId, {
      ...gateway.stripe.refunds.get(acting.refund.stripeId)!,
      status: "requires_action",
    });
    gateway.stripe.refunds.delete(unknown.refund.stripeId);
    try {
      expect((await runJob()).body).toMatchObject({ taken: 3, applied: 0, pending: 1, not_found: 1, errors: 1 });
    } finally {
      gateway.stripe.objectBehaviour.clear();
    }
    for (const paid of [down, acting, unknown]) {
      expect(await refundStatus(paid.refund.id)).toBe("pending");
      expect(await balanceOf(sql, paid.accountId)).toEqual({ balance: 1000, available: 1000 });
    }

    // Stripe is back and completed the first: the next run completes it.
    gateway.stripe.settleRefund(down.refund.stripeId, "succeeded");
    await releaseLease(down.refund.id);
    expect((await runJob()).body).toMatchObject({ taken: 1, applied: 1, errors: 0 });
    expect(await balanceOf(sql, down.accountId)).toEqual({ balance: 900, available: 900 });
  });
});

describe("stripe-poll for disputes", () => {
  /**
   * A credited Stripe top-up of `amount` whose cardholder disputed `disputed` of it: Stripe's
   * charge.dispute.created applied (the hold placed), the hold waiting past the poll's mark, and
   * every delivery of charge.dispute.closed to come lost.
   */
  async function heldDispute(amount: number, disputed: number) {
    return await disputeHeld(await creditedTopUp(amount), amount, disputed);
  }

  /** heldDispute for `paid`, a credited top-up of `amount` whose account holds all of it. */
  async function disputeHeld<T extends Awaited<ReturnType<typeof creditedTopUp>>>(paid: T, amount: number, disputed: number) {
    const dispute = gateway.stripe.openDispute(paid.paymentIntentId, disputed);
    const disputeId = dispute.id as string;
    expect(await signedWebhook(stripeEvent("charge.dispute.created", dispute))).toEqual({ status: 200, outcome: "processed" });
    expect(await balanceOf(sql, paid.accountId)).toEqual({ balance: amount, available: amount - disputed });
    const [hold] = await sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      return await tx<{ id: string }[]>`
        update public.wallet_transactions set created_at = now() - make_interval(secs => ${POLL_AFTER_SECONDS + 60})
         where idempotency_key = ${`dispute:stripe:${disputeId}`} returning id`;
    });
    return { ...paid, disputeId, holdId: hold!.id };
  }

  const holdStatus = async (disputeId: string) =>
    (await sql<{ status: string }[]>`
      select status from public.wallet_transactions where idempotency_key = ${`dispute:stripe:${disputeId}`}`)[0]!.status;
  const disputeRefunds = async (disputeId: string) =>
    await sql<{ amount: string; status: string; forced: boolean }[]>`
      select amount, status, forced from public.refunds where provider = 'stripe' and provider_refund_id = ${disputeId}`;
  const lookUpDispute = (disputeId: string) => `GET /v1/disputes/${disputeId}`;
  /** Stripe's own charge.dispute.closed, late, for the dispute as Stripe has it. */
  const lateClosed = (disputeId: string) => signedWebhook(stripeEvent("charge.dispute.closed", gateway.stripe.disputes.get(disputeId)!));

  it("a dispute won with its closed webhook lost: the hold is released once, a second run and Stripe's late webhook change nothing", async () => {
    const held = await heldDispute(1000, 400);
    gateway.stripe.settleDispute(held.disputeId, "won");

    expect((await runJob()).body).toEqual({ ...noPollCounts(), job: "stripe-poll", taken: 1, applied: 1 });
    expect(calls(lookUpDispute(held.disputeId))).toBe(1);
    expect(await holdStatus(held.disputeId)).toBe("voided");
    expect(await balanceOf(sql, held.accountId)).toEqual({ balance: 1000, available: 1000 });
    expect(await storedEvents(sql, "stripe", `evt_poll:charge.dispute.closed:${held.disputeId}`)).toMatchObject([
      { type: "charge.dispute.closed", status: "processed", attempts: 1 },
    ]);

    expect((await runJob()).body).toMatchObject({ taken: 0 });
    expect(await lateClosed(held.disputeId)).toEqual({ status: 200, outcome: "ignored" });
    expect(await balanceOf(sql, held.accountId)).toEqual({ balance: 1000, available: 1000 });
    expect(await disputeRefunds(held.disputeId)).toEqual([]);
  });

  it("a dispute lost with its closed webhook lost: the hold voided and the forced refund recorded once, as the webhook does", async () => {
    const held = await heldDispute(1000, 800);
    gateway.stripe.settleDispute(held.disputeId, "lost");

    expect((await runJob()).body).toMatchObject({ taken: 1, applied: 1, errors: 0 });
    expect(await holdStatus(held.disputeId)).toBe("voided");
    expect(await balanceOf(sql, held.accountId)).toEqual({ balance: 200, available: 200 });
    expect(await disputeRefunds(held.disputeId)).toEqual([{ amount: "800", status: "succeeded", forced: false }]);

    // Stripe's own event, late: the refund is recorded already, and what is left of the payment
    // (200) is not taken again.
    expect((await runJob()).body).toMatchObject({ taken: 0 });
    expect(await lateClosed(held.disputeId)).toEqual({ status: 200, outcome: "ignored" });
    expect(await balanceOf(sql, held.accountId)).toEqual({ balance: 200, available: 200 });
    expect(await disputeRefunds(held.disputeId)).toHaveLength(1);
  });

  it("a dispute Stripe has not closed (needs_response, under_review) waits: its hold kept", async () => {
    const open = await heldDispute(1000, 300);
    const reviewed = await heldDispute(1000, 350);
    gateway.stripe.settleDispute(reviewed.disputeId, "under_review");

    expect((await runJob()).body).toMatchObject({ taken: 2, applied: 0, pending: 2, errors: 0 });
    for (const [held, disputed] of [[open, 300], [reviewed, 350]] as const) {
      expect(await holdStatus(held.disputeId)).toBe("pending");
      expect(await balanceOf(sql, held.accountId)).toEqual({ balance: 1000, available: 1000 - disputed });
    }
    // Closed later (warning_closed: an inquiry that never became a chargeback): released then.
    gateway.stripe.settleDispute(open.disputeId, "warning_closed");
    await releaseLease(open.holdId);
    expect((await runJob()).body).toMatchObject({ taken: 1, applied: 1, errors: 0 });
    expect(await balanceOf(sql, open.accountId)).toEqual({ balance: 1000, available: 1000 });
    expect(await disputeRefunds(open.disputeId)).toEqual([]);
  });

  it("a dispute lost while a refund of part of the payment is pending at Stripe: counted pending, its hold kept, until a run finds the refund ended and takes back what it left", async () => {
    const held = await disputeHeld(await pendingRefund(1000, 600), 1000, 1000);
    gateway.stripe.settleDispute(held.disputeId, "lost");

    // The refund still pending at Stripe, and the dispute waiting for it.
    expect((await runJob()).body).toMatchObject({ taken: 2, applied: 0, pending: 2, errors: 0 });
    expect(await holdStatus(held.disputeId)).toBe("pending");
    expect(await disputeRefunds(held.disputeId)).toEqual([]);
    expect(await storedEvents(sql, "stripe", `evt_poll:charge.dispute.closed:${held.disputeId}`)).toMatchObject([
      { status: "failed", attempts: 1, last_error: expect.stringContaining("reserved by refunds pending at Stripe") },
    ]);

    // Stripe completes the refund: one run records it, then the dispute takes back the rest.
    gateway.stripe.settleRefund(held.refund.stripeId, "succeeded");
    for (const id of [held.refund.id, held.holdId]) await releaseLease(id);
    expect((await runJob()).body).toMatchObject({ taken: 2, applied: 2, pending: 0, errors: 0 });
    expect(await holdStatus(held.disputeId)).toBe("voided");
    expect(await disputeRefunds(held.disputeId)).toEqual([{ amount: "400", status: "succeeded", forced: false }]);
    expect(await balanceOf(sql, held.accountId)).toEqual({ balance: 0, available: 0 });
    await assertLedgerInvariants(sql);
  });

  it("Stripe down (500, or no answer) or not knowing the dispute (404): the hold is kept, counted, while the run goes on", async () => {
    const down = await heldDispute(1000, 100);
    const silent = await heldDispute(1000, 200);
    const unknown = await heldDispute(1000, 300);
    for (const held of [down, silent]) gateway.stripe.settleDispute(held.disputeId, "won");
    gateway.stripe.objectBehaviour.set(lookUpDispute(down.disputeId), STRIPE_DOWN);
    gateway.stripe.objectBehaviour.set(lookUpDispute(silent.disputeId), "hang");
    gateway.stripe.disputes.delete(unknown.disputeId);
    try {
      expect((await runJob()).body).toMatchObject({ taken: 3, applied: 0, not_found: 1, errors: 2 });
    } finally {
      gateway.stripe.objectBehaviour.clear();
    }
    for (const [held, disputed] of [[down, 100], [silent, 200], [unknown, 300]] as const) {
      expect(await holdStatus(held.disputeId)).toBe("pending");
      expect(await balanceOf(sql, held.accountId)).toEqual({ balance: 1000, available: 1000 - disputed });
    }

    // Stripe is back: the next run releases the won ones.
    for (const held of [down, silent]) await releaseLease(held.holdId);
    expect((await runJob()).body).toMatchObject({ taken: 2, applied: 2, errors: 0 });
    for (const held of [down, silent]) expect(await balanceOf(sql, held.accountId)).toEqual({ balance: 1000, available: 1000 });
  });
});

// Last: it stops the Stripe stand-in for good.
describe("stripe-poll with Stripe unreachable", () => {
  it("connection refused: each intent is left, past the TTL too, and counted as an error", async () => {
    const old = await stripeTopUp(300);
    const young = await stripeTopUp(400);
    await wait(old.intentId, PAST_TTL);
    await wait(young.intentId);
    await gateway.stripe.close();

    expect((await runJob()).body).toMatchObject({ taken: 2, applied: 0, pending: 0, canceled: 0, not_found: 0, errors: 2 });
    for (const topUp of [old, young]) {
      expect(await intentStatus(sql, topUp.intentId)).toEqual({ status: "processing", failure_reason: null });
    }
  });
});
