// stripe-webhook end to end in-process against the real database and a Stripe stand-in (the
// refunds of a charge are read from it): signed event -> webhook_events and payments rows ->
// ledger effect; duplicates (also concurrent), out-of-order delivery, Stripe down, failure ->
// failed + 500 -> dead after 5 attempts.
import { useTestSql } from "../../tests/support/test-sql.ts";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStripeStandIn, stripeError, type StripeStandIn, whileAnswering } from "../../tests/support/provider-standins.ts";
import {
  balanceOf,
  createTopUp,
  creditsTo,
  intentStatus,
  storedEvents,
  type TopUp,
  uniqueClientAddress,
} from "../../tests/support/payments-fixtures.ts";
import { assertLedgerInvariants } from "../../tests/support/ledger-invariants.ts";
import { createAdmin, openTransaction } from "../../tests/ledger/ledger-client.ts";
import type { ReservedSql, TransactionSql } from "postgres";
import {
  stripeChargeRefunded as refunded,
  stripeEvent,
  stripePaymentSucceeded as succeeded,
  stripeRequest,
} from "../../tests/support/webhook-requests.ts";
import handler from "./handler.ts";

const sql = useTestSql();
let stripe: StripeStandIn;
beforeAll(async () => {
  stripe = await startStripeStandIn({ secretKey: process.env.STRIPE_SECRET_KEY! });
  process.env.STRIPE_API_BASE_URL = stripe.url;
  // A Stripe that does not answer fails the event after this long.
  process.env.PROVIDER_TIMEOUT_MS = "1000";
});
afterAll(() => stripe.close());

const piId = () => `pi_${crypto.randomUUID().replaceAll("-", "")}`;
const deliver = (event: unknown) => handler.fetch(stripeRequest(event));

async function paymentOf(id: string) {
  const [row] = await sql<
    { id: string; status: string; review_reason: string | null; amount_refunded: string; intent_id: string | null }[]
  >`
    select id, status, review_reason, amount_refunded, intent_id from public.payments where provider = 'stripe' and provider_payment_id = ${id}`;
  return row;
}

/** A funded top-up: the intent credited through payment_intent.succeeded. */
async function paidTopUp(amount: number) {
  const ref = piId();
  const topUp = await createTopUp(sql, { provider: "stripe", amount, currency: "USD", providerRef: ref });
  expect((await deliver(succeeded(ref, amount))).status).toBe(200);
  return topUp;
}

/**
 * The charge.refunded Stripe sends for PaymentIntent `ref` (of `amount`) now: its charge with
 * the amount_refunded of the refunds the stand-in has for it that are not failed or canceled.
 */
function refundedNow(ref: string, amount: number, overrides: Record<string, unknown> = {}) {
  const counted = [...stripe.refunds.values()].filter((r) => r.payment_intent === ref && r.status !== "failed" && r.status !== "canceled");
  return refunded(ref, amount, counted.reduce((sum, r) => sum + (r.amount as number), 0), {}, overrides);
}

