// Admin refunds of MoMo payments through a real Deno gateway and the MoMo stand-in: POST
// /admin/payments/:id/refund sends a Disbursement transfer to the payer and records the refund
// pending; MoMo's callback (confirmed with its API) moves the ledger once, or closes the refund.
// MoMo refusing the transfer, MoMo down and the same key retried, MoMo's callback coming
// before its answer to the request, an over-refund and concurrent refunds. (momo-poll healing
// a lost refund callback is in jobs/gateway.test.ts.)
import { useTestSql } from "../../tests/support/test-sql.ts";
import { describe, expect, it } from "vitest";
import { type AdminCall, adminRequest, answerOf, refusal } from "../../tests/support/admin-fixtures.ts";
import { asServiceRole, balanceOf } from "../../tests/support/payments-fixtures.ts";
import { MOMO_PAYER, paidMomoTopUp, type PaymentsGateway } from "../../tests/support/payments-gateway.ts";
import { whileAnswering } from "../../tests/support/provider-standins.ts";
import { usePaymentsGateway } from "../../tests/support/use-payments-gateway.ts";
import { useStaffCallers } from "../../tests/support/use-staff-callers.ts";

const sql = useTestSql();
const gateway = usePaymentsGateway();
const staff = useStaffCallers(sql);

const admin = async (method: string, path: string, call: AdminCall) =>
  answerOf(await fetch(adminRequest(gateway.url, method, `/admin${path}`, call)));

const refund = (paymentId: string, body: Record<string, unknown>, key = crypto.randomUUID()) =>
  admin("POST", `/payments/${paymentId}/refund`, { token: staff.admin.token, idempotencyKey: key, body });

async function refundsOf(paymentId: string) {
  return await sql<{ provider_refund_id: string; status: string; amount: number; wallet_transaction_id: string | null }[]>`
    select provider_refund_id, status, amount::int, wallet_transaction_id from public.refunds
     where payment_id = ${paymentId}::uuid order by created_at`;
}

async function paymentRow(paymentId: string) {
  const [row] = await sql<{ status: string; amount_refunded: number }[]>`
    select status, amount_refunded::int from public.payments where id = ${paymentId}::uuid`;
  return row!;
}

/** Runs `fn` with the stand-in's transfer endpoint answering `behaviour`. */
const whileTransfers = <T>(behaviour: PaymentsGateway["momo"]["transferBehaviour"], fn: () => Promise<T>) =>
  whileAnswering(gateway.momo, "transferBehaviour", behaviour, fn);

/** A paid MoMo top-up of `amount` whose refund request met MoMo down (502): the top-up, and the key and body to retry with. */
async function refundWhileMomoDown(amount: number, reason: string) {
  const topUp = await paidMomoTopUp(sql, gateway, amount);
  const key = crypto.randomUUID();
  const body = { amount, reason };
  const down = await whileTransfers({ status: 503, body: { message: "unavailable" } }, () => refund(topUp.paymentId, body, key));
  expect(refusal(down)).toEqual({ status: 502, code: "provider_unavailable" });
  return { topUp, key, body };
}

const transferPosts = () => gateway.momo.requests.filter((r) => r === "POST /disbursement/v1_0/transfer").length;

