// momo-webhook end to end in-process against the real database and a MoMo stand-in: the
// status and amount come from MoMo's API, never from the callback body; one credit per
// request-to-pay under concurrent callbacks; failures with their reason; statuses that never
// move back; an unreachable API kept as failed (500) until dead.
import { useTestSql } from "../../tests/support/test-sql.ts";
import { describe, expect, it } from "vitest";
import { balanceOf, createTopUp, creditsTo, intentStatus, storedEvents } from "../../tests/support/payments-fixtures.ts";
import { momoCallbackRequest } from "../../tests/support/webhook-requests.ts";
import handler from "./handler.ts";
import { amountFixture, useMomoStandIn } from "../../tests/support/momo-fixtures.ts";
import { expectDeadAfterFiveAttempts } from "../../tests/support/webhook-retries.ts";

const sql = useTestSql();
const momo = useMomoStandIn();

const deliver = (ref: string, body: Record<string, unknown>) => handler.fetch(momoCallbackRequest(ref, body));
const callback = (status: string, extra: Record<string, unknown> = {}) => ({
  financialTransactionId: "1",
  externalId: "order-1",
  amount: "999999",
  currency: "UGX",
  payer: { partyIdType: "MSISDN", partyId: "256772123456" },
  status,
  ...extra,
});

async function mirror(ref: string) {
  const [row] = await sql<
    { status: string; amount: string; reason: string | null; payer_msisdn: string | null; intent_id: string | null }[]
  >`
    select status, amount, reason, payer_msisdn, intent_id from public.momo_transactions where reference_id = ${ref}::uuid`;
  return row;
}

async function momoTopUp(amount: number, currency = "UGX") {
  const ref = crypto.randomUUID();
  return { ref, ...(await createTopUp(sql, { provider: "momo", amount, currency, providerRef: ref })) };
}

describe("successful request-to-pay", () => {
  it("credits the amount MoMo confirms, not the one in the callback body", async () => {
    const { ref, accountId, intentId } = await momoTopUp(1500);
    momo.current.records.set(ref, amountFixture("SUCCESSFUL", "1500", "UGX"));
    const response = await deliver(ref, callback("SUCCESSFUL"));
    expect(response.status).toBe(200);
    expect(await balanceOf(sql, accountId)).toEqual({ balance: 1500, available: 1500 });
    expect(await intentStatus(sql, intentId)).toMatchObject({ status: "succeeded" });
    expect(await mirror(ref)).toEqual({
      status: "SUCCESSFUL",
      amount: "1500",
      reason: null,
      payer_msisdn: "256772123456",
      intent_id: intentId,
    });
    const [payment] = await sql`select status, amount from public.payments where provider = 'momo' and provider_payment_id = ${ref}`;
    expect(payment).toEqual({ status: "succeeded", amount: "1500" });
  });

  it("converts decimal amounts to minor units and sends a mismatch to review", async () => {
    const { ref, accountId } = await momoTopUp(1250, "EUR");
    momo.current.records.set(ref, amountFixture("SUCCESSFUL", "12.5", "EUR"));
    expect((await deliver(ref, callback("SUCCESSFUL", { currency: "EUR" }))).status).toBe(200);
    expect(await balanceOf(sql, accountId)).toMatchObject({ balance: 1250 });

    const other = await momoTopUp(2000);
    momo.current.records.set(other.ref, amountFixture("SUCCESSFUL", "1999", "UGX"));
    expect((await deliver(other.ref, callback("SUCCESSFUL"))).status).toBe(200);
    expect(await balanceOf(sql, other.accountId)).toMatchObject({ balance: 0 });
    const [payment] =
      await sql`select status, review_reason from public.payments where provider = 'momo' and provider_payment_id = ${other.ref}`;
    expect(payment).toEqual({ status: "needs_review", review_reason: "amount_mismatch" });
  });

  it("makes one credit from 10 concurrent identical callbacks", async () => {
    const { ref, accountId } = await momoTopUp(800);
    momo.current.records.set(ref, amountFixture("SUCCESSFUL", "800", "UGX"));
    const responses = await Promise.all(Array.from({ length: 10 }, () => deliver(ref, callback("SUCCESSFUL"))));
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(await creditsTo(sql, accountId)).toBe(1);
    expect(await balanceOf(sql, accountId)).toMatchObject({ balance: 800 });
    expect(await storedEvents(sql, "momo", ref)).toMatchObject([{ status: "processed", attempts: 1 }]);
  });

  it("keeps SUCCESSFUL when a late PENDING callback arrives, even if a stale read at MoMo says PENDING", async () => {
    const { ref, accountId } = await momoTopUp(300);
    momo.current.records.set(ref, amountFixture("SUCCESSFUL", "300", "UGX"));
    expect((await deliver(ref, callback("SUCCESSFUL"))).status).toBe(200);
    momo.current.records.set(ref, amountFixture("PENDING", "300", "UGX"));
    expect((await deliver(ref, callback("PENDING"))).status).toBe(200);
    expect(await mirror(ref)).toMatchObject({ status: "SUCCESSFUL" });
    expect(await balanceOf(sql, accountId)).toMatchObject({ balance: 300 });
  });
});