/** Resolves once another transaction waits for the transaction `tx` (for a row it locked); throws after 5 s. */
async function untilWaitedFor(tx: TransactionSql | ReservedSql) {
  const [own] = await tx<{ xid: string }[]>`
    select transactionid::text as xid from pg_locks where locktype = 'transactionid' and pid = pg_backend_pid() and granted`;
  const waitedFor = async () => {
    const [row] = await sql<{ waiting: boolean }[]>`
      select exists (select 1 from pg_locks where locktype = 'transactionid' and transactionid::text = ${own!.xid} and not granted)
             as waiting`;
    return row!.waiting;
  };
  for (let tries = 0; !await waitedFor(); tries++) {
    if (tries === 500) throw new Error("no transaction waited for this one within 5 s");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function refundOf(id: string) {
  const [row] = await sql<{ status: string; amount: string; wallet_transaction_id: string | null }[]>`
    select status, amount, wallet_transaction_id from public.refunds where provider = 'stripe' and provider_refund_id = ${id}`;
  return row;
}

/** Moves `amount` of `topUp`'s paid money to another user's account, so that a refund finds it spent. */
async function spend(topUp: TopUp, amount: number) {
  const other = await createTopUp(sql, { provider: "stripe", amount: 1, currency: "USD", providerRef: null });
  await sql.begin(async (tx) => {
    await tx`set local role service_role`;
    await tx`select 1 from public.wallet_transfer(${topUp.accountId}::uuid, ${other.accountId}::uuid, ${amount}::bigint, 'USD', ${`spend:${topUp.providerRef}`})`;
  });
}

/** Spends the top-up's account to zero and closes it: a closed account holds nothing for good. */
async function closeAccount(topUp: TopUp) {
  await spend(topUp, (await balanceOf(sql, topUp.accountId)).balance);
  await sql`select 1 from public.wallet_set_status(${topUp.accountId}::uuid, 'closed', 'customer left')`;
}

/** The id of the USD system account `code` (losses, unclaimed) the closed accounts' refunds move. */
async function systemAccount(code: "losses" | "unclaimed"): Promise<string> {
  const [row] = await sql<{ id: string }[]>`select private.wallet_system_account(${code}, 'USD') as id`;
  return row!.id;
}

describe("payments", () => {
  it("credits the intent's account once for payment_intent.succeeded", async () => {
    const ref = piId();
    const topUp = await createTopUp(sql, { provider: "stripe", amount: 2500, currency: "USD", providerRef: ref });
    const event = succeeded(ref, 2500);
    // The sender wrote a hop and a correlation id of its own; the proxy appended `client`.
    const client = uniqueClientAddress();
    const response = await handler.fetch(stripeRequest(event, {}, {
      address: `6.6.6.6, ${client}`,
      headers: { "x-correlation-id": "forged correlation id" },
    }));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ events: [{ event_id: event.id, outcome: "processed" }] });
    expect(await storedEvents(sql, "stripe", event.id)).toMatchObject([{ status: "processed", attempts: 1, last_error: null }]);
    expect(await paymentOf(ref)).toMatchObject({ status: "succeeded", intent_id: topUp.intentId });
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 2500, available: 2500 });
    expect(await intentStatus(sql, topUp.intentId)).toMatchObject({ status: "succeeded" });
    // The audit trail ties the payment, its ledger credit and the event's outcome to this
    // request (the id its answer returns, the hop the proxy appended) and to the service role.
    const audited = await sql<{ table_name: string; actor_role: string; correlation_id: string; ip: string }[]>`
      select l.table_name, l.actor_role, l.correlation_id, host(l.ip) as ip from audit.trail l
       where (l.table_name, l.record_id) in (select 'payments', p.id::text from public.payments p where p.provider_payment_id = ${ref})
          or (l.table_name, l.record_id) in (select 'wallet_transactions', p.wallet_transaction_id::text from public.payments p
                                              where p.provider_payment_id = ${ref})
          or (l.table_name, l.record_id) = ('payment_intents', ${topUp.intentId}) and l.new_record ->> 'status' = 'succeeded'
          or (l.table_name, l.record_id) in (select 'webhook_events', e.id::text from public.webhook_events e
                                              where e.provider = 'stripe' and e.event_id = ${event.id})`;
    expect(audited.map((row) => row.table_name).sort()).toEqual(["payment_intents", "payments", "wallet_transactions", "webhook_events"]);
    const returned = response.headers.get("x-correlation-id");
    expect(returned).not.toBe("forged correlation id");
    for (const row of audited) {
      expect(row).toEqual({ table_name: row.table_name, actor_role: "service_role", correlation_id: returned, ip: client });
    }
  });

  it("makes one effect from 10 concurrent deliveries of one event", async () => {
    const ref = piId();
    const topUp = await createTopUp(sql, { provider: "stripe", amount: 700, currency: "USD", providerRef: ref });
    const event = succeeded(ref, 700);
    const responses = await Promise.all(Array.from({ length: 10 }, () => deliver(event)));
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    const outcomes = await Promise.all(
      responses.map(async (r) => ((await r.json()) as { events: { outcome: string }[] }).events[0]!.outcome),
    );
    expect(outcomes.filter((o) => o === "processed")).toHaveLength(1);
    expect(outcomes.filter((o) => o === "duplicate")).toHaveLength(9);
    expect(await creditsTo(sql, topUp.accountId)).toBe(1);
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 700 });
  });

  it("treats checkout.session.completed for the same PaymentIntent as the same payment", async () => {
    const ref = piId();
    const topUp = await createTopUp(sql, { provider: "stripe", amount: 900, currency: "USD", providerRef: ref });
    const session = stripeEvent("checkout.session.completed", {
      id: "cs_test_1",
      object: "checkout.session",
      payment_status: "paid",
      payment_intent: ref,
      amount_total: 900,
      currency: "usd",
      metadata: {},
    });
    expect((await deliver(session)).status).toBe(200);
    expect((await deliver(succeeded(ref, 900))).status).toBe(200);
    expect(await creditsTo(sql, topUp.accountId)).toBe(1);
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 900 });
  });

  it("records the payment once when only the session's metadata names the intent, whichever event comes first", async () => {
    for (const sessionFirst of [true, false]) {
      const topUp = await createTopUp(sql, { provider: "stripe", amount: 1100, currency: "USD", providerRef: null });
      const ref = piId();
      const session = stripeEvent("checkout.session.completed", {
        id: `cs_${ref.slice(3)}`,
        object: "checkout.session",
        payment_status: "paid",
        payment_intent: ref,
        amount_total: 1100,
        currency: "usd",
        metadata: { intent_id: topUp.intentId },
      });
      const order = sessionFirst ? [session, succeeded(ref, 1100)] : [succeeded(ref, 1100), session];
      const statuses = [];
      for (const event of order) statuses.push((await deliver(event)).status);
      expect(statuses).toEqual([200, 200]);
      // Session first: credited. PaymentIntent first: stored for no intent, left for review.
      expect(await creditsTo(sql, topUp.accountId)).toBe(sessionFirst ? 1 : 0);
      expect(await paymentOf(ref)).toMatchObject({ status: sessionFirst ? "succeeded" : "needs_review" });
    }
  });

  it("ignores an unpaid checkout session", async () => {
    const session = stripeEvent("checkout.session.completed", {
      id: "cs_test_2",
      object: "checkout.session",
      payment_status: "unpaid",
      payment_intent: null,
      amount_total: 900,
      currency: "usd",
      metadata: {},
    });
    expect((await deliver(session)).status).toBe(200);
    expect(await storedEvents(sql, "stripe", session.id)).toMatchObject([{ status: "ignored" }]);
  });

  it("finds an intent that was never attached by metadata.intent_id", async () => {
    const topUp = await createTopUp(sql, { provider: "stripe", amount: 300, currency: "USD", providerRef: null });
    const ref = piId();
    expect((await deliver(succeeded(ref, 300, { metadata: { intent_id: topUp.intentId } }))).status).toBe(200);
    expect(await paymentOf(ref)).toMatchObject({ status: "succeeded", intent_id: topUp.intentId });
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 300 });
  });

  it("stores a payment for no known intent, or of another amount, as needs_review without credit", async () => {
    const unknown = piId();
    expect((await deliver(succeeded(unknown, 100, { metadata: { intent_id: crypto.randomUUID() } }))).status).toBe(200);
    expect(await paymentOf(unknown)).toMatchObject({ status: "needs_review", review_reason: "unknown_intent", intent_id: null });

    const ref = piId();
    const topUp = await createTopUp(sql, { provider: "stripe", amount: 1000, currency: "USD", providerRef: ref });
    expect((await deliver(succeeded(ref, 999))).status).toBe(200);
    expect(await paymentOf(ref)).toMatchObject({ status: "needs_review", review_reason: "amount_mismatch" });
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 0 });
  });

  it("fails the intent with the provider's reason, and a late failure never undoes a success", async () => {
    const ref = piId();
    const topUp = await createTopUp(sql, { provider: "stripe", amount: 400, currency: "USD", providerRef: ref });
    const failed = stripeEvent("payment_intent.payment_failed", {
      id: ref,
      object: "payment_intent",
      amount: 400,
      currency: "usd",
      metadata: {},
      last_payment_error: { code: "card_declined", message: "Your card was declined." },
    });
    expect((await deliver(failed)).status).toBe(200);
    expect(await intentStatus(sql, topUp.intentId)).toEqual({ status: "failed", failure_reason: "Your card was declined." });

    // The customer retried and paid; then an older failure is delivered again (out of order).
    expect((await deliver(succeeded(ref, 400))).status).toBe(200);
    const lateFailure = stripeEvent("payment_intent.payment_failed", { ...failed.data.object }, { created: failed.created - 60 });
    expect((await deliver(lateFailure)).status).toBe(200);
    expect(await intentStatus(sql, topUp.intentId)).toMatchObject({ status: "succeeded" });
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 400 });
  });

  /** The payment_intent.canceled Stripe sends for PaymentIntent `id`: the object canceled, with its cancellation_reason. */
  const canceledAtStripe = (id: string, amount: number, reason: string | null, extra: Record<string, unknown> = {}) =>
    stripeEvent("payment_intent.canceled", {
      id,
      object: "payment_intent",
      amount,
      amount_received: 0,
      currency: "usd",
      status: "canceled",
      cancellation_reason: reason,
      canceled_at: Math.floor(Date.now() / 1000),
      metadata: {},
      ...extra,
    });

  it("cancels an open intent at once when Stripe cancels its PaymentIntent, naming Stripe's reason; a redelivery is a duplicate", async () => {
    const waiting = await createTopUp(sql, { provider: "stripe", amount: 450, currency: "USD", providerRef: piId() });
    const event = canceledAtStripe(waiting.providerRef!, 450, "requested_by_customer");
    const response = await deliver(event);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ events: [{ event_id: event.id, outcome: "processed" }] });
    expect(await intentStatus(sql, waiting.intentId)).toEqual({
      status: "canceled",
      failure_reason: "stripe canceled the PaymentIntent: requested_by_customer",
    });
    expect(await (await deliver(event)).json()).toMatchObject({ events: [{ outcome: "duplicate" }] });

    // Not attached yet (Stripe's answer to the create was lost): found by metadata.intent_id; no reason given.
    const unattached = await createTopUp(sql, { provider: "stripe", amount: 460, currency: "USD", providerRef: null });
    const noReason = canceledAtStripe(piId(), 460, null, { metadata: { intent_id: unattached.intentId } });
    expect(await (await deliver(noReason)).json()).toMatchObject({ events: [{ outcome: "processed" }] });
    expect(await intentStatus(sql, unattached.intentId)).toEqual({
      status: "canceled",
      failure_reason: "stripe canceled the PaymentIntent: no reason given",
    });

    // A failed intent (its PaymentIntent stayed payable after the decline) ends too.
    const declined = await createTopUp(sql, { provider: "stripe", amount: 470, currency: "USD", providerRef: piId() });
    await deliver(stripeEvent("payment_intent.payment_failed", {
      id: declined.providerRef,
      object: "payment_intent",
      amount: 470,
      currency: "usd",
      metadata: {},
      last_payment_error: { code: "card_declined", message: "Your card was declined." },
    }));
    expect(await (await deliver(canceledAtStripe(declined.providerRef!, 470, "abandoned"))).json()).toMatchObject({
      events: [{ outcome: "processed" }],
    });
    expect(await intentStatus(sql, declined.intentId)).toEqual({
      status: "canceled",
      failure_reason: "stripe canceled the PaymentIntent: abandoned",
    });
    expect(await creditsTo(sql, declined.accountId)).toBe(0);
  });

  it("ignores payment_intent.canceled for an intent already ended or paid, or for no intent of ours", async () => {
    const paid = await paidTopUp(480);
    expect(await (await deliver(canceledAtStripe(paid.providerRef!, 480, "duplicate"))).json()).toMatchObject({
      events: [{ outcome: "ignored" }],
    });
    expect(await intentStatus(sql, paid.intentId)).toEqual({ status: "succeeded", failure_reason: null });
    expect(await balanceOf(sql, paid.accountId)).toEqual({ balance: 480, available: 480 });

    // Canceled already (stripe-poll's own cancel past the TTL): its reason stays.
    const expired = await createTopUp(sql, { provider: "stripe", amount: 490, currency: "USD", providerRef: piId() });
    await sql`update public.payment_intents set status = 'canceled', failure_reason = 'expired: no payment within 86400 seconds'
               where id = ${expired.intentId}::uuid`;
    expect(await (await deliver(canceledAtStripe(expired.providerRef!, 490, "abandoned"))).json()).toMatchObject({
      events: [{ outcome: "ignored" }],
    });
    expect(await intentStatus(sql, expired.intentId)).toEqual({
      status: "canceled",
      failure_reason: "expired: no payment within 86400 seconds",
    });

    const unknown = canceledAtStripe(piId(), 500, "abandoned");
    expect(await (await deliver(unknown)).json()).toMatchObject({ events: [{ outcome: "ignored" }] });
  });

  it("leaves an intent open when another PaymentIntent naming it in its metadata fails or is canceled: its own can still be paid", async () => {
    const topUp = await createTopUp(sql, { provider: "stripe", amount: 505, currency: "USD", providerRef: piId() });
    const other = piId();
    const failed = stripeEvent("payment_intent.payment_failed", {
      id: other,
      object: "payment_intent",
      amount: 505,
      currency: "usd",
      metadata: { intent_id: topUp.intentId },
      last_payment_error: { code: "card_declined", message: "Your card was declined." },
    });
    expect(await (await deliver(failed)).json()).toMatchObject({ events: [{ outcome: "ignored" }] });
    const canceled = canceledAtStripe(other, 505, "duplicate", { metadata: { intent_id: topUp.intentId } });
    expect(await (await deliver(canceled)).json()).toMatchObject({ events: [{ outcome: "ignored" }] });
    expect(await intentStatus(sql, topUp.intentId)).toEqual({ status: "processing", failure_reason: null });
    // Its own PaymentIntent paid then is credited, not held for review as a canceled top-up's.
    expect((await deliver(succeeded(topUp.providerRef!, 505))).status).toBe(200);
    expect(await intentStatus(sql, topUp.intentId)).toMatchObject({ status: "succeeded" });
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 505 });
  });

  it("refuses a payment_intent.canceled whose PaymentIntent is not canceled: 400, nothing stored, the intent left open", async () => {
    const topUp = await createTopUp(sql, { provider: "stripe", amount: 510, currency: "USD", providerRef: piId() });
    const wrong = canceledAtStripe(topUp.providerRef!, 510, "abandoned", { status: "requires_payment_method" });
    expect((await deliver(wrong)).status).toBe(400);
    expect(await storedEvents(sql, "stripe", wrong.id)).toEqual([]);
    expect(await intentStatus(sql, topUp.intentId)).toEqual({ status: "processing", failure_reason: null });
  });
});

