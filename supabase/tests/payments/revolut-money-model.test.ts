// A model of the Revolut money path, checked against the real gateway (revolut-webhook, the
// admin API, revolut-poll) on the real database, with the stand-in as Revolut. Each run makes
// one or two Revolut top-up orders of one wallet and plays a random sequence of happenings:
// the customer pays an order (completed at once, authorised then captured, a failed attempt,
// failed, cancelled), refunds by an admin through the admin API (Revolut completing, keeping
// pending or declining them, its answer lost, or the request never reaching it) and refunds
// made in Revolut's dashboard, pending refund orders completing, failing or being cancelled,
// a lost (or still open) chargeback an admin records, the user spending, revolut-poll running,
// and every webhook Revolut owes delivered late, out of order, twice, or lost. Then Revolut ends
// what is still pending, delivers what it still owes, and revolut-poll runs until nothing is
// left. Revolut (the stand-in's orders and refund orders) is the truth: each order is credited
// once exactly when Revolut completed it; each refund order is recorded as Revolut has it; the
// payment's amount_refunded is what Revolut refunded plus the recorded chargebacks, never more
// than the payment; the wallet holds what the model says; no event of these orders is left
// failed or dead, no refund or intent pending; the ledger's invariants hold.
//
// Other suites share this database: the gateway polls only items waiting longer than an hour,
// and a run ages its own rows past that mark just before it runs the job, then brings them back;
// revolut-poll.test.ts, which ages rows of its own, never runs beside it (runRevolutPollAlone).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type AdminAnswer, adminRequest, answerOf } from "../support/admin-fixtures.ts";
import { assertLedgerInvariants } from "../support/ledger-invariants.ts";
import { age, balanceOf, createUserWithAccount, creditsTo } from "../support/payments-fixtures.ts";
import { callPayments, topUpUser } from "../support/payments-gateway.ts";
import { postToRevolut, whileAnswering } from "../support/provider-standins.ts";
import { modelRuns } from "../support/model-runs.ts";
import { runRevolutPollAlone } from "../support/run-alone.ts";
import { useTestSql } from "../support/test-sql.ts";
import { usePaymentsGateway } from "../support/use-payments-gateway.ts";
import { useStaffCallers } from "../support/use-staff-callers.ts";
import { revolutRequest } from "../support/webhook-requests.ts";

const POLL_AFTER_SECONDS = 3600;
const sql = useTestSql();
runRevolutPollAlone(sql);
// One admin asks for every run's refunds and chargebacks: the admin API's limit is not under test.
const gateway = usePaymentsGateway({
  JOBS_REVOLUT_POLL_AFTER_SECONDS: String(POLL_AFTER_SECONDS),
  RATE_LIMIT_ADMIN_PER_MIN: "100000",
});
const staff = useStaffCallers(sql);

type Pay = "complete" | "authorise" | "capture" | "attempt_fails" | "fail" | "cancel";
type RefundEnd = "completed" | "failed" | "cancelled";
/** How Revolut meets an admin's refund request: it answers, its answer is lost, or it never gets the request. */
type Reach = "answered" | "answer_lost" | "never_received";
type Step =
  | { kind: "pay"; order: number; how: Pay; prompt: boolean }
  /** `apiDown`: the Merchant API fails the handler's look-up of the order (503) during this delivery. */
  | { kind: "deliver"; pick: number; twice: boolean; apiDown: boolean }
  | { kind: "lose"; pick: number }
  | { kind: "admin_refund"; order: number; percent: number; state: "completed" | "pending" | "declined"; reach: Reach; prompt: boolean }
  | { kind: "dashboard_refund"; order: number; percent: number; state: "completed" | "pending"; prompt: boolean }
  | { kind: "settle_refund"; pick: number; end: RefundEnd; prompt: boolean }
  | { kind: "chargeback"; order: number; percent: number; lost: boolean }
  | { kind: "spend"; percent: number }
  | { kind: "poll" };

