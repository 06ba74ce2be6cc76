// Cash-outs end to end through a real Deno gateway: POST /payments/cashouts -> the funds held
// -> MoMo Disbursements' transfer (stand-in) -> MoMo's callback, confirmed with its API ->
// the hold captured to the MoMo clearing account or voided; and every way the transfer can
// end (declined, unavailable and retried, a forged callback), refusals and bad input.
import { describe, expect, it } from "vitest";
import { useTestSql } from "../../tests/support/test-sql.ts";
import { assertLedgerInvariants } from "../../tests/support/ledger-invariants.ts";
import { createStaff } from "../../tests/support/admin-fixtures.ts";
import { asServiceRole, balanceOf } from "../../tests/support/payments-fixtures.ts";
import { callPayments, type TopUpUser, topUpUser } from "../../tests/support/payments-gateway.ts";
import { usePaymentsGateway } from "../../tests/support/use-payments-gateway.ts";
import { momoCallbackRequest } from "../../tests/support/webhook-requests.ts";
import { whileAnswering } from "../../tests/support/provider-standins.ts";

const sql = useTestSql();
const gateway = usePaymentsGateway();

const MSISDN = "256772123456";

const cashOut = (user: TopUpUser, key: string | undefined, body: Record<string, unknown>) =>
  callPayments(gateway.url, "POST", "/cashouts", { token: user.token, idempotencyKey: key, body });

/** A user with `funds` UGX deposited from MoMo. */
async function fundedUser(funds: number): Promise<TopUpUser> {
  const user = await topUpUser(sql, "UGX");
  if (funds > 0) {
    await asServiceRole(sql, (tx) =>
      tx`
      select public.wallet_deposit(${user.accountId}::uuid, ${funds}::bigint, 'UGX', 'momo', ${crypto.randomUUID()})`);
  }
  return user;
}

/** A user funded with `amount` who cashes all of it out to MSISDN (201): the user and the cash-out's id. */
async function userCashingOutAll(amount: number): Promise<{ user: TopUpUser; id: string }> {
  const user = await fundedUser(amount);
  const answer = await cashOut(user, crypto.randomUUID(), { account_id: user.accountId, amount, currency: "UGX", msisdn: MSISDN });
  expect(answer.status).toBe(201);
  return { user, id: answer.body.cashout.id };
}

/** What the MoMo clearing account received from `accountId`: its entries, never its balance, which other test files move too. */
async function clearingReceivedFrom(accountId: string): Promise<number> {
  const [row] = await sql<{ received: string }[]>`
    select coalesce(sum(e.amount), 0) as received
      from public.wallet_entries e
      join public.wallet_accounts a on a.id = e.account_id and a.code = 'clearing:momo:UGX'
      join public.wallet_transactions t on t.id = e.transaction_id
     where t.from_account_id = ${accountId}::uuid`;
  return Number(row!.received);
}

async function cashOutRow(id: string) {
  const [row] = await sql<{ reference_id: string; status: string; reason: string | null; hold_status: string }[]>`
    select c.reference_id, c.status, c.reason, t.status as hold_status
      from public.cashouts c join public.wallet_transactions t on t.id = c.hold_id
     where c.id = ${id}::uuid`;
  return row!;
}

async function rowsOf(user: TopUpUser): Promise<{ cashouts: number; holds: number; requests: number }> {
  const [row] = await sql<{ cashouts: number; holds: number; requests: number }[]>`
    select (select count(*)::int from public.cashouts where user_id = ${user.userId}::uuid) as cashouts,
           (select count(*)::int from public.wallet_transactions
             where from_account_id = ${user.accountId}::uuid and kind = 'withdrawal') as holds,
           (select count(*)::int from private.api_requests where caller_id = ${user.userId}::uuid) as requests`;
  return row!;
}