describe("refunds and disputes", () => {
  it("records each refund Stripe lists for the charge by its id, once, and reverses the credit by each", async () => {
    const topUp = await paidTopUp(1000);
    const ref = topUp.providerRef!;
    const first = stripe.dashboardRefund(ref, 300);
    expect((await deliver(refundedNow(ref, 1000))).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 700 });
    expect(await refundOf(first.id as string)).toMatchObject({ status: "succeeded", amount: "300" });
    // A redelivery changes nothing; the next refund's event records only the new one.
    const again = await deliver(refunded(ref, 1000, 300));
    expect(await again.json()).toMatchObject({ events: [{ outcome: "ignored" }] });
    const second = stripe.dashboardRefund(ref, 700);
    expect((await deliver(refundedNow(ref, 1000))).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 0 });
    expect(await refundOf(second.id as string)).toMatchObject({ status: "succeeded", amount: "700" });
    expect(await paymentOf(ref)).toMatchObject({ status: "refunded", amount_refunded: "1000" });
  });

  it("forces the reversal when the money was spent", async () => {
    const topUp = await paidTopUp(800);
    const ref = topUp.providerRef!;
    // Spend most of it.
    await spend(topUp, 600);
    const re = stripe.dashboardRefund(ref, 800);
    expect((await deliver(refundedNow(ref, 800))).status).toBe(200);
    expect((await deliver(refundedNow(ref, 800))).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: -600 });
    const [refund] = await sql<
      { forced: boolean; amount: string }[]
    >`select forced, amount from public.refunds where provider_refund_id = ${re.id as string}`;
    expect(refund).toEqual({ forced: true, amount: "800" });
  });

  it("freezes the disputed amount with a hold", async () => {
    const topUp = await paidTopUp(1200);
    const ref = topUp.providerRef!;
    const dispute = stripeEvent("charge.dispute.created", {
      id: `dp_${ref.slice(3)}`,
      object: "dispute",
      amount: 500,
      currency: "usd",
      charge: `ch_${ref.slice(3)}`,
      payment_intent: ref,
      reason: "fraudulent",
    });
    expect((await deliver(dispute)).status).toBe(200);
    expect((await deliver(dispute)).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 1200, available: 700 });
  });

  const disputeEvent = (type: string, ref: string, amount: number, status: string) =>
    stripeEvent(type, {
      id: `dp_${ref.slice(3)}`,
      object: "dispute",
      amount,
      currency: "usd",
      charge: `ch_${ref.slice(3)}`,
      payment_intent: ref,
      reason: "fraudulent",
      status,
    });

  it("freezes the disputed amount of a hot account whose money is in its balance shards", async () => {
    const ref = piId();
    const topUp = await createTopUp(sql, { provider: "stripe", amount: 1000, currency: "USD", providerRef: ref });
    await sql.begin(async (tx) => {
      await tx`set local role service_role`;
      await tx`select 1 from public.wallet_set_balance_shards(${topUp.accountId}::uuid, 4)`;
    });
    // The account's row is busy (another payment holds it) when the top-up is credited: the
    // credit goes to a balance shard, as it does on a merchant's account paid many times at once.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const busy = sql.begin(async (tx) => {
      await tx`select 1 from public.wallet_accounts where id = ${topUp.accountId}::uuid for no key update`;
      locked();
      await released;
    });
    await isLocked;
    expect((await deliver(succeeded(ref, 1000))).status).toBe(200);
    release();
    await busy;
    const [shards] = await sql<{ held: string }[]>`
      select coalesce(sum(balance), 0)::text as held from public.wallet_balance_shards where account_id = ${topUp.accountId}::uuid`;
    expect(shards!.held).toBe("1000");

    expect((await deliver(disputeEvent("charge.dispute.created", ref, 400, "needs_response"))).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 1000, available: 600 });
  });

  it("releases the hold of a dispute that was won", async () => {
    const topUp = await paidTopUp(1000);
    const ref = topUp.providerRef!;
    expect((await deliver(disputeEvent("charge.dispute.created", ref, 400, "needs_response"))).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 1000, available: 600 });
    expect((await deliver(disputeEvent("charge.dispute.closed", ref, 400, "won"))).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 1000, available: 1000 });
    expect(await paymentOf(ref)).toMatchObject({ status: "succeeded", amount_refunded: "0" });
  });

  it("places no hold for a dispute whose closing arrived before its opening", async () => {
    for (const status of ["won", "lost"]) {
      const topUp = await paidTopUp(1000);
      const ref = topUp.providerRef!;
      expect((await deliver(disputeEvent("charge.dispute.closed", ref, 400, status))).status).toBe(200);
      const opened = disputeEvent("charge.dispute.created", ref, 400, "needs_response");
      const response = await deliver(opened);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ events: [{ outcome: "ignored" }] });
      const expected = status === "won" ? 1000 : 600;
      expect(await balanceOf(sql, topUp.accountId), status).toEqual({ balance: expected, available: expected });
    }
  });

  it("leaves no hold behind when a dispute's opening and closing arrive at the same time", async () => {
    for (let round = 0; round < 5; round++) {
      const topUp = await paidTopUp(1000);
      const ref = topUp.providerRef!;
      const responses = await Promise.all([
        deliver(disputeEvent("charge.dispute.closed", ref, 400, "won")),
        deliver(disputeEvent("charge.dispute.created", ref, 400, "needs_response")),
      ]);
      expect(responses.map((r) => r.status)).toEqual([200, 200]);
      expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 1000, available: 1000 });
    }
  });

  it("holds what is left of spent money, and takes a lost dispute back as a forced refund", async () => {
    const topUp = await paidTopUp(1000);
    const ref = topUp.providerRef!;
    await spend(topUp, 300);
    expect((await deliver(disputeEvent("charge.dispute.created", ref, 1000, "needs_response"))).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 700, available: 0 });
    const [hold] = await sql<{ amount: string; metadata: { disputed_amount: number } }[]>`
      select amount, metadata from public.wallet_transactions where idempotency_key = ${`dispute:stripe:dp_${ref.slice(3)}`}`;
    expect(hold).toMatchObject({ amount: "700", metadata: { disputed_amount: 1000 } });

    expect((await deliver(disputeEvent("charge.dispute.closed", ref, 1000, "lost"))).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: -300, available: -300 });
    expect(await paymentOf(ref)).toMatchObject({ status: "refunded", amount_refunded: "1000" });
    const [refund] = await sql<{ forced: boolean }[]>`select forced from public.refunds where provider_refund_id = ${`dp_${ref.slice(3)}`}`;
    expect(refund).toEqual({ forced: true });
  });

  it("records a refund Stripe lists as pending as pending, and completes it when Stripe lists it succeeded", async () => {
    const topUp = await paidTopUp(1000);
    const ref = topUp.providerRef!;
    const re = stripe.dashboardRefund(ref, 400, "pending");
    expect((await deliver(refundedNow(ref, 1000))).status).toBe(200);
    expect(await refundOf(re.id as string)).toMatchObject({ status: "pending", amount: "400", wallet_transaction_id: null });
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 1000 });
    expect(await paymentOf(ref)).toMatchObject({ amount_refunded: "0" });
    stripe.settleRefund(re.id as string, "succeeded");
    expect((await deliver(refundedNow(ref, 1000))).status).toBe(200);
    expect(await refundOf(re.id as string)).toMatchObject({ status: "succeeded", amount: "400" });
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 600 });
    await assertLedgerInvariants(sql);
  });

  it("fails charge.refunded while Stripe cannot list the charge's refunds, records nothing, and applies it on redelivery", async () => {
    const topUp = await paidTopUp(1000);
    const ref = topUp.providerRef!;
    const re = stripe.dashboardRefund(ref, 250);
    const event = refundedNow(ref, 1000);
    for (const down of [{ status: 500, body: stripeError("api_error", undefined, "Something went wrong.") }, "hang"] as const) {
      const response = await whileAnswering(stripe, "listBehaviour", down, async () => await deliver(event));
      expect(response.status).toBe(500);
    }
    expect(await storedEvents(sql, "stripe", event.id)).toMatchObject([
      { status: "failed", attempts: 2, last_error: expect.stringContaining(`the refunds of ch_${ref.slice(3)}`) },
    ]);
    expect(await refundOf(re.id as string)).toBeUndefined();
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 1000 });
    expect((await deliver(event)).status).toBe(200);
    expect(await storedEvents(sql, "stripe", event.id)).toMatchObject([{ status: "processed", attempts: 3, last_error: null }]);
    expect(await refundOf(re.id as string)).toMatchObject({ status: "succeeded", amount: "250" });
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 750 });
  });

  it("waits for an admin's refund in flight on the payment's row lock, and does not record its amount_refunded again", async () => {
    const topUp = await paidTopUp(1000);
    const ref = topUp.providerRef!;
    const payment = await paymentOf(ref);
    let delivery: Promise<Response> | undefined;
    // The admin's refund: refund_prepare locks the payment, Stripe refunds 400, refund_record
    // records it; Stripe's charge.refunded for it comes before the admin's transaction commits.
    const re = stripe.dashboardRefund(ref, 400);
    await sql.begin(async (tx) => {
      await tx`select 1 from public.payments where id = ${payment!.id}::uuid for update`;
      delivery = Promise.resolve(deliver(refundedNow(ref, 1000)));
      await untilWaitedFor(tx);
      await tx`set local role service_role`;
      await tx`select 1 from public.refund_record(${payment!.id}::uuid, 400, ${re.id as string}, 'admin refund')`;
    });
    expect((await delivery!).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 600 });
    expect(await paymentOf(ref)).toMatchObject({ amount_refunded: "400" });
    const [recorded] = await sql<{ n: number }[]>`select count(*)::int as n from public.refunds where payment_id = ${payment!.id}::uuid`;
    expect(recorded!.n).toBe(1);
  });

  /**
   * An admin's refund of `amount` of the top-up `ref` through the admin API, which Stripe makes
   * at once, and the Stripe event `event(re)` delivered while the admin's request records Stripe's
   * answer: in one transaction (askProviderForRefund) the refund takes Stripe's id, and, once the
   * delivery waits for that transaction, refund_record completes it. Stripe's refund, and the
   * delivery's response.
   */
  async function deliveredWhileAdminRecordsStripesAnswer(ref: string, amount: number, event: (re: { id: string }) => unknown) {
    const payment = await paymentOf(ref);
    const admin = await createAdmin(sql);
    // Recorded pending under its request id and committed before Stripe is asked.
    const requestId = `rr_${crypto.randomUUID().replaceAll("-", "")}`;
    const recording = await openTransaction(sql, admin);
    await recording`select 1 from api_private.refund_begin('stripe', ${payment!.id}::uuid, ${amount}, ${requestId}, 'customer asked')`;
    await recording`commit`;
    recording.release();
    // Stripe's refund carries the request id, so Stripe's events of it name the admin's refund.
    const made = stripe.dashboardRefund(ref, amount);
    const re = { ...made, id: made.id as string, metadata: { refund_request_id: requestId } };
    stripe.refunds.set(re.id, re);

    const answer = await openTransaction(sql, admin);
    try {
      await answer`select 1 from api_private.refund_identify('stripe', ${requestId}, ${re.id}, ${ref}, ${amount})`;
      const delivery = Promise.resolve(deliver(event(re)));
      await untilWaitedFor(answer);
      await answer`select 1 from public.refund_record(${payment!.id}::uuid, ${amount}, ${re.id}, 'customer asked')`;
      await answer`commit`;
      return { re, response: await delivery };
    } finally {
      answer.release();
    }
  }

  it("Stripe's charge.refunded applied while the admin's request records Stripe's answer of the same refund: recorded once, neither deadlocked", async () => {
    const topUp = await paidTopUp(1000);
    const ref = topUp.providerRef!;
    const { re, response } = await deliveredWhileAdminRecordsStripesAnswer(ref, 400, () => refundedNow(ref, 1000));

    expect(response.status).toBe(200);
    expect(await refundOf(re.id)).toMatchObject({ status: "succeeded", amount: "400" });
    expect(await paymentOf(ref)).toMatchObject({ status: "partially_refunded", amount_refunded: "400" });
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 600 });
    await assertLedgerInvariants(sql);
  });

  it("a lost dispute of the whole payment applied while an admin's refund of part of it is recorded takes back only the rest", async () => {
    const topUp = await paidTopUp(1000);
    const ref = topUp.providerRef!;
    const lost = disputeEvent("charge.dispute.closed", ref, 1000, "lost");
    const { re, response } = await deliveredWhileAdminRecordsStripesAnswer(ref, 600, () => lost);

    expect(response.status).toBe(200);
    expect(await storedEvents(sql, "stripe", lost.id)).toMatchObject([{ status: "processed", attempts: 1 }]);
    expect(await refundOf(re.id)).toMatchObject({ status: "succeeded", amount: "600" });
    // What Stripe took back never exceeds what was paid: the dispute's refund is what the admin's left.
    expect(await refundOf(`dp_${ref.slice(3)}`)).toMatchObject({ status: "succeeded", amount: "400" });
    expect(await paymentOf(ref)).toMatchObject({ status: "refunded", amount_refunded: "1000" });
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 0 });
    await assertLedgerInvariants(sql);
  });

  // Stripe's refund and the cardholder's chargeback are independent: while a refund is pending at
  // Stripe, what a lost dispute takes from the payer's credit depends on how that refund ends.
  it.each(
    [
      { refundEnds: "succeeded", disputeTakes: "400" },
      { refundEnds: "failed", disputeTakes: "1000" },
    ] as const,
  )(
    "a lost dispute of the whole payment waits, never dead, while a refund of part of it is pending at Stripe, and takes back what the refund left once it has $refundEnds",
    async ({ refundEnds, disputeTakes }) => {
      const topUp = await paidTopUp(1000);
      const ref = topUp.providerRef!;
      const re = stripe.dashboardRefund(ref, 600, "pending");
      expect((await deliver(refundedNow(ref, 1000))).status).toBe(200);
      expect((await deliver(disputeEvent("charge.dispute.created", ref, 1000, "needs_response"))).status).toBe(200);
      const lost = disputeEvent("charge.dispute.closed", ref, 1000, "lost");
      // Stripe retries for three days, more often than the five attempts that make a failure dead.
      for (let attempt = 0; attempt < 6; attempt++) expect((await deliver(lost)).status).toBe(500);
      expect(await storedEvents(sql, "stripe", lost.id)).toMatchObject([
        { status: "failed", attempts: 6, last_error: expect.stringContaining("reserved by refunds pending at Stripe") },
      ]);
      expect(await refundOf(`dp_${ref.slice(3)}`)).toBeUndefined();
      expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 1000, available: 0 });

      stripe.settleRefund(re.id as string, refundEnds);
      expect((await deliver(refundedNow(ref, 1000))).status).toBe(200);
      expect(await refundOf(re.id as string)).toMatchObject({ status: refundEnds });
      expect((await deliver(lost)).status).toBe(200);
      expect(await storedEvents(sql, "stripe", lost.id)).toMatchObject([{ status: "processed", attempts: 7, last_error: null }]);
      expect(await refundOf(`dp_${ref.slice(3)}`)).toMatchObject({ status: "succeeded", amount: disputeTakes });
      expect(await paymentOf(ref)).toMatchObject({ status: "refunded", amount_refunded: "1000" });
      expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 0, available: 0 });
      await assertLedgerInvariants(sql);
    },
  );

  it("keeps a refund for a payment not recorded yet as failed with 500, then applies it on redelivery", async () => {
    const ref = piId();
    const topUp = await createTopUp(sql, { provider: "stripe", amount: 600, currency: "USD", providerRef: ref });
    stripe.dashboardRefund(ref, 600);
    const early = refundedNow(ref, 600);
    const response = await deliver(early);
    expect(response.status).toBe(500);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("event_failed");
    expect(await storedEvents(sql, "stripe", early.id)).toMatchObject([
      { status: "failed", attempts: 1, last_error: expect.stringContaining("no recorded Stripe payment") },
    ]);

    expect((await deliver(succeeded(ref, 600))).status).toBe(200);
    expect((await deliver(early)).status).toBe(200);
    expect(await storedEvents(sql, "stripe", early.id)).toMatchObject([{ status: "processed", attempts: 2, last_error: null }]);
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 0 });
  });

  it("gives up after 5 failed attempts: dead, answered 200, and nothing applied", async () => {
    const orphan = refunded(piId(), 100, 100);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await deliver(orphan)).status);
    expect(statuses).toEqual([500, 500, 500, 500, 200, 200]);
    expect(await storedEvents(sql, "stripe", orphan.id)).toMatchObject([{ status: "dead", attempts: 5 }]);
  });

  // A freeze stops what the user starts, not the recording of what Stripe already did.
  const frozenTopUp = async (amount: number) => {
    const topUp = await paidTopUp(amount);
    await sql`select 1 from public.wallet_set_status(${topUp.accountId}::uuid, 'frozen', 'fraud review')`;
    return topUp;
  };
  const accountStatus = async (accountId: string) =>
    (await sql<{ status: string }[]>`select status from public.wallet_accounts where id = ${accountId}::uuid`)[0]!.status;

  it("records a refund of a frozen account's payment: processed at once, the account debited and still frozen", async () => {
    const topUp = await frozenTopUp(1000);
    stripe.dashboardRefund(topUp.providerRef!, 400);
    const event = refundedNow(topUp.providerRef!, 1000);
    const response = await deliver(event);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ events: [{ outcome: "processed" }] });
    expect(await storedEvents(sql, "stripe", event.id)).toMatchObject([{ status: "processed", attempts: 1, last_error: null }]);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 600, available: 600 });
    expect(await paymentOf(topUp.providerRef!)).toMatchObject({ status: "partially_refunded", amount_refunded: "400" });
    expect(await accountStatus(topUp.accountId)).toBe("frozen");
  });

  it("holds a frozen account's disputed amount and takes a lost dispute back, both processed at once", async () => {
    const topUp = await frozenTopUp(1000);
    const ref = topUp.providerRef!;
    const opened = disputeEvent("charge.dispute.created", ref, 400, "needs_response");
    expect((await deliver(opened)).status).toBe(200);
    expect(await storedEvents(sql, "stripe", opened.id)).toMatchObject([{ status: "processed", attempts: 1, last_error: null }]);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 1000, available: 600 });
    const lost = disputeEvent("charge.dispute.closed", ref, 400, "lost");
    expect((await deliver(lost)).status).toBe(200);
    expect(await storedEvents(sql, "stripe", lost.id)).toMatchObject([{ status: "processed", attempts: 1, last_error: null }]);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 600, available: 600 });
    expect(await paymentOf(ref)).toMatchObject({ amount_refunded: "400" });
    expect(await accountStatus(topUp.accountId)).toBe("frozen");
  });

  // A closed account holds nothing for good: what Stripe took back is the platform's loss.
  it("records a dashboard refund and a lost dispute of a closed account's payment at once, borne by the losses account", async () => {
    const topUp = await paidTopUp(1000);
    const ref = topUp.providerRef!;
    await closeAccount(topUp);
    const losses = await systemAccount("losses");
    const before = await balanceOf(sql, losses);

    const re = stripe.dashboardRefund(ref, 300);
    const event = refundedNow(ref, 1000);
    const response = await deliver(event);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ events: [{ outcome: "processed" }] });
    expect(await storedEvents(sql, "stripe", event.id)).toMatchObject([{ status: "processed", attempts: 1, last_error: null }]);
    const lost = disputeEvent("charge.dispute.closed", ref, 700, "lost");
    expect((await deliver(lost)).status).toBe(200);
    expect(await storedEvents(sql, "stripe", lost.id)).toMatchObject([{ status: "processed", attempts: 1, last_error: null }]);

    const refunds = await sql<{ provider_refund_id: string; status: string; borne_by_platform: boolean }[]>`
      select provider_refund_id, status, borne_by_platform from public.refunds
       where payment_id = (select id from public.payments where provider = 'stripe' and provider_payment_id = ${ref})
       order by amount`;
    expect(refunds).toEqual([
      { provider_refund_id: re.id, status: "succeeded", borne_by_platform: true },
      { provider_refund_id: expect.stringMatching(/^dp_/), status: "succeeded", borne_by_platform: true },
    ]);
    expect(await paymentOf(ref)).toMatchObject({ status: "refunded", amount_refunded: "1000" });
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 0, available: 0 });
    expect(await accountStatus(topUp.accountId)).toBe("closed");
    expect(await balanceOf(sql, losses)).toEqual({ balance: before.balance - 1000, available: before.available - 1000 });
    await assertLedgerInvariants(sql);
  });
});

