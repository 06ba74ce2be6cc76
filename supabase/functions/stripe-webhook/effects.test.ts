// stripe-webhook end to end in-process against the real database: signed event -> webhook_events
// and payments rows -> ledger effect; duplicates (also concurrent), out-of-order delivery,
// failure -> failed + 500 -> dead after 5 attempts.
import { useTestSql } from "../../tests/support/test-sql.ts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
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
import {
  stripeChargeRefunded as refunded,
  stripeEvent,
  stripePaymentSucceeded as succeeded,
  stripeRequest,
} from "../../tests/support/webhook-requests.ts";
import handler from "./handler.ts";

const sql = useTestSql();

const piId = () => `pi_${crypto.randomUUID().replaceAll("-", "")}`;
const deliver = (event: unknown) => handler.fetch(stripeRequest(event));

async function paymentOf(id: string) {
  const [row] = await sql<{ status: string; review_reason: string | null; amount_refunded: string; intent_id: string | null }[]>`
    select status, review_reason, amount_refunded, intent_id from public.payments where provider = 'stripe' and provider_payment_id = ${id}`;
  return row;
}

/** A funded top-up: the intent credited through payment_intent.succeeded. */
async function paidTopUp(amount: number) {
  const ref = piId();
  const topUp = await createTopUp(sql, { provider: "stripe", amount, currency: "USD", providerRef: ref });
  expect((await deliver(succeeded(ref, amount))).status).toBe(200);
  return topUp;
}

/** Moves `amount` of `topUp`'s paid money to another user's account, so that a refund finds it spent. */
async function spend(topUp: TopUp, amount: number) {
  const other = await createTopUp(sql, { provider: "stripe", amount: 1, currency: "USD", providerRef: null });
  await sql.begin(async (tx) => {
    await tx`set local role service_role`;
    await tx`select 1 from public.wallet_transfer(${topUp.accountId}::uuid, ${other.accountId}::uuid, ${amount}::bigint, 'USD', ${`spend:${topUp.providerRef}`})`;
  });
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
});

describe("refunds and disputes", () => {
  it("records partial refunds from amount_refunded and reverses the credit by each increase", async () => {
    const topUp = await paidTopUp(1000);
    const ref = topUp.providerRef!;
    expect((await deliver(refunded(ref, 1000, 300))).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 700 });
    // A redelivery of the first refund event changes nothing; the next one refunds the rest.
    expect((await deliver(refunded(ref, 1000, 300))).status).toBe(200);
    expect((await deliver(refunded(ref, 1000, 1000))).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 0 });
    expect(await paymentOf(ref)).toMatchObject({ status: "refunded", amount_refunded: "1000" });
  });

  it("records each listed refund once and forces the reversal when the money was spent", async () => {
    const topUp = await paidTopUp(800);
    const ref = topUp.providerRef!;
    // Spend most of it.
    await spend(topUp, 600);
    const refunds = { data: [{ id: `re_${ref.slice(3)}`, amount: 800, status: "succeeded", reason: "requested_by_customer" }] };
    expect((await deliver(refunded(ref, 800, 800, { refunds }))).status).toBe(200);
    expect((await deliver(refunded(ref, 800, 800, { refunds }))).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: -600 });
    const [refund] = await sql<
      { forced: boolean; amount: string }[]
    >`select forced, amount from public.refunds where provider_refund_id = ${`re_${ref.slice(3)}`}`;
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

  it("records a refund once when it arrives as an amount_refunded increase and again in a refunds list", async () => {
    const topUp = await paidTopUp(1000);
    const ref = topUp.providerRef!;
    const charge = `ch_${ref.slice(3)}`;
    expect((await deliver(refunded(ref, 1000, 200))).status).toBe(200);
    const listed = {
      data: [{ id: `re_b${ref.slice(3)}`, amount: 300, status: "succeeded" }, {
        id: `re_a${ref.slice(3)}`,
        amount: 200,
        status: "succeeded",
      }],
    };
    expect((await deliver(refunded(ref, 1000, 500, { refunds: listed }))).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 500 });
    expect(await paymentOf(ref)).toMatchObject({ amount_refunded: "500" });
    const recorded = await sql<{ provider_refund_id: string }[]>`
      select r.provider_refund_id from public.refunds r join public.payments p on p.id = r.payment_id
       where p.provider_payment_id = ${ref} order by r.created_at`;
    expect(recorded.map((row) => row.provider_refund_id)).toEqual([`${charge}:refunded:200`, `re_b${ref.slice(3)}`]);
  });

  it("waits for an admin's refund in flight on the payment's row lock, and does not record its amount_refunded again", async () => {
    const topUp = await paidTopUp(1000);
    const ref = topUp.providerRef!;
    const [payment] = await sql<
      { id: string }[]
    >`select id from public.payments where provider = 'stripe' and provider_payment_id = ${ref}`;
    let delivery: Promise<Response> | undefined;
    // The admin's refund: refund_prepare locks the payment, Stripe refunds 400, refund_record
    // records it; Stripe's charge.refunded for it comes before the admin's transaction commits.
    await sql.begin(async (tx) => {
      await tx`select 1 from public.payments where id = ${payment!.id}::uuid for update`;
      const [own] = await tx<{ xid: string }[]>`
        select transactionid::text as xid from pg_locks where locktype = 'transactionid' and pid = pg_backend_pid() and granted`;
      delivery = Promise.resolve(deliver(refunded(ref, 1000, 400)));
      // Until the delivery waits for this transaction.
      const waitedFor = async () => {
        const [row] = await sql<{ waiting: boolean }[]>`
          select exists (select 1 from pg_locks where locktype = 'transactionid' and transactionid::text = ${own!.xid} and not granted)
                 as waiting`;
        return row!.waiting;
      };
      while (!await waitedFor()) await new Promise((resolve) => setTimeout(resolve, 10));
      await tx`set local role service_role`;
      await tx`select 1 from public.refund_record(${payment!.id}::uuid, 400, ${`re_${ref.slice(3)}`}, 'admin refund')`;
    });
    expect((await delivery!).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 600 });
    expect(await paymentOf(ref)).toMatchObject({ amount_refunded: "400" });
    const [recorded] = await sql<{ n: number }[]>`select count(*)::int as n from public.refunds where payment_id = ${payment!.id}::uuid`;
    expect(recorded!.n).toBe(1);
  });

  it("keeps a refund for a payment not recorded yet as failed with 500, then applies it on redelivery", async () => {
    const ref = piId();
    const topUp = await createTopUp(sql, { provider: "stripe", amount: 600, currency: "USD", providerRef: ref });
    const early = refunded(ref, 600, 600);
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
    const event = refunded(topUp.providerRef!, 1000, 400);
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
});

