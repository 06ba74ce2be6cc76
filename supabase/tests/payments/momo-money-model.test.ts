// A model of the MoMo money paths, checked against the real gateway (payments, admin and
// momo-webhook), momo-poll's own code and the MoMo stand-in: a user whose wallet a MoMo top-up
// funded goes through random MoMo happenings. Top-ups, cash-outs and an admin's refunds of the
// top-ups, each of which MoMo takes, is down for (never received) or takes with its answer lost;
// MoMo ends each SUCCESSFUL, FAILED, SUCCESSFUL for another sum (decision 0024) or leaves it
// PENDING, its one callback delivered, delivered twice, lost or delivered late; the same request
// sent again; momo-poll run with time passed to its mark or past the accept window (MoMo's transfer
// endpoint down or up), alone or at the same moment as a callback or a retry; an admin resolving a
// transfer whose sending momo-poll has closed, as MoMo says; and the user spending between steps.
// Then everything is settled: MoMo ends what it still has PENDING, the late callbacks come, the
// window and the TTL pass and momo-poll runs until nothing of the run waits (an admin resolves what
// MoMo paid for another sum). mfuko must end as MoMo has it, the stand-in's records being the
// truth: each payment's state, each top-up credited once or not at all, each cash-out captured or
// voided, each refund recorded once or closed, the balance, no event failed or dead but those
// decision 0024 leaves for a person, and the ledger's invariants.
//
// Other files share this database and run momo-poll through their gateways, with their own MoMo
// stand-ins (which answer 404 for this file's references), marks and TTLs. So this file never
// runs the job: each of its rows is leased to momo-poll for good (private.job_leases) once the
// step that made it is done, before any time passes for it, so that no other file's run ever
// takes it; and its polls settle only its own payments, in-process with the job's own code
// (settleMomoItem), taken from the job's views as a run takes them, never through poll_take.
import { useTestSql } from "../support/test-sql.ts";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSql, type Sql } from "../../functions/_shared/db.ts";
import { createMomoClient, type MomoClient } from "../../functions/_shared/providers/momo/client.ts";
import { type MomoPollSource, momoPollSources, settleMomoItem } from "../../functions/jobs/momo-poll.ts";
import type { LeasedPayment } from "../../functions/jobs/poll.ts";
import { type AdminAnswer, adminRequest, answerOf } from "../support/admin-fixtures.ts";
import { assertLedgerInvariants } from "../support/ledger-invariants.ts";
import { testJobRun } from "../support/job-run.ts";
import { modelRuns } from "../support/model-runs.ts";
import { asServiceRole, balanceOf } from "../support/payments-fixtures.ts";
import { callPayments, PROVIDER_TIMEOUT_MS, type TopUpUser, topUpUser } from "../support/payments-gateway.ts";
import { momoStandInOptionsFromEnv } from "../support/provider-standins.ts";
import { usePaymentsGateway } from "../support/use-payments-gateway.ts";
import { useStaffCallers } from "../support/use-staff-callers.ts";

/** momo-poll's mark: time passing to it takes a payment past it, but a transfer not past the accept window. */
const POLL_AFTER_SECONDS = 5 * 86_400;
const TRANSFER_ACCEPT_SECONDS = 7 * 86_400;
// Past the mark a top-up is still MoMo's to end: only one MoMo never received is canceled, past the TTL.
const INTENT_TTL_SECONDS = 30 * 86_400;
const sql = useTestSql();
const gateway = usePaymentsGateway({
  // The runs' requests are many within the minute: the limits are not under test.
  RATE_LIMIT_PAYMENTS_PER_MIN: "100000",
  RATE_LIMIT_ADMIN_PER_MIN: "100000",
});
const staff = useStaffCallers(sql);

