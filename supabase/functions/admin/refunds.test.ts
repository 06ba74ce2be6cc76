// Admin refunds and review resolution end to end through a real Deno gateway: POST
// /admin/payments/:id/refund -> the provider stand-in -> the ledger moved on the provider's
// confirmation (its synchronous answer or its signed webhook), once; POST
// /admin/refunds/:id/retry by another admin for a refund its provider never received; and POST
// /admin/payments/:id/resolve on needs_review payments.
import { useTestSql } from "../../tests/support/test-sql.ts";
import { beforeAll, describe, expect, it } from "vitest";
import { type AdminCall, adminRequest, answerOf, createStaff, refusal, type Staff } from "../../tests/support/admin-fixtures.ts";
import { asServiceRole, balanceOf, createTopUp, createUserWithAccount } from "../../tests/support/payments-fixtures.ts";
import type { PaymentsGateway } from "../../tests/support/payments-gateway.ts";
import { postToRevolut, stripeError, stripeIdempotencyKeyInUse, whileAnswering } from "../../tests/support/provider-standins.ts";
import { usePaymentsGateway } from "../../tests/support/use-payments-gateway.ts";
import { revolutRequest, stripeChargeRefunded, stripeEvent, stripeRequest } from "../../tests/support/webhook-requests.ts";

const sql = useTestSql();
const gateway = usePaymentsGateway();
let staff: Staff;

const admin = async (method: string, path: string, call: AdminCall) =>
  answerOf(await fetch(adminRequest(gateway.url, method, `/admin${path}`, call)));

const refund = (paymentId: string, body: Record<string, unknown>, key = crypto.randomUUID(), token = staff.admin.token) =>
  admin("POST", `/payments/${paymentId}/refund`, { token, idempotencyKey: key, body });

const resolve = (paymentId: string, body: Record<string, unknown>, key = crypto.randomUUID(), token = staff.admin.token) =>
  admin("POST", `/payments/${paymentId}/resolve`, { token, idempotencyKey: key, body });

/** A refund the provider (Stripe unless told) answers as pending (not completed yet). */
async function pendingRefund(paymentId: string, body: Record<string, unknown>, provider: "stripe" | "revolut" = "stripe") {
  const answerPending = (pending: boolean) => {
    if (provider === "stripe") gateway.stripe.refundStatus = pending ? "pending" : "succeeded";
    else gateway.revolut.refundState = pending ? "pending" : "completed";
  };
  answerPending(true);
  try {
    return await refund(paymentId, body);
  } finally {
    answerPending(false);
  }
}

const deliver = async (event: unknown) => (await fetch(stripeRequest(event, {}, { base: gateway.url }))).status;

const piId = () => `pi_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`;

/** A Stripe top-up of `amount` USD credited through its signed webhook; its payment row. */
/** Stripe's charge.refund.updated saying that refund `refundId` of PaymentIntent `pi` failed. */
const refundFailed = (pi: string, refundId: string, amount: number, failureReason: string) =>
  stripeEvent("charge.refund.updated", {
    id: refundId,
    object: "refund",
    amount,
    currency: "usd",
    status: "failed",
    failure_reason: failureReason,
    charge: `ch_${pi.slice(3)}`,
    payment_intent: pi,
  });

async function stripePayment(amount: number, options: { intentAmount?: number } = {}) {
  const pi = piId();
  const topUp = await createTopUp(sql, { provider: "stripe", amount: options.intentAmount ?? amount, currency: "USD", providerRef: pi });
  const event = stripeEvent("payment_intent.succeeded", {
    id: pi,
    object: "payment_intent",
    amount,
    amount_received: amount,
    currency: "usd",
    metadata: { intent_id: topUp.intentId },
  });
  expect(await deliver(event)).toBe(200);
  const [payment] = await sql<{ id: string; status: string }[]>`
    select id, status from public.payments where provider = 'stripe' and provider_payment_id = ${pi}`;
  return { ...topUp, pi, paymentId: payment!.id, paymentStatus: payment!.status };
}

async function paymentRow(paymentId: string) {
  const [row] = await sql<{ status: string; amount_refunded: number; wallet_transaction_id: string | null; resolution: string | null }[]>`
    select status, amount_refunded::int, wallet_transaction_id, resolution from public.payments where id = ${paymentId}::uuid`;
  return row!;
}

async function refundsOf(paymentId: string) {
  return await sql<
    { provider_refund_id: string; status: string; amount: number; created_by: string | null; wallet_transaction_id: string | null }[]
  >`
    select provider_refund_id, status, amount::int, created_by, wallet_transaction_id from public.refunds
     where payment_id = ${paymentId}::uuid order by created_at`;
}

const refundCalls = () => gateway.stripe.requests.filter((r) => r === "POST /v1/refunds").length;

/**
 * The charge.refunded Stripe sends now for PaymentIntent `pi` of `amount`: amount_refunded of
 * its refunds at the stand-in that are not failed or canceled (the webhook reads the refunds
 * themselves from the stand-in).
 */
const chargeRefunded = (pi: string, amount: number) =>
  stripeChargeRefunded(
    pi,
    amount,
    [...gateway.stripe.refunds.values()]
      .filter((r) => r.payment_intent === pi && r.status !== "failed" && r.status !== "canceled")
      .reduce((sum, r) => sum + (r.amount as number), 0),
  );

