// The scheduled jobs through a real Deno gateway and the MoMo stand-in: a lost MoMo callback
// (top-up, cash-out or refund) healed by momo-poll (credited once, a second run does nothing;
// a top-up's request-to-pay whose answer was lost too), a request-to-pay MoMo never received
// left for the user's retry and canceled past the TTL by momo-poll, not by expire-intents,
// a transfer MoMo never received sent again, then failed as not_accepted, a same-key retry of
// a cash-out or a refund at the window's end holding not_accepted back (and MoMo paying that
// retry's refund recording it once), no send once momo-poll has closed the sending, a cash-out
// settled behind a backlog of more top-ups than a run takes, MoMo down
// during a poll, MoMo slow to answer (each payment asked about within its lease), intents and holds expiring, two runners at once, the service_role key as the
// only way in, the reconcile report and its WhatsApp alert to the admins, and whatsapp-send
// through the Graph API stand-in.
//
// Other suites share this database and make MoMo intents and holds of their own. So the
// gateway polls only payments waiting longer than an hour and expires intents older than a
// day, and this file ages its own rows past those marks (as the superuser, triggers off):
// every count below is about this file's rows only.
import { useTestSql } from "../../tests/support/test-sql.ts";
import { describe, expect, it } from "vitest";
import { TokenMinter } from "@mfuko/local-stack/tokens";
import { type AdminAnswer, adminRequest, answerOf } from "../../tests/support/admin-fixtures.ts";
import {
  age,
  asServiceRole,
  balanceOf,
  createTopUp,
  creditsTo,
  intentStatus,
  storedEvents,
} from "../../tests/support/payments-fixtures.ts";
import { callPayments, MOMO_PAYER, paidMomoTopUp, type PaymentsGateway, topUpUser } from "../../tests/support/payments-gateway.ts";
import { whileAnswering } from "../../tests/support/provider-standins.ts";
import { twoRunsTaking } from "../../tests/support/two-runs.ts";
import { usePaymentsGateway } from "../../tests/support/use-payments-gateway.ts";
import { useStaffCallers } from "../../tests/support/use-staff-callers.ts";
import { momoCallbackToken } from "../../tests/support/webhook-requests.ts";
import { enqueue, newWaId, outboxRow } from "../../tests/support/whatsapp-fixtures.ts";
import { runWhatsAppSendAlone } from "../../tests/support/whatsapp-send-alone.ts";

const POLL_AFTER_SECONDS = 3600;
const INTENT_TTL_SECONDS = 86_400;
const TRANSFER_ACCEPT_SECONDS = 14_400;
const BATCH_SIZE = 100;
const sql = useTestSql();
const minter = new TokenMinter(process.env.SUPABASE_JWT_SECRET!);
const gateway = usePaymentsGateway({
  JOBS_MOMO_POLL_AFTER_SECONDS: String(POLL_AFTER_SECONDS),
  JOBS_INTENT_TTL_SECONDS: String(INTENT_TTL_SECONDS),
  JOBS_MOMO_TRANSFER_ACCEPT_SECONDS: String(TRANSFER_ACCEPT_SECONDS),
  JOBS_BATCH_SIZE: String(BATCH_SIZE),
});

const runJob = (job: string, token?: string | null): Promise<AdminAnswer> => gateway.runJob(job, token);

/**
 * Runs whatsapp-send until the rows `ids` are no longer due. Other suites queue messages too, so
 * a run may spend its batch on theirs; every assertion is about the test's own recipients.
 */
async function runUntilSettled(ids: string[]): Promise<void> {
  for (let run = 0; run < 5; run += 1) {
    expect((await runJob("whatsapp-send")).status).toBe(200);
    const [left] = await sql<{ n: number }[]>`
      select count(*)::int as n from public.whatsapp_outbox where id = any (${ids}::uuid[]) and status in ('queued', 'sending')
         and next_attempt_at <= now()`;
    if (left!.n === 0) return;
  }
}

/** POST /payments/topups of a MoMo top-up of `amount` by `user` with `key` (through `via`). */
const momoTopUpRequest = (user: { token: string; accountId: string }, key: string, amount: number, via: PaymentsGateway = gateway) =>
  callPayments(via.url, "POST", "/topups", {
    token: user.token,
    idempotencyKey: key,
    body: { provider: "momo", account_id: user.accountId, amount, currency: "UGX", msisdn: "256772123456" },
  });

/** A MoMo top-up through POST /payments/topups (of `via`), waiting for the payer. */
async function momoTopUp(amount: number, via: PaymentsGateway = gateway) {
  const user = await topUpUser(sql, "UGX");
  const answer = await momoTopUpRequest(user, crypto.randomUUID(), amount, via);
  expect(answer.status).toBe(201);
  return { ...user, intentId: answer.body.intent.id as string };
}

/** A MoMo top-up MoMo never received (it answered 503: 502); its intent id. */
async function momoTopUpWhileDown(user: { token: string; accountId: string }, key: string, amount: number): Promise<string> {
  gateway.momo.requestToPayBehaviour = { status: 503, body: { code: "SERVICE_UNAVAILABLE", message: "try later" } };
  const down = await momoTopUpRequest(user, key, amount).finally(() => (gateway.momo.requestToPayBehaviour = "accept"));
  expect(down.status).toBe(502);
  const intentId = down.body.error.details.intent.id as string;
  expect(gateway.momo.requestsToPay.has(intentId)).toBe(false);
  return intentId;
}

const statusLookups = (referenceId: string) =>
  gateway.momo.requests.filter((r) => r === `GET /collection/v1_0/requesttopay/${referenceId}`).length;

