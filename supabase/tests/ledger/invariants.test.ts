// The invariant checks the tests, benchmarks and drills rely on must see a broken ledger.
// Each case breaks one invariant inside a transaction that is rolled back, so nothing it
// writes is ever visible to the suites running next to it.
import type { Sql } from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkLedgerInvariants } from "./invariants.ts";
import { connect, createFundedParties, type Party, testDatabaseUrl } from "./ledger-client.ts";

const CURRENCY = "XIV";

let sql: Sql;
let parties: Party[];

beforeAll(async () => {
  sql = connect(testDatabaseUrl(), 2);
  parties = await createFundedParties(sql, CURRENCY, 2, 1_000n);
});

afterAll(async () => {
  await sql?.end({ timeout: 5 });
});

/** The invariants violated after `breakIt` runs in a transaction that is then rolled back. */
async function violatedAfter(breakIt: (tx: Sql) => Promise<unknown>): Promise<string[]> {
  const reserved = await sql.reserve();
  try {
    await reserved`begin`;
    await breakIt(reserved);
    const violations = await checkLedgerInvariants(reserved);
    return [...new Set(violations.map((v) => v.invariant))];
  } finally {
    await reserved`rollback`;
    reserved.release();
  }
}

describe("checkLedgerInvariants", () => {
  it("finds nothing on the ledger as the functions left it", async () => {
    expect(await checkLedgerInvariants(sql)).toEqual([]);
  });

  it("finds a transaction whose entries do not sum to zero", async () => {
    const violated = await violatedAfter((tx) =>
      tx`insert into public.wallet_entries (transaction_id, account_id, amount)
         select t.id, t.to_account_id, 1 from public.wallet_transactions t
          where t.to_account_id = ${parties[0].accountId} and t.status = 'posted' limit 1`
    );
    expect(violated).toContain(
      "1. every transaction's entries sum to zero (posted: one debit of from, one credit of to; others: none)",
    );
  });

  it("finds a balance that is not the sum of the account's entries", async () => {
    const violated = await violatedAfter((tx) =>
      tx`update public.wallet_accounts set balance = balance + 1, available = available + 1 where id = ${parties[0].accountId}`
    );
    expect(violated).toContain("2. every account's balance (what wallet_balance and a frontend read) equals the sum of its entries");
  });

  it("finds money left in the shards of an account that no longer uses them", async () => {
    const account = parties[1].accountId;
    const violated = await violatedAfter(async (tx) => {
      await tx`select public.wallet_set_balance_shards(${account}, 2)`;
      // The total stays right: one unit moved from the row into a shard, then shards switched off.
      await tx`update public.wallet_balance_shards set balance = balance + 1 where account_id = ${account} and shard = 0`;
      await tx`update public.wallet_accounts set balance = balance - 1, available = available - 1, balance_shards = 0
                where id = ${account}`;
    });
    expect(violated).toEqual(["2a. an account without balance shards holds nothing in shards (so its row is its balance)"]);
  });

  it("finds money that reached a closed account through its shards", async () => {
    const account = parties[1].accountId;
    const violated = await violatedAfter(async (tx) => {
      await tx`select public.wallet_set_balance_shards(${account}, 2)`;
      await tx`update public.wallet_balance_shards set balance = balance + 1 where account_id = ${account} and shard = 0`;
      await tx`update public.wallet_accounts set balance = 0, available = 0, status = 'closed' where id = ${account}`;
    });
    expect(violated).toContain("4c. a closed account holds nothing, in its row or its shards");
  });
});