describe("refunds that fail after they were recorded", () => {
  const chargeOf = (ref: string) => `ch_${ref.slice(3)}`;
  /** A Refund object event as Stripe sends it when the refund's status changes. */
  const refundEvent = (type: string, ref: string, id: string, amount: number, status: string) =>
    stripeEvent(type, {
      id,
      object: "refund",
      amount,
      charge: chargeOf(ref),
      payment_intent: ref,
      currency: "usd",
      status,
      failure_reason: status === "failed" ? "expired_or_canceled_card" : null,
      reason: "requested_by_customer",
      metadata: {},
    });
  /** The refund `id` fails at Stripe: the stand-in has it failed, and the event Stripe sends about it. */
  const failAtStripe = (type: string, ref: string, id: string) => {
    const failed = stripe.settleRefund(id, "failed", "expired_or_canceled_card");
    return refundEvent(type, ref, id, failed.amount as number, "failed");
  };
  /** A paid top-up of 1000 with a refund of `amount` made in Stripe's dashboard: the top-up, its PaymentIntent and the refund's id. */
  const dashboardRefunded = async (amount: number) => {
    const topUp = await paidTopUp(1000);
    const ref = topUp.providerRef!;
    return { topUp, ref, reId: stripe.dashboardRefund(ref, amount).id as string };
  };

  it("credits the wallet back, marks the refund failed and lowers the payment's refunded amount, once", async () => {
    const { topUp, ref, reId } = await dashboardRefunded(400);
    expect((await deliver(refundedNow(ref, 1000))).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 600, available: 600 });
    expect(await paymentOf(ref)).toMatchObject({ status: "partially_refunded", amount_refunded: "400" });

    const failure = failAtStripe("charge.refund.updated", ref, reId);
    const response = await deliver(failure);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ events: [{ event_id: failure.id, outcome: "processed" }] });
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 1000, available: 1000 });
    expect(await refundOf(reId)).toMatchObject({ status: "failed", amount: "400" });
    expect(await paymentOf(ref)).toMatchObject({ status: "succeeded", amount_refunded: "0" });
    const [creditBack] = await sql<{ kind: string; amount: string; reverses: string; description: string }[]>`
      select t.kind, t.amount, r.wallet_transaction_id::text as reverses, t.description
        from public.wallet_transactions t join public.refunds r on r.wallet_transaction_id = t.reverses_id
       where r.provider_refund_id = ${reId}`;
    expect(creditBack).toMatchObject({ kind: "reversal", amount: "400", description: "stripe refund failed: expired_or_canceled_card" });

    // The same failure again, in the other events, and a charge.refunded listing it as failed: no second credit.
    expect((await deliver(failure)).status).toBe(200);
    expect((await deliver(refundEvent("refund.failed", ref, reId, 400, "failed"))).status).toBe(200);
    expect((await deliver(refundedNow(ref, 1000))).status).toBe(200);
    // A late report of it as succeeded (the first charge.refunded's redelivery) changes nothing either.
    expect((await deliver(refundEvent("refund.updated", ref, reId, 400, "succeeded"))).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 1000, available: 1000 });
    expect(await paymentOf(ref)).toMatchObject({ status: "succeeded", amount_refunded: "0" });
    await assertLedgerInvariants(sql);
  });

  it("applies a failure Stripe lists for the charge once, and records a new refund of the amount next to it", async () => {
    const topUp = await paidTopUp(1000);
    const ref = topUp.providerRef!;
    const first = stripe.dashboardRefund(ref, 1000).id as string;
    expect((await deliver(refundedNow(ref, 1000))).status).toBe(200);
    expect(await paymentOf(ref)).toMatchObject({ status: "refunded", amount_refunded: "1000" });
    // The first fails and a new refund of the whole amount is made: the next charge.refunded lists both.
    const lateFailure = failAtStripe("charge.refund.updated", ref, first);
    const second = stripe.dashboardRefund(ref, 1000).id as string;
    expect((await deliver(refundedNow(ref, 1000))).status).toBe(200);
    expect((await deliver(lateFailure)).status).toBe(200);
    expect(await refundOf(first)).toMatchObject({ status: "failed" });
    expect(await refundOf(second)).toMatchObject({ status: "succeeded" });
    expect(await paymentOf(ref)).toMatchObject({ status: "refunded", amount_refunded: "1000" });
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 0, available: 0 });
    await assertLedgerInvariants(sql);
  });

  it("keeps a failure of a refund it never recorded, moving no money, so that a late success report is not applied", async () => {
    const { topUp, ref, reId } = await dashboardRefunded(250);
    const succeededFirst = refundedNow(ref, 1000);
    expect((await deliver(failAtStripe("charge.refund.updated", ref, reId))).status).toBe(200);
    expect(await refundOf(reId)).toEqual({ status: "failed", amount: "250", wallet_transaction_id: null });
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 1000 });
    expect((await deliver(refundEvent("refund.updated", ref, reId, 250, "succeeded"))).status).toBe(200);
    expect((await deliver(succeededFirst)).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 1000 });
    expect(await paymentOf(ref)).toMatchObject({ status: "succeeded", amount_refunded: "0" });
  });

  it("records a refund a refund.updated reports succeeded by its id, once with charge.refunded", async () => {
    const { topUp, ref, reId } = await dashboardRefunded(100);
    const update = refundEvent("charge.refund.updated", ref, reId, 100, "succeeded");
    expect(await (await deliver(update)).json()).toMatchObject({ events: [{ outcome: "processed" }] });
    expect(await (await deliver(refundedNow(ref, 1000))).json()).toMatchObject({ events: [{ outcome: "ignored" }] });
    expect(await refundOf(reId)).toMatchObject({ status: "succeeded", amount: "100" });
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 900 });
  });

  it("ignores refund updates with a status that is not an end", async () => {
    const { topUp, ref, reId } = await dashboardRefunded(100);
    expect((await deliver(refundedNow(ref, 1000))).status).toBe(200);
    const update = refundEvent("charge.refund.updated", ref, reId, 100, "requires_action");
    expect(await (await deliver(update)).json()).toMatchObject({ events: [{ outcome: "ignored" }] });
    expect(await refundOf(reId)).toMatchObject({ status: "succeeded" });
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 900 });
  });

  // The account the refund was taken from closed at zero since: it takes nothing for good, and
  // the money Stripe has back is owed to its former owner (decision 0027).
  it("records the failure of a refund whose account was closed since at once, owed to its former owner on unclaimed:USD", async () => {
    const { topUp, ref, reId } = await dashboardRefunded(400);
    expect((await deliver(refundedNow(ref, 1000))).status).toBe(200);
    await closeAccount(topUp);
    const unclaimed = await systemAccount("unclaimed");
    const before = await balanceOf(sql, unclaimed);

    const failure = failAtStripe("charge.refund.updated", ref, reId);
    const response = await deliver(failure);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ events: [{ event_id: failure.id, outcome: "processed" }] });
    expect(await storedEvents(sql, "stripe", failure.id)).toMatchObject([{ status: "processed", attempts: 1, last_error: null }]);
    const [refund] = await sql<{ status: string; owed_to_closed_account: boolean }[]>`
      select status, owed_to_closed_account from public.refunds where provider = 'stripe' and provider_refund_id = ${reId}`;
    expect(refund).toEqual({ status: "failed", owed_to_closed_account: true });
    expect(await paymentOf(ref)).toMatchObject({ status: "succeeded", amount_refunded: "0" });
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 0, available: 0 });
    const [account] = await sql<{ status: string }[]>`select status from public.wallet_accounts where id = ${topUp.accountId}`;
    expect(account).toEqual({ status: "closed" });
    expect(await balanceOf(sql, unclaimed)).toEqual({ balance: before.balance + 400, available: before.available + 400 });
    // The same failure again, as refund.failed: nothing more.
    expect((await deliver(refundEvent("refund.failed", ref, reId, 400, "failed"))).status).toBe(200);
    expect(await balanceOf(sql, unclaimed)).toEqual({ balance: before.balance + 400, available: before.available + 400 });
    await assertLedgerInvariants(sql);
  });

  it("gives the losses account back a refund it bore for a closed account when the refund fails", async () => {
    const topUp = await paidTopUp(1000);
    const ref = topUp.providerRef!;
    await closeAccount(topUp);
    const losses = await systemAccount("losses");
    const unclaimed = await systemAccount("unclaimed");
    const before = { losses: await balanceOf(sql, losses), unclaimed: await balanceOf(sql, unclaimed) };
    const reId = stripe.dashboardRefund(ref, 300).id as string;
    expect((await deliver(refundedNow(ref, 1000))).status).toBe(200);
    expect(await balanceOf(sql, losses)).toMatchObject({ balance: before.losses.balance - 300 });

    expect((await deliver(failAtStripe("charge.refund.updated", ref, reId))).status).toBe(200);
    const [refund] = await sql<{ status: string; borne_by_platform: boolean; owed_to_closed_account: boolean }[]>`
      select status, borne_by_platform, owed_to_closed_account from public.refunds
       where provider = 'stripe' and provider_refund_id = ${reId}`;
    expect(refund).toEqual({ status: "failed", borne_by_platform: true, owed_to_closed_account: false });
    expect(await balanceOf(sql, losses)).toEqual(before.losses);
    expect(await balanceOf(sql, unclaimed)).toEqual(before.unclaimed);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 0, available: 0 });
    await assertLedgerInvariants(sql);
  });
});