describe("refunds that fail after they were recorded", () => {
  const chargeOf = (ref: string) => `ch_${ref.slice(3)}`;
  /** charge.refunded of the 1,000-cent payment `ref`. */
  const refundedOf1000 = (
    ref: string,
    amountRefunded: number,
    extra: Record<string, unknown> = {},
    overrides: Record<string, unknown> = {},
  ) => refunded(ref, 1000, amountRefunded, extra, overrides);
  const listed = (...refunds: Array<{ id: string; amount: number; status: string }>) => ({ refunds: { object: "list", data: refunds } });
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

  async function refundOf(id: string) {
    const [row] = await sql<{ status: string; amount: string; wallet_transaction_id: string | null }[]>`
      select status, amount, wallet_transaction_id from public.refunds where provider = 'stripe' and provider_refund_id = ${id}`;
    return row;
  }

  it("credits the wallet back, marks the refund failed and lowers the payment's refunded amount, once", async () => {
    const topUp = await paidTopUp(1000);
    const ref = topUp.providerRef!;
    const reId = `re_${ref.slice(3)}`;
    expect((await deliver(refundedOf1000(ref, 400, listed({ id: reId, amount: 400, status: "succeeded" })))).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 600, available: 600 });
    expect(await paymentOf(ref)).toMatchObject({ status: "partially_refunded", amount_refunded: "400" });

    const failure = refundEvent("charge.refund.updated", ref, reId, 400, "failed");
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

    // The same failure again, and in the other form (a later charge.refunded listing it as failed): no second credit.
    expect((await deliver(failure)).status).toBe(200);
    expect((await deliver(refundEvent("refund.failed", ref, reId, 400, "failed"))).status).toBe(200);
    expect((await deliver(refundedOf1000(ref, 0, listed({ id: reId, amount: 400, status: "failed" })))).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 1000, available: 1000 });
    expect(await paymentOf(ref)).toMatchObject({ status: "succeeded", amount_refunded: "0" });
    await assertLedgerInvariants(sql);
  });

  it("applies a failure reported first in a charge.refunded list once, and refunds the amount again later", async () => {
    const topUp = await paidTopUp(1000);
    const ref = topUp.providerRef!;
    const [first, second] = [`re_a${ref.slice(3)}`, `re_b${ref.slice(3)}`];
    expect((await deliver(refundedOf1000(ref, 1000, listed({ id: first, amount: 1000, status: "succeeded" })))).status).toBe(200);
    expect(await paymentOf(ref)).toMatchObject({ status: "refunded", amount_refunded: "1000" });
    // The next charge.refunded lists the failed one next to a new refund of the whole amount.
    const both = refundedOf1000(
      ref,
      1000,
      listed({ id: second, amount: 1000, status: "succeeded" }, { id: first, amount: 1000, status: "failed" }),
    );
    expect((await deliver(both)).status).toBe(200);
    expect((await deliver(refundEvent("charge.refund.updated", ref, first, 1000, "failed"))).status).toBe(200);
    expect(await refundOf(first)).toMatchObject({ status: "failed" });
    expect(await refundOf(second)).toMatchObject({ status: "succeeded" });
    expect(await paymentOf(ref)).toMatchObject({ status: "refunded", amount_refunded: "1000" });
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 0, available: 0 });
    await assertLedgerInvariants(sql);
  });

  it("matches a failure to a refund recorded from an amount_refunded increase, and ignores that increase when it comes late", async () => {
    const topUp = await paidTopUp(1000);
    const ref = topUp.providerRef!;
    const reId = `re_${ref.slice(3)}`;
    const increase = refundedOf1000(ref, 300, {}, { created: Math.floor(Date.now() / 1000) - 60 });
    expect((await deliver(increase)).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 700 });
    expect((await deliver(refundEvent("refund.failed", ref, reId, 300, "failed"))).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 1000 });
    expect(await refundOf(reId)).toMatchObject({ status: "failed", amount: "300" });
    expect(await refundOf(`${chargeOf(ref)}:refunded:300`)).toBeUndefined();

    // The same increase sent again under another event id, from before the failure: not a new refund.
    const stale = refundedOf1000(ref, 300, {}, { created: increase.created });
    expect(await (await deliver(stale)).json()).toMatchObject({ events: [{ outcome: "ignored" }] });
    // A new refund of 300 made after the failure arrives with a newer event: recorded.
    const fresh = refundedOf1000(ref, 300, {}, { created: Math.floor(Date.now() / 1000) + 5 });
    expect(await (await deliver(fresh)).json()).toMatchObject({ events: [{ outcome: "processed" }] });
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 700 });
    expect(await paymentOf(ref)).toMatchObject({ status: "partially_refunded", amount_refunded: "300" });
    await assertLedgerInvariants(sql);
  });

  it("keeps a failure of a refund it never recorded, moving no money, so that a late success report is not applied", async () => {
    const topUp = await paidTopUp(1000);
    const ref = topUp.providerRef!;
    const reId = `re_${ref.slice(3)}`;
    expect((await deliver(refundEvent("charge.refund.updated", ref, reId, 250, "failed"))).status).toBe(200);
    expect(await refundOf(reId)).toEqual({ status: "failed", amount: "250", wallet_transaction_id: null });
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 1000 });
    expect((await deliver(refundedOf1000(ref, 250, listed({ id: reId, amount: 250, status: "succeeded" })))).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 1000 });
    expect(await paymentOf(ref)).toMatchObject({ status: "succeeded", amount_refunded: "0" });
  });

  it("ignores refund updates that are not failures", async () => {
    const topUp = await paidTopUp(1000);
    const ref = topUp.providerRef!;
    const update = refundEvent("charge.refund.updated", ref, `re_${ref.slice(3)}`, 100, "succeeded");
    expect(await (await deliver(update)).json()).toMatchObject({ events: [{ outcome: "ignored" }] });
    expect(await balanceOf(sql, topUp.accountId)).toMatchObject({ balance: 1000 });
  });
});