describe("momo-poll", () => {
  it("heals a lost callback: the approved payment is credited once, and a second run does nothing", async () => {
    const topUp = await momoTopUp(7000);
    gateway.momo.settle(topUp.intentId, "SUCCESSFUL");
    await age(sql, "payment_intents", topUp.intentId, POLL_AFTER_SECONDS + 60);

    const first = await runJob("momo-poll");
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      job: "momo-poll",
      taken: 1,
      applied: 1,
      already_applied: 0,
      pending: 0,
      resent: 0,
      errors: 0,
    });
    expect(await intentStatus(sql, topUp.intentId)).toMatchObject({ status: "succeeded" });
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 7000, available: 7000 });
    expect(await creditsTo(sql, topUp.accountId)).toBe(1);

    const second = await runJob("momo-poll");
    expect(second.body).toMatchObject({ taken: 0, applied: 0 });
    expect(await creditsTo(sql, topUp.accountId)).toBe(1);
    expect(statusLookups(topUp.intentId)).toBe(1);
  });

  it("a late callback after the poll is a duplicate: still one credit", async () => {
    const topUp = await momoTopUp(1200);
    gateway.momo.settle(topUp.intentId, "SUCCESSFUL");
    await age(sql, "payment_intents", topUp.intentId, POLL_AFTER_SECONDS + 60);
    expect((await runJob("momo-poll")).body).toMatchObject({ applied: 1 });
    expect(await gateway.momo.decide(topUp.intentId, "SUCCESSFUL")).toBe(200);
    expect(await creditsTo(sql, topUp.accountId)).toBe(1);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 1200, available: 1200 });
  });

  it("FAILED fails the intent; PENDING leaves it for a later run", async () => {
    const rejected = await momoTopUp(500);
    const waiting = await momoTopUp(600);
    gateway.momo.settle(rejected.intentId, "FAILED", "APPROVAL_REJECTED");
    await age(sql, "payment_intents", rejected.intentId, POLL_AFTER_SECONDS + 60);
    await age(sql, "payment_intents", waiting.intentId, POLL_AFTER_SECONDS + 30);

    expect((await runJob("momo-poll")).body).toMatchObject({ taken: 2, applied: 1, pending: 1, errors: 0 });
    expect(await intentStatus(sql, rejected.intentId)).toEqual({ status: "failed", failure_reason: "APPROVAL_REJECTED" });
    expect(await intentStatus(sql, waiting.intentId)).toMatchObject({ status: "processing" });
    expect(await balanceOf(sql, rejected.accountId)).toEqual({ balance: 0, available: 0 });
    // Leased: the next run does not ask again before the lease runs out.
    expect((await runJob("momo-poll")).body).toMatchObject({ taken: 0 });
    expect(statusLookups(waiting.intentId)).toBe(1);
  });

  it("MoMo down: an error, nothing applied; once its lease runs out and MoMo is back, the next run credits", async () => {
    const topUp = await momoTopUp(900);
    const approved = gateway.momo.settle(topUp.intentId, "SUCCESSFUL");
    gateway.momo.records.set(topUp.intentId, 503);
    await age(sql, "payment_intents", topUp.intentId, POLL_AFTER_SECONDS + 60);

    const down = await runJob("momo-poll");
    expect(down.status).toBe(200);
    expect(down.body).toMatchObject({ taken: 1, applied: 0, errors: 1 });
    expect(await intentStatus(sql, topUp.intentId)).toMatchObject({ status: "processing" });
    expect(await creditsTo(sql, topUp.accountId)).toBe(0);

    gateway.momo.records.set(topUp.intentId, approved);
    await sql`delete from private.job_leases where item_id = ${topUp.intentId}::uuid`;
    expect((await runJob("momo-poll")).body).toMatchObject({ taken: 1, applied: 1, errors: 0 });
    expect(await creditsTo(sql, topUp.accountId)).toBe(1);
  });

  it("two runners at once: each payment is asked about and credited exactly once", async () => {
    const topUps = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => momoTopUp(100 * n)));
    for (const topUp of topUps) {
      gateway.momo.settle(topUp.intentId, "SUCCESSFUL");
      await age(sql, "payment_intents", topUp.intentId, POLL_AFTER_SECONDS + 60);
    }
    const runs = await twoRunsTaking(() => runJob("momo-poll"), 6);
    expect(runs[0]!.body.applied + runs[1]!.body.applied).toBe(6);
    for (const topUp of topUps) {
      expect(statusLookups(topUp.intentId)).toBe(1);
      expect(await creditsTo(sql, topUp.accountId)).toBe(1);
    }
  });

  it("a request-to-pay MoMo took but whose answer was lost (502) is polled by its reference: the approval is credited once", async () => {
    const user = await topUpUser(sql, "UGX");
    gateway.momo.requestToPayBehaviour = "accept-silently";
    const lost = await momoTopUpRequest(user, crypto.randomUUID(), 8000).finally(() => (gateway.momo.requestToPayBehaviour = "accept"));
    expect(lost.status).toBe(502);
    const intentId = lost.body.error.details.intent.id as string;
    // MoMo prompted the payer, who approves; MoMo's one callback is lost.
    expect(gateway.momo.requestsToPay.has(intentId)).toBe(true);
    gateway.momo.settle(intentId, "SUCCESSFUL");
    await age(sql, "payment_intents", intentId, POLL_AFTER_SECONDS + 60);

    expect((await runJob("momo-poll")).body).toMatchObject({ applied: 1 });
    expect(statusLookups(intentId)).toBe(1);
    expect(await intentStatus(sql, intentId)).toMatchObject({ status: "succeeded" });
    expect(await balanceOf(sql, user.accountId)).toEqual({ balance: 8000, available: 8000 });
    expect(await creditsTo(sql, user.accountId)).toBe(1);
  });

  it("a request-to-pay MoMo never received (404) stays open for the user's retry, which sends it with the same reference", async () => {
    const user = await topUpUser(sql, "UGX");
    const key = crypto.randomUUID();
    const intentId = await momoTopUpWhileDown(user, key, 2500);
    await age(sql, "payment_intents", intentId, POLL_AFTER_SECONDS + 60);

    await runJob("momo-poll");
    expect(statusLookups(intentId)).toBe(1);
    expect(await intentStatus(sql, intentId)).toEqual({ status: "processing", failure_reason: null });
    const retried = await momoTopUpRequest(user, key, 2500);
    expect(retried.status).toBe(201);
    expect(retried.body.intent).toMatchObject({ id: intentId, status: "processing" });
    expect(gateway.momo.requestsToPay.has(intentId)).toBe(true);
    expect(await gateway.momo.decide(intentId, "SUCCESSFUL")).toBe(200);
    expect(await creditsTo(sql, user.accountId)).toBe(1);
  });

  it("past the TTL, expire-intents leaves a MoMo intent to momo-poll: paid before expiry, it is credited; never received, it is canceled", async () => {
    const paid = await momoTopUp(2000);
    gateway.momo.settle(paid.intentId, "SUCCESSFUL");
    const unknownUser = await topUpUser(sql, "UGX");
    const unknown = await momoTopUpWhileDown(unknownUser, crypto.randomUUID(), 1500);
    const pending = await momoTopUp(1000);
    for (const intentId of [paid.intentId, unknown, pending.intentId]) await age(sql, "payment_intents", intentId, INTENT_TTL_SECONDS + 60);

    await runJob("expire-intents");
    for (const intentId of [paid.intentId, unknown, pending.intentId]) {
      expect(await intentStatus(sql, intentId)).toMatchObject({ status: "processing" });
    }

    await runJob("momo-poll");
    expect(await intentStatus(sql, paid.intentId)).toEqual({ status: "succeeded", failure_reason: null });
    expect(await balanceOf(sql, paid.accountId)).toEqual({ balance: 2000, available: 2000 });
    expect(await intentStatus(sql, unknown)).toEqual({
      status: "canceled",
      failure_reason: `expired: no payment within ${INTENT_TTL_SECONDS} seconds`,
    });
    // MoMo still asks the payer: the request stays open until MoMo ends it.
    expect(await intentStatus(sql, pending.intentId)).toEqual({ status: "processing", failure_reason: null });
    for (const account of [unknownUser.accountId, pending.accountId]) expect(await creditsTo(sql, account)).toBe(0);
  });
});

/** MoMo unavailable (503): it may or may not have taken the transfer. */
const MOMO_UNAVAILABLE = { status: 503, body: { code: "SERVICE_UNAVAILABLE", message: "Service unavailable" } } as const;
/** MoMo refusing a transfer: a 4xx with its code. */
const PAYEE_NOT_FOUND = { status: 400, body: { code: "PAYEE_NOT_FOUND", message: "Payee not found" } } as const;
/** A 404 that is not MoMo's (its API gateway's, a wrong base URL's): no RESOURCE_NOT_FOUND in it. */
const GATEWAY_404 = { status: 404, body: { statusCode: 404, message: "Resource not found" } } as const;