describe("POST /admin/payments/:id/refund through Stripe", () => {
  beforeAll(async () => {
    staff = await createStaff(sql, process.env.SUPABASE_JWT_SECRET!);
  });

  it("a refund Stripe completes at once moves the ledger once, audited with the admin as actor", async () => {
    const payment = await stripePayment(5000);
    const key = crypto.randomUUID();
    const before = refundCalls();
    const answer = await refund(payment.paymentId, { amount: 2000, reason: "customer asked" }, key);
    expect(answer.status).toBe(201);
    expect(answer.body.provider).toMatchObject({ status: "succeeded" });
    const sent = gateway.stripe.refunds.get(answer.body.provider.refund_id)!;
    expect(sent).toMatchObject({ amount: 2000, payment_intent: payment.pi, metadata: { payment_id: payment.paymentId } });
    expect(answer.body.refund).toMatchObject({ amount: 2000, status: "succeeded", created_by: staff.admin.id });
    expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: 3000, available: 3000 });
    expect(await paymentRow(payment.paymentId)).toMatchObject({ status: "partially_refunded", amount_refunded: 2000 });

    const replay = await refund(payment.paymentId, { amount: 2000, reason: "customer asked" }, key);
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(refundCalls()).toBe(before + 1);

    // Stripe's charge.refunded for the same refund converges on the same row.
    const reported = chargeRefunded(payment.pi, 5000);
    expect(await deliver(reported)).toBe(200);
    expect(await refundsOf(payment.paymentId)).toHaveLength(1);
    expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: 3000, available: 3000 });

    const [audit] = await sql<{ actor_id: string }[]>`
      select actor_id from audit.log where table_name = 'refunds' and record_id = ${answer.body.refund.id}::text order by id limit 1`;
    expect(audit?.actor_id).toBe(staff.admin.id);
  });

  it("a pending refund moves nothing until the signed charge.refunded confirms it; a second delivery changes nothing", async () => {
    const payment = await stripePayment(4000);
    const answer = await pendingRefund(payment.paymentId, { amount: 4000, reason: "pending card" });
    expect(answer.status).toBe(201);
    expect(answer.body.refund).toMatchObject({ status: "pending", wallet_transaction_id: null });
    expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: 4000, available: 4000 });
    expect(await paymentRow(payment.paymentId)).toMatchObject({ status: "succeeded", amount_refunded: 0 });

    // The pending refund reserves its amount: nothing more can be refunded meanwhile.
    const calls = refundCalls();
    expect(refusal(await refund(payment.paymentId, { amount: 1, reason: "too much" }))).toEqual({ status: 422, code: "invalid_amount" });
    expect(refundCalls()).toBe(calls);

    gateway.stripe.settleRefund(answer.body.provider.refund_id, "succeeded");
    const confirmed = chargeRefunded(payment.pi, 4000);
    expect(await deliver(confirmed)).toBe(200);
    expect(await deliver({ ...confirmed, id: `evt_${crypto.randomUUID().replaceAll("-", "")}` })).toBe(200);
    expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: 0, available: 0 });
    expect(await paymentRow(payment.paymentId)).toMatchObject({ status: "refunded", amount_refunded: 4000 });
    const rows = await refundsOf(payment.paymentId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ provider_refund_id: answer.body.provider.refund_id, status: "succeeded", amount: 4000 });
  });

  it("a pending refund that failed is not taken for a new dashboard refund reported before the failure", async () => {
    const payment = await stripePayment(5000);
    const answer = await pendingRefund(payment.paymentId, { amount: 3000, reason: "pending card" });
    const pendingId = answer.body.provider.refund_id as string;
    // Stripe fails the admin's refund, and a refund of the same amount is made in its
    // dashboard; that refund's charge.refunded arrives before the failure's event.
    const failure = refundFailed(payment.pi, pendingId, 3000, "expired_or_canceled_card");
    gateway.stripe.settleRefund(pendingId, "failed", "expired_or_canceled_card");
    const dashboard = gateway.stripe.dashboardRefund(payment.pi, 3000).id as string;
    expect(await deliver(chargeRefunded(payment.pi, 5000))).toBe(200);
    expect(await deliver(failure)).toBe(200);
    expect(await refundsOf(payment.paymentId)).toMatchObject([
      { provider_refund_id: pendingId, status: "failed", amount: 3000, wallet_transaction_id: null },
      { provider_refund_id: dashboard, status: "succeeded", amount: 3000 },
    ]);
    expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: 2000, available: 2000 });
    expect(await paymentRow(payment.paymentId)).toMatchObject({ status: "partially_refunded", amount_refunded: 3000 });
  });

  it("Stripe down during charge.refunded fails the event; the admin's replay reads the refunds again and records them", async () => {
    const payment = await stripePayment(2000);
    const dashboard = gateway.stripe.dashboardRefund(payment.pi, 500).id as string;
    const event = chargeRefunded(payment.pi, 2000);
    const down = { status: 503, body: stripeError("api_error", undefined, "Stripe is unavailable.") };
    expect(await whileAnswering(gateway.stripe, "listBehaviour", down, () => deliver(event))).toBe(500);
    const [stored] = await sql<{ id: string; status: string; last_error: string }[]>`
      select id, status, last_error from public.webhook_events where provider = 'stripe' and event_id = ${event.id}`;
    expect(stored).toMatchObject({ status: "failed", last_error: expect.stringContaining("answered the look-up of the refunds") });
    expect(await refundsOf(payment.paymentId)).toEqual([]);

    const replay = await admin("POST", `/webhook-events/${stored!.id}/replay`, {
      token: staff.admin.token,
      idempotencyKey: crypto.randomUUID(),
    });
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ outcome: "processed", event: { status: "processed" } });
    expect(await refundsOf(payment.paymentId)).toMatchObject([{ provider_refund_id: dashboard, status: "succeeded", amount: 500 }]);
    expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: 1500, available: 1500 });
    // Stripe's own redelivery of the event afterwards changes nothing.
    expect(await deliver(event)).toBe(200);
    expect(await refundsOf(payment.paymentId)).toHaveLength(1);
    expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: 1500, available: 1500 });
  });

  it("a pending refund Stripe fails (charge.refund.updated) closes with nothing moved and frees its amount", async () => {
    const payment = await stripePayment(1500);
    const answer = await pendingRefund(payment.paymentId, { amount: 1500, reason: "pending then failed" });
    const failed = refundFailed(payment.pi, answer.body.provider.refund_id, 1500, "expired_or_canceled_card");
    expect(await deliver(failed)).toBe(200);
    expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: 1500, available: 1500 });
    expect(await paymentRow(payment.paymentId)).toMatchObject({ status: "succeeded", amount_refunded: 0 });
    expect((await refundsOf(payment.paymentId))[0]).toMatchObject({ status: "failed" });
    expect((await refund(payment.paymentId, { amount: 1500, reason: "again" })).status).toBe(201);
  });

  it("a refund that succeeds and later fails (signed charge.refund.updated) credits the wallet back once", async () => {
    const payment = await stripePayment(3000);
    const answer = await refund(payment.paymentId, { amount: 3000, reason: "full refund" });
    expect(answer.status).toBe(201);
    expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: 0, available: 0 });
    const failed = refundFailed(payment.pi, answer.body.provider.refund_id, 3000, "lost_or_stolen_card");
    expect(await deliver(failed)).toBe(200);
    expect(await deliver({ ...failed, id: `evt_${crypto.randomUUID().replaceAll("-", "")}` })).toBe(200);
    expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: 3000, available: 3000 });
    expect(await paymentRow(payment.paymentId)).toMatchObject({ status: "succeeded", amount_refunded: 0 });
    expect(await refundsOf(payment.paymentId)).toMatchObject([{ status: "failed", amount: 3000 }]);
  });

  it("refuses more than remains (422 invalid_amount) without calling Stripe", async () => {
    const payment = await stripePayment(1000);
    expect((await refund(payment.paymentId, { amount: 600, reason: "part" })).status).toBe(201);
    const calls = refundCalls();
    const over = await refund(payment.paymentId, { amount: 401, reason: "too much" });
    expect(refusal(over)).toEqual({ status: 422, code: "invalid_amount" });
    expect(refundCalls()).toBe(calls);
    expect(await paymentRow(payment.paymentId)).toMatchObject({ amount_refunded: 600 });
    expect(refusal(await refund(crypto.randomUUID(), { amount: 1, reason: "none" }))).toEqual({ status: 404, code: "not_found" });
  });

  it("two concurrent refunds of the whole payment: one goes to Stripe, the other is refused", async () => {
    const payment = await stripePayment(2500);
    const calls = refundCalls();
    const answers = await Promise.all([1, 2].map(() => refund(payment.paymentId, { amount: 2500, reason: "race" })));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 422]);
    expect(refundCalls()).toBe(calls + 1);
    expect(await paymentRow(payment.paymentId)).toMatchObject({ status: "refunded", amount_refunded: 2500 });
    expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: 0, available: 0 });
  });

  it("tells a declined refund (422 provider_declined) from an unavailable Stripe (502), moving nothing", async () => {
    const payment = await stripePayment(2000);
    gateway.stripe.refundBehaviour = {
      status: 400,
      body: stripeError("invalid_request_error", "charge_disputed", "This charge has been disputed."),
    };
    try {
      const declined = await refund(payment.paymentId, { amount: 500, reason: "declined" });
      expect(refusal(declined)).toEqual({ status: 422, code: "provider_declined" });
      expect(declined.body.error.details).toMatchObject({ provider: "stripe", reason: "charge_disputed: This charge has been disputed." });
      gateway.stripe.refundBehaviour = { status: 500, body: stripeError("api_error", undefined, "Something went wrong.") };
      expect(refusal(await refund(payment.paymentId, { amount: 500, reason: "down" }))).toEqual({
        status: 502,
        code: "provider_unavailable",
      });
    } finally {
      gateway.stripe.refundBehaviour = "accept";
    }
    // Each was recorded under its request id before Stripe was asked: the declined one is closed
    // failed, reserving nothing; the unanswered one stays pending for stripe-poll and a retry.
    expect(await refundsOf(payment.paymentId)).toMatchObject([
      { provider_refund_id: expect.stringMatching(/^rr_/), status: "failed", amount: 500, wallet_transaction_id: null },
      { provider_refund_id: expect.stringMatching(/^rr_/), status: "pending", amount: 500, wallet_transaction_id: null },
    ]);
    expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: 2000, available: 2000 });
  });

  it("Stripe's 409 for a request with the same key still in progress is 502, not a refusal: the retry records the refund once", async () => {
    const payment = await stripePayment(2400);
    const key = crypto.randomUUID();
    const body = { amount: 2400, reason: "in progress" };
    // The first request timed out here while Stripe was still creating the refund; the retry
    // meets it in progress. Stripe saves no answer for that conflict: the refund may yet be made.
    gateway.stripe.refundBehaviour = stripeIdempotencyKeyInUse;
    try {
      expect(refusal(await refund(payment.paymentId, body, key))).toEqual({ status: 502, code: "provider_unavailable" });
    } finally {
      gateway.stripe.refundBehaviour = "accept";
    }
    // Recorded before Stripe was asked: pending under its request id, its amount reserved.
    expect(await refundsOf(payment.paymentId)).toMatchObject([
      { provider_refund_id: expect.stringMatching(/^rr_/), status: "pending", amount: 2400 },
    ]);
    const retried = await refund(payment.paymentId, body, key);
    expect(retried.status).toBe(201);
    expect(retried.body.refund).toMatchObject({ status: "succeeded", amount: 2400 });
    expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: 0, available: 0 });
  });

  it("a retry after Stripe did not answer reaches the same Stripe refund, never a second one", async () => {
    const payment = await stripePayment(2200);
    const key = crypto.randomUUID();
    gateway.stripe.refundBehaviour = "hang";
    try {
      expect(refusal(await refund(payment.paymentId, { amount: 2200, reason: "timeout" }, key))).toEqual({
        status: 502,
        code: "provider_unavailable",
      });
    } finally {
      gateway.stripe.refundBehaviour = "accept";
    }
    const first = await refund(payment.paymentId, { amount: 2200, reason: "timeout" }, key);
    const again = await refund(payment.paymentId, { amount: 2200, reason: "timeout" }, key);
    expect(first.status).toBe(201);
    expect(again.body).toEqual(first.body);
    const created = [...gateway.stripe.refunds.values()].filter((r) =>
      (r.metadata as Record<string, string>).payment_id === payment.paymentId
    );
    expect(created).toHaveLength(1);
    expect(await refundsOf(payment.paymentId)).toHaveLength(1);
  });

  it.each(["succeeded", "pending"] as const)(
    "a retry after Stripe's %s answer was lost, once charge.refunded recorded the refund by its id, debits the wallet once",
    async (status) => {
      const payment = await stripePayment(10000);
      const key = crypto.randomUUID();
      const body = { amount: 4000, reason: "answer lost" };
      // Stripe refunds, but its answer never comes back: 502, the refund pending under its request id.
      gateway.stripe.refundBehaviour = "accept-silently";
      gateway.stripe.refundStatus = status;
      try {
        expect(refusal(await refund(payment.paymentId, body, key))).toEqual({ status: 502, code: "provider_unavailable" });
      } finally {
        gateway.stripe.refundBehaviour = "accept";
        gateway.stripe.refundStatus = "succeeded";
      }
      expect(await refundsOf(payment.paymentId)).toMatchObject([
        { provider_refund_id: expect.stringMatching(/^rr_/), status: "pending", amount: 4000 },
      ]);
      // Stripe's charge.refunded: the webhook reads the refund from Stripe, which names the request
      // in its metadata: the pending refund takes Stripe's id and is recorded (a pending one stays
      // pending, reserving its amount).
      expect(await deliver(chargeRefunded(payment.pi, 10000))).toBe(200);
      const debited = status === "succeeded" ? 6000 : 10000;
      expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: debited, available: debited });

      // The retry reaches the same Stripe refund, and finds the row the webhook wrote.
      const retried = await refund(payment.paymentId, body, key);
      expect(retried.status).toBe(201);
      const refundId = retried.body.provider.refund_id as string;
      expect(retried.body.provider.status).toBe(status);
      expect(retried.body.refund).toMatchObject({ provider_refund_id: refundId, status, amount: 4000 });
      expect(await refundsOf(payment.paymentId)).toMatchObject([{ provider_refund_id: refundId, status, amount: 4000 }]);
      expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: debited, available: debited });

      // Stripe's later reports of the same refund complete it once.
      gateway.stripe.settleRefund(refundId, "succeeded");
      expect(await deliver(chargeRefunded(payment.pi, 10000))).toBe(200);
      const completed = stripeEvent("refund.updated", {
        id: refundId,
        object: "refund",
        amount: 4000,
        currency: "usd",
        status: "succeeded",
        charge: `ch_${payment.pi.slice(3)}`,
        payment_intent: payment.pi,
      });
      expect(await deliver(completed)).toBe(200);
      expect(await refundsOf(payment.paymentId)).toMatchObject([{ provider_refund_id: refundId, status: "succeeded", amount: 4000 }]);
      expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: 6000, available: 6000 });
      expect(await paymentRow(payment.paymentId)).toMatchObject({ status: "partially_refunded", amount_refunded: 4000 });
    },
  );

  it("a retry a day after Stripe's answer was lost, Stripe's key forgotten, finds the refund Stripe made and makes no second one", async () => {
    const payment = await stripePayment(5000);
    const key = crypto.randomUUID();
    const body = { amount: 2000, reason: "answer lost" };
    gateway.stripe.refundBehaviour = "accept-silently";
    try {
      expect(refusal(await refund(payment.paymentId, body, key))).toEqual({ status: 502, code: "provider_unavailable" });
    } finally {
      gateway.stripe.refundBehaviour = "accept";
    }
    expect(await deliver(chargeRefunded(payment.pi, 5000))).toBe(200);
    // Stripe keeps the key's answer for 24 hours; the admin retries, as told, with the same key later.
    gateway.stripe.forgetIdempotencyKeys();
    const retried = await refund(payment.paymentId, body, key);
    expect(retried.status).toBe(201);
    const created = [...gateway.stripe.refunds.values()].filter((r) =>
      (r.metadata as Record<string, string>).payment_id === payment.paymentId
    );
    expect(created).toHaveLength(1);
    expect(retried.body.provider.refund_id).toBe(created[0]!.id);
    expect(await refundsOf(payment.paymentId)).toMatchObject([{ provider_refund_id: created[0]!.id, status: "succeeded", amount: 2000 }]);
    expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: 3000, available: 3000 });
  });

  it("a lost answer healed by Stripe's signed charge.refund.updated: the pending refund takes Stripe's id and is recorded once, with the admin's reason", async () => {
    const payment = await stripePayment(3000);
    gateway.stripe.refundBehaviour = "accept-silently";
    gateway.stripe.refundStatus = "pending";
    try {
      expect(refusal(await refund(payment.paymentId, { amount: 1200, reason: "healed by webhook" }))).toEqual({
        status: 502,
        code: "provider_unavailable",
      });
    } finally {
      gateway.stripe.refundBehaviour = "accept";
      gateway.stripe.refundStatus = "succeeded";
    }
    const [recorded] = await sql<{ id: string; provider_refund_id: string; refund_request_id: string }[]>`
      select id, provider_refund_id, refund_request_id from public.refunds where payment_id = ${payment.paymentId}::uuid`;
    expect(recorded!.provider_refund_id).toBe(recorded!.refund_request_id);
    const [made] = [...gateway.stripe.refunds.values()].filter((r) => r.payment_intent === payment.pi);
    expect((made!.metadata as Record<string, string>).refund_request_id).toBe(recorded!.refund_request_id);

    const succeeded = gateway.stripe.settleRefund(made!.id as string, "succeeded");
    expect(await deliver(stripeEvent("charge.refund.updated", succeeded))).toBe(200);
    const rows = await sql<{ id: string; provider_refund_id: string; status: string; reason: string; created_by: string }[]>`
      select id, provider_refund_id, status, reason, created_by from public.refunds where payment_id = ${payment.paymentId}::uuid`;
    expect(rows).toEqual([
      { id: recorded!.id, provider_refund_id: made!.id, status: "succeeded", reason: "healed by webhook", created_by: staff.admin.id },
    ]);
    expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: 1800, available: 1800 });
    expect(await deliver(chargeRefunded(payment.pi, 3000))).toBe(200);
    expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: 1800, available: 1800 });
    expect(await paymentRow(payment.paymentId)).toMatchObject({ status: "partially_refunded", amount_refunded: 1200 });
  });

  it("a refusal of a later try closes nothing: 502, not stored, the refund stays pending and the same key asks Stripe again", async () => {
    const payment = await stripePayment(1600);
    const key = crypto.randomUUID();
    const ask = () => refund(payment.paymentId, { amount: 700, reason: "down, then refused" }, key);
    const down = { status: 500, body: stripeError("api_error", undefined, "Something went wrong.") };
    expect(refusal(await whileAnswering(gateway.stripe, "refundBehaviour", down, ask))).toEqual({
      status: 502,
      code: "provider_unavailable",
    });
    // The first call may have reached Stripe: Stripe's refusal of a later try proves nothing about it.
    const disputed = { status: 400, body: stripeError("invalid_request_error", "charge_disputed", "This charge has been disputed.") };
    const refused = await whileAnswering(gateway.stripe, "refundBehaviour", disputed, ask);
    expect(refusal(refused)).toEqual({ status: 502, code: "provider_unavailable" });
    expect(refused.body.error.details).toMatchObject({ provider: "stripe", refund_status: "pending" });
    // Not stored: the same key asks Stripe again (which replays its refusal of that key).
    const calls = refundCalls();
    expect(refusal(await ask())).toEqual({ status: 502, code: "provider_unavailable" });
    expect(refundCalls()).toBe(calls + 1);
    expect(await refundsOf(payment.paymentId)).toMatchObject([{ status: "pending", amount: 700 }]);
    expect(refusal(await refund(payment.paymentId, { amount: 901, reason: "more" }))).toEqual({ status: 422, code: "invalid_amount" });
    expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: 1600, available: 1600 });
  });

  it("concurrent refunds never exceed the payment: the first, pending while Stripe hangs, reserves its amount and the other is refused at once", async () => {
    const payment = await stripePayment(1800);
    const calls = refundCalls();
    gateway.stripe.refundBehaviour = "hang";
    let answers;
    try {
      answers = await Promise.all([1, 2].map(() => refund(payment.paymentId, { amount: 1800, reason: "race while Stripe hangs" })));
    } finally {
      gateway.stripe.refundBehaviour = "accept";
    }
    expect(answers.map(refusal).sort((a, b) => a.status - b.status)).toEqual([
      { status: 422, code: "invalid_amount" },
      { status: 502, code: "provider_unavailable" },
    ]);
    expect(refundCalls()).toBe(calls + 1);
    expect(await refundsOf(payment.paymentId)).toMatchObject([{ status: "pending", amount: 1800 }]);
    expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: 1800, available: 1800 });
  });

  it("an admin's new refund of the amount of a dashboard refund is a refund of its own: its failure gives back only itself", async () => {
    const payment = await stripePayment(9000);
    // A refund made in Stripe's dashboard.
    gateway.stripe.dashboardRefund(payment.pi, 3000);
    expect(await deliver(chargeRefunded(payment.pi, 9000))).toBe(200);
    expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: 6000, available: 6000 });
    // The admin's own refund of the same amount, new at Stripe: a second refund, debited once more.
    const own = await refund(payment.paymentId, { amount: 3000, reason: "second refund" });
    expect(own.status).toBe(201);
    const refundId = own.body.provider.refund_id as string;
    expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: 3000, available: 3000 });
    expect(await refundsOf(payment.paymentId)).toHaveLength(2);
    // Stripe's report of the charge's new total, delivered late: after the admin's refund failed.
    const newTotal = chargeRefunded(payment.pi, 9000);
    // The admin's refund fails at Stripe: its 3000 comes back, the dashboard refund stays taken.
    gateway.stripe.settleRefund(refundId, "failed", "expired_or_canceled_card");
    expect(await deliver(refundFailed(payment.pi, refundId, 3000, "expired_or_canceled_card"))).toBe(200);
    expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: 6000, available: 6000 });
    expect(await deliver(newTotal)).toBe(200);
    expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: 6000, available: 6000 });
    expect(await paymentRow(payment.paymentId)).toMatchObject({ status: "partially_refunded", amount_refunded: 3000 });
  });

  it("refuses a refund the ledger could not record (409) before Stripe is asked: the credit reversed, the account closed", async () => {
    const reversed = await stripePayment(1000);
    const [credit] = await sql<{ wallet_transaction_id: string }[]>`
      select wallet_transaction_id from public.payments where id = ${reversed.paymentId}::uuid`;
    await asServiceRole(
      sql,
      (tx) => tx`select 1 from public.wallet_reverse(${credit!.wallet_transaction_id}::uuid, ${`rr-${reversed.pi}`}, 700)`,
    );
    const calls = refundCalls();
    const overReversed = await refund(reversed.paymentId, { amount: 301, reason: "more than the ledger has left" });
    expect(refundCalls()).toBe(calls);
    expect(refusal(overReversed)).toEqual({ status: 409, code: "invalid_state" });
    expect(overReversed.body.error.message).toContain("it was reversed in the ledger");

    const closed = await stripePayment(500);
    const other = await createTopUp(sql, { provider: "stripe", amount: 1, currency: "USD", providerRef: null });
    await asServiceRole(sql, async (tx) => {
      await tx`select 1 from public.wallet_transfer(${closed.accountId}::uuid, ${other.accountId}::uuid, 500, 'USD', ${`rr-${closed.pi}`})`;
      await tx`select 1 from public.wallet_set_status(${closed.accountId}::uuid, 'closed', 'customer left')`;
    });
    const closedAccount = await refund(closed.paymentId, { amount: 100, reason: "closed account" });
    expect(refundCalls()).toBe(calls);
    expect(refusal(closedAccount)).toEqual({ status: 409, code: "account_not_active" });
    expect([...await refundsOf(reversed.paymentId), ...await refundsOf(closed.paymentId)]).toEqual([]);
    expect((await refund(reversed.paymentId, { amount: 300, reason: "what the ledger has left" })).status).toBe(201);
  });

  it("a pending refund keeps its part of the credit from a ledger reversal and its account from closing (409) until Stripe completes it", async () => {
    const payment = await stripePayment(1000);
    const pending = await pendingRefund(payment.paymentId, { amount: 600, reason: "pending card" });
    expect(pending.body.refund).toMatchObject({ status: "pending" });
    const credit = (await paymentRow(payment.paymentId)).wallet_transaction_id!;
    const reverse = (amount: number) =>
      admin("POST", `/transactions/${credit}/reverse`, {
        token: staff.admin.token,
        idempotencyKey: crypto.randomUUID(),
        body: { amount, reason: "credited twice" },
      });
    const reversals = async () =>
      (await sql<{ n: number }[]>`select count(*)::int as n from public.wallet_transactions where reverses_id = ${credit}::uuid`)[0]!.n;

    const overReserved = await reverse(401);
    expect(refusal(overReserved)).toEqual({ status: 409, code: "invalid_state" });
    expect(overReserved.body.error.message).toContain("(400): the pending refunds of its payment reserve 600 more");
    expect(await reversals()).toBe(0);
    expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: 1000, available: 1000 });
    expect((await reverse(400)).status).toBe(201);

    // The customer spends the rest; the account the refund will debit still does not close.
    const other = await createUserWithAccount(sql, "USD");
    await asServiceRole(
      sql,
      (tx) =>
        tx`select 1 from public.wallet_transfer(${payment.accountId}::uuid, ${other.accountId}::uuid, 600, 'USD', ${`spend-${payment.pi}`})`,
    );
    const close = await admin("POST", `/accounts/${payment.accountId}/status`, {
      token: staff.admin.token,
      idempotencyKey: crypto.randomUUID(),
      body: { status: "closed", reason: "customer left" },
    });
    expect(refusal(close)).toEqual({ status: 409, code: "invalid_state" });
    expect(close.body.error.message).toContain(`while a refund of payment ${payment.paymentId} is pending`);
    const [account] = await sql<{ status: string }[]>`select status from public.wallet_accounts where id = ${payment.accountId}::uuid`;
    expect(account!.status).toBe("active");

    // Stripe completes the refund: the ledger records it, from the part it reserved.
    gateway.stripe.settleRefund(pending.body.provider.refund_id, "succeeded");
    const confirmed = chargeRefunded(payment.pi, 1000);
    expect(await deliver(confirmed)).toBe(200);
    expect(await refundsOf(payment.paymentId)).toMatchObject([{ status: "succeeded", amount: 600 }]);
    expect(await paymentRow(payment.paymentId)).toMatchObject({ amount_refunded: 600 });
    expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: -600, available: -600 });
    expect(await reversals()).toBe(2);
  });

  it("is refused to support (403) and validates its body (400), sending nothing", async () => {
    const payment = await stripePayment(800);
    const calls = refundCalls();
    expect(refusal(await refund(payment.paymentId, { amount: 100, reason: "support" }, undefined, staff.support.token)))
      .toEqual({ status: 403, code: "forbidden" });
    expect(refusal(await refund(payment.paymentId, { amount: 0, reason: "zero" }))).toEqual({ status: 400, code: "validation_failed" });
    expect(refusal(await refund(payment.paymentId, { amount: 100 }))).toEqual({ status: 400, code: "validation_failed" });
    expect(refundCalls()).toBe(calls);
  });
});