const order = fc.integer({ min: 0, max: 1 });
const percent = fc.integer({ min: 1, max: 120 });
// Mostly paid: refunds and chargebacks need a completed order.
const how = fc.oneof(
  { arbitrary: fc.constant<Pay>("complete"), weight: 5 },
  { arbitrary: fc.constantFrom<Pay>("authorise", "capture", "attempt_fails", "fail", "cancel"), weight: 3 },
);
/** Whether Revolut delivers the webhooks a happening makes at once (else later, or never). */
const prompt = fc.oneof({ arbitrary: fc.constant(true), weight: 2 }, { arbitrary: fc.constant(false), weight: 1 });
const pay = fc.record({ kind: fc.constant("pay" as const), order, how, prompt });
const step: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: pay, weight: 3 },
  {
    arbitrary: fc.record({
      kind: fc.constant("deliver" as const),
      pick: fc.nat(),
      twice: fc.boolean(),
      apiDown: fc.oneof({ arbitrary: fc.constant(false), weight: 3 }, { arbitrary: fc.constant(true), weight: 1 }),
    }),
    weight: 5,
  },
  { arbitrary: fc.record({ kind: fc.constant("lose" as const), pick: fc.nat() }), weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant("admin_refund" as const),
      prompt,
      order,
      percent,
      state: fc.constantFrom("completed" as const, "pending" as const, "declined" as const),
      // An answer lost costs the gateway's provider timeout (1.5 s): seldom.
      reach: fc.oneof({ arbitrary: fc.constant<Reach>("answered"), weight: 6 }, {
        arbitrary: fc.constant<Reach>("never_received"),
        weight: 2,
      }, {
        arbitrary: fc.constant<Reach>("answer_lost"),
        weight: 1,
      }),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant("dashboard_refund" as const),
      prompt,
      order,
      percent,
      state: fc.constantFrom("completed" as const, "pending" as const),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant("settle_refund" as const),
      prompt,
      pick: fc.nat(),
      end: fc.constantFrom<RefundEnd>("completed", "failed", "cancelled"),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ kind: fc.constant("chargeback" as const), order, percent, lost: fc.boolean() }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("spend" as const), percent: fc.integer({ min: 1, max: 100 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("poll" as const) }), weight: 1 },
);
/** What Revolut makes of what is still pending at the end: orders completed or cancelled, refund orders completed or failed. */
const ends = fc.record({
  orders: fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }),
  refunds: fc.array(fc.boolean(), { maxLength: 12 }),
});

/** An order's webhook Revolut still owes: at most three deliveries (docs/WEBHOOKS.md). */
interface Owed {
  event: string;
  orderId: string;
  left: number;
}

interface TopUp {
  orderId: string;
  intentId: string;
  amount: number;
}

const MFUKO_REFUND_STATUS: Record<string, string> = { completed: "succeeded", failed: "failed", declined: "failed", cancelled: "canceled" };
const REFUND_EVENT: Record<string, string> = {
  completed: "ORDER_COMPLETED",
  failed: "ORDER_FAILED",
  declined: "ORDER_PAYMENT_DECLINED",
  cancelled: "ORDER_CANCELLED",
};

/** One run: Revolut's side (the stand-in, and the webhooks it owes), and what mfuko was told to do beside it. */
class Run {
  owed: Owed[] = [];
  chargebacks = new Map<string, number>();
  spent = 0;
  lastPoll: AdminAnswer | null = null;

  constructor(readonly accountId: string, readonly sinkId: string, readonly topUps: TopUp[]) {}

  private get revolut() {
    return gateway.revolut;
  }

  /** Revolut's order (or refund order) as it has it now. */
  record(id: string): Record<string, unknown> {
    return this.revolut.records.get(id) as Record<string, unknown>;
  }

  refundOrdersOf(topUp: TopUp): Record<string, unknown>[] {
    return this.revolut.refundOrders.filter((r) => r.related_order_id === topUp.orderId);
  }

  /** A refund order made in Revolut's dashboard: it carries no reference of an admin's request. */
  fromDashboard(orderId: string): boolean {
    const order = this.record(orderId);
    return order.type === "refund" && !(order.merchant_order_data as { reference?: string } | undefined)?.reference;
  }

  owe(event: string, orderId: string): void {
    this.owed.push({ event, orderId, left: 3 });
  }

  /** Revolut's view of what may still be taken from the order: its amount less refunds not failed, less chargebacks. */
  revolutRemaining(topUp: TopUp): number {
    const refunds = this.refundOrdersOf(topUp).filter((r) => !["failed", "declined", "cancelled"].includes(r.state as string));
    return topUp.amount - refunds.reduce((sum, r) => sum + (r.amount as number), 0) - (this.chargebacks.get(topUp.orderId) ?? 0);
  }

