// revolut-webhook end to end in-process against the real database and a Merchant API
// stand-in: completed orders credited with the amount Revolut reports, once, also under
// concurrent deliveries; failed and cancelled orders; late events that never move a record
// back; refund orders settling refunds; business transaction states; look-up failures kept as
// failed (500) until dead.
import { testDatabaseUrl } from "../../tests/support/functions-env.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { revolutStandInOptionsFromEnv, type StandIn, startRevolutStandIn } from "../../tests/support/provider-standins.ts";
import {
  balanceOf,
  createTopUp,
  createUserWithAccount,
  creditsTo,
  intentStatus,
  storedEvents,
  testSql,
} from "../../tests/support/payments-fixtures.ts";
import { assertLedgerInvariants } from "../../tests/support/ledger-invariants.ts";
import { revolutRequest } from "../../tests/support/webhook-requests.ts";
import handler from "./handler.ts";
import { expectDeadAfterFiveAttempts } from "../../tests/support/webhook-retries.ts";

const sql = testSql(testDatabaseUrl);
let standIn: StandIn<Record<string, unknown>>;
beforeAll(async () => {
  standIn = await startRevolutStandIn(revolutStandInOptionsFromEnv());
  process.env.REVOLUT_API_BASE_URL = standIn.url;
});
afterAll(async () => {
  await standIn.close();
  await sql.end({ timeout: 1 });
});

const deliver = (body: unknown) => handler.fetch(revolutRequest(body));
const orderEvent = (event: string, orderId: string) => ({ event, order_id: orderId, merchant_order_ext_ref: "ext" });
const order = (id: string, state: string, amount: number, extra: Record<string, unknown> = {}) => ({
  id,
  token: "public-token",
  type: "payment",
  state,
  amount,
  currency: "GBP",
  created_at: new Date().toISOString(),
  ...extra,
});

async function revolutTopUp(amount: number) {
  const orderId = crypto.randomUUID();
  return { orderId, ...(await createTopUp(sql, { provider: "revolut", amount, currency: "GBP", providerRef: orderId })) };
}

async function mirror(id: string) {
  const [row] = await sql<{ state: string; kind: string; amount: string | null; intent_id: string | null }[]>`
    select state, kind, amount, intent_id from public.revolut_transactions where revolut_id = ${id}`;
  return row;
}