let jobSql: Sql;
let momo: MomoClient;
let publicFunctionsUrl: string | undefined;
beforeAll(() => {
  // A transfer momo-poll sends again names the gateway's momo-webhook for MoMo's callback.
  publicFunctionsUrl = process.env.PUBLIC_FUNCTIONS_URL;
  process.env.PUBLIC_FUNCTIONS_URL = gateway.url;
  jobSql = createSql();
  const { subscriptionKey, disbursementSubscriptionKey, apiUser, apiKey, targetEnvironment } = momoStandInOptionsFromEnv();
  momo = createMomoClient({
    baseUrl: gateway.momo.url,
    timeoutMs: PROVIDER_TIMEOUT_MS,
    subscriptionKey,
    disbursementSubscriptionKey,
    apiUser,
    apiKey,
    targetEnvironment,
  });
});
afterAll(async () => {
  await jobSql?.end({ timeout: 1 });
  if (publicFunctionsUrl === undefined) delete process.env.PUBLIC_FUNCTIONS_URL;
  else process.env.PUBLIC_FUNCTIONS_URL = publicFunctionsUrl;
});

/** A momo-poll run with the gateway's MoMo and this model's marks. */
const jobRun = () =>
  testJobRun(jobSql, { momo: () => momo }, {
    momoPollAfterSeconds: POLL_AFTER_SECONDS,
    intentTtlSeconds: INTENT_TTL_SECONDS,
    momoTransferAcceptSeconds: TRANSFER_ACCEPT_SECONDS,
  });

const MSISDN = "256772123456";
const FUNDS = 20_000;
const MOMO_DOWN = { status: 503, body: { code: "SERVICE_UNAVAILABLE", message: "Service unavailable" } } as const;

/** How MoMo ends a payment; OTHER_SUM: SUCCESSFUL for another amount than the one asked (decision 0024). */
type Outcome = "SUCCESSFUL" | "FAILED" | "OTHER_SUM";
/** What MoMo does with a payment once it has it: ends it now or later. */
type Fate = Outcome | "PENDING";
/** How MoMo's one callback for an ended payment reaches us. */
type Delivery = "callback" | "twice" | "lost" | "late";
/** How MoMo answers the POST of a request-to-pay or a transfer: takes it, is down (never received), or takes it and its answer is lost. */
type Send = "accept" | "down" | "silent";
type Step =
  | { kind: "topUp"; amount: number; send: Send; fate: Fate; delivery: Delivery }
  | { kind: "cashOut"; amount: number; send: Send; fate: Fate; delivery: Delivery }
  /** An admin refunds part of the `which`-th top-up with something left to refund (modulo how many). */
  | { kind: "refund"; which: number; share: number; send: Send; fate: Fate; delivery: Delivery }
  /** The user's (or the admin's) request of the `which`-th top-up or transfer again, with the same Idempotency-Key and body. */
  | { kind: "retry"; which: number; down: boolean }
  /** MoMo ends the `which`-th payment it still has PENDING. */
  | { kind: "momoEnds"; which: number; outcome: Outcome; delivery: Delivery }
  | { kind: "lateCallbacks" }
  /** Time passes (to the poll's mark, past the accept window, or not at all), then momo-poll runs. */
  | { kind: "poll"; passes: "none" | "mark" | "window"; transfersDown: boolean }
  /**
   * momo-poll runs (after time passes) while, at the same moment, MoMo's callback ends the
   * `which`-th payment it has PENDING, or the `which`-th transfer's request is sent again.
   */
  | { kind: "together"; which: number; with: "callback" | "retry"; outcome: Outcome; passes: "none" | "mark" | "window" }
  /** An admin resolves the `which`-th transfer mfuko still has pending, as MoMo says, where that is allowed. */
  | { kind: "resolve"; which: number }
  | { kind: "spend"; share: number };

const fate = fc.constantFrom<Fate>("SUCCESSFUL", "FAILED", "PENDING", "OTHER_SUM");
const outcome = fc.constantFrom<Outcome>("SUCCESSFUL", "FAILED", "OTHER_SUM");
const delivery = fc.constantFrom<Delivery>("callback", "twice", "lost", "late");
const send = fc.oneof({ weight: 4, arbitrary: fc.constantFrom<Send>("accept", "down") }, {
  weight: 1,
  arbitrary: fc.constant<Send>("silent"),
});
const share = fc.double({ min: 0.1, max: 1, noNaN: true });
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("topUp" as const),
      amount: fc.integer({ min: 1, max: 30 }).map((n) => n * 100),
      send,
      fate,
      delivery,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("cashOut" as const),
      amount: fc.integer({ min: 1, max: 60 }).map((n) => n * 100),
      send,
      fate,
      delivery,
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("refund" as const), which: fc.nat(5), share, send, fate, delivery }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("retry" as const), which: fc.nat(5), down: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("momoEnds" as const), which: fc.nat(5), outcome, delivery }) },
  { weight: 1, arbitrary: fc.constant({ kind: "lateCallbacks" as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("poll" as const),
      passes: fc.constantFrom("none" as const, "mark" as const, "window" as const),
      transfersDown: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("resolve" as const), which: fc.nat(5) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("together" as const),
      which: fc.nat(5),
      with: fc.constantFrom("callback" as const, "retry" as const),
      outcome,
      passes: fc.constantFrom("none" as const, "mark" as const, "window" as const),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("spend" as const), share }) },
);

