// POST /admin/payments/:id/chargeback end to end through a real Deno gateway and the Revolut
// stand-in: a Revolut top-up credited by its signed ORDER_COMPLETED, then a chargeback the admin
// records only once Revolut's GET /api/disputes/{id} answers it lost; the wallet is reversed
// once however often it is posted, and nothing is written when Revolut says anything else or
// does not answer.
import { beforeAll, describe, expect, it } from "vitest";
import { useTestSql } from "../../tests/support/test-sql.ts";
import { type AdminAnswer, adminRequest, answerOf, createStaff, refusal, type Staff } from "../../tests/support/admin-fixtures.ts";
import { asServiceRole, balanceOf, createTopUp } from "../../tests/support/payments-fixtures.ts";
import { waitingTopUp } from "../../tests/support/payments-gateway.ts";
import { type Behaviour, whileAnswering } from "../../tests/support/provider-standins.ts";
import { usePaymentsGateway } from "../../tests/support/use-payments-gateway.ts";
import { revolutRequest } from "../../tests/support/webhook-requests.ts";

const sql = useTestSql();
const gateway = usePaymentsGateway();
let staff: Staff;

beforeAll(async () => {
  staff = await createStaff(sql, process.env.SUPABASE_JWT_SECRET!);
});

/** The admin's (or `token`'s) chargeback of `paymentId`, under `key`. */
async function chargeback(paymentId: string, body: Record<string, unknown>, key = crypto.randomUUID(), token = staff.admin.token) {
  return answerOf(
    await fetch(adminRequest(gateway.url, "POST", `/admin/payments/${paymentId}/chargeback`, { token, idempotencyKey: key, body })),
  );
}

/** A Revolut top-up of `amount` EUR paid at Revolut and credited by its signed ORDER_COMPLETED: the account and our payment. */
async function creditedRevolutTopUp(amount: number) {
  const topUp = await waitingTopUp(sql, gateway, "revolut", "EUR", amount);
  gateway.revolut.complete(topUp.providerRef);
  const delivered = await fetch(revolutRequest({ event: "ORDER_COMPLETED", order_id: topUp.providerRef }, {}, { base: gateway.url }));
  expect(delivered.status).toBe(200);
  const [payment] = await sql<{ id: string }[]>`
    select id from public.payments where provider = 'revolut' and provider_payment_id = ${topUp.providerRef}`;
  return { accountId: topUp.accountId, paymentId: payment!.id };
}

/** What the chargeback may have written for the payment: its refunds, its refunded amount and the reversals of its credit. */
async function writtenFor(paymentId: string) {
  const [row] = await sql<{ refunds: number; amount_refunded: number; reversals: number }[]>`
    select (select count(*)::int from public.refunds r where r.payment_id = p.id) as refunds, p.amount_refunded::int,
           (select count(*)::int from public.wallet_transactions t where t.reverses_id = p.wallet_transaction_id) as reversals
      from public.payments p where p.id = ${paymentId}::uuid`;
  return row!;
}

const NOTHING_WRITTEN = { refunds: 0, amount_refunded: 0, reversals: 0 };

const disputeLookups = (disputeId: string) => gateway.revolut.requests.filter((r) => r === `GET /api/disputes/${disputeId}`).length;

/** The chargeback while Revolut's dispute look-up answers with `behaviour`. */
const chargebackWhileRevolut = (behaviour: Behaviour, ...args: Parameters<typeof chargeback>): Promise<AdminAnswer> =>
  whileAnswering(gateway.revolut, "disputeBehaviour", behaviour, () => chargeback(...args));

/** A credited Revolut top-up of `paid` EUR whose dispute Revolut has in `state`, and the admin's chargeback of `amount` of it with its key. */
async function disputedTopUp(paid: number, state: "lost" | "under_review", amount = paid) {
  const topUp = await creditedRevolutTopUp(paid);
  const disputeId = gateway.revolut.openDispute(state);
  return {
    ...topUp,
    disputeId,
    key: crypto.randomUUID(),
    body: { dispute_id: disputeId, amount, reason: "cardholder won the chargeback" },
  };
}