describe("orders", () => {
  it("credits a completed order with the amount the Merchant API reports", async () => {
    const { orderId, accountId, intentId } = await revolutTopUp(4200);
    standIn.records.set(orderId, order(orderId, "completed", 4200));
    const response = await deliver(orderEvent("ORDER_COMPLETED", orderId));
    expect(response.status).toBe(200);
    expect(await balanceOf(sql, accountId)).toEqual({ balance: 4200, available: 4200 });
    expect(await intentStatus(sql, intentId)).toMatchObject({ status: "succeeded" });
    expect(await mirror(orderId)).toEqual({ state: "completed", kind: "order", amount: "4200", intent_id: intentId });
    expect(await storedEvents(sql, "revolut", orderId)).toMatchObject([{ event_id: `${orderId}:ORDER_COMPLETED`, status: "processed" }]);
  });

  it("finds an unattached intent through the order's metadata.intent_id", async () => {
    const topUp = await createTopUp(sql, { provider: "revolut", amount: 1000, currency: "GBP", providerRef: null });
    const orderId = crypto.randomUUID();
    standIn.records.set(orderId, order(orderId, "COMPLETED", 1000, { metadata: { intent_id: topUp.intentId } }));
    expect((await deliver(orderEvent("ORDER_COMPLETED", orderId))).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 1000 });
  });

  it("makes one credit from 10 concurrent deliveries", async () => {
    const { orderId, accountId } = await revolutTopUp(600);
    standIn.records.set(orderId, order(orderId, "completed", 600));
    const responses = await Promise.all(Array.from({ length: 10 }, () => deliver(orderEvent("ORDER_COMPLETED", orderId))));
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(await creditsTo(sql, accountId)).toBe(1);
    expect(await balanceOf(sql, accountId)).toMatchObject({ balance: 600 });
  });

  it("fails the intent for ORDER_FAILED and ORDER_CANCELLED", async () => {
    for (const [event, state] of [["ORDER_FAILED", "failed"], ["ORDER_CANCELLED", "cancelled"]] as const) {
      const { orderId, intentId, accountId } = await revolutTopUp(500);
      expect((await deliver(orderEvent(event, orderId))).status).toBe(200);
      expect(await intentStatus(sql, intentId)).toEqual({ status: "failed", failure_reason: event });
      expect(await mirror(orderId)).toMatchObject({ state, intent_id: intentId });
      expect(await balanceOf(sql, accountId)).toMatchObject({ balance: 0 });
    }
  });

  it("never undoes a completed order with a late ORDER_CANCELLED", async () => {
    const { orderId, intentId, accountId } = await revolutTopUp(700);
    standIn.records.set(orderId, order(orderId, "completed", 700));
    expect((await deliver(orderEvent("ORDER_COMPLETED", orderId))).status).toBe(200);
    expect((await deliver(orderEvent("ORDER_CANCELLED", orderId))).status).toBe(200);
    expect(await mirror(orderId)).toMatchObject({ state: "completed" });
    expect(await intentStatus(sql, intentId)).toMatchObject({ status: "succeeded" });
    expect(await balanceOf(sql, accountId)).toMatchObject({ balance: 700 });
  });

  it("stores other order events as ignored", async () => {
    const orderId = crypto.randomUUID();
    expect((await deliver(orderEvent("ORDER_AUTHORISED", orderId))).status).toBe(200);
    expect(await storedEvents(sql, "revolut", orderId)).toMatchObject([{ status: "ignored" }]);
  });
});

describe("when the order cannot be confirmed", () => {
  it("retries while Revolut still reports the order as processing, and credits once completed", async () => {
    const { orderId, accountId } = await revolutTopUp(300);
    standIn.records.set(orderId, order(orderId, "processing", 300));
    expect((await deliver(orderEvent("ORDER_COMPLETED", orderId))).status).toBe(500);
    expect(await balanceOf(sql, accountId)).toMatchObject({ balance: 0 });
    standIn.records.set(orderId, order(orderId, "completed", 300));
    expect((await deliver(orderEvent("ORDER_COMPLETED", orderId))).status).toBe(200);
    expect(await storedEvents(sql, "revolut", orderId)).toMatchObject([{ status: "processed", attempts: 2 }]);
    expect(await balanceOf(sql, accountId)).toMatchObject({ balance: 300 });
  });

  it("keeps the event failed while the API errors, dead after 5 attempts", async () => {
    const { orderId, accountId } = await revolutTopUp(300);
    standIn.records.set(orderId, 503);
    await expectDeadAfterFiveAttempts(sql, "revolut", orderId, () => deliver(orderEvent("ORDER_COMPLETED", orderId)), 503);
    expect(await balanceOf(sql, accountId)).toMatchObject({ balance: 0 });
  });
});