/** How to ask for a payment again: the same request, key and body, while MoMo answers as `send` says. */
type Again = (send: Send) => Promise<AdminAnswer>;

/** A transfer of the run, and how to ask for it again. */
interface Transfer {
  id: string;
  ref: string;
  table: "cashouts" | "refunds";
  again: Again;
}

/** One run's payments as mfuko and MoMo name them. */
interface Run {
  user: TopUpUser;
  sink: TopUpUser;
  spent: number;
  topUps: string[];
  /** Every request of the run (top-ups, cash-outs, refunds), to be sent again. */
  requests: Again[];
  cashOuts: Transfer[];
  refunds: (Transfer & { paymentId: string })[];
  /** MoMo's decision per reference for a payment it does not have yet (sent while it was down). */
  fates: Map<string, { fate: Fate; delivery: Delivery }>;
  /** Callbacks MoMo sent that have not arrived yet. */
  late: { url: string; body: Record<string, unknown> }[];
  /** References MoMo confirmed for another sum than the one asked. */
  otherSum: Set<string>;
  /** How MoMo ends, in turn, what it still has PENDING when the run is settled. */
  endings: Outcome[];
}

const sentAmount = (ref: string) => Number((gateway.momo.requestsToPay.get(ref) ?? gateway.momo.transfers.get(ref))?.body.amount ?? 0);
const isTransfer = (ref: string) => gateway.momo.transfers.has(ref);
const momoHas = (ref: string) => gateway.momo.requestsToPay.has(ref) || isTransfer(ref);

/** MoMo ends `ref` and its one callback goes as `delivery` says. */
async function momoEnds(run: Run, ref: string, outcome: Outcome, delivery: Delivery) {
  const reported = outcome === "OTHER_SUM" ? { amount: String(sentAmount(ref) + 100) } : {};
  if (outcome === "OTHER_SUM") run.otherSum.add(ref);
  const status = outcome === "FAILED" ? "FAILED" : "SUCCESSFUL";
  if (delivery === "lost") {
    gateway.momo.settle(ref, status, undefined, reported);
  } else if (delivery === "late") {
    const found = gateway.momo.requestsToPay.get(ref) ?? gateway.momo.transfers.get(ref);
    run.late.push({ url: found!.callbackUrl!, body: gateway.momo.settle(ref, status, undefined, reported) });
  } else {
    for (let i = 0; i < (delivery === "twice" ? 2 : 1); i += 1) {
      const answer = await gateway.momo.decide(ref, status, undefined, reported);
      // A transfer confirmed for another sum fails its event (decision 0024) until an admin resolves it.
      if (!(outcome === "OTHER_SUM" && isTransfer(ref))) expect(answer).toBe(200);
    }
  }
}

/** MoMo decides now what the step says, for a payment it has; PENDING leaves it for later. */
async function momoHandles(run: Run, ref: string, fate: Fate, delivery: Delivery) {
  if (!momoHas(ref)) {
    run.fates.set(ref, { fate, delivery });
  } else if (fate !== "PENDING") {
    await momoEnds(run, ref, fate, delivery);
  }
}

/** A payment MoMo received only now (momo-poll or a retry sent it again) meets the fate its step gave it. */
async function applyFates(run: Run) {
  for (const [ref, { fate, delivery }] of [...run.fates]) {
    if (!momoHas(ref)) continue;
    run.fates.delete(ref);
    if (fate !== "PENDING") await momoEnds(run, ref, fate, delivery);
  }
}