/** A completed Revolut order of `amount` EUR recorded as a credited payment; its ids. */
async function revolutPayment(amount: number) {
  const created = await postToRevolut(gateway.revolut, "/api/orders", { amount, currency: "EUR" }).then((r) => r.json()) as { id: string };
  gateway.revolut.complete(created.id);
  const topUp = await createTopUp(sql, { provider: "revolut", amount, currency: "EUR", providerRef: created.id });
  const paymentId = await sql.begin(async (tx) => {
    await tx`set local role service_role`;
    const [row] = await tx<{ id: string }[]>`
      select id from public.payment_record_success('revolut', ${created.id}, ${topUp.intentId}::uuid, ${amount}, 'EUR')`;
    return row!.id;
  });
  return { ...topUp, orderId: created.id, paymentId };
}

/** Revolut down (503) to the first call of a refund request of 300 of a 500 payment: the payment and the request to retry. */
async function revolutRefundAfterOutage(reason: string) {
  const payment = await revolutPayment(500);
  const key = crypto.randomUUID();
  const body = { amount: 300, reason };
  const down = { status: 503, body: { code: "unavailable" } };
  expect((await refundWhileRevolut("refundBehaviour", down, payment.paymentId, body, key)).status).toBe(502);
  return { ...payment, key, body };
}