const transferPosts = () => gateway.momo.requests.filter((r) => r === "POST /disbursement/v1_0/transfer").length;
const releaseLease = (id: string) => sql`delete from private.job_leases where item_id = ${id}::uuid`;

/** `step` while MoMo answers transfers as `behaviour`. */
const withTransfers = <T>(behaviour: PaymentsGateway["momo"]["transferBehaviour"], step: () => Promise<T>) =>
  whileAnswering(gateway.momo, "transferBehaviour", behaviour, step);

describe("momo-poll with MoMo slow to answer", () => {
  // A gateway of its own, whose leases last 2 s and whose momo-poll asks only about payments
  // waiting over a week: this test's, brought back out of that mark afterwards.
  const LEASE_SECONDS = 2;
  const WEEK_SECONDS = 604_800;
  const slow = usePaymentsGateway({
    JOBS_MOMO_POLL_AFTER_SECONDS: String(WEEK_SECONDS),
    JOBS_LEASE_SECONDS: String(LEASE_SECONDS),
    JOBS_INTENT_TTL_SECONDS: String(30 * 86_400),
  });

  it("asks MoMo about each payment within its lease, and leaves what it cannot reach in one lease to the next run", async () => {
    const topUps = [];
    for (const amount of [100, 200, 300, 400]) topUps.push(await momoTopUp(amount, slow));
    for (const topUp of topUps) await age(sql, "payment_intents", topUp.intentId, WEEK_SECONDS + 60);
    // MoMo answers each status after 0.8 s: the four take longer than one lease. Whether the
    // payment's lease still holds is checked as the answer leaves.
    const held: boolean[] = [];
    slow.momo.onStatus = async (referenceId) => {
      await new Promise((resolve) => setTimeout(resolve, 800));
      const [lease] = await sql<{ held: boolean }[]>`
        select leased_until > clock_timestamp() as held from private.job_leases where job = 'momo-poll' and item_id = ${referenceId}::uuid`;
      held.push(lease?.held ?? false);
    };
    try {
      const first = await slow.runJob("momo-poll");
      expect(held).toEqual([true, true, true]);
      expect(first.body).toMatchObject({ taken: 3, pending: 3, errors: 0 });
    } finally {
      slow.momo.onStatus = null;
      for (const topUp of topUps) await age(sql, "payment_intents", topUp.intentId, 0);
    }
  });
});