describe("POST /admin/payments/:id/refund of a MoMo payment", () => {
  it("sends a transfer to the payer and records the refund pending; MoMo's SUCCESSFUL callback moves the ledger once", async () => {
    const topUp = await paidMomoTopUp(sql, gateway, 1000);
    const key = crypto.randomUUID();
    const answer = await refund(topUp.paymentId, { amount: 400, reason: "customer asked" }, key);
    expect(answer.status).toBe(201);
    expect(answer.body.refund).toMatchObject({ status: "pending", amount: 400, wallet_transaction_id: null, created_by: staff.admin.id });
    const reference = answer.body.provider.refund_id as string;
    expect(answer.body.refund.provider_refund_id).toBe(reference);
    const sent = gateway.momo.transfers.get(reference)!;
    expect(sent.body).toMatchObject({ amount: "400", currency: "UGX", payee: { partyIdType: "MSISDN", partyId: MOMO_PAYER } });
    expect(sent.callbackUrl).toMatch(new RegExp(`/momo-webhook/refund/${reference}\\?token=[0-9a-f]{64}$`));
    // Pending: nothing moved yet.
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 1000, available: 1000 });
    expect(await paymentRow(topUp.paymentId)).toEqual({ status: "succeeded", amount_refunded: 0 });

    const replay = await refund(topUp.paymentId, { amount: 400, reason: "customer asked" }, key);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");

    expect(await gateway.momo.decide(reference, "SUCCESSFUL")).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 600, available: 600 });
    expect(await paymentRow(topUp.paymentId)).toEqual({ status: "partially_refunded", amount_refunded: 400 });
    const [recorded] = await refundsOf(topUp.paymentId);
    expect(recorded).toMatchObject({ provider_refund_id: reference, status: "succeeded" });
    expect(recorded!.wallet_transaction_id).not.toBeNull();

    // A second callback is a duplicate: one transfer, one reversal.
    expect(await gateway.momo.decide(reference, "SUCCESSFUL")).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 600, available: 600 });
    expect([...gateway.momo.transfers.keys()].filter((id) => id === reference)).toHaveLength(1);
  });

  it("MoMo confirming SUCCESSFUL for another amount than the one sent records nothing: the refund stays pending and its event fails", async () => {
    const topUp = await paidMomoTopUp(sql, gateway, 900);
    const answer = await refund(topUp.paymentId, { amount: 300, reason: "customer asked" });
    expect(answer.status).toBe(201);
    const reference = answer.body.provider.refund_id as string;

    expect(await gateway.momo.decide(reference, "SUCCESSFUL", undefined, { amount: "900" })).toBe(500);
    expect(await refundsOf(topUp.paymentId)).toMatchObject([{ status: "pending", wallet_transaction_id: null }]);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 900, available: 900 });
    expect(await paymentRow(topUp.paymentId)).toEqual({ status: "succeeded", amount_refunded: 0 });
    const [event] = await sql<{ status: string; last_error: string }[]>`
      select status, last_error from public.webhook_events where provider = 'momo' and event_id = ${`${reference}:refund:SUCCESSFUL`}`;
    expect(event!.status).toBe("failed");
    expect(event!.last_error).toContain(`MoMo confirmed 900 UGX for MoMo refund ${reference}, which sent 300 UGX`);
  });

  it("a refund MoMo confirmed for another sum is settled by an admin once momo-poll closed its sending: POST /admin/refunds/:id/resolve", async () => {
    const topUp = await paidMomoTopUp(sql, gateway, 800);
    const answer = await refund(topUp.paymentId, { amount: 200, reason: "customer asked" });
    const reference = answer.body.provider.refund_id as string;
    expect(await gateway.momo.decide(reference, "SUCCESSFUL", undefined, { amount: "2000" })).toBe(500);
    const resolve = (body: Record<string, unknown>, key = crypto.randomUUID(), token = staff.admin.token) =>
      admin("POST", `/refunds/${answer.body.refund.id}/resolve`, { token, idempotencyKey: key, body });
    const settled = { outcome: "succeeded", reason: "MoMo's portal shows 200 UGX paid, ticket 91" };

    expect(refusal(await resolve(settled))).toEqual({ status: 409, code: "invalid_state" });
    // The accept window has passed: momo-poll closes its sending, its last send a minute old.
    await sql`update public.refunds set last_sent_at = now() - interval '1 minute' where provider_refund_id = ${reference}`;
    await asServiceRole(sql, (tx) => tx`select 1 from api_private.momo_refund_close_sending(${reference}::uuid, 1)`);
    expect(refusal(await resolve(settled, undefined, staff.support.token))).toEqual({ status: 403, code: "forbidden" });
    expect(refusal(await resolve({ outcome: "paid", reason: "x" }))).toEqual({ status: 400, code: "validation_failed" });
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 800, available: 800 });

    const key = crypto.randomUUID();
    const resolved = await resolve(settled, key);
    expect(resolved.status).toBe(200);
    expect(resolved.body.refund).toMatchObject({
      status: "succeeded",
      amount: 200,
      resolved_by: staff.admin.id,
      resolution_reason: settled.reason,
    });
    expect((await resolve(settled, key)).headers.get("idempotent-replayed")).toBe("true");
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 600, available: 600 });
    expect(await paymentRow(topUp.paymentId)).toEqual({ status: "partially_refunded", amount_refunded: 200 });
    expect(refusal(await resolve({ outcome: "failed", reason: "changed my mind" }))).toEqual({ status: 409, code: "invalid_state" });
  });

  it("MoMo's FAILED closes the refund with no ledger effect and frees its amount", async () => {
    const topUp = await paidMomoTopUp(sql, gateway, 800);
    const answer = await refund(topUp.paymentId, { amount: 800, reason: "all of it" });
    expect(answer.status).toBe(201);
    // While pending, it reserves the whole payment.
    expect(refusal(await refund(topUp.paymentId, { amount: 1, reason: "one more" }))).toEqual({ status: 422, code: "invalid_amount" });

    expect(await gateway.momo.decide(answer.body.provider.refund_id, "FAILED", "PAYEE_NOT_FOUND")).toBe(200);
    expect(await refundsOf(topUp.paymentId)).toMatchObject([{ status: "failed", wallet_transaction_id: null }]);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 800, available: 800 });
    expect(await paymentRow(topUp.paymentId)).toEqual({ status: "succeeded", amount_refunded: 0 });
    expect((await refund(topUp.paymentId, { amount: 800, reason: "again" })).status).toBe(201);
  });

  it("MoMo refusing the transfer (4xx) is 422 provider_declined and closes the refund failed, reserving nothing", async () => {
    const topUp = await paidMomoTopUp(sql, gateway, 500);
    const key = crypto.randomUUID();
    const refused = await whileTransfers(
      { status: 400, body: { code: "PAYEE_NOT_ALLOWED_TO_RECEIVE", message: "the payee may not receive" } },
      () => refund(topUp.paymentId, { amount: 500, reason: "refused" }, key),
    );
    expect(refusal(refused)).toEqual({ status: 422, code: "provider_declined" });
    expect(refused.body.error.details).toMatchObject({ provider: "momo" });
    expect(await refundsOf(topUp.paymentId)).toMatchObject([{ status: "failed", wallet_transaction_id: null }]);
    const replay = await refund(topUp.paymentId, { amount: 500, reason: "refused" }, key);
    expect(refusal(replay)).toEqual({ status: 422, code: "provider_declined" });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 500, available: 500 });
    expect((await refund(topUp.paymentId, { amount: 500, reason: "later" })).status).toBe(201);
  });

  it("MoMo down: 502 keeps the refund pending with its reference; the same key retried sends it once", async () => {
    const { topUp, key, body } = await refundWhileMomoDown(900, "MoMo down");
    const [kept] = await refundsOf(topUp.paymentId);
    expect(kept).toMatchObject({ status: "pending", amount: 900 });
    expect(gateway.momo.transfers.has(kept!.provider_refund_id)).toBe(false);
    // Reserved: no second refund can take the same money meanwhile.
    expect(refusal(await refund(topUp.paymentId, { amount: 1, reason: "more" }))).toEqual({ status: 422, code: "invalid_amount" });

    // MoMo takes the transfer but its answer is lost (timeout): still 502, and the retry's 409
    // is taken as accepted, so the payer gets one disbursement.
    const before = transferPosts();
    const lost = await whileTransfers("accept-silently", () => refund(topUp.paymentId, body, key));
    expect(refusal(lost)).toEqual({ status: 502, code: "provider_unavailable" });
    const retried = await refund(topUp.paymentId, body, key);
    expect(retried.status).toBe(201);
    expect(retried.headers.get("idempotent-replayed")).toBe("false");
    expect(retried.body.provider.refund_id).toBe(kept!.provider_refund_id);
    expect(transferPosts()).toBe(before + 2);
    expect([...gateway.momo.transfers.keys()].filter((id) => id === kept!.provider_refund_id)).toHaveLength(1);
    expect(await refundsOf(topUp.paymentId)).toHaveLength(1);

    expect(await gateway.momo.decide(kept!.provider_refund_id, "SUCCESSFUL")).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 0, available: 0 });
  });

  it("MoMo refusing the re-sent transfer of a retry closes nothing and is 502, not a stored refusal: MoMo may hold the first one", async () => {
    const { topUp, key, body } = await refundWhileMomoDown(600, "refused on retry");
    const refused = await whileTransfers(
      { status: 400, body: { code: "NOT_ALLOWED", message: "not now" } },
      () => refund(topUp.paymentId, body, key),
    );
    expect(refusal(refused)).toEqual({ status: 502, code: "provider_unavailable" });
    expect(refused.body.error.details).toMatchObject({ provider: "momo", refund_status: "pending" });
    expect(await refundsOf(topUp.paymentId)).toMatchObject([{ status: "pending", amount: 600 }]);
    // Not stored: the same key asks MoMo again, and its answer is the request's.
    const retried = await refund(topUp.paymentId, body, key);
    expect(retried.status).toBe(201);
    expect(retried.headers.get("idempotent-replayed")).toBe("false");
  });

  it("commits the pending refund before MoMo is asked: MoMo's callback before its answer to the request settles it", async () => {
    const topUp = await paidMomoTopUp(sql, gateway, 700);
    const key = crypto.randomUUID();
    const body = { amount: 700, reason: "callback first" };
    const known = new Set(gateway.momo.transfers.keys());
    // MoMo takes the transfer and pays at once, but its answer to the request never comes (timeout).
    const answer = await whileTransfers("accept-silently", async () => {
      const request = refund(topUp.paymentId, body, key);
      const sent = () => [...gateway.momo.transfers.keys()].find((id) => !known.has(id));
      while (!sent()) await new Promise((resolve) => setTimeout(resolve, 10));
      const reference = sent()!;
      // The request is still waiting for MoMo, and the refund MoMo was asked for is stored already.
      expect(await refundsOf(topUp.paymentId)).toMatchObject([{ provider_refund_id: reference, status: "pending" }]);
      expect(await gateway.momo.decide(reference, "SUCCESSFUL")).toBe(200);
      return await request;
    });
    expect(refusal(answer)).toEqual({ status: 502, code: "provider_unavailable" });
    expect(await refundsOf(topUp.paymentId)).toMatchObject([{ status: "succeeded", amount: 700 }]);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 0, available: 0 });

    // The same key retried answers the settled refund and sends nothing.
    const posts = transferPosts();
    const retried = await refund(topUp.paymentId, body, key);
    expect(retried.status).toBe(201);
    expect(retried.body.refund).toMatchObject({ status: "succeeded", amount: 700 });
    expect(transferPosts()).toBe(posts);
  });

  it("a refund's callback URL sent to the cash-out route cannot make MoMo's real SUCCESSFUL for the refund dead", async () => {
    const topUp = await paidMomoTopUp(sql, gateway, 600);
    const answer = await refund(topUp.paymentId, { amount: 600, reason: "customer asked" });
    expect(answer.status).toBe(201);
    const reference = answer.body.provider.refund_id as string;
    // MoMo has paid the payer; its callback has not come yet. Whoever holds the refund's callback
    // URL sends it to the cash-out route (the token is the reference's) until its event dies.
    gateway.momo.settle(reference, "SUCCESSFUL");
    const crossed = gateway.momo.transfers.get(reference)!.callbackUrl!.replace("/momo-webhook/refund/", "/momo-webhook/disbursement/");
    for (let attempt = 0; attempt < 6; attempt += 1) {
      const sent = await fetch(crossed, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: '{"status":"SUCCESSFUL"}',
      });
      await sent.body?.cancel();
    }
    // MoMo's own callback still records the refund: the payer was paid, the ledger says so.
    expect(await gateway.momo.decide(reference, "SUCCESSFUL")).toBe(200);
    expect(await refundsOf(topUp.paymentId)).toMatchObject([{ provider_refund_id: reference, status: "succeeded" }]);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 0, available: 0 });
  });

  it("an over-refund is refused before MoMo is asked", async () => {
    const topUp = await paidMomoTopUp(sql, gateway, 300);
    const before = transferPosts();
    expect(refusal(await refund(topUp.paymentId, { amount: 301, reason: "too much" }))).toEqual({ status: 422, code: "invalid_amount" });
    expect(transferPosts()).toBe(before);
    expect(await refundsOf(topUp.paymentId)).toEqual([]);
  });

  it("concurrent refunds never add up to more than the payment", async () => {
    const topUp = await paidMomoTopUp(sql, gateway, 1000);
    const answers = await Promise.all([1, 2, 3, 4, 5].map(() => refund(topUp.paymentId, { amount: 300, reason: "concurrent" })));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 201, 201, 422, 422]);
    const refunds = await refundsOf(topUp.paymentId);
    expect(refunds).toHaveLength(3);
    for (const r of refunds) expect(gateway.momo.transfers.has(r.provider_refund_id)).toBe(true);
    for (const r of refunds) expect(await gateway.momo.decide(r.provider_refund_id, "SUCCESSFUL")).toBe(200);
    expect(await paymentRow(topUp.paymentId)).toEqual({ status: "partially_refunded", amount_refunded: 900 });
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 100, available: 100 });
  });
});