describe("refunds reported out of order", () => {
  /** The refund `id` fails at Stripe: the refund.failed Stripe sends about it. */
  const refundFailed = (id: string) => {
    const failed = stripe.settleRefund(id, "failed", "expired_or_canceled_card");
    return stripeEvent("refund.failed", { ...failed, object: "refund" });
  };

  it("two refunds whose first charge.refunded comes last are two rows: the failure of one gives its amount back", async () => {
    const topUp = await paidTopUp(1000);
    const ref = topUp.providerRef!;
    const first = stripe.dashboardRefund(ref, 300).id as string;
    const firstReport = refundedNow(ref, 1000);
    const second = stripe.dashboardRefund(ref, 200).id as string;
    expect((await deliver(refundedNow(ref, 1000))).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 500 });
    expect((await deliver(refundFailed(first))).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 800 });
    expect((await deliver(firstReport)).status).toBe(200);
    expect(await refundOf(first)).toMatchObject({ status: "failed", amount: "300" });
    expect(await refundOf(second)).toMatchObject({ status: "succeeded", amount: "200" });
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 800 });
    expect(await paymentOf(ref)).toMatchObject({ status: "partially_refunded", amount_refunded: "200" });
    await assertLedgerInvariants(sql);
  });

  it("a new refund's charge.refunded applied after an earlier refund's failure is still recorded", async () => {
    const topUp = await paidTopUp(1000);
    const ref = topUp.providerRef!;
    const created = Math.floor(Date.now() / 1000) - 60;
    const first = stripe.dashboardRefund(ref, 300).id as string;
    const firstReport = refundedNow(ref, 1000, { created });
    const second = stripe.dashboardRefund(ref, 200).id as string;
    const secondReport = refundedNow(ref, 1000, { created: created + 1 });
    // The first refund fails; its failure is applied before either charge.refunded.
    expect((await deliver(refundFailed(first))).status).toBe(200);
    expect((await deliver(secondReport)).status).toBe(200);
    expect((await deliver(firstReport)).status).toBe(200);
    expect(await refundOf(first)).toEqual({ status: "failed", amount: "300", wallet_transaction_id: null });
    expect(await refundOf(second)).toMatchObject({ status: "succeeded", amount: "200" });
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 800 });
    expect(await paymentOf(ref)).toMatchObject({ status: "partially_refunded", amount_refunded: "200" });
    await assertLedgerInvariants(sql);
  });

  /**
   * A paid top-up of 1,000 refunded `refunded` in Stripe's dashboard, then disputed `disputed`
   * and the dispute lost, its events delivered; the refund's charge.refunded delivered before the
   * dispute's, or (`reportLate`) returned undelivered.
   */
  async function refundThenLostDispute(refunded: number, disputed: number, reportLate = false) {
    const topUp = await paidTopUp(1000);
    const ref = topUp.providerRef!;
    const refund = stripe.dashboardRefund(ref, refunded).id as string;
    const report = refundedNow(ref, 1000);
    if (!reportLate) expect((await deliver(report)).status).toBe(200);
    const dispute = stripe.openDispute(ref, disputed);
    const disputeId = dispute.id as string;
    expect((await deliver(stripeEvent("charge.dispute.created", { ...dispute }))).status).toBe(200);
    expect((await deliver(stripeEvent("charge.dispute.closed", { ...stripe.settleDispute(disputeId, "lost") }))).status).toBe(200);
    return { topUp, ref, refund, disputeId, report };
  }

  it("records a refund whose charge.refunded comes after the payment's lost dispute, the dispute taking what the refund left", async () => {
    const { topUp, ref, refund, disputeId, report } = await refundThenLostDispute(300, 1000, true);
    // The refund's report, late: it found the whole payment taken back by the dispute (WL008) and
    // failed at each delivery until it went dead, the refund never recorded.
    expect((await deliver(report)).status).toBe(200);
    expect(await refundOf(refund)).toMatchObject({ status: "succeeded", amount: "300" });
    expect(await refundOf(disputeId)).toMatchObject({ status: "succeeded", amount: "700" });
    expect(await paymentOf(ref)).toMatchObject({ amount_refunded: "1000" });
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 0, available: 0 });
    await assertLedgerInvariants(sql);
  });

  // The refund fails at Stripe after the lost dispute took what it left: its amount is given back
  // to the payer, while Stripe's chargeback took what was disputed. Before, the payer kept it.
  it.each([
    { refunded: 300, disputed: 1000, took: 700, more: 300, balance: 0 },
    { refunded: 1000, disputed: 600, took: 0, more: 600, balance: 400 },
  ])(
    "a refund of $refunded that fails after the payment's lost dispute of $disputed took what it left makes the dispute take $more more",
    async ({ refunded, disputed, took, more, balance }) => {
      const { topUp, ref, refund, disputeId } = await refundThenLostDispute(refunded, disputed);
      expect(Number((await refundOf(disputeId))?.amount ?? 0)).toBe(took);
      expect((await deliver(refundFailed(refund))).status).toBe(200);
      expect(await refundOf(refund)).toMatchObject({ status: "failed" });
      expect(await refundOf(`${disputeId}:${refund}`)).toMatchObject({ status: "succeeded", amount: String(more) });
      expect(await paymentOf(ref)).toMatchObject({ amount_refunded: String(took + more) });
      expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance, available: balance });
      await assertLedgerInvariants(sql);
    },
  );

  it("a refund failing after the payment's lost dispute waits, while another refund is pending at Stripe, before the dispute takes the rest", async () => {
    const { topUp, ref, refund, disputeId } = await refundThenLostDispute(300, 1000);
    // Beside them, a refund of 100 still pending at Stripe.
    const payment = await paymentOf(ref);
    const pendingId = `re_${crypto.randomUUID().replaceAll("-", "")}`;
    await sql`
      insert into public.refunds (payment_id, provider, provider_refund_id, user_id, amount, currency, status, reason)
      select id, 'stripe', ${pendingId}, user_id, 100, currency, 'pending', 'asked' from public.payments where id = ${payment!.id}::uuid`;
    const failure = refundFailed(refund);
    expect((await deliver(failure)).status).toBe(500);
    expect(await storedEvents(sql, "stripe", failure.id)).toMatchObject([
      { status: "failed", last_error: expect.stringContaining("reserved by refunds pending at Stripe") },
    ]);
    expect(await refundOf(refund)).toMatchObject({ status: "succeeded" });

    // The pending refund fails at Stripe: the refund's failure applies, and the dispute takes the rest.
    await sql`select 1 from public.refund_record_failure(${payment!.id}::uuid, ${pendingId}, 100, 'failed', 'stripe refund failed')`;
    expect((await deliver(failure)).status).toBe(200);
    expect(await refundOf(refund)).toMatchObject({ status: "failed" });
    expect(await refundOf(`${disputeId}:${refund}`)).toMatchObject({ status: "succeeded", amount: "300" });
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 0, available: 0 });
    await assertLedgerInvariants(sql);
  });

  it("the same refunds in any order of their events, each event delivered twice, end as Stripe has them", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(5), { minLength: 8, maxLength: 8 }), async (weights) => {
        const topUp = await paidTopUp(1000);
        const ref = topUp.providerRef!;
        const [a, b, c] = [300, 200, 100].map((amount) => stripe.dashboardRefund(ref, amount).id as string);
        // Stripe's reports as they were sent, each with the refund as it was then; a
        // charge.refunded is applied from the charge's refunds as Stripe lists them on delivery.
        const aSucceeded = stripeEvent("refund.updated", { ...stripe.refunds.get(a!)!, object: "refund" });
        const events = [refundedNow(ref, 1000), aSucceeded];
        events.push(refundFailed(a!), refundedNow(ref, 1000));
        stripe.settleRefund(c!, "canceled");
        events.push(stripeEvent("charge.refund.updated", { ...stripe.refunds.get(c!)!, object: "refund" }), refundedNow(ref, 1000));
        const order = events.map((event, i) => ({ event, weight: weights[i]! })).sort((x, y) => x.weight - y.weight);
        for (const { event } of [...order, ...order]) expect((await deliver(event)).status).toBe(200);
        expect(await refundOf(a!)).toMatchObject({ status: "failed" });
        expect(await refundOf(b!)).toMatchObject({ status: "succeeded" });
        expect(await refundOf(c!)).toMatchObject({ status: "canceled" });
        expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 800 });
        expect(await paymentOf(ref)).toMatchObject({ amount_refunded: "200" });
      }),
      { numRuns: 6 },
    );
    await assertLedgerInvariants(sql);
  });
});