describe("POST /admin/payments/:id/chargeback", () => {
  it("a dispute Revolut answers lost is recorded as a refund keyed by it, the wallet reversed once however often it is posted", async () => {
    const { accountId, paymentId, disputeId, body, key } = await disputedTopUp(900, "lost", 300);
    const answer = await chargeback(paymentId, body, key);
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({
      refund: {
        payment_id: paymentId,
        provider: "revolut",
        provider_refund_id: disputeId,
        amount: 300,
        status: "succeeded",
        borne_by_platform: false,
        reason: body.reason,
        created_by: staff.admin.id,
      },
      dispute: { id: disputeId, state: "lost", substate: "lost_accepted" },
    });
    expect(disputeLookups(disputeId)).toBe(1);
    expect(await balanceOf(sql, accountId)).toEqual({ balance: 600, available: 600 });
    expect(await writtenFor(paymentId)).toEqual({ refunds: 1, amount_refunded: 300, reversals: 1 });

    const replay = await chargeback(paymentId, body, key);
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    // Posted again under another key: Revolut is asked again, the same refund answered, nothing moved.
    const again = await chargeback(paymentId, body);
    expect(again.status).toBe(201);
    expect(again.body.refund.id).toBe(answer.body.refund.id);
    expect(await balanceOf(sql, accountId)).toEqual({ balance: 600, available: 600 });
    expect(await writtenFor(paymentId)).toEqual({ refunds: 1, amount_refunded: 300, reversals: 1 });

    const [audit] = await sql<{ actor_id: string }[]>`
      select actor_id from audit.log where table_name = 'refunds' and record_id = ${answer.body.refund.id}::text order by id limit 1`;
    expect(audit?.actor_id).toBe(staff.admin.id);

    // Another amount under the same dispute is refused; more than remains of the payment too.
    const mismatchKey = crypto.randomUUID();
    expect(refusal(await chargeback(paymentId, { ...body, amount: 200 }, mismatchKey))).toEqual({
      status: 422,
      code: "idempotency_key_reused",
    });
    // The SQL's refusal is stored as every change's: the same key replays it.
    const replayedRefusal = await chargeback(paymentId, { ...body, amount: 200 }, mismatchKey);
    expect(refusal(replayedRefusal)).toEqual({ status: 422, code: "idempotency_key_reused" });
    expect(replayedRefusal.headers.get("idempotent-replayed")).toBe("true");
    const other = gateway.revolut.openDispute("lost");
    expect(refusal(await chargeback(paymentId, { dispute_id: other, amount: 601, reason: "too much" }))).toEqual({
      status: 409,
      code: "invalid_state",
    });
    expect(await writtenFor(paymentId)).toEqual({ refunds: 1, amount_refunded: 300, reversals: 1 });
  });

  it("a dispute Revolut answers under review is 409 with its state, nothing written; the same key records it once Revolut says lost", async () => {
    const { accountId, paymentId, disputeId, body, key } = await disputedTopUp(500, "under_review");
    const answer = await chargeback(paymentId, body, key);
    expect(refusal(answer)).toEqual({ status: 409, code: "dispute_not_lost" });
    expect(answer.body.error.details).toMatchObject({ dispute_id: disputeId, state: "under_review", substate: "representment" });
    expect(await writtenFor(paymentId)).toEqual(NOTHING_WRITTEN);
    expect(await balanceOf(sql, accountId)).toEqual({ balance: 500, available: 500 });

    gateway.revolut.disputes.set(disputeId, { id: disputeId, state: "lost", substate: "lost_representment" });
    expect((await chargeback(paymentId, body, key)).status).toBe(201);
    expect(await balanceOf(sql, accountId)).toEqual({ balance: 0, available: 0 });
  });

  it("a dispute Revolut does not know (404) is 422 dispute_not_found, nothing written", async () => {
    const { paymentId } = await creditedRevolutTopUp(400);
    const unknown = crypto.randomUUID();
    const answer = await chargeback(paymentId, { dispute_id: unknown, amount: 100, reason: "typo" });
    expect(refusal(answer)).toEqual({ status: 422, code: "dispute_not_found" });
    expect(disputeLookups(unknown)).toBe(1);
    expect(await writtenFor(paymentId)).toEqual(NOTHING_WRITTEN);
  });

  it("Revolut refusing the look-up (400) is 422 provider_declined, nothing written; the same key records it once Revolut answers", async () => {
    const { accountId, paymentId, body, key } = await disputedTopUp(700, "lost");
    const refused: Behaviour = { status: 400, body: { code: "bad_request", message: "Invalid dispute id" } };
    expect(refusal(await chargebackWhileRevolut(refused, paymentId, body, key))).toEqual({ status: 422, code: "provider_declined" });
    expect(await writtenFor(paymentId)).toEqual(NOTHING_WRITTEN);
    expect((await chargeback(paymentId, body, key)).status).toBe(201);
    expect(await balanceOf(sql, accountId)).toEqual({ balance: 0, available: 0 });
  });

  it("Revolut down (503) or silent is 502 provider_unavailable, nothing written; the same key records it once Revolut answers", async () => {
    const { accountId, paymentId, body, key } = await disputedTopUp(700, "lost");
    for (const down of [{ status: 503, body: { code: "unavailable", message: "down" } }, "hang"] as Behaviour[]) {
      expect(refusal(await chargebackWhileRevolut(down, paymentId, body, key))).toEqual({ status: 502, code: "provider_unavailable" });
      expect(await writtenFor(paymentId)).toEqual(NOTHING_WRITTEN);
    }
    expect((await chargeback(paymentId, body, key)).status).toBe(201);
    expect(await balanceOf(sql, accountId)).toEqual({ balance: 0, available: 0 });
  });

  it("refuses a Stripe payment (409) without asking Revolut, support (403), and a malformed body (400)", async () => {
    const pi = `pi_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`;
    const topUp = await createTopUp(sql, { provider: "stripe", amount: 500, currency: "USD", providerRef: pi });
    const stripePaymentId = await asServiceRole(sql, async (tx) => {
      const [row] = await tx<{ id: string }[]>`
        select id from public.payment_record_success('stripe', ${pi}, ${topUp.intentId}::uuid, 500, 'USD')`;
      return row!.id;
    });
    const disputeId = gateway.revolut.openDispute("lost");
    const body = { dispute_id: disputeId, amount: 100, reason: "not Revolut's" };
    const answer = await chargeback(stripePaymentId, body);
    expect(refusal(answer)).toEqual({ status: 409, code: "invalid_state" });
    expect(answer.body.error.details).toMatchObject({ provider: "stripe" });
    expect(disputeLookups(disputeId)).toBe(0);
    expect(await writtenFor(stripePaymentId)).toEqual(NOTHING_WRITTEN);

    const { paymentId } = await creditedRevolutTopUp(300);
    expect(refusal(await chargeback(paymentId, body, crypto.randomUUID(), staff.support.token))).toEqual({
      status: 403,
      code: "forbidden",
    });
    expect(refusal(await chargeback(paymentId, { ...body, dispute_id: "../orders" }))).toEqual({ status: 400, code: "validation_failed" });
    expect(refusal(await chargeback(paymentId, { dispute_id: disputeId, amount: 100 }))).toEqual({
      status: 400,
      code: "validation_failed",
    });
    expect(refusal(await chargeback(crypto.randomUUID(), body))).toEqual({ status: 404, code: "not_found" });
    expect(disputeLookups(disputeId)).toBe(0);
    expect(await writtenFor(paymentId)).toEqual(NOTHING_WRITTEN);
  });
});