/** Revolut's signed webhook of the refund order, through the gateway. */
const deliverRevolut = async (event: string, orderId: string) =>
  (await fetch(revolutRequest({ event, order_id: orderId }, {}, { base: gateway.url }))).status;

describe("POST /admin/payments/:id/refund through Revolut", () => {
  it("Revolut: a completed refund order moves the ledger once", async () => {
    const { orderId, accountId, paymentId } = await revolutPayment(900);
    const answer = await refund(paymentId, { amount: 400, reason: "revolut refund" });
    expect(answer.status).toBe(201);
    expect(answer.body.provider).toMatchObject({ status: "completed" });
    expect(gateway.revolut.refundOrders.find((r) => r.id === answer.body.provider.refund_id)).toMatchObject({
      related_order_id: orderId,
      amount: 400,
    });
    expect(await balanceOf(sql, accountId)).toEqual({ balance: 500, available: 500 });
  });

  it("Revolut: a pending refund order moves the ledger once when its signed ORDER_COMPLETED arrives; a redelivery moves nothing", async () => {
    const { accountId, paymentId } = await revolutPayment(1200);
    const answer = await pendingRefund(paymentId, { amount: 700, reason: "pending revolut refund" }, "revolut");
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ refund: { status: "pending", wallet_transaction_id: null }, provider: { status: "pending" } });
    const refundOrderId = answer.body.provider.refund_id as string;
    expect(await balanceOf(sql, accountId)).toEqual({ balance: 1200, available: 1200 });
    // Still pending at Revolut: the event is kept failed (Revolut redelivers) and nothing moves.
    expect(await deliverRevolut("ORDER_COMPLETED", refundOrderId)).toBe(500);
    expect(await balanceOf(sql, accountId)).toEqual({ balance: 1200, available: 1200 });

    gateway.revolut.settleRefund(refundOrderId, "completed");
    expect(await deliverRevolut("ORDER_COMPLETED", refundOrderId)).toBe(200);
    expect(await deliverRevolut("ORDER_COMPLETED", refundOrderId)).toBe(200);
    expect(await balanceOf(sql, accountId)).toEqual({ balance: 500, available: 500 });
    expect(await paymentRow(paymentId)).toMatchObject({ status: "partially_refunded", amount_refunded: 700 });
    expect(await refundsOf(paymentId)).toMatchObject([{ provider_refund_id: refundOrderId, status: "succeeded", amount: 700 }]);
    const [reversals] = await sql<{ n: number }[]>`
      select count(*)::int as n from public.wallet_transactions t join public.payments p on t.reverses_id = p.wallet_transaction_id
       where p.id = ${paymentId}::uuid`;
    expect(reversals!.n).toBe(1);
  });

  it("Revolut: a pending refund order Revolut cancels closes failed with nothing moved and frees its amount", async () => {
    const { accountId, paymentId } = await revolutPayment(800);
    const answer = await pendingRefund(paymentId, { amount: 800, reason: "pending then cancelled" }, "revolut");
    const refundOrderId = answer.body.provider.refund_id as string;
    expect(refusal(await refund(paymentId, { amount: 1, reason: "nothing left" }))).toEqual({ status: 422, code: "invalid_amount" });

    gateway.revolut.settleRefund(refundOrderId, "cancelled");
    expect(await deliverRevolut("ORDER_CANCELLED", refundOrderId)).toBe(200);
    expect(await deliverRevolut("ORDER_CANCELLED", refundOrderId)).toBe(200);
    expect(await balanceOf(sql, accountId)).toEqual({ balance: 800, available: 800 });
    expect(await paymentRow(paymentId)).toMatchObject({ status: "succeeded", amount_refunded: 0 });
    expect(await refundsOf(paymentId)).toMatchObject([{
      provider_refund_id: refundOrderId,
      status: "canceled",
      wallet_transaction_id: null,
    }]);

    const again = await refund(paymentId, { amount: 800, reason: "again" });
    expect(again.status).toBe(201);
    expect(await balanceOf(sql, accountId)).toEqual({ balance: 0, available: 0 });
  });
});