async function deliverLate(run: Run) {
  for (const { url, body } of run.late.splice(0)) {
    const answer = await fetch(url, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    await answer.body?.cancel();
  }
}

/** MoMo's word on a reference: its status, or NONE when it never received it. */
const momoSays = (ref: string) => (gateway.momo.records.get(ref) as { status?: string } | undefined)?.status ?? "NONE";

const allRefs = (run: Run) => [...run.topUps, ...run.cashOuts.map((c) => c.ref), ...run.refunds.map((r) => r.ref)];

/** What MoMo has PENDING of this run's payments, in the order they were made. */
const momoPending = (run: Run) => allRefs(run).filter((ref) => momoSays(ref) === "PENDING");

/** The run's rows momo-poll may take, by table. */
const rowsOf = (run: Run) => ({
  payment_intents: run.topUps,
  cashouts: run.cashOuts.map((c) => c.id),
  refunds: run.refunds.map((r) => r.id),
});

/** The run's rows of each kind of momo-poll's sources. */
const itemsOf = (run: Run): Record<MomoPollSource["waiting"], string[]> => {
  const rows = rowsOf(run);
  return { intents: rows.payment_intents, cashouts: rows.cashouts, refunds: rows.refunds };
};

/** Keeps other files' momo-poll runs off the run's rows for good: leased until the end of time. */
async function guard(run: Run) {
  const ids = Object.values(rowsOf(run)).flat();
  await sql`
    insert into private.job_leases (job, item_id, leased_until)
    select 'momo-poll', id, 'infinity' from unnest(${ids}::uuid[]) id
    on conflict (job, item_id) do update set leased_until = excluded.leased_until`;
}

/** Moves every clock of the run's rows `seconds` back, as if that much time had passed (triggers off). */
async function timePasses(run: Run, seconds: number) {
  const rows = rowsOf(run);
  await sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    const back = tx`make_interval(secs => ${seconds})`;
    await tx`update public.payment_intents set created_at = created_at - ${back}, updated_at = updated_at - ${back}
              where id = any (${rows.payment_intents}::uuid[])`;
    await tx`update public.cashouts set created_at = created_at - ${back}, last_sent_at = last_sent_at - ${back}
              where id = any (${rows.cashouts}::uuid[])`;
    await tx`update public.refunds set created_at = created_at - ${back}, updated_at = updated_at - ${back},
                    last_sent_at = last_sent_at - ${back}
              where id = any (${rows.refunds}::uuid[])`;
  });
}

/** Runs `step` while MoMo answers request-to-pays and transfers as `send` says. */
async function whileMomo<T>(send: Send, step: () => Promise<T>): Promise<T> {
  const behaviour = send === "down" ? MOMO_DOWN : send === "silent" ? "accept-silently" : "accept";
  gateway.momo.transferBehaviour = behaviour;
  gateway.momo.requestToPayBehaviour = behaviour;
  try {
    return await step();
  } finally {
    gateway.momo.transferBehaviour = "accept";
    gateway.momo.requestToPayBehaviour = "accept";
  }
}

/**
 * The run's payment of `source` a momo-poll run would take next: in the job's view (still
 * waiting), waiting past the mark, not asked about yet by this run, the oldest first.
 */
async function nextItem(run: Run, source: MomoPollSource, asked: Set<string>): Promise<LeasedPayment | undefined> {
  const [item] = await sql<LeasedPayment[]>`
    select id, reference_id as "referenceId" from ${sql(`private.momo_poll_${source.waiting}`)}
     where id = any (${itemsOf(run)[source.waiting]}::uuid[]) and id <> all (${[...asked]}::uuid[])
       and waiting_since < now() - make_interval(secs => ${POLL_AFTER_SECONDS})
     order by waiting_since limit 1`;
  return item;
}

/**
 * One momo-poll run over the run's own payments, each settled by the job's code as a run settles
 * it (settleMomoItem), source after source, until MoMo does not answer.
 */
async function pollOwn(run: Run) {
  const job = jobRun();
  const asked = new Set<string>();
  for (const source of momoPollSources) {
    for (let item = await nextItem(run, source, asked); item !== undefined; item = await nextItem(run, source, asked)) {
      asked.add(item.id);
      if (await settleMomoItem(job, source, item) === "unreachable") return;
    }
  }
}

