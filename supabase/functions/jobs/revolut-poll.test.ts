// revolut-poll through a real Deno gateway and the Revolut stand-in: a completed order whose
// webhooks were all lost is credited by the job once (a second run and a late signed webhook
// change nothing), a pending refund Revolut completed is recorded once, an order Revolut still
// processes or does not know is left, and Revolut answering 500 for one order leaves it while
// the run goes on with the others. Past the TTL, an order nobody paid is cancelled at Revolut
// before its intent (and can then no longer be paid), one paid between the look-up and the
// cancel is credited instead, one in payment waits, Revolut down on the cancel leaves the intent
// open, and an order Revolut does not know cancels its intent; a young pending order is never
// cancelled. A refund request Revolut never received is sent again, as the admin sent it, for a
// day: recorded once, even when the search missed the refund order the first request made.
//
// Other suites share this database and make Revolut intents of their own. So the gateway polls
// only items waiting longer than an hour, and this file ages its own rows past that mark (as the
// superuser, triggers off): every count below is about this file's rows only. The Revolut money
// model ages its rows too: the two files never run side by side (runRevolutPollAlone).
import { runRevolutPollAlone } from "../../tests/support/run-alone.ts";
import { useTestSql } from "../../tests/support/test-sql.ts";
import { describe, expect, it } from "vitest";
import { type AdminAnswer, adminRequest, answerOf } from "../../tests/support/admin-fixtures.ts";
import { age, balanceOf, creditsTo, intentStatus } from "../../tests/support/payments-fixtures.ts";
import { waitingTopUp } from "../../tests/support/payments-gateway.ts";
import { type Behaviour, whileAnswering } from "../../tests/support/provider-standins.ts";
import { twoRunsCreditingOnce } from "../../tests/support/two-runs.ts";
import { usePaymentsGateway } from "../../tests/support/use-payments-gateway.ts";
import { useStaffCallers } from "../../tests/support/use-staff-callers.ts";
import { revolutRequest } from "../../tests/support/webhook-requests.ts";

const POLL_AFTER_SECONDS = 3600;
const INTENT_TTL_SECONDS = 86_400;
const PAST_TTL = INTENT_TTL_SECONDS + 60;
const EXPIRED = { status: "canceled", failure_reason: `expired: no payment within ${INTENT_TTL_SECONDS} seconds` };
const WAITING = { status: "processing", failure_reason: null };
const sql = useTestSql();
runRevolutPollAlone(sql);
const gateway = usePaymentsGateway({
  JOBS_REVOLUT_POLL_AFTER_SECONDS: String(POLL_AFTER_SECONDS),
  JOBS_INTENT_TTL_SECONDS: String(INTENT_TTL_SECONDS),
});
const staff = useStaffCallers(sql);

const runPoll = (): Promise<AdminAnswer> => gateway.runJob("revolut-poll");

/** Makes a row wait past the poll's mark, or (seconds 0) brings it back out of it. */
const wait = (table: "payment_intents" | "refunds", id: string, seconds = POLL_AFTER_SECONDS + 60) => age(sql, table, id, seconds);

/** A Revolut top-up through POST /payments/topups, its order waiting for the customer. */
async function revolutTopUp(amount: number) {
  const { providerRef, ...topUp } = await waitingTopUp(sql, gateway, "revolut", "EUR", amount);
  return { ...topUp, orderId: providerRef };
}

/** The order paid at Revolut with its webhooks lost, and its intent waiting long enough to be polled. */
async function paidUnnoticed(topUp: { orderId: string; intentId: string }) {
  gateway.revolut.complete(topUp.orderId);
  await wait("payment_intents", topUp.intentId);
}

const calls = (call: string) => gateway.revolut.requests.filter((r) => r === call).length;
const orderLookups = (orderId: string) => calls(`GET /api/orders/${orderId}`);
const cancels = (orderId: string) => calls(`POST /api/orders/${orderId}/cancel`);
const revolutState = (orderId: string) => (gateway.revolut.records.get(orderId) as Record<string, unknown> | undefined)?.state;

/** Sets the order's state at Revolut (what the customer's payment, or Revolut, made of it). */
const setState = (orderId: string, state: string) =>
  gateway.revolut.records.set(orderId, { ...(gateway.revolut.records.get(orderId) as object), state });