/** The admin's refund while the Revolut stand-in's `field` is `value`. */
const refundWhileRevolut = <K extends "refundBehaviour" | "refundState">(
  field: K,
  value: PaymentsGateway["revolut"][K],
  ...args: Parameters<typeof refund>
) => whileAnswering(gateway.revolut, field, value, () => refund(...args));

const revolutRefundCalls = (orderId: string) => gateway.revolut.requests.filter((r) => r === `POST /api/orders/${orderId}/refund`).length;

describe("POST /admin/payments/:id/refund through Revolut, recorded before Revolut is asked", () => {
  it("sends the request id as the refund order's merchant_order_data.reference", async () => {
    const { paymentId } = await revolutPayment(600);
    const answer = await refund(paymentId, { amount: 100, reason: "reference" });
    expect(answer.status).toBe(201);
    const sent = gateway.revolut.refundOrders.find((r) => r.id === answer.body.provider.refund_id);
    expect(sent).toMatchObject({ merchant_order_data: { reference: answer.body.provider.request_id } });
    expect(await refundsOf(paymentId)).toMatchObject([{ provider_refund_id: answer.body.provider.refund_id, status: "succeeded" }]);
  });

  it("a refusal closes the refund failed (422), reserving nothing: the whole amount can be refunded again", async () => {
    const { accountId, paymentId } = await revolutPayment(700);
    const refused = { status: 400, body: { code: "invalid_refund_amount", message: "refused" } };
    const answer = await refundWhileRevolut("refundBehaviour", refused, paymentId, { amount: 700, reason: "refused" });
    expect(refusal(answer)).toEqual({ status: 422, code: "provider_declined" });
    expect(await refundsOf(paymentId)).toMatchObject([{ status: "failed", amount: 700, wallet_transaction_id: null }]);
    expect(await balanceOf(sql, accountId)).toEqual({ balance: 700, available: 700 });
    expect((await refund(paymentId, { amount: 700, reason: "again" })).status).toBe(201);
    expect(await balanceOf(sql, accountId)).toEqual({ balance: 0, available: 0 });
  });

  it("Revolut down (503): 502, the refund kept pending with its amount reserved for revolut-poll and a retry", async () => {
    const { accountId, paymentId } = await revolutPayment(500);
    const down = { status: 503, body: { code: "unavailable" } };
    const answer = await refundWhileRevolut("refundBehaviour", down, paymentId, { amount: 300, reason: "down" });
    expect(refusal(answer)).toEqual({ status: 502, code: "provider_unavailable" });
    const [pending] = await refundsOf(paymentId);
    expect(pending).toMatchObject({ status: "pending", amount: 300, wallet_transaction_id: null });
    expect(pending!.provider_refund_id).toMatch(/^rr_[0-9a-f]{40}$/);
    expect(refusal(await refund(paymentId, { amount: 201, reason: "beyond the rest" }))).toEqual({ status: 422, code: "invalid_amount" });
    expect(await balanceOf(sql, accountId)).toEqual({ balance: 500, available: 500 });
  });

  it("a retry after Revolut was down, with no refund order of its reference, asks Revolut once more and records its refund", async () => {
    const { accountId, orderId, paymentId, key, body } = await revolutRefundAfterOutage("down, then back");
    const retry = await refund(paymentId, body, key);
    expect(retry.status).toBe(201);
    expect(revolutRefundCalls(orderId)).toBe(2);
    expect(gateway.revolut.refundOrders.filter((r) => r.related_order_id === orderId)).toHaveLength(1);
    expect(await refundsOf(paymentId)).toMatchObject([{ provider_refund_id: retry.body.provider.refund_id, status: "succeeded" }]);
    expect(await balanceOf(sql, accountId)).toEqual({ balance: 200, available: 200 });
  });

  it("a retry Revolut refuses after an outage keeps the refund pending and answers 502, not a stored 422: the same key asks again", async () => {
    const { accountId, orderId, paymentId, key, body } = await revolutRefundAfterOutage("down, refused, then back");
    // The earlier call may have reached Revolut: this refusal says nothing of it, and closes nothing.
    const refused = { status: 400, body: { code: "invalid_refund_amount", message: "refused" } };
    const again = await refundWhileRevolut("refundBehaviour", refused, paymentId, body, key);
    expect(refusal(again)).toEqual({ status: 502, code: "provider_unavailable" });
    expect(again.body.error.details).toMatchObject({ refund_status: "pending" });
    expect(await refundsOf(paymentId)).toMatchObject([{ status: "pending", amount: 300, wallet_transaction_id: null }]);
    // Not stored: the same key asks Revolut again, and its refund settles the pending one.
    const retry = await refund(paymentId, body, key);
    expect(retry.status).toBe(201);
    expect(revolutRefundCalls(orderId)).toBe(3);
    expect(await refundsOf(paymentId)).toMatchObject([{ provider_refund_id: retry.body.provider.refund_id, status: "succeeded" }]);
    expect(await balanceOf(sql, accountId)).toEqual({ balance: 200, available: 200 });
  });

  it("a refund order Revolut answers declined closes the refund failed under the order's id (422), reserving nothing", async () => {
    const { accountId, paymentId } = await revolutPayment(400);
    const answer = await refundWhileRevolut("refundState", "declined", paymentId, { amount: 400, reason: "declined" });
    expect(refusal(answer)).toEqual({ status: 422, code: "provider_declined" });
    const [made] = gateway.revolut.refundOrders.slice(-1);
    expect(await refundsOf(paymentId)).toMatchObject([{ provider_refund_id: made!.id, status: "failed", wallet_transaction_id: null }]);
    expect((await refund(paymentId, { amount: 400, reason: "again" })).status).toBe(201);
    expect(await balanceOf(sql, accountId)).toEqual({ balance: 0, available: 0 });
  });

  it("a same-key retry after a lost answer finds Revolut's refund order by its reference: no second refund, the ledger moved once", async () => {
    const { accountId, orderId, paymentId } = await revolutPayment(900);
    const key = crypto.randomUUID();
    const body = { amount: 400, reason: "answer lost" };
    const lost = await refundWhileRevolut("refundBehaviour", "accept-silently", paymentId, body, key);
    expect(refusal(lost)).toEqual({ status: 502, code: "provider_unavailable" });
    expect(revolutRefundCalls(orderId)).toBe(1);
    expect(await refundsOf(paymentId)).toMatchObject([{ status: "pending", amount: 400 }]);

    const retry = await refund(paymentId, body, key);
    expect(retry.status).toBe(201);
    expect(revolutRefundCalls(orderId)).toBe(1);
    const made = gateway.revolut.refundOrders.filter((r) => r.related_order_id === orderId);
    expect(made).toHaveLength(1);
    expect(retry.body.provider).toMatchObject({ refund_id: made[0]!.id, status: "completed" });
    expect(await refundsOf(paymentId)).toMatchObject([{ provider_refund_id: made[0]!.id, status: "succeeded", amount: 400 }]);
    expect(await balanceOf(sql, accountId)).toEqual({ balance: 500, available: 500 });
    expect((await refund(paymentId, body, key)).headers.get("idempotent-replayed")).toBe("true");
  });

  it("a lost answer healed by the refund order's signed webhook: the pending refund takes the order's id and is recorded once", async () => {
    const { accountId, orderId, paymentId } = await revolutPayment(800);
    gateway.revolut.refundState = "pending";
    try {
      const lost = await refundWhileRevolut("refundBehaviour", "accept-silently", paymentId, { amount: 800, reason: "lost" });
      expect(refusal(lost)).toEqual({ status: 502, code: "provider_unavailable" });
    } finally {
      gateway.revolut.refundState = "completed";
    }
    const [made] = gateway.revolut.refundOrders.filter((r) => r.related_order_id === orderId);
    gateway.revolut.settleRefund(made!.id as string, "completed");
    expect(await deliverRevolut("ORDER_COMPLETED", made!.id as string)).toBe(200);
    expect(await refundsOf(paymentId)).toMatchObject([{ provider_refund_id: made!.id, status: "succeeded", amount: 800 }]);
    expect(await balanceOf(sql, accountId)).toEqual({ balance: 0, available: 0 });
  });
});