/** momo-poll over the run's payments, MoMo's transfer endpoint down or not, and `meanwhile` at the same moment. */
async function poll(run: Run, transfersDown = false, meanwhile: () => Promise<unknown> = () => Promise.resolve()) {
  await whileMomo(transfersDown ? "down" : "accept", () => Promise.all([pollOwn(run), meanwhile()]));
  await applyFates(run);
}

/** How long `passes` says. */
const passing = (passes: "none" | "mark" | "window") =>
  passes === "none" ? 0 : (passes === "mark" ? POLL_AFTER_SECONDS : TRANSFER_ACCEPT_SECONDS) + 60;

/** A retry of a request: its stored answer, its payment sent (again), or MoMo down; never a server error of ours. */
async function retry(again: Again, send: Send) {
  expect([200, 201, 409, 422, 502]).toContain((await again(send)).status);
}

/** The run's top-ups mfuko has a payment for, with what is left to refund (pending refunds counted). */
function paymentsOf(run: Run) {
  return sql<{ ref: string; paymentId: string; status: string; amount: number; refunded: number; refundable: number }[]>`
    select p.provider_payment_id as ref, p.id as "paymentId", p.status, p.amount::int as amount, p.amount_refunded::int as refunded,
           (p.amount - p.amount_refunded
             - coalesce((select sum(r.amount) from public.refunds r where r.payment_id = p.id and r.status = 'pending'), 0))::int
             as refundable
      from public.payments p where p.provider = 'momo' and p.provider_payment_id = any (${run.topUps}) order by p.created_at`;
}

/** The transfers mfuko has pending whose sending momo-poll has closed: an admin may resolve them. */
async function resolvable(run: Run): Promise<Transfer[]> {
  const closed = await sql<{ id: string }[]>`
    select id from public.cashouts where id = any (${run.cashOuts.map((c) => c.id)}::uuid[])
       and status = 'pending' and sending_closed_at is not null
    union all
    select id from public.refunds where id = any (${run.refunds.map((r) => r.id)}::uuid[])
       and status = 'pending' and sending_closed_at is not null`;
  const ids = new Set(closed.map((row) => row.id));
  return [...run.cashOuts, ...run.refunds].filter((t) => ids.has(t.id));
}

/** An admin records how MoMo ended `transfer` (MoMo's portal shows it); a transfer MoMo never received failed. */
async function resolve(transfer: Transfer) {
  const paid = momoSays(transfer.ref) === "SUCCESSFUL";
  const outcome = paid ? (transfer.table === "cashouts" ? "paid" : "succeeded") : "failed";
  const answer = await answerOf(
    await fetch(adminRequest(gateway.url, "POST", `/admin/${transfer.table}/${transfer.id}/resolve`, {
      token: staff.admin.token,
      idempotencyKey: crypto.randomUUID(),
      body: { outcome, reason: `MoMo's portal shows ${momoSays(transfer.ref)}` },
    })),
  );
  expect(answer.status).toBe(200);
}

/** The first answer to a payment's request: 201, or 502 when MoMo's answer did not come. */
const firstAnswer = (send: Send) => (send === "accept" ? 201 : 502);

/**
 * The first request of a payment, and MoMo's decision on it. When MoMo takes it and its answer is
 * lost, MoMo may end it at once: its callback then comes while the request still waits for MoMo.
 */