describe("momo-poll for cash-outs", () => {
  /** Moves a cash-out's history `seconds` into the past: made (and sent) then. */
  async function ageCashOut(id: string, seconds: number) {
    await sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`
        update public.cashouts set created_at = now() - make_interval(secs => ${seconds}), last_sent_at = now() - make_interval(secs => ${seconds})
         where id = ${id}::uuid`;
    });
  }

  /**
   * A cash-out through POST /payments/cashouts from a funded account, aged `seconds` (past the
   * poll mark); `momoDown`: MoMo answered its transfer 503, so it never received it (502).
   * `retry` sends the same request again (the same Idempotency-Key and body).
   */
  async function agedCashOut(amount: number, { seconds = POLL_AFTER_SECONDS + 60, momoDown = false } = {}) {
    const user = await topUpUser(sql, "UGX");
    await asServiceRole(sql, (tx) =>
      tx`
      select public.wallet_deposit(${user.accountId}::uuid, ${amount}::bigint, 'UGX', 'momo', ${crypto.randomUUID()})`);
    const idempotencyKey = crypto.randomUUID();
    const retry = () =>
      callPayments(gateway.url, "POST", "/cashouts", {
        token: user.token,
        idempotencyKey,
        body: { account_id: user.accountId, amount, currency: "UGX", msisdn: "256772123456" },
      });
    const answer = await withTransfers(momoDown ? MOMO_UNAVAILABLE : "accept", retry);
    expect(answer.status).toBe(momoDown ? 502 : 201);
    const [row] = await sql<{ id: string; reference_id: string }[]>`
      select id, reference_id::text from public.cashouts where user_id = ${user.userId}::uuid`;
    await ageCashOut(row!.id, seconds);
    return { ...user, cashOutId: row!.id, referenceId: row!.reference_id, retry };
  }

  const pending = { status: "pending", reason: null, hold_status: "pending" };
  const notAccepted = { status: "failed", reason: "not_accepted", hold_status: "voided" };

  /** Once the accept window has passed since it was made and last sent, momo-poll fails a cash-out MoMo does not know. */
  async function expectNotAcceptedAfterTheWindow(cashOut: { cashOutId: string }) {
    await ageCashOut(cashOut.cashOutId, TRANSFER_ACCEPT_SECONDS + 60);
    await releaseLease(cashOut.cashOutId);
    await runJob("momo-poll");
    expect(await cashOutState(cashOut.cashOutId)).toEqual(notAccepted);
  }

  /** Ends the test's cash-outs still pending, so that no later run of this file takes them. */
  const retire = (...cashOuts: { referenceId: string }[]) =>
    asServiceRole(sql, (tx) =>
      tx`
      select public.cashout_settle(r::uuid, 'FAILED', 'test over') from unnest(${cashOuts.map((c) => c.referenceId)}::text[]) r`);

  const cashOutState = async (id: string) => {
    const [row] = await sql<{ status: string; reason: string | null; hold_status: string }[]>`
      select c.status, c.reason, t.status as hold_status
        from public.cashouts c join public.wallet_transactions t on t.id = c.hold_id where c.id = ${id}::uuid`;
    return row!;
  };

  it("settles a cash-out whose callback was lost with the status MoMo confirms, once: paid captures, failed voids", async () => {
    const paid = await agedCashOut(3000);
    const failed = await agedCashOut(2000);
    gateway.momo.settle(paid.referenceId, "SUCCESSFUL");
    gateway.momo.settle(failed.referenceId, "FAILED", "PAYEE_NOT_FOUND");

    expect((await runJob("momo-poll")).body).toMatchObject({ taken: 2, applied: 2, errors: 0 });
    expect(await cashOutState(paid.cashOutId)).toEqual({ status: "paid", reason: null, hold_status: "posted" });
    expect(await balanceOf(sql, paid.accountId)).toEqual({ balance: 0, available: 0 });
    expect(await cashOutState(failed.cashOutId)).toEqual({ status: "failed", reason: "PAYEE_NOT_FOUND", hold_status: "voided" });
    expect(await balanceOf(sql, failed.accountId)).toEqual({ balance: 2000, available: 2000 });
    expect(gateway.momo.requests.filter((r) => r === `GET /disbursement/v1_0/transfer/${paid.referenceId}`)).toHaveLength(1);

    // A late callback for the paid one is a duplicate; nothing is taken again.
    expect(await gateway.momo.decide(paid.referenceId, "SUCCESSFUL")).toBe(200);
    expect((await runJob("momo-poll")).body).toMatchObject({ taken: 0 });
    expect(await balanceOf(sql, paid.accountId)).toEqual({ balance: 0, available: 0 });
  });
  it("a cash-out MoMo never received (down at request) is sent again with the same reference, then paid", async () => {
    const cashOut = await agedCashOut(1500, { momoDown: true });
    expect(gateway.momo.transfers.has(cashOut.referenceId)).toBe(false);

    expect((await runJob("momo-poll")).body).toMatchObject({ taken: 1, resent: 1, applied: 0, errors: 0 });
    const sent = gateway.momo.transfers.get(cashOut.referenceId)!;
    expect(sent.body).toMatchObject({ amount: "1500", currency: "UGX", payee: { partyIdType: "MSISDN", partyId: "256772123456" } });
    expect(sent.callbackUrl).toContain(`/momo-webhook/disbursement/${cashOut.referenceId}?token=`);
    expect(await cashOutState(cashOut.cashOutId)).toEqual({ status: "pending", reason: null, hold_status: "pending" });

    expect(await gateway.momo.decide(cashOut.referenceId, "SUCCESSFUL")).toBe(200);
    expect(await cashOutState(cashOut.cashOutId)).toEqual({ status: "paid", reason: null, hold_status: "posted" });
    expect(await balanceOf(sql, cashOut.accountId)).toEqual({ balance: 0, available: 0 });
  });

  it("a cash-out MoMo never received is not sent from a frozen account, by the user's retry or the poll; unfrozen, it is sent once and paid", async () => {
    const cashOut = await agedCashOut(1700, { momoDown: true });
    const setStatus = (status: string) =>
      asServiceRole(sql, (tx) => tx`select 1 from public.wallet_set_status(${cashOut.accountId}::uuid, ${status}, 'fraud check')`);
    const posts = () => gateway.momo.requests.filter((r) => r === "POST /disbursement/v1_0/transfer").length;
    const before = posts();
    await setStatus("frozen");

    // The user's retry with the same key sends nothing: 409 account_not_active, not stored.
    const retried = await cashOut.retry();
    expect(retried.status).toBe(409);
    expect(retried.body.error).toMatchObject({ code: "account_not_active", details: { sqlstate: "WL004" } });
    // Nor does momo-poll's re-send of the transfer MoMo does not know: it waits, hold kept.
    expect((await runJob("momo-poll")).body).toMatchObject({ taken: 1, pending: 1, resent: 0, applied: 0, errors: 0 });
    expect(posts()).toBe(before);
    expect(gateway.momo.transfers.has(cashOut.referenceId)).toBe(false);
    expect(await cashOutState(cashOut.cashOutId)).toEqual(pending);
    expect(await balanceOf(sql, cashOut.accountId)).toEqual({ balance: 1700, available: 0 });

    // Unfrozen: the next run sends it, once, and MoMo pays it.
    await setStatus("active");
    await releaseLease(cashOut.cashOutId);
    expect((await runJob("momo-poll")).body).toMatchObject({ taken: 1, resent: 1, errors: 0 });
    expect(posts()).toBe(before + 1);
    expect(await gateway.momo.decide(cashOut.referenceId, "SUCCESSFUL")).toBe(200);
    expect(await cashOutState(cashOut.cashOutId)).toEqual({ status: "paid", reason: null, hold_status: "posted" });
    expect(await balanceOf(sql, cashOut.accountId)).toEqual({ balance: 0, available: 0 });
  });

  it("in the last hour of the window a transfer MoMo does not know is neither sent again nor failed", async () => {
    const cashOut = await agedCashOut(1200, { seconds: TRANSFER_ACCEPT_SECONDS - 600, momoDown: true });
    const posts = gateway.momo.requests.filter((r) => r === "POST /disbursement/v1_0/transfer").length;

    expect((await runJob("momo-poll")).body).toMatchObject({ taken: 1, pending: 1, resent: 0, applied: 0, errors: 0 });
    expect(gateway.momo.requests.filter((r) => r === "POST /disbursement/v1_0/transfer")).toHaveLength(posts);
    expect(gateway.momo.transfers.has(cashOut.referenceId)).toBe(false);
    expect(await cashOutState(cashOut.cashOutId)).toEqual({ status: "pending", reason: null, hold_status: "pending" });
    expect(await balanceOf(sql, cashOut.accountId)).toEqual({ balance: 1200, available: 0 });
  });

  it("MoMo still knows no transfer after the window: failed not_accepted, hold voided; a late SUCCESSFUL cannot pay it", async () => {
    const cashOut = await agedCashOut(2500, { seconds: TRANSFER_ACCEPT_SECONDS + 60, momoDown: true });
    expect(await balanceOf(sql, cashOut.accountId)).toEqual({ balance: 2500, available: 0 });
    const posts = gateway.momo.requests.filter((r) => r === "POST /disbursement/v1_0/transfer").length;

    expect((await runJob("momo-poll")).body).toMatchObject({ taken: 1, applied: 1, resent: 0, errors: 0 });
    expect(gateway.momo.requests.filter((r) => r === "POST /disbursement/v1_0/transfer")).toHaveLength(posts);
    expect(await cashOutState(cashOut.cashOutId)).toEqual({ status: "failed", reason: "not_accepted", hold_status: "voided" });
    expect(await balanceOf(sql, cashOut.accountId)).toEqual({ balance: 2500, available: 2500 });
    expect(await storedEvents(sql, "momo", cashOut.referenceId)).toMatchObject([
      { event_id: `${cashOut.referenceId}:not_accepted`, type: "transfer.not_accepted", status: "processed" },
    ]);

    // MoMo reports the transfer paid after all: the voided cash-out is not paid (WL008), the
    // event is kept failed for an admin to see, and the user's money stays as it is.
    gateway.momo.transfers.set(cashOut.referenceId, {
      body: { amount: "2500", currency: "UGX", payee: { partyIdType: "MSISDN", partyId: "256772123456" } },
      callbackUrl: `${gateway.url}/momo-webhook/disbursement/${cashOut.referenceId}?token=${momoCallbackToken(cashOut.referenceId)}`,
    });
    await gateway.momo.decide(cashOut.referenceId, "SUCCESSFUL");
    const late = (await storedEvents(sql, "momo", cashOut.referenceId)).find((e) => e.event_id.endsWith(":SUCCESSFUL"));
    expect(late).toMatchObject({ status: "failed" });
    expect(late!.last_error).toContain("WL008");
    expect(await cashOutState(cashOut.cashOutId)).toEqual({ status: "failed", reason: "not_accepted", hold_status: "voided" });
    expect(await balanceOf(sql, cashOut.accountId)).toEqual({ balance: 2500, available: 2500 });
  });

  it("MoMo refusing the access token is MoMo unavailable: nothing re-sent or failed, the rest of the run waits", async () => {
    const first = await agedCashOut(1100, { momoDown: true });
    const second = await agedCashOut(1300, { momoDown: true });
    const posts = transferPosts();
    gateway.momo.revokeTokens();
    gateway.momo.tokenBehaviour.disbursement = GATEWAY_404;
    let run: AdminAnswer;
    try {
      run = await runJob("momo-poll");
    } finally {
      gateway.momo.tokenBehaviour.disbursement = "accept";
    }
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({ applied: 0, resent: 0 });
    expect(run.body.errors).toBeGreaterThanOrEqual(1);
    expect(transferPosts()).toBe(posts);
    expect(await cashOutState(first.cashOutId)).toEqual(pending);
    expect(await cashOutState(second.cashOutId)).toEqual(pending);
    await retire(first, second);
  });

  it("a 404 to the look-up without MoMo's RESOURCE_NOT_FOUND is no unknown transfer: nothing re-sent or failed", async () => {
    const cashOut = await agedCashOut(1400, { momoDown: true });
    const posts = transferPosts();
    gateway.momo.records.set(cashOut.referenceId, 404);
    const run = await withTransfers(GATEWAY_404, () => runJob("momo-poll"));
    gateway.momo.records.delete(cashOut.referenceId);
    expect(run.body).toMatchObject({ applied: 0, resent: 0 });
    expect(transferPosts()).toBe(posts);
    expect(await cashOutState(cashOut.cashOutId)).toEqual(pending);
    await retire(cashOut);
  });

  it("MoMo refusing a re-send fails nothing: the hold stays until the window's end, then not_accepted", async () => {
    const cashOut = await agedCashOut(1600, { momoDown: true });
    expect((await withTransfers(PAYEE_NOT_FOUND, () => runJob("momo-poll"))).body).toMatchObject({ applied: 0, resent: 0 });
    expect(await cashOutState(cashOut.cashOutId)).toEqual(pending);
    expect(await balanceOf(sql, cashOut.accountId)).toEqual({ balance: 1600, available: 0 });
    await expectNotAcceptedAfterTheWindow(cashOut);
  });

  it("a same-key retry at the window's end holds momo-poll's not_accepted back until a quiet period after it", async () => {
    const cashOut = await agedCashOut(1700, { seconds: TRANSFER_ACCEPT_SECONDS + 60, momoDown: true });
    // The user retries; MoMo answers 503, so whether it took the transfer is unknown.
    expect((await withTransfers(MOMO_UNAVAILABLE, cashOut.retry)).status).toBe(502);
    await runJob("momo-poll");
    expect(await cashOutState(cashOut.cashOutId)).toEqual(pending);
    expect(await storedEvents(sql, "momo", cashOut.referenceId)).toEqual([]);

    // Long after the retry MoMo still knows no such transfer: now it is not_accepted.
    await expectNotAcceptedAfterTheWindow(cashOut);
  });

  it("once momo-poll has closed a cash-out's sending past the window, a same-key retry sends nothing", async () => {
    const cashOut = await agedCashOut(1900, { seconds: TRANSFER_ACCEPT_SECONDS + 60, momoDown: true });
    // momo-poll closes the sending, then cannot ask MoMo (503): the cash-out stays pending.
    gateway.momo.records.set(cashOut.referenceId, 503);
    try {
      expect((await runJob("momo-poll")).body.errors).toBeGreaterThanOrEqual(1);
    } finally {
      gateway.momo.records.delete(cashOut.referenceId);
    }
    const posts = transferPosts();
    const retried = await cashOut.retry();
    expect(retried.status).toBe(201);
    expect(retried.body.cashout).toMatchObject({ id: cashOut.cashOutId, status: "pending" });
    expect(transferPosts()).toBe(posts);
    expect(gateway.momo.transfers.has(cashOut.referenceId)).toBe(false);
    await expectNotAcceptedAfterTheWindow(cashOut);
  });

  it("a backlog of top-ups MoMo never received, older and more than a run takes, does not keep a cash-out from being settled", async () => {
    const cashOut = await agedCashOut(2500);
    gateway.momo.settle(cashOut.referenceId, "SUCCESSFUL");
    // A MoMo outage leaves more request-to-pays than a run's batch that MoMo never received,
    // each asked about every run until its TTL, all waiting longer than the cash-out.
    const { accountId } = await topUpUser(sql, "UGX");
    const backlog = await asServiceRole(sql, (tx) =>
      tx<{ id: string }[]>`
      select i.id from generate_series(1, ${BATCH_SIZE + 1}) n,
             lateral public.payment_intent_create('momo', ${accountId}::uuid, 1000, 'UGX', ${crypto.randomUUID()} || ':' || n) i,
             lateral public.payment_intent_attach(i.id, i.id::text) a`);
    const ids = backlog.map((intent) => intent.id);
    try {
      for (const id of ids) await age(sql, "payment_intents", id, POLL_AFTER_SECONDS + 120);
      expect((await runJob("momo-poll")).body).toMatchObject({ taken: BATCH_SIZE, errors: 0 });
      expect(await cashOutState(cashOut.cashOutId)).toEqual({ status: "paid", reason: null, hold_status: "posted" });
      expect(await balanceOf(sql, cashOut.accountId)).toEqual({ balance: 0, available: 0 });
    } finally {
      await asServiceRole(sql, (tx) => tx`select public.payment_record_failure(id, 'test over') from unnest(${ids}::uuid[]) id`);
      if ((await cashOutState(cashOut.cashOutId)).status === "pending") await retire(cashOut);
    }
  });
});