describe("subscription and invoice mirrors", () => {
  it("keeps the newest subscription state when events arrive out of order", async () => {
    const subId = `sub_${crypto.randomUUID().slice(0, 12)}`;
    const base = {
      id: subId,
      object: "subscription",
      customer: "cus_mirror",
      metadata: {},
      items: { data: [{ price: { id: "price_1" }, current_period_start: 1_800_000_000, current_period_end: 1_802_592_000 }] },
    };
    const created = Math.floor(Date.now() / 1000) - 100;
    const activated = stripeEvent("customer.subscription.updated", { ...base, status: "active" }, { created: created + 50 });
    const incomplete = stripeEvent("customer.subscription.created", { ...base, status: "incomplete" }, { created });
    expect((await deliver(activated)).status).toBe(200);
    expect((await deliver(incomplete)).status).toBe(200);
    const [row] = await sql<{ status: string; price_id: string; current_period_end: Date }[]>`
      select status, price_id, current_period_end from public.subscriptions where stripe_subscription_id = ${subId}`;
    expect(row).toMatchObject({ status: "active", price_id: "price_1" });
    expect(row!.current_period_end.toISOString()).toBe(new Date(1_802_592_000_000).toISOString());
    expect(await storedEvents(sql, "stripe", incomplete.id)).toMatchObject([{ status: "ignored" }]);
  });

  it("mirrors invoices and never moves a paid one back to open", async () => {
    const invId = `in_${crypto.randomUUID().slice(0, 12)}`;
    const base = {
      id: invId,
      object: "invoice",
      customer: "cus_mirror",
      subscription: null,
      amount_due: 1500,
      currency: "usd",
      metadata: {},
    };
    expect(await deliver(stripeEvent("invoice.paid", { ...base, status: "paid", amount_paid: 1500 }))).toHaveProperty("status", 200);
    expect(await deliver(stripeEvent("invoice.finalized", { ...base, status: "open", amount_paid: 0 }))).toHaveProperty("status", 200);
    const [row] = await sql<{ status: string; amount_paid: string; currency: string }[]>`
      select status, amount_paid, currency from public.invoices where stripe_invoice_id = ${invId}`;
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