  /** What the admin's refunds of the order that Revolut never received add up to: pending, never named by Revolut. */
  async neverReceived(topUp: TopUp): Promise<number> {
    const [row] = await sql<{ sum: number }[]>`
      select coalesce(sum(r.amount), 0)::int as sum from public.refunds r join public.payments p on p.id = r.payment_id
       where p.provider = 'revolut' and p.provider_payment_id = ${topUp.orderId} and r.status = 'pending'
         and r.provider_refund_id = r.refund_request_id
         and not exists (select 1 from jsonb_array_elements(${sql.json(this.revolut.refundOrders as never)}) o
                          where o #>> '{merchant_order_data,reference}' = r.refund_request_id)`;
    return row!.sum;
  }

  async paymentId(topUp: TopUp): Promise<string | null> {
    const [payment] = await sql<{ id: string }[]>`
      select id from public.payments where provider = 'revolut' and provider_payment_id = ${topUp.orderId}`;
    return payment?.id ?? null;
  }

  setState(id: string, state: string): void {
    this.revolut.records.set(id, { ...this.record(id), state });
  }

  pay(topUp: TopUp, how: Pay): void {
    const state = this.record(topUp.orderId).state as string;
    const payable = state === "pending";
    if (how === "complete" && payable) {
      this.revolut.complete(topUp.orderId);
      this.owe("ORDER_COMPLETED", topUp.orderId);
    } else if (how === "authorise" && payable) {
      this.setState(topUp.orderId, "authorised");
      this.owe("ORDER_AUTHORISED", topUp.orderId);
    } else if (how === "capture" && state === "authorised") {
      this.revolut.complete(topUp.orderId);
      this.owe("ORDER_COMPLETED", topUp.orderId);
    } else if (how === "attempt_fails" && payable) {
      // A declined card: the order stays payable.
      this.owe("ORDER_PAYMENT_FAILED", topUp.orderId);
    } else if (how === "fail" && (payable || state === "authorised")) {
      this.setState(topUp.orderId, "failed");
      this.owe("ORDER_PAYMENT_FAILED", topUp.orderId);
      this.owe("ORDER_FAILED", topUp.orderId);
    } else if (how === "cancel" && (payable || state === "authorised")) {
      this.setState(topUp.orderId, "cancelled");
      this.owe("ORDER_CANCELLED", topUp.orderId);
    }
  }

  /** A refund order Revolut just made (an admin's, the dashboard's, one revolut-poll sent again): the webhook of its state. */
  made(refundId: string): void {
    const state = this.record(refundId).state as string;
    if (REFUND_EVENT[state]) this.owe(REFUND_EVENT[state]!, refundId);
  }

  async deliver(owed: Owed): Promise<number> {
    owed.left -= 1;
    const response = await fetch(revolutRequest({ event: owed.event, order_id: owed.orderId }, {}, { base: gateway.url }));
    await response.body?.cancel();
    // Revolut retries what was not answered 2xx; a 2xx may still come again (twice, late).
    expect([200, 500]).toContain(response.status);
    return response.status;
  }

  async adminRefund(topUp: TopUp, amount: number, state: "completed" | "pending" | "declined", reach: Reach): Promise<AdminAnswer> {
    const paymentId = await this.paymentId(topUp);
    if (!paymentId) return { status: 0, body: null } as AdminAnswer;
    const ask = () =>
      fetch(adminRequest(gateway.url, "POST", `/admin/payments/${paymentId}/refund`, {
        token: staff.admin.token,
        idempotencyKey: crypto.randomUUID(),
        body: { amount, reason: "customer asked" },
      })).then(answerOf);
    const behaviour = reach === "answered" ? "accept" : reach === "answer_lost" ? "accept-silently" : { status: 503, body: {} };
    return await whileAnswering(this.revolut, "refundState", state, () => whileAnswering(this.revolut, "refundBehaviour", behaviour, ask));
  }

  /** A refund made in Revolut's dashboard: a refund order of the order with no reference of ours. */
  async dashboardRefund(topUp: TopUp, amount: number, state: "completed" | "pending"): Promise<void> {
    await whileAnswering(this.revolut, "refundState", state, async () => {
      const response = await postToRevolut(this.revolut, `/api/orders/${topUp.orderId}/refund`, {
        amount,
        description: "refunded in the dashboard",
      });
      await response.body?.cancel();
    });
  }

