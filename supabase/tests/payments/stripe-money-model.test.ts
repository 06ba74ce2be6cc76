// A model of the Stripe money path: paid top-ups, then what happens at Stripe (refunds made in
// the dashboard, succeeded or pending, ending later; disputes opened and closed), the user
// spending between steps, and Stripe's events delivered at once, twice, late or never, with
// stripe-poll runs between steps. Once everything has ended at Stripe and every event has been
// delivered again (Stripe retries for three days), mfuko must have each payment as Stripe has it.
// The webhook runs in-process against the real database; stripe-poll settles this file's own
// items with the job's code (settleStripeItem), so that it never takes the items other files
// leave in the shared database.
import { useTestSql } from "../support/test-sql.ts";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStripeStandIn, type StripeStandIn } from "../support/provider-standins.ts";
import { balanceOf, createTopUp, storedEvents, type TopUp } from "../support/payments-fixtures.ts";
import { assertLedgerInvariants } from "../support/ledger-invariants.ts";
import { testJobRun } from "../support/job-run.ts";
import { modelRuns } from "../support/model-runs.ts";
import { stripeChargeRefunded, stripeEvent, stripePaymentSucceeded, stripeRequest } from "../support/webhook-requests.ts";
import { createSql, type Sql } from "../../functions/_shared/db.ts";
import { createStripeClient } from "../../functions/_shared/providers/stripe/client.ts";
import { settleStripeItem } from "../../functions/jobs/stripe-poll.ts";
import handler from "../../functions/stripe-webhook/handler.ts";

const sql = useTestSql();
let stripe: StripeStandIn;
let jobSql: Sql;
beforeAll(async () => {
  stripe = await startStripeStandIn({ secretKey: process.env.STRIPE_SECRET_KEY! });
  process.env.STRIPE_API_BASE_URL = stripe.url;
  process.env.PROVIDER_TIMEOUT_MS = "1000";
  jobSql = createSql();
});
afterAll(async () => {
  await jobSql.end({ timeout: 1 });
  await stripe.close();
});

const deliver = async (event: unknown) => {
  const response = await handler.fetch(stripeRequest(event));
  await response.body?.cancel();
  return response.status;
};

/** A stripe-poll run with the Stripe stand-in. */
const jobRun = () =>
  testJobRun(jobSql, {
    stripe: () => createStripeClient({ secretKey: process.env.STRIPE_SECRET_KEY!, baseUrl: stripe.url, timeoutMs: 1000 }),
  });

/** What becomes of one event Stripe sends: delivered at once, twice, at a later step, or never (until the final redelivery). */
type Fate = "now" | "twice" | "late" | "lost";
const fate = fc.constantFrom<Fate>("now", "twice", "late", "lost");
/** A fraction of something, in hundredths (1..100). */
const part = fc.integer({ min: 1, max: 100 });
/** How a refund ends at Stripe, and how a dispute is closed. */
const refundEnd = fc.constantFrom<"succeeded" | "failed" | "canceled">("succeeded", "failed", "canceled");
const disputeEnd = fc.constantFrom<"won" | "lost" | "warning_closed">("won", "lost", "warning_closed");

const happening = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ k: fc.constant("refund" as const), p: fc.nat(1), part, pending: fc.boolean(), fates: fc.tuple(fate) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant("endRefund" as const),
      p: fc.nat(1),
      pick: fc.nat(9),
      to: refundEnd,
      fates: fc.tuple(fate, fate),
    }),
  },
  // A cardholder disputes the whole charge more often than part of it.
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant("openDispute" as const),
      p: fc.nat(1),
      part: fc.oneof(fc.constant(100), part),
      fates: fc.tuple(fate),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant("closeDispute" as const),
      p: fc.nat(1),
      to: disputeEnd,
      fates: fc.tuple(fate),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("spend" as const), p: fc.nat(1), part }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("deliverLate" as const), pick: fc.nat(9) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("poll" as const) }) },
);
type Happening = typeof happening extends fc.Arbitrary<infer H> ? H : never;

