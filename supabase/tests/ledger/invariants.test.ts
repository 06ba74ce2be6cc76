// The invariant checks the tests, benchmarks and drills rely on must see a broken ledger.
// Each case breaks exactly one invariant, as the superuser, inside a transaction that is
// rolled back (so nothing it writes is ever visible to the suites running next to it), and
// expects that invariant, and no other, to be reported for what it broke.
import type { Sql, TransactionSql } from "postgres";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkLedgerInvariants } from "../support/ledger-invariants.ts";
import { connect, createFundedParties, type Party, testDatabaseUrl } from "./ledger-client.ts";

const CURRENCY = "XIV";
const FUNDING = 1_000n;

let sql: Sql;
let parties: Party[];

beforeAll(async () => {
  sql = connect(testDatabaseUrl(), 2);
  parties = await createFundedParties(sql, CURRENCY, 2, FUNDING);
});

afterAll(async () => {
  await sql?.end({ timeout: 5 });
});

interface Violation {
  /** The invariant's number in docs/LEDGER.md ("1", "2a", ...). */
  invariant: string;
  detail: string;
}

/** The violations reported after `breakIt` runs in a transaction that is then rolled back. */
async function violationsAfter(breakIt: (tx: Sql) => Promise<unknown>): Promise<Violation[]> {
  const reserved = await sql.reserve();
  try {
    await reserved`begin`;
    await breakIt(reserved);
    const violations = await checkLedgerInvariants(reserved);
    return violations.map((v) => ({ invariant: v.invariant.slice(0, v.invariant.indexOf(".")), detail: v.detail }));
  } finally {
    await reserved`rollback`;
    reserved.release();
  }
}

/** The one violation `invariant` names, whose detail names every one of `subjects`. */
function only(invariant: string, ...subjects: string[]): Violation[] {
  const pattern = subjects.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*");
  return [{ invariant, detail: expect.stringMatching(new RegExp(pattern)) as unknown as string }];
}

/** A posted transfer written by the functions, as the service: its id. */
async function transfer(tx: Sql | TransactionSql, from: string, to: string, amount: number): Promise<string> {
  const [row] = await tx<{ id: string }[]>`
    select id from public.wallet_transfer(${from}::uuid, ${to}::uuid, ${amount}::bigint, ${CURRENCY}, ${randomUUID()})`;
  return row!.id;
}