  async chargeback(topUp: TopUp, amount: number, lost: boolean): Promise<void> {
    const paymentId = await this.paymentId(topUp);
    if (!paymentId) return;
    const disputeId = this.revolut.openDispute(lost ? "lost" : "under_review");
    const answer = await fetch(adminRequest(gateway.url, "POST", `/admin/payments/${paymentId}/chargeback`, {
      token: staff.admin.token,
      idempotencyKey: crypto.randomUUID(),
      body: { dispute_id: disputeId, amount, reason: "cardholder won the chargeback" },
    })).then(answerOf);
    if (!lost) {
      expect(answer.status).toBe(409);
      return;
    }
    // mfuko may count a refund Revolut has failed meanwhile as still pending: a refusal then, and the admin asks later.
    if (answer.status === 201) this.chargebacks.set(topUp.orderId, (this.chargebacks.get(topUp.orderId) ?? 0) + amount);
    else expect({ status: answer.status, code: answer.body?.error?.code }).toEqual({ status: 409, code: "invalid_state" });
  }

  async spend(percent: number): Promise<void> {
    const { available } = await balanceOf(sql, this.accountId);
    const amount = Math.floor((available * percent) / 100);
    if (amount <= 0) return;
    await sql`select 1 from public.wallet_transfer(${this.accountId}::uuid, ${this.sinkId}::uuid, ${amount}, 'EUR', ${`spend:${crypto.randomUUID()}`})`;
    this.spent += amount;
  }

  /** This run's orders and refund orders, as Revolut names them. */
  ids(): string[] {
    return [...this.topUps.map((t) => t.orderId), ...this.topUps.flatMap((t) => this.refundOrdersOf(t).map((r) => r.id as string))];
  }

  /** Makes stored events look first received `seconds` ago. */
  async ageEvents(ids: string[], seconds: number): Promise<void> {
    if (ids.length === 0) return;
    await sql`update public.webhook_events set received_at = now() - make_interval(secs => ${seconds}) where id in ${sql(ids)}`;
  }

  /** revolut-poll over this run's rows, aged past its mark for the run and brought back after it. */
  async poll(): Promise<AdminAnswer> {
    const intents = await sql<{ id: string }[]>`
      select id from public.payment_intents where id in ${sql(this.topUps.map((t) => t.intentId))}
         and status in ('requires_payment', 'processing')`;
    const refunds = await sql<{ id: string }[]>`
      select r.id from public.refunds r join public.payments p on p.id = r.payment_id
       where p.provider = 'revolut' and p.provider_payment_id in ${sql(this.topUps.map((t) => t.orderId))} and r.status = 'pending'`;
    const events = await sql<{ id: string }[]>`
      select id from public.webhook_events where provider = 'revolut' and status = 'failed' and payload ->> 'order_id' in ${
      sql(this.ids())
    }`;
    const rows = [...intents.map((r) => ["payment_intents", r.id] as const), ...refunds.map((r) => ["refunds", r.id] as const)];
    for (const [table, id] of rows) await age(sql, table, id, POLL_AFTER_SECONDS + 60);
    await this.ageEvents(events.map((e) => e.id), POLL_AFTER_SECONDS + 60);
    const leased = [...rows.map(([, id]) => id), ...events.map((e) => e.id)];
    if (leased.length > 0) await sql`delete from private.job_leases where job = 'revolut-poll' and item_id in ${sql(leased)}`;
    const before = this.revolut.refundOrders.length;
    try {
      this.lastPoll = await gateway.runJob("revolut-poll");
    } finally {
      for (const [table, id] of rows) await age(sql, table, id, 0);
      await this.ageEvents(events.map((e) => e.id), 0);
    }
    // A refund request revolut-poll sent again: Revolut owes the webhook of the order it made.
    for (const made of this.revolut.refundOrders.slice(before)) this.made(made.id as string);
    expect(this.lastPoll.status).toBe(200);
    return this.lastPoll;
  }

  async apply(s: Step): Promise<void> {
    const before = this.owed.length;
    await this.happen(s);
    if (!("prompt" in s) || !s.prompt) return;
    for (const owed of this.owed.slice(before)) if (await this.deliver(owed) === 200) owed.left = 0;
    this.owed = this.owed.filter((o) => o.left > 0);
  }

