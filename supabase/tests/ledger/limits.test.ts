// Limits under concurrency: payments an account's owner fires at the same moment queue on the
// account's usage counter, so exactly those that fit the daily total pass and the rest are
// WL009; the same key fired at once is one payment, counted once.
import { randomUUID } from "node:crypto";
import type { Sql } from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  callAs,
  connect,
  createFundedParties,
  type Party,
  scratchCurrency,
  serveCurrency,
  sqlState,
  type StandardLimits,
  stopServingCurrency,
  testDatabaseUrl,
} from "./ledger-client.ts";

const CONCURRENT = 8;

let sql: Sql;
let currency: string;
let standard: StandardLimits;

beforeAll(async () => {
  sql = connect(testDatabaseUrl(), CONCURRENT + 2);
  // A currency of this run alone, which the standard tier has no limits in until the suite sets them.
  do currency = scratchCurrency(); while ((await sql`select 1 from public.wallet_tier_limits where currency = ${currency}`).length > 0);
  standard = { maxSingle: 500_000n, maxDaily: 2_000_000n, perHour: 60 };
  await serveCurrency(sql, currency, standard);
});

afterAll(async () => {
  if (!sql) return;
  await stopServingCurrency(sql, currency);
  await sql.end({ timeout: 5 });
});

/** A standard-tier payer funded well beyond its daily total, and a payee. */
async function payerAndPayee(): Promise<[Party, Party]> {
  const [payer, payee] = await createFundedParties(sql, currency, 2, standard.maxDaily * 10n);
  await sql`update public.wallet_accounts set limit_tier = 'standard' where id = ${payer!.accountId}`;
  return [payer!, payee!];
}

async function pay(payer: Party, payee: Party, amount: bigint, key: string): Promise<string> {
  try {
    const [tx] = await callAs(sql, { kind: "user", userId: payer.userId }, "wallet_transfer", [
      payer.accountId,
      payee.accountId,
      amount.toString(),
      currency,
      key,
      null,
      {},
    ]);
    return tx!.id;
  } catch (error) {
    return sqlState(error);
  }
}

async function sentToday(account: string): Promise<bigint> {
  const rows = await sql<{ sent: string }[]>`
    select coalesce(sum(amount), 0) as sent from public.wallet_transactions
     where from_account_id = ${account} and kind = 'transfer'`;
  return BigInt(rows[0]!.sent);
}

describe("limits under concurrency", () => {
  it(`lets exactly the payments that fit the daily total pass when ${CONCURRENT} race`, async () => {
    const [payer, payee] = await payerAndPayee();
    const amount = standard.maxSingle;
    const fit = Number(standard.maxDaily / amount);
    expect(fit).toBeLessThan(CONCURRENT);

    const outcomes = await Promise.all(
      Array.from({ length: CONCURRENT }, (_, i) => pay(payer, payee, amount, `limits-race-${randomUUID()}-${i}`)),
    );

    expect(outcomes.filter((o) => o === "WL009")).toHaveLength(CONCURRENT - fit);
    expect(outcomes.filter((o) => o !== "WL009").every((o) => /^[0-9a-f-]{36}$/.test(o))).toBe(true);
    const sent = await sentToday(payer.accountId);
    expect(sent).toBe(amount * BigInt(fit));
    expect(sent).toBeLessThanOrEqual(standard.maxDaily);
    const [usage] = await sql<{ sent_today: string }[]>`
      select sent_today from private.wallet_limit_usage where account_id = ${payer.accountId}`;
    expect(BigInt(usage!.sent_today)).toBe(sent);
  });

  it("counts one key fired at once as one payment", async () => {
    const [payer, payee] = await payerAndPayee();
    const key = `limits-same-${randomUUID()}`;
    const outcomes = await Promise.all(Array.from({ length: CONCURRENT }, () => pay(payer, payee, 1n, key)));

    expect(new Set(outcomes).size).toBe(1);
    expect(outcomes[0]).toMatch(/^[0-9a-f-]{36}$/);
    const [usage] = await sql<{ sent_today: string; sent_this_hour: number }[]>`
      select sent_today, sent_this_hour from private.wallet_limit_usage where account_id = ${payer.accountId}`;
    expect([BigInt(usage!.sent_today), usage!.sent_this_hour]).toEqual([1n, 1]);
  });
});