const paidTopUp = fc.record({ amount: fc.integer({ min: 100, max: 5000 }), paid: fate });
const scenario = fc.record({
  // One payment mostly, so that more happens to it; two now and then, whose effects must not mix.
  payments: fc.oneof(
    { weight: 3, arbitrary: fc.array(paidTopUp, { minLength: 1, maxLength: 1 }) },
    { weight: 1, arbitrary: fc.array(paidTopUp, { minLength: 2, maxLength: 2 }) },
  ),
  happenings: fc.array(happening, { minLength: 6, maxLength: 20 }),
  // The order of the final redeliveries: a seed, as their number is known only at the end.
  seed: fc.integer(),
  // How each payment's pending refunds and open dispute end at Stripe before the settling.
  ends: fc.array(fc.tuple(refundEnd, disputeEnd), { minLength: 2, maxLength: 2 }),
});

interface Paid {
  topUp: TopUp;
  ref: string;
  amount: number;
  spent: number;
  paymentId: string;
}

/** A shuffle by a seeded generator (mulberry32). */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** One run of the model: its payments, Stripe's events as sent, and the late ones not yet delivered. */
class World {
  paid: Paid[] = [];
  sent: unknown[] = [];
  late: unknown[] = [];

  async send(event: unknown, what: Fate) {
    this.sent.push(event);
    if (what === "now" || what === "twice") await this.expectDelivered(event);
    if (what === "twice") await this.expectDelivered(event);
    if (what === "late") this.late.push(event);
  }

  /** A delivery: 200, or 500 while its effect waits or the payment is not recorded yet (Stripe retries it). */
  async expectDelivered(event: unknown) {
    expect([200, 500]).toContain(await deliver(event));
  }

  refundsAtStripe(ref: string) {
    return [...stripe.refunds.values()].filter((r) => r.payment_intent === ref);
  }

  disputeAtStripe(ref: string) {
    return [...stripe.disputes.values()].find((d) => d.payment_intent === ref);
  }

  /** What Stripe would still refund of the payment: its amount less the refunds not failed or canceled. */
  refundable(p: Paid) {
    const counted = this.refundsAtStripe(p.ref).filter((r) => r.status !== "failed" && r.status !== "canceled");
    return p.amount - counted.reduce((sum, r) => sum + (r.amount as number), 0);
  }

  chargeRefunded(p: Paid) {
    return stripeChargeRefunded(p.ref, p.amount, p.amount - this.refundable(p));
  }

  /** A refund's change of status: the refund.* event and charge.refund.updated Stripe sends about it. */
  async refundChanged(refund: Record<string, unknown>, fates: readonly Fate[]) {
    const type = refund.status === "failed" ? "refund.failed" : "refund.updated";
    await this.send(stripeEvent(type, { ...refund }), fates[0]!);
    await this.send(stripeEvent("charge.refund.updated", { ...refund }), fates[1] ?? fates[0]!);
  }

  /** stripe-poll over this run's items: what the job's views list of them, each settled as a run settles it. */
  async poll() {
    const run = jobRun();
    const payments = this.paid.map((p) => p.paymentId).filter(Boolean);
    const intents = this.paid.map((p) => p.topUp.intentId);
    const items = await sql<{ kind: "intents" | "refunds" | "disputes"; id: string; referenceId: string }[]>`
      select 'intents' as kind, id, reference_id as "referenceId" from private.stripe_poll_intents where id = any(${intents}::uuid[])
      union all
      select 'refunds', v.id, v.reference_id from private.stripe_poll_refunds v join public.refunds r on r.id = v.id
       where r.payment_id = any(${payments}::uuid[])
      union all
      select 'disputes', v.id, v.reference_id from private.stripe_poll_disputes v
       where v.reference_id = any(${[...stripe.disputes.values()].map((d) => d.id as string)}::text[])`;
    for (const item of items) await settleStripeItem(run, item.kind, { id: item.id, referenceId: item.referenceId });
  }