  async happen(s: Step): Promise<void> {
    const topUp = this
      .topUps[
        s.kind === "pay" || s.kind === "admin_refund" || s.kind === "dashboard_refund" || s.kind === "chargeback"
          ? s.order % this.topUps.length
          : 0
      ]!;
    switch (s.kind) {
      case "pay":
        return this.pay(topUp, s.how);
      case "deliver": {
        if (this.owed.length === 0) return;
        const owed = this.owed[s.pick % this.owed.length]!;
        const order = this.record(owed.orderId);
        if (s.apiDown) this.revolut.records.set(owed.orderId, 503);
        try {
          await this.deliver(owed);
          if (s.twice && owed.left > 0) await this.deliver(owed);
        } finally {
          this.revolut.records.set(owed.orderId, order);
        }
        this.owed = this.owed.filter((o) => o.left > 0);
        return;
      }
      case "lose": {
        // A refund made in the dashboard is known to mfuko by its webhooks alone (revolut-poll asks
        // Revolut about what mfuko knows): all of them lost is a gap the model leaves out.
        const losable = this.owed.filter((o) => !this.fromDashboard(o.orderId));
        if (losable.length > 0) this.owed = this.owed.filter((o) => o !== losable[s.pick % losable.length]);
        return;
      }
      case "admin_refund": {
        if (this.record(topUp.orderId).state !== "completed") return;
        const before = this.revolut.refundOrders.length;
        // Up to a fifth over what Revolut would still refund: mfuko or Revolut refuses those.
        const amount = Math.max(1, Math.floor((topUp.amount * s.percent) / 120));
        // A request Revolut does not answer is sent again by revolut-poll; one Revolut then refuses
        // stays pending for an admin (decision 0018: reported, not modelled).
        // Revolut's refundable amount also drops by a chargeback, which the stand-in does not know of.
        // A request answered may use no room that a request sent again will need either.
        const unsent = await this.neverReceived(topUp);
        const refusedAlike = s.reach === "answered" && !this.chargebacks.has(topUp.orderId) && unsent === 0;
        if (!refusedAlike && amount > this.revolutRemaining(topUp) - unsent) return;
        await this.adminRefund(topUp, amount, s.state, s.reach);
        for (const made of this.revolut.refundOrders.slice(before)) this.made(made.id as string);
        return;
      }
      case "dashboard_refund": {
        if (this.record(topUp.orderId).state !== "completed") return;
        // Revolut refunds no more than the order less what its cardholder took back. It leaves room
        // for the admin's requests it never received, which revolut-poll sends again: a dashboard
        // refund beyond the rest is recorded all the same (decision 0030, effects.test.ts), but
        // the request it leaves no room for is refused and stays pending for an admin (decision
        // 0018), which this model's end does not allow for: not modelled.
        const amount = Math.floor(((this.revolutRemaining(topUp) - await this.neverReceived(topUp)) * s.percent) / 120);
        if (amount <= 0) return;
        const before = this.revolut.refundOrders.length;
        await this.dashboardRefund(topUp, amount, s.state);
        for (const made of this.revolut.refundOrders.slice(before)) this.made(made.id as string);
        return;
      }
      case "settle_refund": {
        const pending = this.revolut.refundOrders.filter((r) =>
          r.state === "pending" && this.topUps.some((t) => t.orderId === r.related_order_id)
        );
        if (pending.length === 0) return;
        const refundId = pending[s.pick % pending.length]!.id as string;
        this.revolut.settleRefund(refundId, s.end);
        this.owe(REFUND_EVENT[s.end]!, refundId);
        return;
      }
      case "chargeback": {
        if (this.record(topUp.orderId).state !== "completed") return;
        // The cardholder disputes no more than Revolut has not refunded them, or will (a request sent again).
        const left = this.revolutRemaining(topUp) - await this.neverReceived(topUp);
        const amount = Math.floor((left * Math.min(s.percent, 100)) / 100);
        if (amount > 0) await this.chargeback(topUp, amount, s.lost);
        return;
      }
      case "spend":
        return await this.spend(s.percent);
      case "poll":
        await this.poll();
        return;
    }
  }