describe("failed request-to-pay", () => {
  it("fails the intent with MoMo's reason, given as {code, message} or as a string", async () => {
    const structured = await momoTopUp(500);
    momo.current.records.set(
      structured.ref,
      amountFixture("FAILED", "500", "UGX", { reason: { code: "PAYER_NOT_FOUND", message: "Payer not found" } }),
    );
    expect((await deliver(structured.ref, callback("FAILED", { reason: { code: "PAYER_NOT_FOUND" } }))).status).toBe(200);
    expect(await intentStatus(sql, structured.intentId)).toEqual({ status: "failed", failure_reason: "PAYER_NOT_FOUND: Payer not found" });
    expect(await mirror(structured.ref)).toMatchObject({ status: "FAILED", reason: "PAYER_NOT_FOUND: Payer not found" });

    const plain = await momoTopUp(500);
    momo.current.records.set(plain.ref, amountFixture("FAILED", "500", "UGX", { reason: "APPROVAL_REJECTED" }));
    expect((await deliver(plain.ref, callback("FAILED", { reason: "APPROVAL_REJECTED" }))).status).toBe(200);
    expect(await intentStatus(sql, plain.intentId)).toEqual({ status: "failed", failure_reason: "APPROVAL_REJECTED" });
    expect(await balanceOf(sql, plain.accountId)).toMatchObject({ balance: 0 });
  });

  it("believes MoMo over a forged SUCCESSFUL callback for a request that failed", async () => {
    const { ref, accountId, intentId } = await momoTopUp(700);
    momo.current.records.set(ref, amountFixture("FAILED", "700", "UGX", { reason: "NOT_ENOUGH_FUNDS" }));
    expect((await deliver(ref, callback("SUCCESSFUL"))).status).toBe(200);
    expect(await balanceOf(sql, accountId)).toMatchObject({ balance: 0 });
    expect(await intentStatus(sql, intentId)).toMatchObject({ status: "failed" });
  });
});

describe("when MoMo cannot confirm", () => {
  it("keeps the event failed with 500 while MoMo errors, dead after 5 attempts", async () => {
    const { ref, accountId } = await momoTopUp(900);
    momo.current.records.set(ref, 500);
    await expectDeadAfterFiveAttempts(sql, "momo", ref, () => deliver(ref, callback("SUCCESSFUL")), 500);
    expect(await balanceOf(sql, accountId)).toMatchObject({ balance: 0 });
    expect(await mirror(ref)).toBeUndefined();
  });

  it("does not count SUCCESSFUL callbacks that MoMo still reports as PENDING as attempts, and credits once MoMo confirms", async () => {
    const { ref, accountId, intentId } = await momoTopUp(400);
    momo.current.records.set(ref, amountFixture("PENDING", "400", "UGX"));
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await deliver(ref, callback("SUCCESSFUL"))).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    expect(await storedEvents(sql, "momo", ref)).toMatchObject([{ event_id: `${ref}:PENDING`, status: "processed", attempts: 1 }]);
    expect(await balanceOf(sql, accountId)).toMatchObject({ balance: 0 });
    expect(await intentStatus(sql, intentId)).toMatchObject({ status: "processing" });

    momo.current.records.set(ref, amountFixture("SUCCESSFUL", "400", "UGX"));
    const confirmed = await deliver(ref, callback("SUCCESSFUL"));
    expect(confirmed.status).toBe(200);
    expect(await confirmed.json()).toMatchObject({ events: [{ event_id: `${ref}:SUCCESSFUL`, outcome: "processed" }] });
    expect((await deliver(ref, callback("SUCCESSFUL"))).status).toBe(200);
    expect(await storedEvents(sql, "momo", ref)).toMatchObject([
      { event_id: `${ref}:PENDING`, status: "processed" },
      { event_id: `${ref}:SUCCESSFUL`, status: "processed", attempts: 1 },
    ]);
    expect(await creditsTo(sql, accountId)).toBe(1);
    expect(await balanceOf(sql, accountId)).toMatchObject({ balance: 400 });
  });

  it("keys a look-up that failed apart from the confirmed outcome, so it cannot make MoMo's real callback dead", async () => {
    const { ref, accountId } = await momoTopUp(450);
    momo.current.records.set(ref, 503);
    for (let i = 0; i < 5; i++) await deliver(ref, callback("SUCCESSFUL"));
    expect(await storedEvents(sql, "momo", ref)).toMatchObject([{ event_id: `${ref}:unconfirmed`, status: "dead", attempts: 5 }]);
    momo.current.records.set(ref, amountFixture("SUCCESSFUL", "450", "UGX"));
    expect((await deliver(ref, callback("SUCCESSFUL"))).status).toBe(200);
    expect(await balanceOf(sql, accountId)).toMatchObject({ balance: 450 });
  });
});