// Stripe names the charge of a payment made with some methods other than a card (SEPA Direct
// Debit, ACH, a payment converted into the settlement currency) py_..., its refunds pyr_...,
// and its Dispute objects may be du_... (Stripe's own API reference shows one): the events of
// such a payment are Stripe's events like any other, and a refusal of their shape (400) would
// leave the refund or the dispute unrecorded for good while Stripe has moved the money.
describe("charges, refunds and disputes whose ids are not ch_, re_ and dp_", () => {
  const nonCard = async (amount: number) => {
    const topUp = await paidTopUp(amount);
    const ref = topUp.providerRef!;
    return { topUp, ref, charge: `py_${ref.slice(3)}` };
  };

  it("records a pyr_ refund of a py_ charge listed by charge.refunded, and its later failure", async () => {
    const { topUp, ref, charge } = await nonCard(1000);
    const id = `pyr_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`;
    stripe.refunds.set(id, {
      id,
      object: "refund",
      amount: 300,
      currency: "usd",
      charge,
      payment_intent: ref,
      status: "succeeded",
      metadata: {},
      created: Math.floor(Date.now() / 1000),
    });
    const response = await deliver(refunded(ref, 1000, 300, { id: charge }));
    expect(response.status).toBe(200);
    expect(await refundOf(id)).toMatchObject({ status: "succeeded", amount: "300" });
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 700 });

    const failed = stripeEvent("refund.failed", {
      id,
      object: "refund",
      amount: 300,
      charge,
      payment_intent: ref,
      currency: "usd",
      status: "failed",
      failure_reason: "declined",
      metadata: {},
    });
    expect((await deliver(failed)).status).toBe(200);
    expect(await refundOf(id)).toMatchObject({ status: "failed" });
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 1000 });
    await assertLedgerInvariants(sql);
  });

  it("holds the amount of a du_ dispute of a py_ charge, and takes it back when the dispute is lost", async () => {
    const { topUp, ref, charge } = await nonCard(1000);
    const dispute = (type: string, status: string) =>
      stripeEvent(type, {
        id: `du_${ref.slice(3)}`,
        object: "dispute",
        amount: 400,
        currency: "usd",
        charge,
        payment_intent: ref,
        reason: "fraudulent",
        status,
      });
    expect((await deliver(dispute("charge.dispute.created", "needs_response"))).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 1000, available: 600 });
    expect((await deliver(dispute("charge.dispute.closed", "lost"))).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 600, available: 600 });
    expect(await paymentOf(ref)).toMatchObject({ amount_refunded: "400" });
  });
});