  /** Revolut ends what is still pending, delivers what it owes, and revolut-poll runs until nothing is left. */
  async settle(end: { orders: boolean[]; refunds: boolean[] }): Promise<void> {
    this.topUps.forEach((topUp, i) => {
      const state = this.record(topUp.orderId).state;
      if (state === "pending" || state === "authorised") {
        this.pay(topUp, end.orders[i] ? (state === "pending" ? "complete" : "capture") : "cancel");
      }
    });
    let i = 0;
    for (
      const refund of this.revolut.refundOrders.filter((r) =>
        r.state === "pending" && this.topUps.some((t) => t.orderId === r.related_order_id)
      )
    ) {
      const ended: RefundEnd = (end.refunds[i++] ?? true) ? "completed" : "failed";
      this.revolut.settleRefund(refund.id as string, ended);
      this.owe(REFUND_EVENT[ended]!, refund.id as string);
    }
    for (let round = 0; round < 6; round++) {
      // Revolut delivers each webhook it owes until one is answered 2xx, at most three times in all.
      for (const owed of this.owed) while (owed.left > 0 && await this.deliver(owed) !== 200);
      this.owed = [];
      const run = await this.poll();
      if (run.body.taken === 0 && this.owed.length === 0) return;
    }
    throw new Error(`revolut-poll still finds work after six rounds: ${JSON.stringify(this.lastPoll?.body)}`);
  }

  async check(): Promise<void> {
    let expected = 0;
    for (const topUp of this.topUps) {
      const state = this.record(topUp.orderId).state;
      const [intent] = await sql<{ status: string }[]>`select status from public.payment_intents where id = ${topUp.intentId}::uuid`;
      const payments = await sql<{ id: string; amount: number; amount_refunded: number; credited: boolean }[]>`
        select id, amount::int, amount_refunded::int, wallet_transaction_id is not null as credited
          from public.payments where provider = 'revolut' and provider_payment_id = ${topUp.orderId}`;
      if (state !== "completed") {
        expect({ order: topUp.orderId, state, intent: intent!.status, payments: payments.length }).toEqual({
          order: topUp.orderId,
          state,
          intent: "failed",
          payments: 0,
        });
        continue;
      }
      expect(intent!.status).toBe("succeeded");
      expect(payments).toHaveLength(1);
      const payment = payments[0]!;
      const revolutRefunds = this.refundOrdersOf(topUp);
      const refunded = revolutRefunds.filter((r) => r.state === "completed").reduce((sum, r) => sum + (r.amount as number), 0);
      const chargedBack = this.chargebacks.get(topUp.orderId) ?? 0;
      expect({ amount: payment.amount, credited: payment.credited, amount_refunded: payment.amount_refunded }).toEqual({
        amount: topUp.amount,
        credited: true,
        amount_refunded: refunded + chargedBack,
      });
      expect(payment.amount_refunded).toBeLessThanOrEqual(payment.amount);
      const rows = await sql<{ provider_refund_id: string; status: string; amount: number; request: string | null }[]>`
        select provider_refund_id, status, amount::int, refund_request_id as request from public.refunds
         where payment_id = ${payment.id}::uuid order by created_at`;
      const byId = new Map(rows.map((r) => [r.provider_refund_id, r]));
      for (const refund of revolutRefunds) {
        // A dashboard refund that never completed moved no money; its ORDER_CANCELLED or ORDER_FAILED
        // that came while Revolut could not be read is finished as a top-up order's, and mfuko keeps
        // no row of it (reported, not modelled).
        const unread = refund.state !== "completed" && this.fromDashboard(refund.id as string);
        if (unread && !byId.has(refund.id as string)) continue;
        expect({ id: refund.id, status: byId.get(refund.id as string)?.status, amount: byId.get(refund.id as string)?.amount }).toEqual({
          id: refund.id,
          status: MFUKO_REFUND_STATUS[refund.state as string],
          amount: refund.amount,
        });
      }
      // Every other row is a chargeback, or a request Revolut never made a refund of: closed, nothing taken.
      const others = rows.filter((r) => !revolutRefunds.some((o) => o.id === r.provider_refund_id));
      const chargebackRows = others.filter((r) => r.request === null);
      expect(chargebackRows.every((r) => r.status === "succeeded")).toBe(true);
      expect(chargebackRows.reduce((sum, r) => sum + r.amount, 0)).toBe(chargedBack);
      expect(others.filter((r) => r.request !== null).map((r) => r.status).filter((s) => s !== "failed" && s !== "canceled")).toEqual([]);
      expected += topUp.amount - refunded - chargedBack;
    }
    expect(await creditsTo(sql, this.accountId)).toBe(this.topUps.filter((t) => this.record(t.orderId).state === "completed").length);
    expected -= this.spent;
    expect(await balanceOf(sql, this.accountId)).toEqual({ balance: expected, available: expected });
    const ids = this.ids();
    const unfinished = await sql<{ event_id: string; status: string; last_error: string | null }[]>`
      select event_id, status, last_error from public.webhook_events
       where provider = 'revolut' and split_part(event_id, ':', 1) in ${sql(ids)} and status not in ('processed', 'ignored')`;
    expect(unfinished).toEqual([]);
    await assertLedgerInvariants(sql);
  }
}