/** Runs revolut-poll with `onCancel` playing what happens at Revolut as a cancel request arrives. */
const runWhileCancelling = (onCancel: (orderId: string) => void): Promise<AdminAnswer> =>
  whileAnswering(gateway.revolut, "onCancel", onCancel, runPoll);

/** Runs revolut-poll while Revolut answers every cancel with `behaviour`: the one intent it takes stays open, counted an error. */
async function expectCancelLeavesOpen(intentId: string, behaviour: Behaviour): Promise<void> {
  expect((await whileAnswering(gateway.revolut, "cancelBehaviour", behaviour, runPoll)).body).toMatchObject({
    taken: 1,
    canceled: 0,
    not_found: 0,
    errors: 1,
  });
  expect(await intentStatus(sql, intentId)).toEqual(WAITING);
}

/** Lets the next run take the item again before its lease runs out. */
const releaseLease = (id: string) => sql`delete from private.job_leases where job = 'revolut-poll' and item_id = ${id}::uuid`;

/** An admin's refund of `amount` of Revolut payment `paymentId` through the admin API, under a new key. */
const askRefund = (paymentId: string, amount: number): Promise<AdminAnswer> =>
  fetch(adminRequest(gateway.url, "POST", `/admin/payments/${paymentId}/refund`, {
    token: staff.admin.token,
    idempotencyKey: crypto.randomUUID(),
    body: { amount, reason: "answer lost" },
  })).then(answerOf);

/** The payment's refunds still pending, smallest first. */
const pendingRefunds = (paymentId: string) =>
  sql<{ id: string; amount: number; refund_request_id: string }[]>`
    select id, amount::int, refund_request_id from public.refunds
     where payment_id = ${paymentId}::uuid and status = 'pending' order by amount`;

/** Revolut's signed webhook through the gateway: its status and the outcome of its event. */
async function signedWebhook(event: string, orderId: string): Promise<{ status: number; outcome: string | undefined }> {
  const answer = await answerOf(await fetch(revolutRequest({ event, order_id: orderId }, {}, { base: gateway.url })));
  return { status: answer.status, outcome: answer.body?.events?.[0]?.outcome };
}