describe("subscription and invoice mirrors", () => {
  /** The fields a Stripe `object` of the mirrors' customer has, under a new id starting with `prefix`. */
  const ofCustomer = (object: string, prefix: string) => ({
    id: `${prefix}_${crypto.randomUUID().slice(0, 12)}`,
    object,
    customer: "cus_mirror",
    metadata: {},
  });

  it("keeps the newest subscription state when events arrive out of order", async () => {
    const base = {
      ...ofCustomer("subscription", "sub"),
      items: { data: [{ price: { id: "price_1" }, current_period_start: 1_800_000_000, current_period_end: 1_802_592_000 }] },
    };
    const created = Math.floor(Date.now() / 1000) - 100;
    const activated = stripeEvent("customer.subscription.updated", { ...base, status: "active" }, { created: created + 50 });
    const incomplete = stripeEvent("customer.subscription.created", { ...base, status: "incomplete" }, { created });
    expect((await deliver(activated)).status).toBe(200);
    expect((await deliver(incomplete)).status).toBe(200);
    const [row] = await sql<{ status: string; price_id: string; current_period_end: Date }[]>`
      select status, price_id, current_period_end from public.subscriptions where stripe_subscription_id = ${base.id}`;
    expect(row).toMatchObject({ status: "active", price_id: "price_1" });
    expect(row!.current_period_end.toISOString()).toBe(new Date(1_802_592_000_000).toISOString());
    expect(await storedEvents(sql, "stripe", incomplete.id)).toMatchObject([{ status: "ignored" }]);
  });

  it("mirrors invoices and never moves a paid one back to open", async () => {
    const base = { ...ofCustomer("invoice", "in"), subscription: null, amount_due: 1500, currency: "usd" };
    expect(await deliver(stripeEvent("invoice.paid", { ...base, status: "paid", amount_paid: 1500 }))).toHaveProperty("status", 200);
    expect(await deliver(stripeEvent("invoice.finalized", { ...base, status: "open", amount_paid: 0 }))).toHaveProperty("status", 200);
    const [row] = await sql<{ status: string; amount_paid: string; currency: string }[]>`
      select status, amount_paid, currency from public.invoices where stripe_invoice_id = ${base.id}`;
    expect(row).toEqual({ status: "paid", amount_paid: "1500", currency: "USD" });
  });
});