describe("refund orders", () => {
  /** A top-up of `amount` credited through its ORDER_COMPLETED; its payment row's id. */
  async function creditedTopUp(amount: number) {
    const topUp = await revolutTopUp(amount);
    standIn.records.set(topUp.orderId, order(topUp.orderId, "completed", amount));
    expect((await deliver(orderEvent("ORDER_COMPLETED", topUp.orderId))).status).toBe(200);
    const [payment] = await sql<{ id: string }[]>`
      select id from public.payments where provider = 'revolut' and provider_payment_id = ${topUp.orderId}`;
    return { ...topUp, paymentId: payment!.id };
  }
  const refundOrder = (id: string, state: string, amount: number, refunded: string) =>
    order(id, state, amount, { type: "refund", related_order_id: refunded });
  const refundsOf = (paymentId: string) =>
    sql<{ provider_refund_id: string; status: string; amount: number }[]>`
      select provider_refund_id, status, amount::int from public.refunds where payment_id = ${paymentId}::uuid`;

  it("records a refund made in Revolut's dashboard against the payment its related_order_id names, once", async () => {
    const topUp = await creditedTopUp(1000);
    const refundId = crypto.randomUUID();
    standIn.records.set(refundId, refundOrder(refundId, "completed", 300, topUp.orderId));
    expect((await deliver(orderEvent("ORDER_COMPLETED", refundId))).status).toBe(200);
    expect((await deliver(orderEvent("ORDER_COMPLETED", refundId))).status).toBe(200);
    expect(await refundsOf(topUp.paymentId)).toEqual([{ provider_refund_id: refundId, status: "succeeded", amount: 300 }]);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 700, available: 700 });
    const [asPayment] = await sql<{ n: number }[]>`
      select count(*)::int as n from public.payments where provider = 'revolut' and provider_payment_id = ${refundId}`;
    expect(asPayment!.n).toBe(0);
  });

  it("records a dashboard refund of a top-up whose account was closed since at once, borne by the losses account", async () => {
    const topUp = await creditedTopUp(800);
    const other = await createUserWithAccount(sql, "GBP");
    await sql`select 1 from public.wallet_transfer(${topUp.accountId}::uuid, ${other.accountId}::uuid, 800, 'GBP', ${`spend:${topUp.orderId}`})`;
    await sql`select 1 from public.wallet_set_status(${topUp.accountId}::uuid, 'closed', 'customer left')`;
    const refundId = crypto.randomUUID();
    standIn.records.set(refundId, refundOrder(refundId, "completed", 800, topUp.orderId));
    expect((await deliver(orderEvent("ORDER_COMPLETED", refundId))).status).toBe(200);
    expect(await storedEvents(sql, "revolut", refundId)).toMatchObject([{ status: "processed", attempts: 1, last_error: null }]);
    const [refund] = await sql<{ status: string; borne_by_platform: boolean }[]>`
      select status, borne_by_platform from public.refunds where provider = 'revolut' and provider_refund_id = ${refundId}`;
    expect(refund).toEqual({ status: "succeeded", borne_by_platform: true });
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 0, available: 0 });
    await assertLedgerInvariants(sql);
  });

  it("records a refund order that failed after its account was closed at once, owed to the former owner on unclaimed:GBP", async () => {
    const topUp = await creditedTopUp(800);
    const refundId = crypto.randomUUID();
    standIn.records.set(refundId, refundOrder(refundId, "completed", 300, topUp.orderId));
    expect((await deliver(orderEvent("ORDER_COMPLETED", refundId))).status).toBe(200);
    const other = await createUserWithAccount(sql, "GBP");
    await sql`select 1 from public.wallet_transfer(${topUp.accountId}::uuid, ${other.accountId}::uuid, 500, 'GBP', ${`spend:${topUp.orderId}`})`;
    await sql`select 1 from public.wallet_set_status(${topUp.accountId}::uuid, 'closed', 'customer left')`;
    const [unclaimed] = await sql<{ id: string }[]>`select private.wallet_system_account('unclaimed', 'GBP') as id`;
    const before = await balanceOf(sql, unclaimed!.id);

    standIn.records.set(refundId, refundOrder(refundId, "failed", 300, topUp.orderId));
    expect((await deliver(orderEvent("ORDER_FAILED", refundId))).status).toBe(200);
    expect(await storedEvents(sql, "revolut", `${refundId}:ORDER_FAILED`)).toMatchObject([{ status: "processed", attempts: 1 }]);
    const [refund] = await sql<{ status: string; owed_to_closed_account: boolean }[]>`
      select status, owed_to_closed_account from public.refunds where provider = 'revolut' and provider_refund_id = ${refundId}`;
    expect(refund).toEqual({ status: "failed", owed_to_closed_account: true });
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 0, available: 0 });
    expect(await balanceOf(sql, unclaimed!.id)).toEqual({ balance: before.balance + 300, available: before.available + 300 });
    await assertLedgerInvariants(sql);
  });

  it("keeps a known refund's ORDER_CANCELLED failed while the order cannot be read, then closes the refund", async () => {
    const topUp = await creditedTopUp(900);
    const refundId = crypto.randomUUID();
    await sql`
      insert into public.refunds (payment_id, provider, provider_refund_id, user_id, amount, currency, status, reason)
      select id, 'revolut', ${refundId}, user_id, 900, currency, 'pending', 'asked' from public.payments where id = ${topUp.paymentId}::uuid`;
    standIn.records.set(refundId, 503);
    expect((await deliver(orderEvent("ORDER_CANCELLED", refundId))).status).toBe(500);
    expect(await refundsOf(topUp.paymentId)).toMatchObject([{ status: "pending" }]);

    standIn.records.set(refundId, refundOrder(refundId, "cancelled", 900, topUp.orderId));
    expect((await deliver(orderEvent("ORDER_CANCELLED", refundId))).status).toBe(200);
    expect(await refundsOf(topUp.paymentId)).toEqual([{ provider_refund_id: refundId, status: "canceled", amount: 900 }]);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 900, available: 900 });
    expect(await intentStatus(sql, topUp.intentId)).toMatchObject({ status: "succeeded" });
  });

  it("records a dashboard refund that needs what an admin's refund Revolut never received reserves, which can then no longer complete", async () => {
    const topUp = await creditedTopUp(1000);
    // The admin's refund of 600, pending under its request id: Revolut never got the request.
    const requestId = `rr_${crypto.randomUUID().replaceAll("-", "")}`;
    await sql`
      insert into public.refunds (payment_id, provider, provider_refund_id, refund_request_id, user_id, amount, currency, status, reason)
      select id, 'revolut', ${requestId}, ${requestId}, user_id, 600, currency, 'pending', 'asked' from public.payments where id = ${topUp.paymentId}::uuid`;
    // Revolut bounds its refunds by the order: one of 700 made in its dashboard leaves no room for the 600.
    const refundId = crypto.randomUUID();
    standIn.records.set(refundId, refundOrder(refundId, "completed", 700, topUp.orderId));
    expect((await deliver(orderEvent("ORDER_COMPLETED", refundId))).status).toBe(200);
    expect(await refundsOf(topUp.paymentId)).toEqual(expect.arrayContaining([
      { provider_refund_id: refundId, status: "succeeded", amount: 700 },
      { provider_refund_id: requestId, status: "pending", amount: 600 },
    ]));
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 300, available: 300 });
    await assertLedgerInvariants(sql);
  });

  it("keeps an unknown order's ORDER_CANCELLED failed while the order cannot be read, then closes it as the dashboard refund it is", async () => {
    const topUp = await creditedTopUp(700);
    const refundId = crypto.randomUUID();
    const mirrored = async () =>
      (await sql<{ n: number }[]>`select count(*)::int as n from public.revolut_transactions where revolut_id = ${refundId}`)[0]!.n;
    standIn.records.set(refundId, 503);
    expect((await deliver(orderEvent("ORDER_CANCELLED", refundId))).status).toBe(500);
    expect(await mirrored()).toBe(0);

    standIn.records.set(refundId, refundOrder(refundId, "cancelled", 300, topUp.orderId));
    expect((await deliver(orderEvent("ORDER_CANCELLED", refundId))).status).toBe(200);
    expect(await mirrored()).toBe(0);
    expect(await refundsOf(topUp.paymentId)).toEqual([{ provider_refund_id: refundId, status: "canceled", amount: 300 }]);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 700, available: 700 });
  });

  it("keeps the refund order of a top-up whose payment is not recorded yet failed (500), then records it once the top-up is credited", async () => {
    const topUp = await revolutTopUp(800);
    // Revolut completed the order, but its ORDER_COMPLETED could not be applied yet.
    standIn.records.set(topUp.orderId, 503);
    expect((await deliver(orderEvent("ORDER_COMPLETED", topUp.orderId))).status).toBe(500);
    const refundId = crypto.randomUUID();
    standIn.records.set(refundId, refundOrder(refundId, "completed", 800, topUp.orderId));
    expect((await deliver(orderEvent("ORDER_COMPLETED", refundId))).status).toBe(500);
    expect(await storedEvents(sql, "revolut", refundId)).toMatchObject([{ status: "failed" }]);

    standIn.records.set(topUp.orderId, order(topUp.orderId, "completed", 800));
    expect((await deliver(orderEvent("ORDER_COMPLETED", topUp.orderId))).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 800, available: 800 });
    expect((await deliver(orderEvent("ORDER_COMPLETED", refundId))).status).toBe(200);
    const [payment] = await sql<{ id: string }[]>`
      select id from public.payments where provider = 'revolut' and provider_payment_id = ${topUp.orderId}`;
    expect(await refundsOf(payment!.id)).toEqual([{ provider_refund_id: refundId, status: "succeeded", amount: 800 }]);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 0, available: 0 });
  });

  it("ignores a refund order of an order that is none of our payments", async () => {
    const refundId = crypto.randomUUID();
    standIn.records.set(refundId, refundOrder(refundId, "completed", 100, crypto.randomUUID()));
    expect((await deliver(orderEvent("ORDER_COMPLETED", refundId))).status).toBe(200);
    expect(await storedEvents(sql, "revolut", refundId)).toMatchObject([{ status: "ignored" }]);
  });
});