describe("momo-poll for refunds", () => {
  const staff = useStaffCallers(sql);

  /** Moves a refund's history `seconds` into the past: asked for (and sent) then. */
  async function ageRefund(id: string, seconds: number) {
    await age(sql, "refunds", id, seconds);
    await sql`update public.refunds set last_sent_at = created_at where id = ${id}::uuid`;
  }

  /**
   * An admin's refund of a paid MoMo top-up, aged `seconds`; the refund's transfer reference.
   * `retry` sends the same request again (the same Idempotency-Key and body).
   */
  async function agedRefund(amount: number, { seconds = POLL_AFTER_SECONDS + 60, momoDown = false } = {}) {
    const topUp = await paidMomoTopUp(sql, gateway, amount);
    const idempotencyKey = crypto.randomUUID();
    const retry = async () =>
      answerOf(
        await fetch(adminRequest(gateway.url, "POST", `/admin/payments/${topUp.paymentId}/refund`, {
          token: staff.admin.token,
          idempotencyKey,
          body: { amount, reason: "refund through MoMo" },
        })),
      );
    const answer = await withTransfers(momoDown ? MOMO_UNAVAILABLE : "accept", retry);
    expect(answer.status).toBe(momoDown ? 502 : 201);
    const [refund] = await sql<{ id: string; reference: string }[]>`
      select id, provider_refund_id as reference from public.refunds where payment_id = ${topUp.paymentId}::uuid`;
    await ageRefund(refund!.id, seconds);
    return { ...topUp, refundId: refund!.id, referenceId: refund!.reference, retry };
  }

  const refundStatus = async (id: string) =>
    (await sql<{ status: string }[]>`select status from public.refunds where id = ${id}::uuid`)[0]!.status;

  /** Once the accept window has passed since it was asked for and last sent, momo-poll fails a refund MoMo does not know. */
  async function expectNotAcceptedAfterTheWindow(refund: { refundId: string; accountId: string }, amount: number) {
    await ageRefund(refund.refundId, TRANSFER_ACCEPT_SECONDS + 60);
    await releaseLease(refund.refundId);
    await runJob("momo-poll");
    expect(await refundStatus(refund.refundId)).toBe("failed");
    expect(await balanceOf(sql, refund.accountId)).toEqual({ balance: amount, available: amount });
  }

  /** A momo-poll run during which MoMo answers the look-up of `referenceId` 503; the run's counts. */
  async function pollWhileLookUpFails(referenceId: string) {
    gateway.momo.records.set(referenceId, 503);
    try {
      return (await runJob("momo-poll")).body;
    } finally {
      gateway.momo.records.delete(referenceId);
    }
  }

  /** The payment's refunds, what it counts as refunded, and the reversals of its deposit in the ledger. */
  async function refundsOf(paymentId: string) {
    const [row] = await sql<{ refunds: string[]; amount_refunded: number; reversals: number }[]>`
      select array(select status from public.refunds where payment_id = p.id order by created_at) as refunds,
             p.amount_refunded::int,
             (select count(*)::int from public.wallet_transactions t
               where t.kind = 'reversal' and t.reverses_id = p.wallet_transaction_id) as reversals
        from public.payments p where p.id = ${paymentId}::uuid`;
    return row!;
  }

  it("heals a lost refund callback: MoMo's SUCCESSFUL records the refund once; a late callback is a duplicate", async () => {
    const refund = await agedRefund(1100);
    gateway.momo.settle(refund.referenceId, "SUCCESSFUL");

    expect((await runJob("momo-poll")).body).toMatchObject({ taken: 1, applied: 1, errors: 0 });
    expect(await refundStatus(refund.refundId)).toBe("succeeded");
    expect(await balanceOf(sql, refund.accountId)).toEqual({ balance: 0, available: 0 });
    expect((await runJob("momo-poll")).body).toMatchObject({ taken: 0 });
    expect(await gateway.momo.decide(refund.referenceId, "SUCCESSFUL")).toBe(200);
    expect(await balanceOf(sql, refund.accountId)).toEqual({ balance: 0, available: 0 });
    expect(await storedEvents(sql, "momo", refund.referenceId)).toMatchObject([
      { event_id: `${refund.referenceId}:refund:SUCCESSFUL`, type: "refund.successful", status: "processed" },
    ]);
  });

  it("a refund MoMo never received is sent again; past the window it is closed not_accepted and frees its amount", async () => {
    const resent = await agedRefund(700, { momoDown: true });
    const expired = await agedRefund(600, { seconds: TRANSFER_ACCEPT_SECONDS + 60, momoDown: true });

    expect((await runJob("momo-poll")).body).toMatchObject({ taken: 2, resent: 1, applied: 1, errors: 0 });
    expect(gateway.momo.transfers.get(resent.referenceId)?.body).toMatchObject({
      amount: "700",
      payee: { partyIdType: "MSISDN", partyId: MOMO_PAYER },
    });
    expect(gateway.momo.transfers.has(expired.referenceId)).toBe(false);
    expect(await refundStatus(expired.refundId)).toBe("failed");
    expect(await balanceOf(sql, expired.accountId)).toEqual({ balance: 600, available: 600 });
    const [reserved] = await sql<{ n: number }[]>`
      select count(*)::int as n from public.refunds where payment_id = ${expired.paymentId}::uuid and status in ('pending', 'succeeded')`;
    expect(reserved!.n).toBe(0);

    expect(await gateway.momo.decide(resent.referenceId, "SUCCESSFUL")).toBe(200);
    expect(await refundStatus(resent.refundId)).toBe("succeeded");
    expect(await balanceOf(sql, resent.accountId)).toEqual({ balance: 0, available: 0 });
  });

  it("MoMo refusing a refund's re-send closes nothing: it stays pending until the window's end, then not_accepted", async () => {
    const refund = await agedRefund(800, { momoDown: true });
    expect((await withTransfers(PAYEE_NOT_FOUND, () => runJob("momo-poll"))).body).toMatchObject({ applied: 0, resent: 0 });
    expect(await refundStatus(refund.refundId)).toBe("pending");

    await expectNotAcceptedAfterTheWindow(refund, 800);
  });

  it("a same-key retry at the window's end holds momo-poll's not_accepted back; MoMo paying it records the refund once", async () => {
    const refund = await agedRefund(1300, { seconds: TRANSFER_ACCEPT_SECONDS + 60, momoDown: true });
    // The admin retries; MoMo answers 503, so whether it took the transfer is unknown.
    expect((await withTransfers(MOMO_UNAVAILABLE, refund.retry)).status).toBe(502);
    await runJob("momo-poll");
    expect(await refundStatus(refund.refundId)).toBe("pending");
    expect(await storedEvents(sql, "momo", refund.referenceId)).toEqual([]);

    // MoMo had taken the retry's transfer and pays it: the refund is recorded, the deposit reversed once.
    gateway.momo.transfers.set(refund.referenceId, {
      body: { amount: "1300", currency: "UGX", payee: { partyIdType: "MSISDN", partyId: MOMO_PAYER } },
      callbackUrl: `${gateway.url}/momo-webhook/refund/${refund.referenceId}?token=${momoCallbackToken(refund.referenceId)}`,
    });
    expect(await gateway.momo.decide(refund.referenceId, "SUCCESSFUL")).toBe(200);
    expect(await refundStatus(refund.refundId)).toBe("succeeded");
    expect(await refundsOf(refund.paymentId)).toEqual({ refunds: ["succeeded"], amount_refunded: 1300, reversals: 1 });
    expect(await balanceOf(sql, refund.accountId)).toEqual({ balance: 0, available: 0 });

    // Nothing undoes or repeats it: momo-poll has nothing to take, MoMo's callback again is a duplicate.
    await releaseLease(refund.refundId);
    expect((await runJob("momo-poll")).body).toMatchObject({ taken: 0 });
    expect(await gateway.momo.decide(refund.referenceId, "SUCCESSFUL")).toBe(200);
    expect(await refundsOf(refund.paymentId)).toEqual({ refunds: ["succeeded"], amount_refunded: 1300, reversals: 1 });
    expect(await storedEvents(sql, "momo", refund.referenceId)).toMatchObject([
      { event_id: `${refund.referenceId}:refund:SUCCESSFUL`, type: "refund.successful", status: "processed" },
    ]);
  });

  it("a same-key retry at the window's end holds momo-poll's not_accepted back until a quiet period after it", async () => {
    const refund = await agedRefund(1400, { seconds: TRANSFER_ACCEPT_SECONDS + 60, momoDown: true });
    expect((await withTransfers(MOMO_UNAVAILABLE, refund.retry)).status).toBe(502);
    await runJob("momo-poll");
    expect(await refundStatus(refund.refundId)).toBe("pending");

    // Long after the retry MoMo still knows no such transfer: now it is not_accepted.
    await expectNotAcceptedAfterTheWindow(refund, 1400);
    expect(await refundsOf(refund.paymentId)).toEqual({ refunds: ["failed"], amount_refunded: 0, reversals: 0 });
  });

  it("once momo-poll has closed a refund's sending past the window, a same-key retry sends nothing", async () => {
    const refund = await agedRefund(1500, { seconds: TRANSFER_ACCEPT_SECONDS + 60, momoDown: true });
    // momo-poll closes the sending, then cannot ask MoMo: the refund stays pending.
    expect((await pollWhileLookUpFails(refund.referenceId)).errors).toBeGreaterThanOrEqual(1);
    const posts = transferPosts();
    const retried = await refund.retry();
    expect(retried).toMatchObject({ status: 201, body: { refund: { id: refund.refundId, status: "pending" } } });
    expect(transferPosts()).toBe(posts);
    expect(gateway.momo.transfers.has(refund.referenceId)).toBe(false);
    await expectNotAcceptedAfterTheWindow(refund, 1500);
  });
});

