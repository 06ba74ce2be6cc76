// The expire-holds job beside the ledger's other writers: it voids holds of many accounts in
// one transaction, so it must take their account rows in the ledger's global lock order (users
// before system accounts, each by id) like every other writer, or a payment between two of
// those accounts and the job wait for each other in a cycle and one of them dies in a deadlock.
import { randomUUID } from "node:crypto";
import type { Sql } from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Party } from "./ledger-client.ts";
import {
  balances,
  callAs,
  connect,
  createFundedParties,
  scratchCurrency,
  serveCurrency,
  service,
  stopServingCurrency,
  testDatabaseUrl,
} from "./ledger-client.ts";

const CURRENCY = scratchCurrency();

let sql: Sql;
let parties: Party[];
const run = randomUUID().slice(0, 8);

beforeAll(async () => {
  sql = connect(testDatabaseUrl(), 4);
  await serveCurrency(sql, CURRENCY, { maxSingle: 1_000_000n, maxDaily: 100_000_000n, perHour: 1_000 });
  parties = await createFundedParties(sql, CURRENCY, 4, 10_000n);
  // Ordered by account id: the order in which every ledger writer locks user accounts.
  parties.sort((a, b) => (a.accountId < b.accountId ? -1 : 1));
});

afterAll(async () => {
  if (!sql) return;
  await stopServingCurrency(sql, CURRENCY);
  await sql.end({ timeout: 5 });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("a hold's expiry and its idempotency key", () => {
  it("replays a hold or withdrawal whose expiry has passed: the original, not 22023", async () => {
    // The account of the highest id: none of the lock-order test's three.
    const payer = parties[3]!;
    const expiresAt = new Date(Date.now() + 1000);
    const holdCall = () => callAs(sql, service, "wallet_hold", [payer.accountId, "5", CURRENCY, `eh-${run}-replay-h`, {}, expiresAt]);
    const withdrawalCall = () =>
      callAs(sql, service, "wallet_withdraw", [payer.accountId, "7", CURRENCY, "test", `eh-${run}-replay-w`, {}, expiresAt]);
    const [[hold], [withdrawal]] = [await holdCall(), await withdrawalCall()];
    await sleep(Math.max(0, expiresAt.getTime() + 300 - Date.now()));
    // The client's retry of the same calls (a timeout, a lost answer) after the expiry.
    const [[holdAgain], [withdrawalAgain]] = [await holdCall(), await withdrawalCall()];
    expect(holdAgain!.id).toBe(hold!.id);
    expect(withdrawalAgain!.id).toBe(withdrawal!.id);
    // A new key with an expiry in the past is still refused, and writes nothing.
    await expect(callAs(sql, service, "wallet_hold", [payer.accountId, "5", CURRENCY, `eh-${run}-late`, {}, expiresAt]))
      .rejects.toMatchObject({ code: "22023" });
    const [late] = await sql`select count(*)::int as n from public.wallet_transactions where idempotency_key = ${`eh-${run}-late`}`;
    expect(late!.n).toBe(0);
  });
});

describe("expire-holds and the ledger's lock order", () => {
  it("voids the expired holds of two accounts while a payment between them runs, without a deadlock", async () => {
    const [low, high, third] = parties as [Party, Party, Party];
    // The hold of the higher account expires first, so the job releases it first.
    const soon = Date.now();
    await callAs(sql, service, "wallet_hold", [high.accountId, "100", CURRENCY, `eh-${run}-high`, {}, new Date(soon + 1500)]);
    await callAs(sql, service, "wallet_hold", [low.accountId, "100", CURRENCY, `eh-${run}-low`, {}, new Date(soon + 2000)]);
    await sleep(Math.max(0, soon + 2300 - Date.now()));

    const errors: string[] = [];
    let lowLocked!: () => void;
    const lowIsLocked = new Promise<void>((resolve) => (lowLocked = resolve));
    let jobStarted!: () => void;
    const jobIsWaiting = new Promise<void>((resolve) => (jobStarted = resolve));

    // A payer's transaction: a payment out of `low` (its row locked to the commit), then one
    // from `low` to `high`, which takes `high` second, in the global order.
    const payer = sql.begin(async (tx) => {
      await tx`select set_config('role', 'service_role', true), set_config('request.jwt.claims', '{"role":"service_role"}', true)`;
      await tx`select 1 from public.wallet_transfer(${low.accountId}::uuid, ${third.accountId}::uuid, 10, ${CURRENCY}, ${`eh-${run}-t1`})`;
      lowLocked();
      await jobIsWaiting;
      await tx`select 1 from public.wallet_transfer(${low.accountId}::uuid, ${high.accountId}::uuid, 10, ${CURRENCY}, ${`eh-${run}-t2`})`;
    }).catch((error: { code?: string; message?: string }) => errors.push(`payment: ${error.code} ${error.message}`));

    await lowIsLocked;
    const job = sql.begin(async (tx) => {
      await tx`select set_config('role', 'service_role', true), set_config('request.jwt.claims', '{"role":"service_role"}', true)`;
      const [row] = await tx<{ voided: number }[]>`select api_private.expire_holds(1000) as voided`;
      return row!.voided;
    }).catch((error: { code?: string; message?: string }) => {
      errors.push(`expire-holds: ${error.code} ${error.message}`);
      return 0;
    });
    // Let the job reach the row the payer holds (it waits there), then let the payer go on.
    await sleep(500);
    jobStarted();
    const [, voided] = await Promise.all([payer, job]);

    expect(errors).toEqual([]);
    expect(voided).toBeGreaterThanOrEqual(2);
    const holds = await sql<{ idempotency_key: string; status: string }[]>`
      select idempotency_key, status from public.wallet_transactions
       where idempotency_key in (${`eh-${run}-high`}, ${`eh-${run}-low`}) order by idempotency_key`;
    expect(holds.map((h) => h.status)).toEqual(["voided", "voided"]);
    const after = await balances(sql, [low.accountId, high.accountId, third.accountId]);
    expect(after.get(low.accountId)).toEqual({ balance: 9_980n, available: 9_980n });
    expect(after.get(high.accountId)).toEqual({ balance: 10_010n, available: 10_010n });
    expect(after.get(third.accountId)).toEqual({ balance: 10_010n, available: 10_010n });
  });
});