const pendingHolds = async (user: TopUpUser) => {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from public.wallet_transactions where from_account_id = ${user.accountId}::uuid and status = 'pending'`;
  return row!.n;
};

const transferPosts = () => gateway.momo.requests.filter((r) => r === "POST /disbursement/v1_0/transfer").length;

describe("a cash-out to MoMo", () => {
  it("holds the funds, sends one transfer with our reference, and MoMo's confirmed SUCCESSFUL captures the hold to the clearing account", async () => {
    const user = await fundedUser(10_000);
    const key = crypto.randomUUID();
    const body = { account_id: user.accountId, amount: 7000, currency: "UGX", msisdn: MSISDN };
    const answer = await cashOut(user, key, body);
    expect(answer.status).toBe(201);
    const id = answer.body.cashout.id;
    expect(answer.body.cashout).toMatchObject({
      id,
      account_id: user.accountId,
      status: "pending",
      amount: 7000,
      currency: "UGX",
      msisdn: MSISDN,
      reason: null,
    });
    expect(await balanceOf(sql, user.accountId)).toEqual({ balance: 10_000, available: 3000 });

    const { reference_id: reference } = await cashOutRow(id);
    const sent = gateway.momo.transfers.get(reference);
    expect(sent?.body).toEqual({
      amount: "7000",
      currency: "UGX",
      externalId: id,
      payee: { partyIdType: "MSISDN", partyId: MSISDN },
      payerMessage: "mfuko wallet cash-out",
      payeeNote: `cash-out ${id}`,
    });
    expect(sent?.callbackUrl).toMatch(new RegExp(`^${gateway.url}/momo-webhook/disbursement/${reference}\\?token=[0-9a-f]{64}$`));

    const replay = await cashOut(user, key, body);
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual(answer.body);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect([...gateway.momo.transfers.keys()].filter((ref) => ref === reference)).toHaveLength(1);

    expect(await clearingReceivedFrom(user.accountId)).toBe(0);
    expect(await gateway.momo.decide(reference, "SUCCESSFUL")).toBe(200);
    expect(gateway.momo.requests).toContain(`GET /disbursement/v1_0/transfer/${reference}`);
    expect(await balanceOf(sql, user.accountId)).toEqual({ balance: 3000, available: 3000 });
    expect(await clearingReceivedFrom(user.accountId)).toBe(7000);
    expect(await cashOutRow(id)).toMatchObject({ status: "paid", hold_status: "posted" });

    // MoMo's callback again: the same event, applied once.
    const again = await fetch(momoCallbackRequest(reference, { status: "SUCCESSFUL" }, {}, { base: gateway.url }, "disbursement"));
    expect(again.status).toBe(200);
    expect(await balanceOf(sql, user.accountId)).toEqual({ balance: 3000, available: 3000 });
    expect(await clearingReceivedFrom(user.accountId)).toBe(7000);

    const read = await callPayments(gateway.url, "GET", `/cashouts/${id}`, { token: user.token });
    expect(read.status).toBe(200);
    expect(read.body.cashout).toMatchObject({ id, status: "paid", amount: 7000, reason: null });
    expect(read.body.cashout.settled_at).not.toBeNull();
    await assertLedgerInvariants(sql);
  });

  it("MoMo's confirmed FAILED voids the hold, restores the available funds and shows the reason", async () => {
    const { user, id } = await userCashingOutAll(5000);
    expect(await balanceOf(sql, user.accountId)).toEqual({ balance: 5000, available: 0 });

    expect(await gateway.momo.decide((await cashOutRow(id)).reference_id, "FAILED", "PAYEE_NOT_FOUND")).toBe(200);
    expect(await balanceOf(sql, user.accountId)).toEqual({ balance: 5000, available: 5000 });
    expect(await clearingReceivedFrom(user.accountId)).toBe(0);
    expect(await cashOutRow(id)).toMatchObject({ status: "failed", reason: "PAYEE_NOT_FOUND", hold_status: "voided" });
    const read = await callPayments(gateway.url, "GET", `/cashouts/${id}`, { token: user.token });
    expect(read.body.cashout).toMatchObject({ status: "failed", reason: "PAYEE_NOT_FOUND" });
    expect(await pendingHolds(user)).toBe(0);
    await assertLedgerInvariants(sql);
  });

  it("MoMo's confirmed FAILED voids the hold whatever amount its record names: nothing moved", async () => {
    const { user, id } = await userCashingOutAll(3000);
    expect(await gateway.momo.decide((await cashOutRow(id)).reference_id, "FAILED", "PAYEE_NOT_FOUND", { amount: "3000.5" })).toBe(200);
    expect(await cashOutRow(id)).toMatchObject({ status: "failed", hold_status: "voided" });
    expect(await balanceOf(sql, user.accountId)).toEqual({ balance: 3000, available: 3000 });
  });

  it("MoMo's confirmed FAILED with a reason longer than a cash-out keeps still voids the hold, with the reason's first 500 characters", async () => {
    const { user, id } = await userCashingOutAll(2500);
    const reason = `PAYEE_NOT_FOUND ${"x".repeat(600)}`;

    expect(await gateway.momo.decide((await cashOutRow(id)).reference_id, "FAILED", reason)).toBe(200);
    expect(await cashOutRow(id)).toMatchObject({ status: "failed", reason: reason.slice(0, 500), hold_status: "voided" });
    expect(await balanceOf(sql, user.accountId)).toEqual({ balance: 2500, available: 2500 });
  });

  it("a forged SUCCESSFUL callback while MoMo says PENDING settles nothing", async () => {
    const { user, id } = await userCashingOutAll(4000);
    const { reference_id: reference } = await cashOutRow(id);
    const forged = await fetch(
      momoCallbackRequest(reference, { status: "SUCCESSFUL", amount: "4000", currency: "UGX" }, {}, { base: gateway.url }, "disbursement"),
    );
    expect(forged.status).toBe(200);
    expect(gateway.momo.requests).toContain(`GET /disbursement/v1_0/transfer/${reference}`);
    expect(await cashOutRow(id)).toMatchObject({ status: "pending", hold_status: "pending" });
    expect(await balanceOf(sql, user.accountId)).toEqual({ balance: 4000, available: 0 });
    // A token for another reference is refused before MoMo is asked.
    const wrongToken = await fetch(
      momoCallbackRequest(reference, { status: "SUCCESSFUL" }, { secret: "not-the-secret" }, { base: gateway.url }, "disbursement"),
    );
    expect(wrongToken.status).toBe(401);
    // MoMo's real answer still settles it.
    expect(await gateway.momo.decide(reference, "SUCCESSFUL")).toBe(200);
    expect(await cashOutRow(id)).toMatchObject({ status: "paid", hold_status: "posted" });
  });

  it("a cash-out's callback URL sent to the refund route cannot make MoMo's real SUCCESSFUL for the cash-out dead", async () => {
    const { user, id } = await userCashingOutAll(3500);
    const { reference_id: reference } = await cashOutRow(id);
    // MoMo has paid; its callback has not come yet. The same token on the refund route, until its event dies.
    gateway.momo.settle(reference, "SUCCESSFUL");
    for (let attempt = 0; attempt < 6; attempt += 1) {
      const crossed = await fetch(momoCallbackRequest(reference, { status: "SUCCESSFUL" }, {}, { base: gateway.url }, "refund"));
      await crossed.body?.cancel();
    }
    expect(await gateway.momo.decide(reference, "SUCCESSFUL")).toBe(200);
    expect(await cashOutRow(id)).toMatchObject({ status: "paid", hold_status: "posted" });
    expect(await balanceOf(sql, user.accountId)).toEqual({ balance: 0, available: 0 });
  });

  it.each([
    {
      confirmedFor: "another amount than the one sent settles nothing: the hold is kept and the event fails with both sums",
      sent: 6000,
      confirmed: "60000",
      error: (reference: string) =>
        `MoMo confirmed 60000 UGX for cash-out ${reference}, which sent 6000 UGX: settle it by hand once MoMo says what moved`,
    },
    {
      confirmedFor: "an amount its currency cannot hold settles nothing either: the event fails naming it",
      sent: 2000,
      confirmed: "2000.5",
      error: () => "MoMo amount 2000.5 UGX has more than 0 decimals",
    },
  ])("MoMo confirming SUCCESSFUL for $confirmedFor", async ({ sent, confirmed, error }) => {
    const { user, id } = await userCashingOutAll(sent);
    const { reference_id: reference } = await cashOutRow(id);

    expect(await gateway.momo.decide(reference, "SUCCESSFUL", undefined, { amount: confirmed })).toBe(500);
    expect(await cashOutRow(id)).toMatchObject({ status: "pending", hold_status: "pending" });
    expect(await balanceOf(sql, user.accountId)).toEqual({ balance: sent, available: 0 });
    expect(await clearingReceivedFrom(user.accountId)).toBe(0);
    const [event] = await sql<{ status: string; last_error: string }[]>`
      select status, last_error from public.webhook_events where provider = 'momo' and event_id = ${`${reference}:SUCCESSFUL`}`;
    expect(event).toEqual({ status: "failed", last_error: expect.stringContaining(error(reference)) });
    await assertLedgerInvariants(sql);
  });
});

describe("a transfer MoMo declines or does not answer", () => {
  it("a refusal (400) voids the hold, answers 422 provider_declined and replays it without calling MoMo again", async () => {
    const user = await fundedUser(3000);
    const key = crypto.randomUUID();
    const body = { account_id: user.accountId, amount: 2000, currency: "UGX", msisdn: MSISDN };
    gateway.momo.transferBehaviour = { status: 400, body: { code: "PAYEE_NOT_FOUND", message: "Payee not found" } };
    const before = transferPosts();
    try {
      const answer = await cashOut(user, key, body);
      expect(answer.status).toBe(422);
      expect(answer.body.error).toMatchObject({
        code: "provider_declined",
        details: { provider: "momo", reason: "PAYEE_NOT_FOUND: Payee not found", cashout: { status: "failed", amount: 2000 } },
      });
      expect(await cashOutRow(answer.body.error.details.cashout.id)).toMatchObject({ status: "failed", hold_status: "voided" });
      const replay = await cashOut(user, key, body);
      expect(replay.status).toBe(422);
      expect(replay.body).toEqual(answer.body);
      expect(transferPosts() - before).toBe(1);
    } finally {
      gateway.momo.transferBehaviour = "accept";
    }
    expect(await balanceOf(sql, user.accountId)).toEqual({ balance: 3000, available: 3000 });
    expect(await pendingHolds(user)).toBe(0);
  });

  it("declined cash-outs give back what they counted: after four declined 500,000 cash-outs, the daily 2,000,000 still lets one through", async () => {
    const user = await fundedUser(500_000);
    const body = { account_id: user.accountId, amount: 500_000, currency: "UGX", msisdn: MSISDN };
    gateway.momo.transferBehaviour = { status: 400, body: { code: "PAYEE_NOT_FOUND", message: "Payee not found" } };
    try {
      for (let declined = 0; declined < 4; declined += 1) expect((await cashOut(user, crypto.randomUUID(), body)).status).toBe(422);
    } finally {
      gateway.momo.transferBehaviour = "accept";
    }
    const retry = await cashOut(user, crypto.randomUUID(), { ...body, msisdn: "256772000001" });
    expect(retry.body.error).toBeUndefined();
    expect(retry.status).toBe(201);
    expect(retry.body.cashout).toMatchObject({ status: "pending", amount: 500_000 });
  });

  it("MoMo down (500, or its answer lost): 502 with the hold kept, then the same key pays once with the same reference", async () => {
    const user = await fundedUser(9000);
    const key = crypto.randomUUID();
    const body = { account_id: user.accountId, amount: 6000, currency: "UGX", msisdn: MSISDN };
    gateway.momo.transferBehaviour = { status: 500, body: { code: "INTERNAL_PROCESSING_ERROR", message: "An internal error occurred" } };
    let down;
    try {
      down = await cashOut(user, key, body);
    } finally {
      gateway.momo.transferBehaviour = "accept";
    }
    expect(down.status).toBe(502);
    expect(down.body.error).toMatchObject({ code: "provider_unavailable", details: { provider: "momo", cashout: { status: "pending" } } });
    const id = down.body.error.details.cashout.id;
    const { reference_id: reference } = await cashOutRow(id);
    expect(await balanceOf(sql, user.accountId)).toEqual({ balance: 9000, available: 3000 });

    // MoMo takes the transfer but its answer never arrives: still a 502, still one transfer.
    gateway.momo.transferBehaviour = "accept-silently";
    try {
      expect((await cashOut(user, key, body)).status).toBe(502);
    } finally {
      gateway.momo.transferBehaviour = "accept";
    }
    expect(gateway.momo.transfers.has(reference)).toBe(true);

    // The retry re-sends the same reference; MoMo's 409 RESOURCE_ALREADY_EXIST counts as accepted.
    const retried = await cashOut(user, key, body);
    expect(retried.status).toBe(201);
    expect(retried.body.cashout).toMatchObject({ id, status: "pending" });
    expect([...gateway.momo.transfers.keys()].filter((ref) => ref === reference)).toHaveLength(1);
    expect(await rowsOf(user)).toEqual({ cashouts: 1, holds: 1, requests: 1 });

    expect(await gateway.momo.decide(reference, "SUCCESSFUL")).toBe(200);
    expect(await balanceOf(sql, user.accountId)).toEqual({ balance: 3000, available: 3000 });
    await assertLedgerInvariants(sql);
  });

  it("MoMo refusing a retry of a transfer it may hold already keeps the hold (502): MoMo then paying the first send captures it once", async () => {
    const user = await fundedUser(5000);
    const key = crypto.randomUUID();
    const body = { account_id: user.accountId, amount: 4000, currency: "UGX", msisdn: MSISDN };
    // MoMo takes the transfer but its answer is lost.
    const lost = await whileAnswering(gateway.momo, "transferBehaviour", "accept-silently", () => cashOut(user, key, body));
    expect(lost.status).toBe(502);
    const id = lost.body.error.details.cashout.id;
    const { reference_id: reference } = await cashOutRow(id);

    // The retry's send is refused: that says nothing of the first send, which MoMo holds.
    const payeeNotFound = { status: 400, body: { code: "PAYEE_NOT_FOUND", message: "Payee not found" } };
    const refused = await whileAnswering(gateway.momo, "transferBehaviour", payeeNotFound, () => cashOut(user, key, body));
    expect(refused.status).toBe(502);
    expect(refused.body.error).toMatchObject({
      code: "provider_unavailable",
      details: { provider: "momo", cashout: { id, status: "pending" } },
    });
    expect(await cashOutRow(id)).toMatchObject({ status: "pending", hold_status: "pending" });
    expect(await balanceOf(sql, user.accountId)).toEqual({ balance: 5000, available: 1000 });

    // MoMo pays the transfer it took: the hold is captured, the money leaves the wallet once.
    expect(await gateway.momo.decide(reference, "SUCCESSFUL")).toBe(200);
    expect(await cashOutRow(id)).toMatchObject({ status: "paid", hold_status: "posted" });
    expect(await balanceOf(sql, user.accountId)).toEqual({ balance: 1000, available: 1000 });
    expect(await clearingReceivedFrom(user.accountId)).toBe(4000);
    await assertLedgerInvariants(sql);
  });
});

describe("refusals and input", () => {
  it("insufficient funds: 409 insufficient_funds (WL001), nothing held, MoMo not called", async () => {
    const user = await fundedUser(100);
    const before = transferPosts();
    const answer = await cashOut(user, crypto.randomUUID(), { account_id: user.accountId, amount: 101, currency: "UGX", msisdn: MSISDN });
    expect(answer.status).toBe(409);
    expect(answer.body.error).toMatchObject({ code: "insufficient_funds", details: { sqlstate: "WL001" } });
    expect(transferPosts()).toBe(before);
    expect(await rowsOf(user)).toMatchObject({ cashouts: 0, holds: 0 });
    expect(await balanceOf(sql, user.accountId)).toEqual({ balance: 100, available: 100 });
  });

  it("another user's account is refused (403) as if it did not exist, and another user's cash-out is not found (404), staff's calls included", async () => {
    const owner = await fundedUser(5000);
    const stranger = await fundedUser(0);
    const body = { account_id: owner.accountId, amount: 1000, currency: "UGX", msisdn: MSISDN };
    const foreign = await cashOut(stranger, crypto.randomUUID(), body);
    const missing = await cashOut(stranger, crypto.randomUUID(), { ...body, account_id: crypto.randomUUID() });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error).toMatchObject({ code: "forbidden", details: { sqlstate: "42501" } });
    const missingId = (missing.body.error.message as string).replace(/[0-9a-f-]{36}/, "X");
    expect(missingId).toBe((foreign.body.error.message as string).replace(body.account_id, "X"));
    expect(await rowsOf(stranger)).toMatchObject({ cashouts: 0, holds: 0 });
    expect(await balanceOf(sql, owner.accountId)).toEqual({ balance: 5000, available: 5000 });

    const mine = await cashOut(owner, crypto.randomUUID(), body);
    expect((await callPayments(gateway.url, "GET", `/cashouts/${mine.body.cashout.id}`, { token: stranger.token })).status).toBe(404);
    // Staff, who read every cash-out through RLS, get the user API's answer too: the caller's own only.
    const { admin, support } = await createStaff(sql, process.env.SUPABASE_JWT_SECRET!);
    for (const staff of [admin, support]) {
      expect((await callPayments(gateway.url, "GET", `/cashouts/${mine.body.cashout.id}`, { token: staff.token })).status).toBe(404);
    }
    expect((await callPayments(gateway.url, "GET", "/cashouts/not-a-uuid", { token: owner.token })).status).toBe(404);
    expect((await callPayments(gateway.url, "POST", "/cashouts", { idempotencyKey: "k", body })).status).toBe(401);
  });

  it.each(
    [
      ["no Idempotency-Key", null, {}],
      ["no msisdn", "k1", { msisdn: undefined }],
      ["an msisdn with a plus", "k2", { msisdn: "+256772000003" }],
      ["a zero amount", "k3", { amount: 0 }],
      ["a fractional amount", "k4", { amount: 10.5 }],
      ["a lower-case currency", "k5", { currency: "ugx" }],
      ["an account id that is no UUID", "k6", { account_id: "acct_1" }],
      ["an unknown field", "k7", { provider: "momo" }],
    ] as const,
  )("answers 400 for %s and writes nothing", async (_, key, change) => {
    const user = await fundedUser(1000);
    const body = { account_id: user.accountId, amount: 500, currency: "UGX", msisdn: MSISDN, ...change };
    const answer = await cashOut(user, key ?? undefined, body);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toMatch(/^(validation_failed|idempotency_key_required)$/);
    expect(await rowsOf(user)).toEqual({ cashouts: 0, holds: 0, requests: 0 });
  });

  it("the same key with another body is 422 and sends no transfer", async () => {
    const user = await fundedUser(1000);
    const key = crypto.randomUUID();
    const body = { account_id: user.accountId, amount: 500, currency: "UGX", msisdn: MSISDN };
    expect((await cashOut(user, key, body)).status).toBe(201);
    const before = transferPosts();
    const other = await cashOut(user, key, { ...body, amount: 501 });
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe("idempotency_key_reused");
    expect(transferPosts()).toBe(before);
    expect(await rowsOf(user)).toEqual({ cashouts: 1, holds: 1, requests: 1 });
  });
});