async function firstRequest(run: Run, again: Again, s: { send: Send; fate: Fate; delivery: Delivery }): Promise<AdminAnswer> {
  const known = new Set([...gateway.momo.requestsToPay.keys(), ...gateway.momo.transfers.keys()]);
  const fresh = () => [...gateway.momo.requestsToPay.keys(), ...gateway.momo.transfers.keys()].find((ref) => !known.has(ref));
  const request = again(s.send);
  if (s.send === "silent" && s.fate !== "PENDING") {
    const deadline = Date.now() + 5_000;
    while (fresh() === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    await momoEnds(run, fresh()!, s.fate, s.delivery);
  }
  const answer = await request;
  expect(answer.status).toBe(firstAnswer(s.send));
  return answer;
}

/** MoMo's decision on a payment whose first request firstRequest did not see decided. */
async function afterFirst(run: Run, ref: string, s: { send: Send; fate: Fate; delivery: Delivery }) {
  if (!(s.send === "silent" && s.fate !== "PENDING")) await momoHandles(run, ref, s.fate, s.delivery);
}

/** The user's POST of `body` to the payments function's `path`, with one Idempotency-Key however often it is sent. */
function userRequest(run: Run, path: string, body: Record<string, unknown>): Again {
  const key = crypto.randomUUID();
  return (momo) =>
    whileMomo(momo, () =>
      callPayments(gateway.url, "POST", path, {
        token: run.user.token,
        idempotencyKey: key,
        body: { ...body, account_id: run.user.accountId, currency: "UGX", msisdn: MSISDN },
      }));
}

/** The user's MoMo top-up of `amount`; its reference, the intent's id. */
async function topUp(run: Run, amount: number, s: { send: Send; fate: Fate; delivery: Delivery }): Promise<string> {
  const again = userRequest(run, "/topups", { provider: "momo", amount });
  const answer = await firstRequest(run, again, s);
  const ref = (answer.status === 201 ? answer.body.intent.id : answer.body.error.details.intent.id) as string;
  run.topUps.push(ref);
  run.requests.push(again);
  await afterFirst(run, ref, s);
  return ref;
}

async function cashOut(run: Run, s: Extract<Step, { kind: "cashOut" }>) {
  const { available } = await balanceOf(sql, run.user.accountId);
  if (s.amount > available) return;
  const again = userRequest(run, "/cashouts", { amount: s.amount });
  await firstRequest(run, again, s);
  const [row] = await sql<{ id: string; ref: string }[]>`
    select id, reference_id::text as ref from public.cashouts
     where user_id = ${run.user.userId}::uuid and id <> all (${run.cashOuts.map((c) => c.id)}::uuid[])`;
  run.cashOuts.push({ ...row!, table: "cashouts", again });
  run.requests.push(again);
  await afterFirst(run, row!.ref, s);
}

async function refund(run: Run, s: Extract<Step, { kind: "refund" }>) {
  const refundable = (await paymentsOf(run)).filter((p) => p.refundable > 0 && p.status !== "needs_review");
  if (refundable.length === 0) return;
  const payment = refundable[s.which % refundable.length]!;
  const amount = Math.max(1, Math.floor(payment.refundable * s.share));
  const key = crypto.randomUUID();
  const again = (transfers: Send) =>
    whileMomo(transfers, async () =>
      answerOf(
        await fetch(adminRequest(gateway.url, "POST", `/admin/payments/${payment.paymentId}/refund`, {
          token: staff.admin.token,
          idempotencyKey: key,
          body: { amount, reason: "model refund" },
        })),
      ));
  await firstRequest(run, again, s);
  const [row] = await sql<{ id: string; ref: string }[]>`
    select id, provider_refund_id as ref from public.refunds
     where payment_id = ${payment.paymentId}::uuid and id <> all (${run.refunds.map((r) => r.id)}::uuid[])`;
  run.refunds.push({ ...row!, table: "refunds", again, paymentId: payment.paymentId });
  run.requests.push(again);
  await afterFirst(run, row!.ref, s);
}

async function apply(run: Run, s: Step) {
  switch (s.kind) {
    case "topUp":
      await topUp(run, s.amount, s);
      break;
    case "cashOut":
      await cashOut(run, s);
      break;
    case "refund":
      await refund(run, s);
      break;
    case "retry": {
      await retry(run.requests[s.which % run.requests.length]!, s.down ? "down" : "accept");
      await applyFates(run);
      break;
    }
    case "momoEnds": {
      const pending = momoPending(run);
      if (pending.length > 0) await momoEnds(run, pending[s.which % pending.length]!, s.outcome, s.delivery);
      break;
    }
    case "lateCallbacks":
      await deliverLate(run);
      break;
    case "poll":
      await timePasses(run, passing(s.passes));
      await poll(run, s.transfersDown);
      break;
    case "together": {
      await timePasses(run, passing(s.passes));
      const pending = momoPending(run);
      if (s.with === "callback" && pending.length > 0) {
        await poll(run, false, () => momoEnds(run, pending[s.which % pending.length]!, s.outcome, "callback"));
      } else if (s.with === "retry") {
        await poll(run, false, () => retry(run.requests[s.which % run.requests.length]!, "accept"));
      } else {
        await poll(run);
      }
      break;
    }
    case "resolve": {
      // Only once MoMo has said how it ended (or, sending closed, that it never had it).
      const ended = (await resolvable(run)).filter((t) => momoSays(t.ref) !== "PENDING");
      if (ended.length > 0) await resolve(ended[s.which % ended.length]!);
      break;
    }
    case "spend": {
      const { available } = await balanceOf(sql, run.user.accountId);
      const amount = Math.floor(available * s.share);
      if (amount <= 0) break;
      await asServiceRole(
        sql,
        (tx) =>
          tx`select 1 from public.wallet_transfer(${run.user.accountId}::uuid, ${run.sink.accountId}::uuid, ${amount}::bigint, 'UGX',
                                                ${crypto.randomUUID()})`,
      );
      run.spent += amount;
      break;
    }
  }
  await guard(run);
}

/**
 * What of the run mfuko still has waiting. The intent of a top-up paid for another sum stays
 * open beside its payment in review, for a person to settle.
 */
async function waiting(run: Run): Promise<number> {
  const rows = rowsOf(run);
  const [left] = await sql<{ n: number }[]>`
    select (select count(*) from public.payment_intents i where i.id = any (${rows.payment_intents}::uuid[])
               and i.status in ('requires_payment', 'processing')
               and not exists (select 1 from public.payments p where p.intent_id = i.id and p.status = 'needs_review'))::int
         + (select count(*) from public.cashouts where id = any (${rows.cashouts}::uuid[]) and status = 'pending')::int
         + (select count(*) from public.refunds where id = any (${rows.refunds}::uuid[]) and status = 'pending')::int as n`;
  return left!.n;
}

/**
 * MoMo ends everything it still has PENDING, its late callbacks come, the window and the TTL pass and
 * momo-poll runs until nothing waits; a transfer MoMo confirmed for another sum is resolved by an
 * admin once its sending is closed.
 */
async function settle(run: Run) {
  let turn = 0;
  const endPending = async () => {
    for (const ref of momoPending(run)) await momoEnds(run, ref, run.endings[turn++ % run.endings.length]!, "lost");
  };
  await endPending();
  await deliverLate(run);
  // Past the accept window and the intents' TTL: what MoMo never received ends too.
  await timePasses(run, INTENT_TTL_SECONDS + 60);
  for (let round = 0; round < 5 && (await waiting(run)) > 0; round += 1) {
    await poll(run);
    await endPending();
    for (const transfer of await resolvable(run)) {
      if (run.otherSum.has(transfer.ref)) await resolve(transfer);
    }
  }
}

async function expectAsMomoHasIt(run: Run) {
  let balance = -run.spent;
  const payments = new Map((await paymentsOf(run)).map((p) => [p.ref, p]));
  // No request, retry or job made a transfer the run did not ask for.
  const [made] = await sql<{ cashOuts: number; refunds: number }[]>`
    select (select count(*) from public.cashouts where user_id = ${run.user.userId}::uuid)::int as "cashOuts",
           (select count(*) from public.refunds r join public.payments p on p.id = r.payment_id
             where p.provider = 'momo' and p.provider_payment_id = any (${run.topUps}))::int as refunds`;
  expect(made).toEqual({ cashOuts: run.cashOuts.length, refunds: run.refunds.length });
  for (const ref of run.topUps) {
    const [intent] = await sql<{ status: string }[]>`select status from public.payment_intents where id = ${ref}::uuid`;
    const momo = momoSays(ref);
    const credited = momo === "SUCCESSFUL" && !run.otherSum.has(ref);
    // Another sum than asked is for a person to review: a payment, not credited.
    const payment = momo !== "SUCCESSFUL" ? "none" : credited ? "credited" : "needs_review";
    const found = payments.get(ref);
    expect({ ref, momo, payment: found === undefined ? "none" : found.status === "needs_review" ? "needs_review" : "credited" }).toEqual({
      ref,
      momo,
      payment,
    });
    if (credited) expect({ ref, intent: intent!.status }).toEqual({ ref, intent: "succeeded" });
    if (momo === "FAILED") expect({ ref, intent: intent!.status }).toEqual({ ref, intent: "failed" });
    if (momo === "NONE") expect({ ref, intent: intent!.status }).toEqual({ ref, intent: "canceled" });
    if (credited) balance += sentAmount(ref);
  }
  for (const { id, ref } of run.cashOuts) {
    const [row] = await sql<{ status: string; reason: string | null; resolved: boolean; hold: string; amount: number }[]>`
      select c.status, c.reason, c.resolved_by is not null as resolved, t.status as hold, c.amount::int from public.cashouts c
        join public.wallet_transactions t on t.id = c.hold_id where c.id = ${id}::uuid`;
    const momo = momoSays(ref);
    expect({ ref, momo, status: row!.status, hold: row!.hold, notAccepted: row!.reason === "not_accepted" }).toEqual({
      ref,
      momo,
      status: momo === "SUCCESSFUL" ? "paid" : "failed",
      hold: momo === "SUCCESSFUL" ? "posted" : "voided",
      notAccepted: momo === "NONE" && !row!.resolved,
    });
    if (momo === "SUCCESSFUL") balance -= row!.amount;
  }
  for (const { id, ref, paymentId } of run.refunds) {
    const [row] = await sql<{ status: string; amount: number; reversal: string | null }[]>`
      select status, amount::int, wallet_transaction_id as reversal from public.refunds where id = ${id}::uuid`;
    const momo = momoSays(ref);
    expect({ ref, momo, status: row!.status, recorded: row!.reversal !== null }).toEqual({
      ref,
      momo,
      status: momo === "SUCCESSFUL" ? "succeeded" : "failed",
      recorded: momo === "SUCCESSFUL",
    });
    if (momo === "SUCCESSFUL") {
      balance -= row!.amount;
      payments.get(run.topUps.find((t) => payments.get(t)?.paymentId === paymentId)!)!.refunded -= row!.amount;
    }
  }
  // Each payment's refunded sum is the refunds MoMo paid, each counted once.
  for (const payment of payments.values()) {
    expect({ ref: payment.ref, unexplained: payment.refunded }).toEqual({ ref: payment.ref, unexplained: 0 });
  }
  expect(await balanceOf(sql, run.user.accountId)).toEqual({ balance, available: balance });
  // Nothing MoMo has ended is left failed or dead for a person to look at, but for another sum (decision 0024).
  const settled = allRefs(run).filter((ref) => !run.otherSum.has(ref));
  const stuck = await sql<{ event_id: string; status: string; last_error: string | null }[]>`
    select event_id, status, last_error from public.webhook_events
     where provider = 'momo' and split_part(event_id, ':', 1) = any (${settled}) and status <> 'processed'`;
  expect(stuck).toEqual([]);
  expect(await waiting(run)).toBe(0);
  await assertLedgerInvariants(sql);
}

/** A user whose wallet MoMo's first top-up funded, and an account the user spends to. */
async function newRun(endings: Outcome[]): Promise<Run> {
  const run: Run = {
    user: await topUpUser(sql, "UGX"),
    sink: await topUpUser(sql, "UGX"),
    spent: 0,
    topUps: [],
    requests: [],
    cashOuts: [],
    refunds: [],
    fates: new Map(),
    late: [],
    otherSum: new Set(),
    endings,
  };
  await topUp(run, FUNDS, { send: "accept", fate: "SUCCESSFUL", delivery: "callback" });
  return run;
}

const RUNS = modelRuns(10);

describe("the MoMo money model", () => {
  // 10 runs here take 11 to 15 s. Tried locally (MODEL_RUNS, MODEL_SEED) on the model as it
  // grew: about 1,450 runs over seeds 1 to 9 and random ones (300 with seed 4; 200 with seed 7 and
  // 120 with seed 9 through the gateway's momo-poll), then, settling in-process, 150 with seed 4,
  // 150 with seed 12 and 30 random ones, none failing.
  it("ends every top-up, cash-out and refund as MoMo has it, whatever the callbacks, the polls and the user's spending", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 3, maxLength: 12 }),
        fc.array(outcome, { minLength: 1, maxLength: 4 }),
        async (steps, endings) => {
          const run = await newRun(endings);
          for (const s of steps) await apply(run, s);
          await settle(run);
          await expectAsMomoHasIt(run);
        },
      ),
      RUNS,
    );
  }, 60_000 + RUNS.numRuns * 5_000);
});