const retry = (refundId: string, key = crypto.randomUUID(), token = staff.admin.token) =>
  admin("POST", `/refunds/${refundId}/retry`, { token, idempotencyKey: key, body: {} });

/** The payment's one pending refund. */
async function pendingRefundOf(paymentId: string): Promise<string> {
  const [row] = await sql<{ id: string }[]>`select id from public.refunds where payment_id = ${paymentId}::uuid and status = 'pending'`;
  return row!.id;
}

const stripeDown = { status: 500, body: stripeError("api_error", undefined, "Something went wrong.") };

/**
 * The admin's refund of `amount` of a Stripe payment while Stripe answers `behaviour` (502: no
 * answer), with Stripe's keys forgotten since, as a day on: its id. (Not made a day old: the
 * polls of the suites running beside this one would take it.)
 */
async function stripeRefundUnanswered(paymentId: string, amount: number, behaviour: PaymentsGateway["stripe"]["refundBehaviour"]) {
  const answer = await whileAnswering(
    gateway.stripe,
    "refundBehaviour",
    behaviour,
    () => refund(paymentId, { amount, reason: "unanswered" }),
  );
  expect(refusal(answer)).toEqual({ status: 502, code: "provider_unavailable" });
  gateway.stripe.forgetIdempotencyKeys();
  return await pendingRefundOf(paymentId);
}