  async pay(amount: number, paid: Fate) {
    const ref = `pi_${crypto.randomUUID().replaceAll("-", "")}`;
    const topUp = await createTopUp(sql, { provider: "stripe", amount, currency: "USD", providerRef: ref });
    stripe.paymentIntents.set(ref, {
      id: ref,
      object: "payment_intent",
      amount,
      amount_received: amount,
      currency: "usd",
      status: "succeeded",
      metadata: {},
      created: Math.floor(Date.now() / 1000),
    });
    const p: Paid = { topUp, ref, amount, spent: 0, paymentId: "" };
    this.paid.push(p);
    await this.send(stripePaymentSucceeded(ref, amount), paid);
    // A success not delivered yet is found by stripe-poll (the intent is polled past its mark),
    // before anything else happens to the payment: a refund's events would fail meanwhile.
    if (paid === "late" || paid === "lost") await this.poll();
    const [row] = await sql<{ id: string }[]>`
      select id from public.payments where provider = 'stripe' and provider_payment_id = ${ref} and status <> 'needs_review'`;
    expect(row).toBeDefined();
    p.paymentId = row!.id;
  }

  async happen(h: Happening) {
    if (h.k === "poll") return await this.poll();
    if (h.k === "deliverLate") {
      if (this.late.length === 0) return;
      const [event] = this.late.splice(h.pick % this.late.length, 1);
      return await this.expectDelivered(event);
    }
    const p = this.paid[h.p % this.paid.length]!;
    const dispute = this.disputeAtStripe(p.ref);
    if (h.k === "refund") {
      // Stripe refunds no more than is left, and no disputed charge (charge_disputed) unless the dispute was won.
      if (dispute && dispute.status !== "won" && dispute.status !== "warning_closed") return;
      const amount = Math.ceil((this.refundable(p) * h.part) / 100);
      if (amount < 1) return;
      stripe.dashboardRefund(p.ref, amount, h.pending ? "pending" : "succeeded");
      return await this.send(this.chargeRefunded(p), h.fates[0]);
    }
    if (h.k === "endRefund") {
      // A pending refund succeeds, fails or is canceled; a succeeded one can still fail.
      const open = this.refundsAtStripe(p.ref).filter((r) => r.status === "pending" || (r.status === "succeeded" && h.to === "failed"));
      if (open.length === 0) return;
      const refund = open[h.pick % open.length]!;
      const changed = stripe.settleRefund(refund.id as string, h.to, h.to === "failed" ? "expired_or_canceled_card" : undefined);
      return await this.refundChanged(changed, h.fates);
    }
    if (h.k === "openDispute") {
      if (dispute) return;
      const opened = stripe.openDispute(p.ref, Math.ceil((p.amount * h.part) / 100));
      return await this.send(stripeEvent("charge.dispute.created", { ...opened }), h.fates[0]);
    }
    if (h.k === "closeDispute") {
      if (!dispute || dispute.status !== "needs_response") return;
      const closed = stripe.settleDispute(dispute.id as string, h.to);
      return await this.send(stripeEvent("charge.dispute.closed", { ...closed }), h.fates[0]);
    }
    // The user spends part of what is available.
    const amount = Math.floor(((await balanceOf(sql, p.topUp.accountId)).available * h.part) / 100);
    if (amount < 1) return;
    const other = await createTopUp(sql, { provider: "stripe", amount: 1, currency: "USD", providerRef: null });
    await sql.begin(async (tx) => {
      await tx`set local role service_role`;
      await tx`select 1 from public.wallet_transfer(${p.topUp.accountId}::uuid, ${other.accountId}::uuid, ${amount}::bigint, 'USD',
                                                    ${`spend:${crypto.randomUUID()}`})`;
    });
    p.spent += amount;
  }

  /** Everything ends at Stripe: pending refunds and open disputes, each as `ends` says. */
  async endAtStripe(ends: readonly (readonly ["succeeded" | "failed" | "canceled", "won" | "lost" | "warning_closed"])[]) {
    for (const [n, p] of this.paid.entries()) {
      const [refundTo, disputeTo] = ends[n]!;
      for (const refund of this.refundsAtStripe(p.ref).filter((r) => r.status === "pending")) {
        const changed = stripe.settleRefund(refund.id as string, refundTo);
        await this.refundChanged(changed, ["late", "lost"]);
      }
      const dispute = this.disputeAtStripe(p.ref);
      if (dispute?.status === "needs_response") {
        await this.send(stripeEvent("charge.dispute.closed", { ...stripe.settleDispute(dispute.id as string, disputeTo) }), "late");
      }
    }
  }