describe("expire-intents", () => {
  // Stripe intents without a PaymentIntent (Stripe did not answer its creation): nothing is
  // payable at Stripe, and no poll asks about them.
  it("cancels an intent past its TTL; a fresh one and a succeeded one are untouched; a second run does nothing", async () => {
    const old = await createTopUp(sql, { provider: "stripe", amount: 100, currency: "USD", providerRef: null });
    const fresh = await createTopUp(sql, { provider: "stripe", amount: 100, currency: "USD", providerRef: null });
    const paid = await momoTopUp(300);
    await gateway.momo.decide(paid.intentId, "SUCCESSFUL");
    await age(sql, "payment_intents", old.intentId, INTENT_TTL_SECONDS + 1);
    await age(sql, "payment_intents", fresh.intentId, INTENT_TTL_SECONDS - 120);
    await age(sql, "payment_intents", paid.intentId, INTENT_TTL_SECONDS + 1);

    expect((await runJob("expire-intents")).body).toEqual({ job: "expire-intents", canceled: 1 });
    expect(await intentStatus(sql, old.intentId)).toEqual({
      status: "canceled",
      failure_reason: `expired: no payment within ${INTENT_TTL_SECONDS} seconds`,
    });
    expect(await intentStatus(sql, fresh.intentId)).toMatchObject({ status: "requires_payment" });
    expect(await intentStatus(sql, paid.intentId)).toMatchObject({ status: "succeeded" });
    expect((await runJob("expire-intents")).body).toEqual({ job: "expire-intents", canceled: 0 });
  });

  it("two runners at once cancel each intent once", async () => {
    const intents = await Promise.all(
      [1, 2, 3, 4, 5].map(() => createTopUp(sql, { provider: "revolut", amount: 100, currency: "EUR", providerRef: null })),
    );
    for (const intent of intents) await age(sql, "payment_intents", intent.intentId, INTENT_TTL_SECONDS + 60);
    const runs = await Promise.all([runJob("expire-intents"), runJob("expire-intents")]);
    expect(runs[0]!.body.canceled + runs[1]!.body.canceled).toBe(5);
    const [audit] = await sql<{ n: number }[]>`
      select count(*)::int as n from audit.log
       where table_name = 'payment_intents' and record_id = any (${intents.map((i) => i.intentId)}::text[])
         and new_record ->> 'status' = 'canceled'`;
    expect(audit!.n).toBe(5);
  });
});