describe("any order, any duplication (property)", () => {
  it("credits a paid intent exactly once whatever order and overlap its events arrive in", async () => {
    const kinds = ["succeeded", "session", "failed"] as const;
    const deliveries = fc.array(fc.constantFrom(...kinds), { minLength: 1, maxLength: 8 }).filter((d) => d.some((k) => k !== "failed"));
    await fc.assert(
      fc.asyncProperty(deliveries, fc.boolean(), async (order, concurrent) => {
        const ref = piId();
        const topUp = await createTopUp(sql, { provider: "stripe", amount: 1500, currency: "USD", providerRef: ref });
        const events = {
          succeeded: succeeded(ref, 1500),
          session: stripeEvent("checkout.session.completed", {
            id: `cs_${ref.slice(3)}`,
            object: "checkout.session",
            payment_status: "paid",
            payment_intent: ref,
            amount_total: 1500,
            currency: "usd",
            metadata: {},
          }),
          failed: stripeEvent("payment_intent.payment_failed", {
            id: ref,
            object: "payment_intent",
            amount: 1500,
            currency: "usd",
            metadata: {},
            last_payment_error: { message: "declined" },
          }),
        };
        const send = async (kind: (typeof kinds)[number]): Promise<number> => (await deliver(events[kind])).status;
        const statuses = concurrent
          ? await Promise.all(order.map(send))
          : await order.reduce<Promise<number[]>>(async (done, kind) => [...await done, await send(kind)], Promise.resolve([]));
        expect(statuses.every((s) => s === 200)).toBe(true);
        expect(await creditsTo(sql, topUp.accountId)).toBe(1);
        expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 1500, available: 1500 });
        expect(await intentStatus(sql, topUp.intentId)).toMatchObject({ status: "succeeded" });
      }),
      { numRuns: 12 },
    );
  });
});