describe("revolut-poll for top-ups", () => {
  it("credits a completed order whose webhooks were all lost, once: a second run and a late signed webhook change nothing", async () => {
    const topUp = await revolutTopUp(2500);
    gateway.revolut.complete(topUp.orderId);
    await wait("payment_intents", topUp.intentId);

    const first = await runPoll();
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ job: "revolut-poll", taken: 1, applied: 1, already_applied: 0, pending: 0, errors: 0 });
    expect(orderLookups(topUp.orderId)).toBe(1);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 2500, available: 2500 });
    expect(await creditsTo(sql, topUp.accountId)).toBe(1);
    expect(await intentStatus(sql, topUp.intentId)).toMatchObject({ status: "succeeded" });

    expect((await runPoll()).body).toMatchObject({ taken: 0, applied: 0 });
    expect(await signedWebhook("ORDER_COMPLETED", topUp.orderId)).toEqual({ status: 200, outcome: "duplicate" });
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 2500, available: 2500 });
    expect(await creditsTo(sql, topUp.accountId)).toBe(1);
  });

  it("two runners at once: each order is looked up and credited exactly once", async () => {
    await twoRunsCreditingOnce(sql, runPoll, { topUp: revolutTopUp, pay: paidUnnoticed, lookups: (topUp) => orderLookups(topUp.orderId) });
  });

  it("leaves an order Revolut still processes, and one Revolut does not know", async () => {
    const processing = await revolutTopUp(900);
    const unknown = await revolutTopUp(800);
    gateway.revolut.records.delete(unknown.orderId);
    await wait("payment_intents", processing.intentId);
    await wait("payment_intents", unknown.intentId);

    expect((await runPoll()).body).toMatchObject({ taken: 2, applied: 0, pending: 1, not_found: 1, errors: 0 });
    for (const left of [processing, unknown]) {
      expect(await intentStatus(sql, left.intentId)).toMatchObject({ status: "processing" });
      expect(await creditsTo(sql, left.accountId)).toBe(0);
      await wait("payment_intents", left.intentId, 0);
    }
  });

  it("fails an order Revolut cancelled through the webhook's own event", async () => {
    const topUp = await revolutTopUp(700);
    setState(topUp.orderId, "cancelled");
    await wait("payment_intents", topUp.intentId);

    expect((await runPoll()).body).toMatchObject({ taken: 1, applied: 1, errors: 0 });
    expect(await intentStatus(sql, topUp.intentId)).toMatchObject({ status: "failed" });
    expect(await signedWebhook("ORDER_CANCELLED", topUp.orderId)).toEqual({ status: 200, outcome: "duplicate" });
    expect(await creditsTo(sql, topUp.accountId)).toBe(0);
  });

  it("past the TTL: a paid order is credited, one never paid is cancelled at Revolut then here, one unknown to Revolut cancels its intent, one in payment is left", async () => {
    const paid = await revolutTopUp(1300);
    const unpaid = await revolutTopUp(1400);
    const unknown = await revolutTopUp(1500);
    const inPayment = await revolutTopUp(1600);
    gateway.revolut.complete(paid.orderId);
    gateway.revolut.records.delete(unknown.orderId);
    setState(inPayment.orderId, "authorised");
    for (const topUp of [paid, unpaid, unknown, inPayment]) await wait("payment_intents", topUp.intentId, PAST_TTL);

    expect((await runPoll()).body).toMatchObject({ taken: 4, applied: 1, pending: 1, canceled: 1, not_found: 1, errors: 0 });
    expect(await intentStatus(sql, paid.intentId)).toEqual({ status: "succeeded", failure_reason: null });
    expect(await balanceOf(sql, paid.accountId)).toEqual({ balance: 1300, available: 1300 });
    // The unpaid order is cancelled at Revolut: its checkout link can no longer be paid.
    expect(cancels(unpaid.orderId)).toBe(1);
    expect(revolutState(unpaid.orderId)).toBe("cancelled");
    expect(() => gateway.revolut.complete(unpaid.orderId)).toThrow(/can no longer be paid/);
    for (const canceled of [unpaid, unknown]) expect(await intentStatus(sql, canceled.intentId)).toEqual(EXPIRED);
    expect(await intentStatus(sql, inPayment.intentId)).toEqual(WAITING);
    for (const topUp of [paid, unknown, inPayment]) expect(cancels(topUp.orderId)).toBe(0);
    for (const topUp of [unpaid, unknown, inPayment]) expect(await creditsTo(sql, topUp.accountId)).toBe(0);
    // Revolut's own ORDER_CANCELLED for the order it cancelled changes nothing here.
    expect((await signedWebhook("ORDER_CANCELLED", unpaid.orderId)).status).toBe(200);
    expect(await intentStatus(sql, unpaid.intentId)).toEqual(EXPIRED);
    await wait("payment_intents", inPayment.intentId, 0);
  });

  it("a young pending order is left alone: no cancel at Revolut, its intent stays open", async () => {
    const young = await revolutTopUp(1450);
    await wait("payment_intents", young.intentId, INTENT_TTL_SECONDS - 120);

    expect((await runPoll()).body).toMatchObject({ taken: 1, applied: 0, pending: 1, canceled: 0, errors: 0 });
    expect(orderLookups(young.orderId)).toBe(1);
    expect(cancels(young.orderId)).toBe(0);
    expect(revolutState(young.orderId)).toBe("pending");
    expect(await intentStatus(sql, young.intentId)).toEqual(WAITING);
    await wait("payment_intents", young.intentId, 0);
  });

  it("an order paid between the look-up and the cancel: Revolut refuses the cancel and it is credited, not cancelled; one whose payment started meanwhile waits", async () => {
    const paid = await revolutTopUp(1700);
    const started = await revolutTopUp(1750);
    for (const topUp of [paid, started]) await wait("payment_intents", topUp.intentId, PAST_TTL);
    const run = await runWhileCancelling((orderId) => {
      if (orderId === paid.orderId) gateway.revolut.complete(orderId);
      if (orderId === started.orderId) setState(orderId, "processing");
    });

    expect(run.body).toMatchObject({ taken: 2, applied: 1, pending: 1, canceled: 0, errors: 0 });
    for (const topUp of [paid, started]) {
      expect(cancels(topUp.orderId)).toBe(1);
      // Read back after the refusal.
      expect(orderLookups(topUp.orderId)).toBe(2);
    }
    expect(revolutState(paid.orderId)).toBe("completed");
    expect(await intentStatus(sql, paid.intentId)).toEqual({ status: "succeeded", failure_reason: null });
    expect(await balanceOf(sql, paid.accountId)).toEqual({ balance: 1700, available: 1700 });
    expect(await creditsTo(sql, paid.accountId)).toBe(1);
    expect(await signedWebhook("ORDER_COMPLETED", paid.orderId)).toEqual({ status: 200, outcome: "duplicate" });
    expect(await creditsTo(sql, paid.accountId)).toBe(1);
    expect(revolutState(started.orderId)).toBe("processing");
    expect(await intentStatus(sql, started.intentId)).toEqual(WAITING);
    expect(await creditsTo(sql, started.accountId)).toBe(0);
    await wait("payment_intents", started.intentId, 0);
  });

  it("Revolut down on the cancel (503, 429, no answer) leaves the intent open and counts an error; the run's other orders are applied", async () => {
    const unpaid = await revolutTopUp(1800);
    const paid = await revolutTopUp(1850);
    gateway.revolut.complete(paid.orderId);
    await wait("payment_intents", unpaid.intentId, PAST_TTL);
    await wait("payment_intents", paid.intentId);

    const down = { status: 503, body: { code: "service_unavailable", message: "Service unavailable" } };
    expect((await whileAnswering(gateway.revolut, "cancelBehaviour", down, runPoll)).body).toMatchObject({
      taken: 2,
      applied: 1,
      canceled: 0,
      errors: 1,
    });
    expect(await creditsTo(sql, paid.accountId)).toBe(1);
    const rateLimited = { status: 429, body: { code: "too_many_requests", message: "Too many requests" } };
    for (const behaviour of [rateLimited, "hang" as const]) {
      await releaseLease(unpaid.intentId);
      await expectCancelLeavesOpen(unpaid.intentId, behaviour);
    }
    expect(cancels(unpaid.orderId)).toBe(3);
    expect(revolutState(unpaid.orderId)).toBe("pending");

    // Revolut is back: the next run cancels the order there, then the intent.
    await releaseLease(unpaid.intentId);
    expect((await runPoll()).body).toMatchObject({ taken: 1, canceled: 1, errors: 0 });
    expect(revolutState(unpaid.orderId)).toBe("cancelled");
    expect(await intentStatus(sql, unpaid.intentId)).toEqual(EXPIRED);
  });

  it("an order Revolut does not know (404) cancels its intent past the TTL, on the look-up or the cancel; within the TTL it is left", async () => {
    const [unknownOld, unknownYoung, goneAtCancel] = await Promise.all([revolutTopUp(1900), revolutTopUp(1950), revolutTopUp(1975)]);
    for (const topUp of [unknownOld, unknownYoung]) gateway.revolut.records.delete(topUp.orderId);
    for (const topUp of [unknownOld, goneAtCancel]) await wait("payment_intents", topUp.intentId, PAST_TTL);
    await wait("payment_intents", unknownYoung.intentId);
    const run = await runWhileCancelling((orderId) => {
      if (orderId === goneAtCancel.orderId) gateway.revolut.records.delete(orderId);
    });

    expect(run.body).toMatchObject({ taken: 3, applied: 0, canceled: 0, not_found: 3, errors: 0 });
    expect(cancels(unknownOld.orderId)).toBe(0);
    expect(cancels(goneAtCancel.orderId)).toBe(1);
    for (const topUp of [unknownOld, goneAtCancel]) expect(await intentStatus(sql, topUp.intentId)).toEqual(EXPIRED);
    expect(await intentStatus(sql, unknownYoung.intentId)).toEqual(WAITING);
    await wait("payment_intents", unknownYoung.intentId, 0);
  });

  it("a 404 to the cancel of an order Revolut still has pending leaves the intent open and counts an error: the order can still be paid", async () => {
    const unpaid = await revolutTopUp(1990);
    await wait("payment_intents", unpaid.intentId, PAST_TTL);

    await expectCancelLeavesOpen(unpaid.intentId, { status: 404, body: { code: "not_found", message: "Not found" } });
    // Read back after the refusal: Revolut still has the order, unpaid and payable.
    expect(orderLookups(unpaid.orderId)).toBe(2);
    expect(revolutState(unpaid.orderId)).toBe("pending");

    // The customer pays the checkout link late: credited, not sent to review.
    gateway.revolut.complete(unpaid.orderId);
    await releaseLease(unpaid.intentId);
    expect((await runPoll()).body).toMatchObject({ taken: 1, applied: 1, errors: 0 });
    expect(await balanceOf(sql, unpaid.accountId)).toEqual({ balance: 1990, available: 1990 });
  });

  it("Revolut answering 500 for one order leaves it for the next run; the run's other orders are applied", async () => {
    const down = await revolutTopUp(600);
    const paid = await revolutTopUp(1100);
    const downOrder = gateway.revolut.records.get(down.orderId)!;
    gateway.revolut.records.set(down.orderId, 500);
    gateway.revolut.complete(paid.orderId);
    await wait("payment_intents", down.intentId);
    await wait("payment_intents", paid.intentId);

    expect((await runPoll()).body).toMatchObject({ taken: 2, applied: 1, errors: 1 });
    expect(await creditsTo(sql, paid.accountId)).toBe(1);
    expect(await intentStatus(sql, down.intentId)).toMatchObject({ status: "processing" });

    // Revolut is back and the order completed: once its lease has run out, the next run credits it.
    gateway.revolut.records.set(down.orderId, downOrder);
    gateway.revolut.complete(down.orderId);
    await releaseLease(down.intentId);
    expect((await runPoll()).body).toMatchObject({ taken: 1, applied: 1, errors: 0 });
    expect(await balanceOf(sql, down.accountId)).toEqual({ balance: 600, available: 600 });
    expect(await creditsTo(sql, paid.accountId)).toBe(1);
  });
});