describe("POST /admin/refunds/:id/retry: another admin asks again for a refund its provider never received", () => {
  let other: Staff;
  beforeAll(async () => {
    other = await createStaff(sql, process.env.SUPABASE_JWT_SECRET!);
  });

  it("Stripe: with Stripe's key forgotten, as a day on, the refund Stripe makes is recorded once; the same key replays the answer", async () => {
    const payment = await stripePayment(5000);
    const refundId = await stripeRefundUnanswered(payment.paymentId, 2000, stripeDown);
    const key = crypto.randomUUID();
    const retried = await retry(refundId, key, other.admin.token);
    expect(retried.status).toBe(201);
    expect(retried.body.refund).toMatchObject({ id: refundId, status: "succeeded" });
    const made = [...gateway.stripe.refunds.values()].filter((r) => r.payment_intent === payment.pi);
    expect(made).toHaveLength(1);
    expect(made[0]!.metadata).toMatchObject({ refund_request_id: retried.body.provider.request_id });
    expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: 3000, available: 3000 });
    const calls = refundCalls();
    const replayed = await retry(refundId, key, other.admin.token);
    expect([replayed.status, replayed.body, replayed.headers.get("idempotent-replayed")]).toEqual([201, retried.body, "true"]);
    expect(refundCalls()).toBe(calls);
  });

  it("Stripe: a refund Stripe made whose answer was lost is found by its request id, never made twice", async () => {
    const payment = await stripePayment(4000);
    const refundId = await stripeRefundUnanswered(payment.paymentId, 1000, "accept-silently");
    expect((await retry(refundId, crypto.randomUUID(), other.admin.token)).status).toBe(201);
    expect([...gateway.stripe.refunds.values()].filter((r) => r.payment_intent === payment.pi)).toHaveLength(1);
    expect(await refundsOf(payment.paymentId)).toMatchObject([{ status: "succeeded", amount: 1000 }]);
    expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: 3000, available: 3000 });
  });

  it("Revolut: after Revolut was down, the refund order it makes is recorded once", async () => {
    const { accountId, orderId, paymentId } = await revolutRefundAfterOutage("down, asked again by another admin");
    const refundId = await pendingRefundOf(paymentId);
    const retried = await retry(refundId, crypto.randomUUID(), other.admin.token);
    expect(retried.status).toBe(201);
    expect(gateway.revolut.refundOrders.filter((r) => r.related_order_id === orderId)).toHaveLength(1);
    expect(await refundsOf(paymentId)).toMatchObject([{ provider_refund_id: retried.body.provider.refund_id, status: "succeeded" }]);
    expect(await balanceOf(sql, accountId)).toEqual({ balance: 200, available: 200 });
  });

  it("is refused to support (403), for an unknown refund (404) and for a refund its provider has named (409), asking nothing", async () => {
    const payment = await stripePayment(1000);
    const pending = await stripeRefundUnanswered(payment.paymentId, 100, stripeDown);
    const calls = refundCalls();
    expect(refusal(await retry(pending, crypto.randomUUID(), staff.support.token))).toEqual({ status: 403, code: "forbidden" });
    expect(refusal(await retry(crypto.randomUUID()))).toEqual({ status: 404, code: "not_found" });
    const done = await refund(payment.paymentId, { amount: 200, reason: "done" });
    expect(done.status).toBe(201);
    expect(refusal(await retry(done.body.refund.id))).toEqual({ status: 409, code: "invalid_state" });
    expect(refundCalls()).toBe(calls + 1);
    expect((await admin("POST", "/refunds/not-a-uuid/retry", { token: staff.admin.token, idempotencyKey: "k", body: {} })).status)
      .toBe(400);
  });
});