describe("expire-holds", () => {
  /** A funded account with a hold of 300 expiring after `seconds`, and one of 200 that never does. */
  async function holds(seconds: number) {
    const { accountId } = await createTopUp(sql, { provider: "momo", amount: 1, currency: "KES", providerRef: null });
    return asServiceRole(sql, async (tx) => {
      await tx`select 1 from public.wallet_deposit(${accountId}::uuid, 1000, 'KES', 'momo', ${crypto.randomUUID()})`;
      const [expiring] = await tx<{ id: string }[]>`
        select id from public.wallet_hold(${accountId}::uuid, 300, 'KES', ${crypto.randomUUID()}, '{}',
                                          now() + make_interval(secs => ${seconds}))`;
      const [kept] = await tx<{ id: string }[]>`select id from public.wallet_hold(${accountId}::uuid, 200, 'KES', ${crypto.randomUUID()})`;
      return { accountId, expiring: expiring!.id, kept: kept!.id };
    });
  }
  const holdStatus = async (id: string) =>
    (await sql<{ status: string }[]>`select status from public.wallet_transactions where id = ${id}::uuid`)[0]!.status;

  it("voids a hold past its expiry and restores available; an unexpired hold is untouched", async () => {
    const expired = await holds(1);
    const later = await holds(3600);
    expect(await balanceOf(sql, expired.accountId)).toEqual({ balance: 1000, available: 500 });
    await new Promise((resolve) => setTimeout(resolve, 1100));

    const runs = await Promise.all([runJob("expire-holds"), runJob("expire-holds")]);
    expect(runs[0]!.body.voided + runs[1]!.body.voided).toBe(1);
    expect(await holdStatus(expired.expiring)).toBe("voided");
    expect(await holdStatus(expired.kept)).toBe("pending");
    expect(await holdStatus(later.expiring)).toBe("pending");
    expect(await balanceOf(sql, expired.accountId)).toEqual({ balance: 1000, available: 800 });
    expect(await balanceOf(sql, later.accountId)).toEqual({ balance: 1000, available: 500 });
    expect((await runJob("expire-holds")).body).toEqual({ job: "expire-holds", voided: 0 });
  });
});

