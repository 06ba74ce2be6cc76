// Balance shards under concurrency. A credit to a hot account takes no lock on its row, so
// what keeps freezes, closes and the switch back to one row exact is the order of the shard
// locks. Each race is staged: one transaction holds its locks uncommitted while the other
// call is seen waiting for them, then the first commits. Last, many clients pay one hot
// account while others pay out of it and freeze it, and every balance adds up.
import { randomUUID } from "node:crypto";
import type { ReservedSql, Sql } from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertLedgerInvariants } from "./invariants.ts";
import {
  balances,
  callAs,
  connect,
  createFundedParties,
  type Party,
  service,
  sqlState,
  testDatabaseUrl,
  type WalletTransaction,
} from "./ledger-client.ts";

const CURRENCY = "XSH";
const SHARDS = 4;

let sql: Sql;
let payers: Party[];
const run = randomUUID().slice(0, 8);
let keySeq = 0;
const nextKey = () => `bs-${run}-${keySeq++}`;

beforeAll(async () => {
  sql = connect(testDatabaseUrl(), 24);
  payers = await createFundedParties(sql, CURRENCY, 8, 1_000_000n);
});

afterAll(async () => {
  await sql?.end({ timeout: 5 });
});

async function hotAccount(): Promise<string> {
  const [merchant] = await createFundedParties(sql, CURRENCY, 1, 0n);
  await callAs(sql, service, "wallet_set_balance_shards", [merchant!.accountId, SHARDS]);
  return merchant!.accountId;
}

interface OpenTransaction {
  connection: ReservedSql;
  pid: number;
}

/** Opens a transaction as the service on a connection of its own, runs `statement` in it and leaves it open. */
async function holdOpen(statement: string, args: unknown[]): Promise<OpenTransaction> {
  const connection = await sql.reserve();
  const [{ pid }] = await connection<{ pid: number }[]>`select pg_backend_pid() as pid`;
  await connection`begin`;
  await connection`select set_config('role', 'service_role', true), set_config('request.jwt.claims', '{"role":"service_role"}', true)`;
  await connection.unsafe(statement, args as never[]);
  return { connection, pid };
}

async function commit(open: OpenTransaction): Promise<void> {
  await open.connection`commit`;
  open.connection.release();
}

/** Resolves once another backend waits for a lock that the open transaction holds. */
async function someoneWaitsFor(open: OpenTransaction): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const [{ waiting }] = await sql<{ waiting: number }[]>`
      select count(*)::int as waiting from pg_stat_activity where ${open.pid}::int = any (pg_blocking_pids(pid))`;
    if (waiting > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`nothing started waiting for backend ${open.pid}`);
}

/** Starts a transfer to `to` as the service; the promise gives its status or its SQLSTATE. */
function transferTo(to: string, amount: number, key = nextKey()): Promise<string> {
  return callAs(sql, service, "wallet_transfer", [payers[0]!.accountId, to, amount, CURRENCY, key, null, {}])
    .then((rows) => rows[0]!.status)
    .catch((error: unknown) => sqlState(error));
}

async function balanceOf(account: string): Promise<bigint> {
  return (await balances(sql, [account])).get(account)!.balance;
}

describe("balance shards under concurrency", () => {
  it("refuses with 40001 a credit that read the shards as on while they were being switched off", async () => {
    const merchant = await hotAccount();
    const key = nextKey();
    const switchingOff = await holdOpen("select public.wallet_set_balance_shards($1, 0)", [merchant]);
    const credit = transferTo(merchant, 100, key);
    await someoneWaitsFor(switchingOff);
    await commit(switchingOff);
    expect(await credit).toBe("40001");
    expect(await balanceOf(merchant)).toBe(0n);
    // Retried, it lands in the row.
    expect(await transferTo(merchant, 100, key)).toBe("posted");
    const [row] = await sql<{ balance: string }[]>`select balance from public.wallet_accounts where id = ${merchant}`;
    expect(row!.balance).toBe("100");
    await assertLedgerInvariants(sql);
  });

  it("refuses a credit that waited for a freeze, and lets a freeze wait for a credit in flight", async () => {
    const merchant = await hotAccount();
    const freezing = await holdOpen("select public.wallet_set_status($1, 'frozen', 'shards race')", [merchant]);
    const refused = transferTo(merchant, 100);
    await someoneWaitsFor(freezing);
    await commit(freezing);
    expect(await refused).toBe("WL004");
    await callAs(sql, service, "wallet_set_status", [merchant, "active", "shards race"]);

    const credit = await holdOpen("select public.wallet_transfer($1, $2, 250, $3, $4)", [payers[0]!.accountId, merchant, CURRENCY, nextKey()]);
    const freeze = callAs<{ balance: string; status: string }>(sql, service, "wallet_set_status", [merchant, "frozen", "shards race"]);
    await someoneWaitsFor(credit);
    await commit(credit);
    // The freeze folded the credit that committed before it: its row carries the whole balance.
    expect(await freeze).toMatchObject([{ status: "frozen", balance: "250" }]);
    expect(await balanceOf(merchant)).toBe(250n);
    await assertLedgerInvariants(sql);
  });

  it("does not close an account while a credit to it is in flight", async () => {
    const merchant = await hotAccount();
    const credit = await holdOpen("select public.wallet_transfer($1, $2, 40, $3, $4)", [payers[0]!.accountId, merchant, CURRENCY, nextKey()]);
    const close = callAs(sql, service, "wallet_set_status", [merchant, "closed", "shards race"])
      .then(() => "closed")
      .catch((error: unknown) => sqlState(error));
    await someoneWaitsFor(credit);
    await commit(credit);
    expect(await close).toBe("WL008");
    expect(await balanceOf(merchant)).toBe(40n);
  });

  it("keeps every balance exact while many clients pay one hot account and others pay out of it and freeze it", async () => {
    const merchant = await hotAccount();
    const committed = new Map<string, WalletTransaction>();
    const outcomes: string[] = [];
    const record = (rows: WalletTransaction[]) => rows.forEach((row) => committed.set(row.id, row));
    const refusal = (error: unknown) => {
      const state = sqlState(error);
      outcomes.push(state);
      if (!["WL001", "WL004"].includes(state)) throw error;
    };
    const payer = async (p: Party) => {
      for (let i = 0; i < 40; i++) {
        await callAs(sql, service, "wallet_transfer", [p.accountId, merchant, 1 + (i % 7), CURRENCY, nextKey(), null, {}])
          .then(record, refusal);
      }
    };
    const payouts = async () => {
      for (let i = 0; i < 30; i++) {
        await callAs(sql, service, "wallet_transfer", [merchant, payers[0]!.accountId, 5, CURRENCY, nextKey(), null, {}])
          .then(record, refusal);
      }
    };
    const freezer = async () => {
      for (let i = 0; i < 10; i++) {
        await callAs(sql, service, "wallet_set_status", [merchant, "frozen", "shards load"]);
        await callAs(sql, service, "wallet_set_status", [merchant, "active", "shards load"]);
      }
    };
    await Promise.all([...payers.map(payer), payouts(), freezer()]);

    let expected = 0n;
    for (const tx of committed.values()) expected += tx.to_account_id === merchant ? BigInt(tx.amount) : -BigInt(tx.amount);
    expect(await balanceOf(merchant)).toBe(expected);
    expect(committed.size).toBeGreaterThan(payers.length * 40 * 0.5);
    await assertLedgerInvariants(sql);
  });
});