/** The Stripe reconciliation's mismatches and resolutions of payment `paymentId`, as support reads them. */
async function reconciliationOf(paymentId: string) {
  const report = await admin("GET", "/reconciliation?provider=stripe", { token: staff.support.token });
  const ofPayment = (rows: { payment_id: string }[]) => rows.filter((row) => row.payment_id === paymentId);
  return { mismatches: ofPayment(report.body.mismatches), resolutions: ofPayment(report.body.resolutions) };
}

describe("POST /admin/payments/:id/resolve", () => {
  it("credit posts the provider's amount to the intent's account once; a second resolve is 409; reconciliation lists the decision, not a mismatch", async () => {
    const payment = await stripePayment(1200, { intentAmount: 1000 });
    expect(payment.paymentStatus).toBe("needs_review");
    expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: 0, available: 0 });
    const key = crypto.randomUUID();
    const credited = await resolve(payment.paymentId, { action: "credit", reason: "customer paid 12.00, verified" }, key);
    expect(credited.status).toBe(200);
    expect(credited.body.payment).toMatchObject({
      status: "succeeded",
      resolution: "credited",
      resolved_by: staff.admin.id,
      review_reason: "amount_mismatch",
    });
    expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: 1200, available: 1200 });
    const replay = await resolve(payment.paymentId, { action: "credit", reason: "customer paid 12.00, verified" }, key);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(refusal(await resolve(payment.paymentId, { action: "credit", reason: "again" }))).toEqual({
      status: 409,
      code: "invalid_state",
    });
    expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: 1200, available: 1200 });
    expect(await reconciliationOf(payment.paymentId)).toMatchObject({
      mismatches: [],
      resolutions: [{ kind: "credited", provider_amount: 1200, detail: "credited by an admin: customer paid 12.00, verified" }],
    });
  });

  it("reject records why and credits nothing; reconciliation lists it as rejected, not as a mismatch", async () => {
    const payment = await stripePayment(700, { intentAmount: 600 });
    const rejected = await resolve(payment.paymentId, { action: "reject", reason: "duplicate charge, refunded by card" });
    expect(rejected.status).toBe(200);
    expect(rejected.body.payment).toMatchObject({
      status: "rejected",
      resolution: "rejected",
      resolution_reason: "duplicate charge, refunded by card",
    });
    expect(await balanceOf(sql, payment.accountId)).toEqual({ balance: 0, available: 0 });
    expect(await reconciliationOf(payment.paymentId)).toMatchObject({
      mismatches: [],
      resolutions: [{ kind: "rejected", detail: "rejected by an admin: duplicate charge, refunded by card" }],
    });
    expect(refusal(await resolve(payment.paymentId, { action: "credit", reason: "changed my mind" }))).toEqual({
      status: 409,
      code: "invalid_state",
    });
  });

  it("refuses a payment not under review (409), one with no intent (409), and support (403)", async () => {
    const credited = await stripePayment(300);
    expect(refusal(await resolve(credited.paymentId, { action: "reject", reason: "x" }))).toEqual({ status: 409, code: "invalid_state" });
    const orphan = piId();
    expect(
      await deliver(stripeEvent("payment_intent.succeeded", {
        id: orphan,
        object: "payment_intent",
        amount: 300,
        amount_received: 300,
        currency: "usd",
        metadata: {},
      })),
    ).toBe(200);
    const [row] = await sql<{ id: string }[]>`select id from public.payments where provider_payment_id = ${orphan}`;
    const noIntent = await resolve(row!.id, { action: "credit", reason: "who?" });
    expect(refusal(noIntent)).toEqual({ status: 409, code: "invalid_state" });
    expect(noIntent.body.error.message).toContain("no payment intent");
    expect(refusal(await resolve(row!.id, { action: "reject", reason: "x" }, undefined, staff.support.token))).toEqual({
      status: 403,
      code: "forbidden",
    });
    expect(refusal(await resolve(row!.id, { action: "refund", reason: "x" }))).toEqual({ status: 400, code: "validation_failed" });
  });
});

describe("I was charged twice", () => {
  beforeAll(async () => {
    staff ??= await createStaff(sql, process.env.SUPABASE_JWT_SECRET!);
  });

  it("the second payment of one top-up is held, found by its intent, rejected and refunded through Stripe once, the wallet untouched", async () => {
    const first = await stripePayment(1500);
    const secondPi = piId();
    const second = stripeEvent("payment_intent.succeeded", {
      id: secondPi,
      object: "payment_intent",
      amount: 1500,
      amount_received: 1500,
      currency: "usd",
      metadata: { intent_id: first.intentId },
    });
    expect(await deliver(second)).toBe(200);
    expect(await balanceOf(sql, first.accountId)).toEqual({ balance: 1500, available: 1500 });

    const both = await admin("GET", `/payments?intent_id=${first.intentId}`, { token: staff.support.token });
    expect(both.status).toBe(200);
    expect(both.body.data.map((p: { provider_payment_id: string; status: string }) => [p.provider_payment_id, p.status])).toEqual([
      [secondPi, "needs_review"],
      [first.pi, "succeeded"],
    ]);
    const duplicate = both.body.data[0].id as string;

    expect((await resolve(duplicate, { action: "reject", reason: "duplicate charge, ticket 4411" })).status).toBe(200);
    const key = crypto.randomUUID();
    const before = refundCalls();
    const refunded = await refund(duplicate, { amount: 1500, reason: "duplicate charge, ticket 4411" }, key);
    expect(refunded.status).toBe(201);
    expect(refunded.body.refund).toMatchObject({ status: "succeeded", amount: 1500, wallet_transaction_id: null });
    expect(gateway.stripe.refunds.get(refunded.body.provider.refund_id)).toMatchObject({ amount: 1500, payment_intent: secondPi });
    expect((await refund(duplicate, { amount: 1500, reason: "duplicate charge, ticket 4411" }, key)).headers.get("idempotent-replayed"))
      .toBe("true");
    expect(refundCalls()).toBe(before + 1);
    expect(await balanceOf(sql, first.accountId)).toEqual({ balance: 1500, available: 1500 });

    const shown = await admin("GET", `/payments/${duplicate}`, { token: staff.support.token });
    expect(shown.body.payment).toMatchObject({
      status: "rejected",
      amount_refunded: 1500,
      resolution: "rejected",
      refunds: [expect.objectContaining({ status: "succeeded", amount: 1500, created_by: staff.admin.id })],
    });
  });
});