describe("reconcile", () => {
  runWhatsAppSendAlone(sql);
  it("stores today's report with a payment the ledger never credited", async () => {
    const orphan = `pi_${crypto.randomUUID()}`;
    await asServiceRole(sql, (tx) =>
      tx`
      select 1 from public.payment_record_success('stripe', ${orphan}, null, 4200, 'USD', 0, '{}'::jsonb)`);
    const answer = await runJob("reconcile");
    expect(answer.status).toBe(200);
    const today = new Date().toISOString().slice(0, 10);
    expect(answer.body).toMatchObject({ job: "reconcile", report_date: today, invariant_violations: 0 });
    expect(answer.body.reconciliation_findings).toBeGreaterThanOrEqual(1);
    const [report] = await sql<{ findings: number; reconciliation_findings: { provider_payment_id: string; kind: string }[] }[]>`
      select findings, reconciliation_findings from private.reconciliation_reports where report_date = ${today}::date`;
    expect(report!.reconciliation_findings).toContainEqual(
      expect.objectContaining({ provider_payment_id: orphan, kind: "missing_credit" }),
    );
    // Every finding of the run is in the stored report: dead WhatsApp messages other suites left
    // count too.
    const { invariant_violations, reconciliation_findings, undelivered_messages } = answer.body;
    expect(report!.findings).toBe(invariant_violations + reconciliation_findings + undelivered_messages);
  });

  /** The WhatsApp contact of a new user whose app_metadata is `appMetadata`; its wa_id. */
  /** A WhatsApp contact with `appMetadata`, who last wrote to mfuko `wroteHoursAgo` hours ago. */
  async function contact(appMetadata: Record<string, string>, optedOut = false, wroteHoursAgo = 1): Promise<string> {
    const userId = crypto.randomUUID();
    const waId = newWaId();
    await sql`insert into auth.users (id, aud, role, email, raw_app_meta_data)
              values (${userId}, 'authenticated', 'authenticated', ${`${userId}@mfuko.test`}, ${sql.json(appMetadata)})`;
    await sql`insert into public.whatsapp_contacts (wa_id, user_id, opted_out, last_inbound_at)
              values (${waId}, ${userId}::uuid, ${optedOut}, now() - make_interval(hours => ${wroteHoursAgo}))`;
    return waId;
  }

  it("a finding alerts each admin with a WhatsApp contact, delivered by whatsapp-send; not an admin who opted out, nor support, nor a user", async () => {
    const admin = await contact({ role: "admin" });
    const away = await contact({ role: "admin" }, false, 48);
    const others = [await contact({ role: "admin" }, true), await contact({ role: "support" }), await contact({})];
    await asServiceRole(sql, (tx) =>
      tx`
      select 1 from public.payment_record_success('stripe', ${`pi_${crypto.randomUUID()}`}, null, 990, 'USD', 0, '{}'::jsonb)`);

    const answer = await runJob("reconcile");
    expect(answer.status).toBe(200);
    expect(answer.body.alerts_queued).toBeGreaterThanOrEqual(1);
    const queued = await sql<{ id: string; wa_id: string; purpose: string }[]>`
      select id, wa_id, purpose from public.whatsapp_outbox where wa_id = any (${[
      admin,
      away,
      ...others,
    ]}::text[]) order by wa_id = ${away}`;
    expect(queued.map(({ wa_id, purpose }) => ({ wa_id, purpose }))).toEqual([
      { wa_id: admin, purpose: "notification" },
      { wa_id: away, purpose: "notification" },
    ]);

    await runUntilSettled(queued.map((row) => row.id));
    const { report_date, invariant_violations, reconciliation_findings, undelivered_messages } = answer.body;
    expect(gateway.whatsapp.deliveredTo(admin).map((m) => m.message)).toEqual([{
      body: `mfuko reconcile ${report_date}: ${invariant_violations} ledger invariant violation(s), ` +
        `${reconciliation_findings} provider reconciliation finding(s), ${undelivered_messages} WhatsApp message(s) dead since the last report ` +
        `(GET /admin/whatsapp-outbox?status=dead replays them). The day's report is in private.reconciliation_reports.`,
    }]);
    // An admin who has not written for two days is outside the 24-hour window: the alert goes as the template.
    expect(gateway.whatsapp.deliveredTo(away).map((m) => m.type)).toEqual(["template"]);
    for (const waId of others) expect(gateway.whatsapp.deliveredTo(waId)).toEqual([]);
  });

  it("a notification the Graph API refused for good (dead) is counted by the next report, which alerts", async () => {
    const before = await runJob("reconcile");
    const waId = newWaId();
    const id = await enqueue(sql, waId, "You received 2,000 RWF");
    gateway.whatsapp.fail(100, { to: waId });
    await runUntilSettled([id]);
    expect(await outboxRow(sql, id)).toMatchObject({ status: "dead" });

    const after = await runJob("reconcile");
    expect(after.status).toBe(200);
    expect(after.body.undelivered_messages).toBeGreaterThanOrEqual(before.body.undelivered_messages + 1);
    const [report] = await sql<{ undelivered_messages: number; findings: number }[]>`
      select undelivered_messages, findings from private.reconciliation_reports where report_date = ${after.body.report_date}::date`;
    expect(report).toEqual({
      undelivered_messages: after.body.undelivered_messages,
      findings: after.body.invariant_violations + after.body.reconciliation_findings + after.body.undelivered_messages,
    });
  });
});

describe("who may run a job", () => {
  it("401 without a valid token; 403 for the anon key, a user's and an admin's session; 200 for the service_role key", async () => {
    const user = await topUpUser(sql, "USD");
    const admin = await minter.user({ id: user.userId, email: "admin@mfuko.test", appMetadata: { role: "admin" } });
    expect((await runJob("expire-intents", null)).status).toBe(401);
    expect((await runJob("expire-intents", await new TokenMinter("x".repeat(40)).apiKey("service_role"))).status).toBe(401);
    for (const token of [await minter.apiKey("anon"), user.token, admin]) {
      const refused = await runJob("expire-intents", token);
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe("forbidden");
    }
    expect((await runJob("expire-intents")).status).toBe(200);
  });

  it("counts the service_role key only as the bearer token: not in apikey, nor an empty bearer", async () => {
    const serviceKey = await minter.apiKey("service_role");
    const user = await topUpUser(sql, "USD");
    const post = (headers: Record<string, string>) => fetch(`${gateway.url}/jobs/expire-intents`, { method: "POST", headers });
    expect((await post({ apikey: serviceKey })).status).toBe(401);
    expect((await post({ apikey: serviceKey, authorization: "Bearer " })).status).toBe(401);
    expect((await post({ apikey: serviceKey, authorization: `Bearer ${user.token}` })).status).toBe(403);
    expect((await post({ authorization: serviceKey })).status).toBe(401);
  });

  it("an unknown job is 404", async () => {
    expect((await runJob("no-such-job")).status).toBe(404);
  });
});

describe("whatsapp-send", () => {
  runWhatsAppSendAlone(sql);
  it("sends the due messages once; a message whose backoff has not passed waits; a second run sends nothing again", async () => {
    const waId = newWaId();
    const due = [await enqueue(sql, waId, "one"), await enqueue(sql, waId, "two")];
    const later = await enqueue(sql, waId, "later");
    await sql`update public.whatsapp_outbox set next_attempt_at = now() + interval '1 hour' where id = ${later}::uuid`;
    const answer = await runJob("whatsapp-send");
    expect(answer.body).toMatchObject({
      job: "whatsapp-send",
      due: expect.any(Number),
      taken: expect.any(Number),
      sent: expect.any(Number),
    });
    await runUntilSettled(due);
    expect(gateway.whatsapp.deliveredTo(waId).map((m) => (m.message as { body: string }).body).sort()).toEqual(["one", "two"]);
    expect((await outboxRow(sql, later)).status).toBe("queued");
    await runJob("whatsapp-send");
    expect(gateway.whatsapp.deliveredTo(waId)).toHaveLength(2);
  });

  it("the Graph API down: backed off; once it is back and the backoff has passed, sent once", async () => {
    const waId = newWaId();
    const id = await enqueue(sql, waId, "after the outage");
    gateway.whatsapp.fail("server", { times: 1, to: waId });
    await runUntilSettled([id]);
    expect(await outboxRow(sql, id)).toMatchObject({ status: "queued", attempts: 1 });
    await sql`update public.whatsapp_outbox set next_attempt_at = now() where id = ${id}::uuid`;
    await runUntilSettled([id]);
    expect(await outboxRow(sql, id)).toMatchObject({ status: "sent", attempts: 2 });
    expect(gateway.whatsapp.deliveredTo(waId)).toHaveLength(1);
  });

  it("two runners at once send each message once; a message left sending by a runner that died is sent after its lease", async () => {
    const waId = newWaId();
    const ids = await Promise.all(Array.from({ length: 8 }, (_, n) => enqueue(sql, waId, `racing ${n}`)));
    await sql`update public.whatsapp_outbox set status = 'sending', lease_until = now() - interval '1 second', attempts = 1
               where id = ${ids[0]!}::uuid`;
    const runs = await Promise.all([runJob("whatsapp-send"), runJob("whatsapp-send")]);
    expect(runs.map((run) => run.status)).toEqual([200, 200]);
    await runUntilSettled(ids);
    expect(gateway.whatsapp.deliveredTo(waId)).toHaveLength(8);
    expect(new Set(gateway.whatsapp.deliveredTo(waId).map((m) => (m.message as { body: string }).body)).size).toBe(8);
    expect(await outboxRow(sql, ids[0]!)).toMatchObject({ status: "sent", attempts: 2 });
  });
});