  /** Stripe delivers every event once more, in `seed`'s order, retries what failed, and stripe-poll runs between. */
  async settle(seed: number) {
    for (const event of shuffled(this.sent, seed)) await this.expectDelivered(event);
    await this.poll();
    for (const event of this.sent) {
      const [stored] = await storedEvents(sql, "stripe", (event as { id: string }).id);
      if (stored?.status === "failed") await this.expectDelivered(event);
    }
    await this.poll();
  }

  /** Each payment as Stripe has it. */
  async expectAsStripe() {
    for (const p of this.paid) {
      const refunds = this.refundsAtStripe(p.ref);
      const recorded = await sql<{ provider_refund_id: string; status: string; amount: string }[]>`
        select provider_refund_id, status, amount from public.refunds where payment_id = ${p.paymentId}::uuid`;
      const statusOf = new Map(recorded.map((r) => [r.provider_refund_id, r.status]));
      for (const refund of refunds) expect(statusOf.get(refund.id as string), `refund ${refund.id}`).toBe(refund.status);

      // The ledger takes the payer's credit back at most once: what Stripe refunded, then what a
      // lost dispute took of the rest (decision 0029).
      const succeeded = refunds.filter((r) => r.status === "succeeded").reduce((sum, r) => sum + (r.amount as number), 0);
      const dispute = this.disputeAtStripe(p.ref);
      const lost = dispute?.status === "lost" ? Math.min(dispute.amount as number, p.amount - succeeded) : 0;
      // What a refund that failed after the dispute gave back is taken as <dispute id>:<refund id>.
      const disputeRows = recorded.filter((r) =>
        dispute && r.status === "succeeded" && (r.provider_refund_id === dispute.id || r.provider_refund_id.startsWith(`${dispute.id}:`))
      );
      expect(disputeRows.reduce((sum, r) => sum + Number(r.amount), 0), "what the lost dispute took back").toBe(lost);
      const [payment] = await sql<
        { amount_refunded: string }[]
      >`select amount_refunded from public.payments where id = ${p.paymentId}::uuid`;
      expect(Number(payment!.amount_refunded), "payments.amount_refunded").toBe(succeeded + lost);
      expect((await balanceOf(sql, p.topUp.accountId)).balance, "the wallet balance").toBe(p.amount - succeeded - lost - p.spent);

      const holds = await sql<{ status: string }[]>`
        select status from public.wallet_transactions where kind = 'hold' and idempotency_key = ${`dispute:stripe:${dispute?.id}`}`;
      expect(holds.filter((h) => h.status === "pending"), "dispute holds left pending").toEqual([]);
    }
    // Every event of Stripe's applied in the end, none dead or still failing; none of the poll's
    // dead. A poll's event for a lost dispute that waited stays failed once Stripe's own
    // delivery has applied the dispute: the poll no longer takes the dispute (its hold is voided).
    const ids = this.sent.map((event) => (event as { id: string }).id);
    const refs = this.paid.map((p) => p.ref);
    const unapplied = await sql<{ event_id: string; status: string }[]>`
      select event_id, status from public.webhook_events
       where provider = 'stripe' and status in ('failed', 'dead')
         and (event_id = any(${ids}) or payload #>> '{data,object,payment_intent}' = any(${refs}))`;
    expect(unapplied.filter((e) => ids.includes(e.event_id) || e.status === "dead"), "events not applied").toEqual([]);
  }
}

// 40 runs take some 8 s here. MODEL_RUNS and MODEL_SEED run it longer, or again, locally: with
// the fixes it passed 300 runs with each of seeds 1, 2, 3, 12, 13, 21, 22 and 23, and 400 with
// seed 11; before them it found each of its counterexamples within 200 runs.
const RUNS = modelRuns(40);

describe("the Stripe money path (model)", () => {
  it("ends as Stripe has each payment, whatever happens at Stripe and to its events", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ payments, happenings, seed, ends }) => {
        const world = new World();
        for (const { amount, paid } of payments) await world.pay(amount, paid);
        for (const h of happenings) await world.happen(h);
        await world.endAtStripe(ends);
        await world.settle(seed);
        await world.expectAsStripe();
      }),
      RUNS,
    );
    await assertLedgerInvariants(sql);
  }, Math.max(60_000, RUNS.numRuns * 1500));
});