describe("business transactions", () => {
  const changed = (id: string, oldState: string, newState: string) => ({
    event: "TransactionStateChanged",
    timestamp: new Date().toISOString(),
    data: { id, request_id: "req-1", old_state: oldState, new_state: newState },
  });

  it("moves the mirror forward and ignores a late, older state", async () => {
    const id = crypto.randomUUID();
    expect((await deliver(changed(id, "created", "pending"))).status).toBe(200);
    expect((await deliver(changed(id, "pending", "completed"))).status).toBe(200);
    const late = await deliver(changed(id, "created", "pending"));
    expect(late.status).toBe(200);
    expect(await late.json()).toMatchObject({ events: [{ outcome: "duplicate" }] });
    expect(await mirror(id)).toMatchObject({ state: "completed", kind: "transaction" });

    const reordered = crypto.randomUUID();
    expect((await deliver(changed(reordered, "pending", "completed"))).status).toBe(200);
    const older = await deliver(changed(reordered, "created", "pending"));
    expect(await older.json()).toMatchObject({
      events: [{ event_id: `${reordered}:TransactionStateChanged:pending`, outcome: "ignored" }],
    });
    expect(await mirror(reordered)).toMatchObject({ state: "completed" });
  });
});

describe("disputes", () => {
  // Revolut documents the DISPUTE_* events but not their body (docs/WEBHOOKS.md): each delivery
  // is kept, once, for an admin to find by type, and the ledger is not moved by a guess at it.
  it("stores a DISPUTE_LOST delivery once as ignored, and moves none of the top-up's money", async () => {
    const { orderId, accountId } = await revolutTopUp(2500);
    standIn.records.set(orderId, order(orderId, "completed", 2500));
    expect((await deliver(orderEvent("ORDER_COMPLETED", orderId))).status).toBe(200);

    const lost = { event: "DISPUTE_LOST", order_id: orderId, marker: crypto.randomUUID() };
    expect((await deliver(lost)).status).toBe(200);
    const again = await deliver(lost);
    expect(await again.json()).toMatchObject({ events: [{ outcome: "duplicate" }] });
    const stored = await sql<{ status: string; type: string }[]>`
      select status, type from public.webhook_events where provider = 'revolut' and payload ->> 'marker' = ${lost.marker}`;
    expect(stored).toEqual([{ status: "ignored", type: "DISPUTE_LOST" }]);
    expect(await balanceOf(sql, accountId)).toEqual({ balance: 2500, available: 2500 });
  });
});