/** A Revolut top-up paid and credited through its signed ORDER_COMPLETED, and its payment. */
async function creditedTopUp(amount: number) {
  const topUp = await revolutTopUp(amount);
  gateway.revolut.complete(topUp.orderId);
  expect(await signedWebhook("ORDER_COMPLETED", topUp.orderId)).toEqual({ status: 200, outcome: "processed" });
  const [payment] = await sql<{ id: string }[]>`
    select id from public.payments where provider = 'revolut' and provider_payment_id = ${topUp.orderId}`;
  return { topUp, payment };
}

/**
 * A credited top-up of `amount` and the admin's refund of `refund` of it that Revolut never
 * received (503): the refund pending under its request id, waiting past the poll's mark.
 */
async function refundRevolutNeverGot(amount: number, refund: number) {
  const { topUp, payment } = await creditedTopUp(amount);
  const answer = await whileAnswering(gateway.revolut, "refundBehaviour", { status: 503, body: {} }, () => askRefund(payment!.id, refund));
  expect(answer.status).toBe(502);
  const [row] = await pendingRefunds(payment!.id);
  await wait("refunds", row!.id);
  return { topUp, payment, row: row! };
}

describe("revolut-poll for refunds", () => {
  it("records a pending refund Revolut completed whose webhooks were all lost: the ledger reversed once", async () => {
    const { topUp, payment } = await creditedTopUp(1200);

    gateway.revolut.refundState = "pending";
    let answer: AdminAnswer;
    try {
      answer = await answerOf(
        await fetch(adminRequest(gateway.url, "POST", `/admin/payments/${payment!.id}/refund`, {
          token: staff.admin.token,
          idempotencyKey: crypto.randomUUID(),
          body: { amount: 700, reason: "refund whose webhooks are lost" },
        })),
      );
    } finally {
      gateway.revolut.refundState = "completed";
    }
    expect(answer.status).toBe(201);
    expect(answer.body.refund).toMatchObject({ status: "pending" });
    const refundOrderId = answer.body.provider.refund_id as string;

    // Revolut still processing: the refund waits, nothing moves.
    await wait("refunds", answer.body.refund.id);
    expect((await runPoll()).body).toMatchObject({ taken: 1, pending: 1, applied: 0 });
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 1200, available: 1200 });

    gateway.revolut.settleRefund(refundOrderId, "completed");
    await releaseLease(answer.body.refund.id);
    expect((await runPoll()).body).toMatchObject({ taken: 1, applied: 1, errors: 0 });
    expect((await runPoll()).body).toMatchObject({ taken: 0 });
    expect(await signedWebhook("ORDER_COMPLETED", refundOrderId)).toEqual({ status: 200, outcome: "duplicate" });

    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 500, available: 500 });
    const [refund] = await sql<{ status: string }[]>`select status from public.refunds where id = ${answer.body.refund.id}::uuid`;
    expect(refund).toMatchObject({ status: "succeeded" });
    const [reversals] = await sql<{ n: number }[]>`
      select count(*)::int as n from public.wallet_transactions t join public.payments p on t.reverses_id = p.wallet_transaction_id
       where p.id = ${payment!.id}::uuid`;
    expect(reversals!.n).toBe(1);
  });

  it("a refund whose answer and webhooks were all lost is found by its reference and recorded once; one Revolut never received is sent again, as it was, and recorded once", async () => {
    const { topUp, payment } = await creditedTopUp(1000);
    expect((await whileAnswering(gateway.revolut, "refundBehaviour", "accept-silently", () => askRefund(payment!.id, 600))).status)
      .toBe(502);
    expect((await whileAnswering(gateway.revolut, "refundBehaviour", { status: 503, body: {} }, () => askRefund(payment!.id, 100))).status)
      .toBe(502);
    const rows = await pendingRefunds(payment!.id);
    expect(rows.map((r) => r.amount)).toEqual([100, 600]);
    for (const row of rows) await wait("refunds", row.id);

    expect((await runPoll()).body).toMatchObject({ taken: 2, applied: 1, resent: 1, not_found: 0, errors: 0 });
    const made = gateway.revolut.refundOrders.filter((r) => r.related_order_id === topUp.orderId);
    expect(made.map((r) => r.amount)).toEqual([600, 100]);
    // The request sent again is the admin's: its reference, metadata and description.
    expect(made[1]).toMatchObject({
      merchant_order_data: { reference: rows[0]!.refund_request_id },
      metadata: { payment_id: payment!.id, refund_request_id: rows[0]!.refund_request_id },
      description: "answer lost",
    });
    const after = await sql<{ provider_refund_id: string; status: string; amount: number }[]>`
      select provider_refund_id, status, amount::int from public.refunds where payment_id = ${payment!.id}::uuid order by amount`;
    expect(after).toEqual([
      { provider_refund_id: made[1]!.id, status: "succeeded", amount: 100 },
      { provider_refund_id: made[0]!.id, status: "succeeded", amount: 600 },
    ]);
    for (const order of made) {
      expect(await signedWebhook("ORDER_COMPLETED", order.id as string)).toEqual({ status: 200, outcome: "duplicate" });
    }
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 300, available: 300 });
  });

  it("a search that misses the refund order Revolut made: the request sent again with its Idempotency-Key gets that order back, and the wallet is debited once", async () => {
    const { topUp, payment } = await creditedTopUp(800);
    expect((await whileAnswering(gateway.revolut, "refundBehaviour", "accept-silently", () => askRefund(payment!.id, 500))).status)
      .toBe(502);
    const [row] = await pendingRefunds(payment!.id);
    await wait("refunds", row!.id);

    expect((await whileAnswering(gateway.revolut, "searchLags", true, runPoll)).body).toMatchObject({ taken: 1, resent: 1, errors: 0 });
    const made = gateway.revolut.refundOrders.filter((r) => r.related_order_id === topUp.orderId);
    expect(made).toHaveLength(1);
    expect(calls(`POST /api/orders/${topUp.orderId}/refund`)).toBe(2);
    const [after] = await sql<{ provider_refund_id: string; status: string }[]>`
      select provider_refund_id, status from public.refunds where id = ${row!.id}::uuid`;
    expect(after).toEqual({ provider_refund_id: made[0]!.id, status: "succeeded" });
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 300, available: 300 });
  });

  it("Revolut down on the sending again leaves the refund pending and counts an error; a day after the refund it is no longer sent again: not_found, for an admin", async () => {
    const { topUp, payment, row } = await refundRevolutNeverGot(900, 400);
    const refundCalls = () => calls(`POST /api/orders/${topUp.orderId}/refund`);
    const before = refundCalls();

    for (const behaviour of [{ status: 503, body: {} }, "hang"] as Behaviour[]) {
      await releaseLease(row.id);
      expect((await whileAnswering(gateway.revolut, "refundBehaviour", behaviour, runPoll)).body)
        .toMatchObject({ taken: 1, resent: 0, errors: 1 });
    }
    expect(refundCalls()).toBe(before + 2);
    expect(await pendingRefunds(payment!.id)).toEqual([row]);

    await wait("refunds", row.id, 86_400 + 60);
    await releaseLease(row.id);
    expect((await runPoll()).body).toMatchObject({ taken: 1, resent: 0, not_found: 1, errors: 0 });
    expect(refundCalls()).toBe(before + 2);
    expect(gateway.revolut.refundOrders.filter((r) => r.related_order_id === topUp.orderId)).toEqual([]);
    expect(await pendingRefunds(payment!.id)).toEqual([row]);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 900, available: 900 });
  });

  it("Revolut failing the read-back of the refund order a sending again made counts an error; the next run finds that order by its reference and sends nothing more", async () => {
    const { topUp, payment, row } = await refundRevolutNeverGot(700, 300);

    const readBackFails = (refundId: string) => gateway.revolut.records.set(refundId, 503);
    expect((await whileAnswering(gateway.revolut, "onRefund", readBackFails, runPoll)).body).toMatchObject({
      taken: 1,
      resent: 0,
      errors: 1,
    });
    const [made] = gateway.revolut.refundOrders.filter((r) => r.related_order_id === topUp.orderId);
    expect(await pendingRefunds(payment!.id)).toEqual([row]);

    gateway.revolut.records.set(made!.id as string, made!);
    await releaseLease(row.id);
    expect((await runPoll()).body).toMatchObject({ taken: 1, applied: 1, resent: 0, errors: 0 });
    expect(gateway.revolut.refundOrders.filter((r) => r.related_order_id === topUp.orderId)).toHaveLength(1);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 400, available: 400 });
  });

  it("closes a lost answer's refund whose ORDER_CANCELLED came while Revolut could not be read and was kept failed", async () => {
    const { topUp, payment } = await creditedTopUp(700);
    const askRefund = () =>
      fetch(adminRequest(gateway.url, "POST", `/admin/payments/${payment!.id}/refund`, {
        token: staff.admin.token,
        idempotencyKey: crypto.randomUUID(),
        body: { amount: 700, reason: "answer lost, then cancelled" },
      })).then(answerOf);
    gateway.revolut.refundState = "pending";
    try {
      expect((await whileAnswering(gateway.revolut, "refundBehaviour", "accept-silently", askRefund)).status).toBe(502);
    } finally {
      gateway.revolut.refundState = "completed";
    }
    const [made] = gateway.revolut.refundOrders.filter((r) => r.related_order_id === topUp.orderId);
    const refundOrderId = made!.id as string;
    const cancelled = gateway.revolut.settleRefund(refundOrderId, "cancelled");
    // The webhook's look-up fails: the refund, still under its request id, is not told from an
    // order that is none of ours, so the event is kept failed (it was finished as a top-up order's).
    gateway.revolut.records.set(refundOrderId, 503);
    try {
      expect(await signedWebhook("ORDER_CANCELLED", refundOrderId)).toEqual({ status: 500, outcome: undefined });
    } finally {
      gateway.revolut.records.set(refundOrderId, cancelled);
    }
    const [pending] = await sql<{ id: string }[]>`
      select id from public.refunds where payment_id = ${payment!.id}::uuid and status = 'pending'`;
    await wait("refunds", pending!.id);

    expect((await runPoll()).body).toMatchObject({ errors: 0 });
    const [after] = await sql<{ provider_refund_id: string; status: string; wallet_transaction_id: string | null }[]>`
      select provider_refund_id, status, wallet_transaction_id from public.refunds where id = ${pending!.id}::uuid`;
    expect(after).toEqual({ provider_refund_id: refundOrderId, status: "canceled", wallet_transaction_id: null });
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 700, available: 700 });
  });
});