/** One wallet and its Revolut top-up orders through POST /payments/topups, with a sink account to spend into. */
async function start(amounts: number[]): Promise<Run> {
  const user = await topUpUser(sql, "EUR");
  const sink = await createUserWithAccount(sql, "EUR");
  const topUps: TopUp[] = [];
  for (const amount of amounts) {
    const answer = await callPayments(gateway.url, "POST", "/topups", {
      token: user.token,
      idempotencyKey: crypto.randomUUID(),
      body: { provider: "revolut", account_id: user.accountId, amount, currency: "EUR" },
    });
    expect(answer.status).toBe(201);
    const intentId = answer.body.intent.id as string;
    const [intent] = await sql<{ provider_ref: string }[]>`select provider_ref from public.payment_intents where id = ${intentId}::uuid`;
    topUps.push({ orderId: intent!.provider_ref, intentId, amount });
  }
  return new Run(user.accountId, sink.accountId, topUps);
}

/**
 * 30 runs in CI (about 10 s). MODEL_RUNS runs more locally (tests/support/model-runs.ts): some 3,500 runs in 14 random
 * seeds were tried while the model was built (each failure was shrunk and either fixed in mfuko or,
 * for a gap the model now leaves out, reported), and the final model passed 300 + 300 runs.
 */
const RUNS = modelRuns(30);

describe("the Revolut money path against its model", () => {
  it(
    "ends every order, refund and chargeback in mfuko as Revolut has it, whatever becomes of the webhooks",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer({ min: 100, max: 10_000 }), { minLength: 1, maxLength: 2 }),
          fc.tuple(fc.array(pay, { minLength: 1, maxLength: 3 }), fc.array(step, { minLength: 3, maxLength: 25 }))
            .map(([opening, rest]) => [...opening, ...rest]),
          ends,
          async (amounts, plan, end) => {
            const run = await start(amounts);
            for (const s of plan) await run.apply(s);
            await run.settle(end);
            await run.check();
          },
        ),
        RUNS,
      );
    },
    // An admin's refund whose answer is lost waits for the provider timeout: up to a few seconds a run.
    Math.max(120_000, RUNS.numRuns * 3_000),
  );
});

describe("examples the model found", () => {
  it("records a dashboard refund whose three webhooks all came before revolut-poll credited its top-up", async () => {
    const run = await start([100]);
    const [topUp] = run.topUps;
    // The customer pays; all of the top-up's ORDER_COMPLETED deliveries are lost.
    await run.apply({ kind: "pay", order: 0, how: "complete", prompt: false });
    await run.apply({ kind: "lose", pick: 0 });
    // Refunded in Revolut's dashboard at once: its three deliveries fail, the top-up not being credited yet.
    await run.apply({ kind: "dashboard_refund", order: 0, percent: 60, state: "completed", prompt: false });
    const [refund] = run.refundOrdersOf(topUp!);
    for (let delivery = 0; delivery < 3; delivery++) expect(await run.deliver(run.owed[0]!)).toBe(500);
    run.owed = [];

    await run.settle({ orders: [], refunds: [] });
    const [recorded] = await sql<{ status: string; amount: number }[]>`
      select status, amount::int from public.refunds where provider = 'revolut' and provider_refund_id = ${refund!.id as string}`;
    expect(recorded).toEqual({ status: "succeeded", amount: 50 });
    await run.check();
  });

  it("records a dashboard refund whose three webhooks all came while Revolut could not be read", async () => {
    const run = await start([300]);
    await run.apply({ kind: "pay", order: 0, how: "complete", prompt: true });
    await run.apply({ kind: "dashboard_refund", order: 0, percent: 120, state: "completed", prompt: false });
    for (let delivery = 0; delivery < 3; delivery++) await run.apply({ kind: "deliver", pick: 0, twice: false, apiDown: true });
    expect(run.owed).toEqual([]);

    await run.settle({ orders: [], refunds: [] });
    expect(await balanceOf(sql, run.accountId)).toEqual({ balance: 0, available: 0 });
    await run.check();
  });
});