describe("checkLedgerInvariants", () => {
  it("finds nothing on the ledger as the functions left it", async () => {
    expect(await checkLedgerInvariants(sql)).toEqual([]);
  });

  it("1: finds a transaction that is not posted but has entries, even entries that cancel out", async () => {
    const account = parties[0].accountId;
    let hold = "";
    const violations = await violationsAfter(async (tx) => {
      [{ id: hold }] = await tx<{ id: string }[]>`select id from public.wallet_hold(${account}::uuid, 10, ${CURRENCY}, ${randomUUID()})`;
      await tx`insert into public.wallet_entries (transaction_id, account_id, amount)
               values (${hold}::uuid, ${account}::uuid, -5), (${hold}::uuid, ${account}::uuid, 5)`;
    });
    expect(violations).toEqual(only("1", hold, "hold, pending"));
  });

  it("1: finds a posted transfer whose credit went to another account than its receiver", async () => {
    const [payer, payee] = parties;
    let id = "";
    const violations = await violationsAfter(async (tx) => {
      // A third account takes the credit; every balance still equals the sum of its entries.
      const [{ id: stray }] = await tx<{ id: string }[]>`
        insert into public.wallet_accounts (kind, code, currency) values ('system', ${`stray:${randomUUID()}`}, ${CURRENCY})
        returning id`;
      [{ id }] = await tx<{ id: string }[]>`
        insert into public.wallet_transactions (kind, status, amount, currency, from_account_id, to_account_id, idempotency_key, posted_at)
        values ('transfer', 'posted', 7, ${CURRENCY}, ${payer.accountId}::uuid, ${payee.accountId}::uuid, ${randomUUID()}, now())
        returning id`;
      await tx`insert into public.wallet_entries (transaction_id, account_id, amount)
               values (${id}::uuid, ${payer.accountId}::uuid, -7), (${id}::uuid, ${stray}::uuid, 7)`;
      await tx`update public.wallet_accounts set balance = balance - 7, available = available - 7 where id = ${payer.accountId}::uuid`;
      await tx`update public.wallet_accounts set balance = balance + 7, available = available + 7 where id = ${stray}::uuid`;
    });
    expect(violations).toEqual(only("1", id, "2 entries summing to 0"));
  });

  it("2: finds balances that moved between accounts without entries", async () => {
    const [from, to] = parties.map((p) => p.accountId);
    const violations = await violationsAfter(async (tx) => {
      await tx`update public.wallet_accounts set balance = balance - 1, available = available - 1 where id = ${from}::uuid`;
      await tx`update public.wallet_accounts set balance = balance + 1, available = available + 1 where id = ${to}::uuid`;
    });
    expect(violations.map((v) => v.invariant)).toEqual(["2", "2"]);
    expect(violations.map((v) => v.detail).sort()).toEqual([
      `account ${from}: balance ${FUNDING - 1n} (view), wallet_balance ${FUNDING - 1n}, entries sum ${FUNDING}`,
      `account ${to}: balance ${FUNDING + 1n} (view), wallet_balance ${FUNDING + 1n}, entries sum ${FUNDING}`,
    ].sort());
  });

  it("2: finds a wallet_balance that reads something else than the entries' sum", async () => {
    const account = parties[0].accountId;
    const violations = await violationsAfter(async (tx) => {
      // A regression of the function a frontend calls; the rows and the view stay right.
      await tx.unsafe(`
        create or replace function api_private.wallet_balance(p_account uuid) returns bigint
        language sql stable security definer set search_path = ''
        as $$ select b.balance + case when b.account_id = '${account}' then 1 else 0 end
                from public.wallet_account_balances b where b.account_id = p_account $$`);
    });
    expect(violations).toEqual([{
      invariant: "2",
      detail: `account ${account}: balance ${FUNDING} (view), wallet_balance ${FUNDING + 1n}, entries sum ${FUNDING}`,
    }]);
  });

  it("2a: finds money left in the shards of an account that no longer uses them", async () => {
    const account = parties[1].accountId;
    const violations = await violationsAfter(async (tx) => {
      await tx`select public.wallet_set_balance_shards(${account}, 2)`;
      // The total stays right: one unit moved from the row into a shard, then shards switched off.
      await tx`update public.wallet_balance_shards set balance = balance + 1 where account_id = ${account} and shard = 0`;
      await tx`update public.wallet_accounts set balance = balance - 1, available = available - 1, balance_shards = 0
                where id = ${account}`;
    });
    expect(violations).toEqual(only("2a", account, "shard 0 holds 1"));
  });

  it("2b: finds an available amount that is not the balance minus the pending holds", async () => {
    const account = parties[0].accountId;
    const violations = await violationsAfter(async (tx) => {
      await tx`select public.wallet_hold(${account}::uuid, 10, ${CURRENCY}, ${randomUUID()})`;
      // What the hold reserved, released twice.
      await tx`update public.wallet_accounts set available = available + 10 where id = ${account}::uuid`;
    });
    expect(violations).toEqual(only("2b", account, `available ${FUNDING}, balance ${FUNDING}, pending holds 10`));
  });

  it("3: finds a currency that no longer sums to zero, each balance still its entries' sum", async () => {
    const payer = parties[0].accountId;
    const violations = await violationsAfter(async (tx) => {
      // A transfer into an account of another currency, posted with both entries.
      const [{ id: foreign }] = await tx<{ id: string }[]>`
        insert into public.wallet_accounts (kind, code, currency) values ('system', ${`foreign:${randomUUID()}`}, 'XIW')
        returning id`;
      const [{ id }] = await tx<{ id: string }[]>`
        insert into public.wallet_transactions (kind, status, amount, currency, from_account_id, to_account_id, idempotency_key, posted_at)
        values ('transfer', 'posted', 3, ${CURRENCY}, ${payer}::uuid, ${foreign}::uuid, ${randomUUID()}, now())
        returning id`;
      await tx`insert into public.wallet_entries (transaction_id, account_id, amount)
               values (${id}::uuid, ${payer}::uuid, -3), (${id}::uuid, ${foreign}::uuid, 3)`;
      await tx`update public.wallet_accounts set balance = balance - 3, available = available - 3 where id = ${payer}::uuid`;
      await tx`update public.wallet_accounts set balance = balance + 3, available = available + 3 where id = ${foreign}::uuid`;
    });
    expect(violations.sort((a, b) => a.detail.localeCompare(b.detail))).toEqual([
      { invariant: "3", detail: "currency XIV sums to -3" },
      { invariant: "3", detail: "currency XIW sums to 3" },
    ]);
  });

  it("4: finds an account below zero that no forced reversal debited", async () => {
    const [payer, payee] = parties.map((p) => p.accountId);
    const violations = await violationsAfter(async (tx) => {
      // The internal poster with p_force, as only a forced reversal may use it.
      await tx`select private.wallet_post_one(null, 'transfer', true, ${payer}::uuid, ${payee}::uuid,
                                              ${(FUNDING + 1n).toString()}::bigint, ${CURRENCY}, ${randomUUID()}, null, '{}')`;
    });
    expect(violations).toEqual(only("4", payer, "balance -1 without a forced reversal"));
  });

  it("4: accepts an account below zero that a forced reversal debited", async () => {
    const [payer, payee] = parties.map((p) => p.accountId);
    const violations = await violationsAfter(async (tx) => {
      // The payee spends what it received, then the payment is taken back all the same.
      const payment = await transfer(tx, payer, payee, 600);
      await transfer(tx, payee, payer, Number(FUNDING) + 600);
      await tx`select public.wallet_reverse(${payment}::uuid, ${randomUUID()}, null, 'chargeback', true)`;
    });
    expect(violations).toEqual([]);
  });

  it("4b: finds reversals that add up to more than their transaction", async () => {
    const [payer, payee] = parties.map((p) => p.accountId);
    let original = "";
    const violations = await violationsAfter(async (tx) => {
      original = await transfer(tx, payer, payee, 100);
      // The internal poster, past wallet_reverse's check of what remains.
      await tx`select private.wallet_post(null, 'reversal', false, array[${payee}::uuid], array[${payer}::uuid], array[101::bigint],
                                          array[${CURRENCY}::text], array[${randomUUID()}::text], array[null::text], array['{"force": false}'::jsonb],
                                          ${original}::uuid)`;
    });
    expect(violations).toEqual(only("4b", original, "moved 100, reversed 101"));
  });

  it("4c: finds a closed account that still holds money, in its shards", async () => {
    const account = parties[1].accountId;
    const violations = await violationsAfter(async (tx) => {
      // The whole balance moves from the row into a shard, then the account is closed.
      await tx`select public.wallet_set_balance_shards(${account}, 2)`;
      await tx`update public.wallet_balance_shards s set balance = a.balance
                 from public.wallet_accounts a where a.id = s.account_id and s.account_id = ${account} and s.shard = 0`;
      await tx`update public.wallet_accounts set balance = 0, available = 0, status = 'closed' where id = ${account}`;
    });
    expect(violations).toEqual(only("4c", account, `balance ${FUNDING}, available ${FUNDING}`));
  });

  it("5: finds an idempotency key with two transactions in one scope", async () => {
    const account = parties[0].accountId;
    const key = `fund-${account}`;
    const violations = await violationsAfter(async (tx) => {
      // The unique constraint is what keeps this from happening: drop it for this transaction.
      // A voided hold changes no balance, so only the key is wrong.
      await tx`set local lock_timeout = '20s'`;
      await tx`alter table public.wallet_transactions drop constraint wallet_transactions_idempotency_key`;
      await tx`insert into public.wallet_transactions (kind, status, amount, hold_amount, currency, from_account_id, idempotency_key)
               values ('hold', 'voided', 1, 1, ${CURRENCY}, ${account}::uuid, ${key})`;
    });
    expect(violations).toEqual(only("5", `key ${key} of service used by 2 transactions`));
  });
});
