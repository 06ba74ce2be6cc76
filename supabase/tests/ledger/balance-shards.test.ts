// Balance shards under concurrency. A credit never waits for a busy account row: it takes a
// shard instead (created the first time the row is found busy), so what keeps freezes,
// closes and the switch back to one row exact is the order of the shard locks. Each race is
// staged: one transaction holds its locks uncommitted while the other call is seen waiting
// for them (or not), then the first commits. Last, many clients pay one account nobody
// configured while others pay out of it and freeze it, and every balance adds up.
import { randomUUID } from "node:crypto";
import type { ReservedSql, Sql } from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertLedgerInvariants } from "../support/ledger-invariants.ts";
import type { Party, WalletTransaction } from "./ledger-client.ts";
import { balances, callAs, connect, createFundedParties, service, sqlState, testDatabaseUrl } from "./ledger-client.ts";

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

async function plainAccount(): Promise<string> {
  const [merchant] = await createFundedParties(sql, CURRENCY, 1, 0n);
  return merchant!.accountId;
}

async function hotAccount(): Promise<string> {
  const merchant = await plainAccount();
  await callAs(sql, service, "wallet_set_balance_shards", [merchant, SHARDS]);
  return merchant;
}

/** Holds the row of `account` (and its shards, when asked) in an open transaction, as a payment to it would. */
function holdRow(account: string, withShards = false): Promise<OpenTransaction> {
  return holdOpen(
    `select (select count(*) from (select 1 from public.wallet_accounts where id = $1 for update) r)
          + (select count(*) from (select 1 from public.wallet_balance_shards where account_id = $1 and $2 for update) s)`,
    [account, withShards],
    "superuser",
  );
}

async function rowAndShards(account: string): Promise<{ row: bigint; shards: bigint; count: number }> {
  const [r] = await sql<{ row: string; shards: string; count: number }[]>`
    select a.balance as row, coalesce(sum(s.balance), 0) as shards, a.balance_shards as count
      from public.wallet_accounts a left join public.wallet_balance_shards s on s.account_id = a.id
     where a.id = ${account} group by a.id`;
  return { row: BigInt(r!.row), shards: BigInt(r!.shards), count: r!.count };
}

interface OpenTransaction {
  connection: ReservedSql;
  pid: number;
}

/**
 * Opens a transaction on a connection of its own, as the service (or as the superuser, to
 * lock rows no API role may lock), runs `statement` in it and leaves it open.
 */
async function holdOpen(statement: string, args: unknown[], as: "service" | "superuser" = "service"): Promise<OpenTransaction> {
  const open = await begin("read committed", as);
  await open.connection.unsafe(statement, args as never[]);
  return open;
}

async function begin(isolation: "read committed" | "repeatable read", as: "service" | "superuser" = "service"): Promise<OpenTransaction> {
  const connection = await sql.reserve();
  const [{ pid }] = await connection<{ pid: number }[]>`select pg_backend_pid() as pid`;
  await connection.unsafe(`begin isolation level ${isolation}`);
  if (as === "service") {
    await connection`select set_config('role', 'service_role', true), set_config('request.jwt.claims', '{"role":"service_role"}', true)`;
  }
  return { connection, pid };
}

async function commit(open: OpenTransaction): Promise<void> {
  await open.connection`commit`;
  open.connection.release();
}

/**
 * Resolves once `count` other backends wait for the open transaction: for a lock it holds,
 * or behind a backend that does (a second waiter for a row queues on the first one).
 */
async function someoneWaitsFor(open: OpenTransaction, count = 1): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const [{ waiting }] = await sql<{ waiting: number }[]>`
      with recursive blocked (pid) as (
        select a.pid from pg_stat_activity a where ${open.pid}::int = any (pg_blocking_pids(a.pid))
        union
        select a.pid from pg_stat_activity a join blocked b on b.pid = any (pg_blocking_pids(a.pid))
      )
      select count(*)::int as waiting from blocked`;
    if (waiting >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`fewer than ${count} backends started waiting for backend ${open.pid}`);
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
  it("gives an account shards the first time a credit finds its row busy, and from then on credits a shard without waiting", async () => {
    const merchant = await plainAccount();
    const first = await holdRow(merchant);
    const waited = transferTo(merchant, 100);
    await someoneWaitsFor(first);
    await commit(first);
    expect(await waited).toBe("posted");
    expect(await rowAndShards(merchant)).toEqual({ row: 100n, shards: 0n, count: 16 });

    const second = await holdRow(merchant);
    // Neither waits for the held row: both land in shards, and commit while it is still held.
    expect(await Promise.all([transferTo(merchant, 30), transferTo(merchant, 12)])).toEqual(["posted", "posted"]);
    expect(await rowAndShards(merchant)).toEqual({ row: 100n, shards: 42n, count: 16 });
    await commit(second);
    expect(await balanceOf(merchant)).toBe(142n);

    // A payment out that the row covers leaves the shards alone; one it does not cover folds them.
    await callAs(sql, service, "wallet_transfer", [merchant, payers[1]!.accountId, 60, CURRENCY, nextKey(), null, {}]);
    expect(await rowAndShards(merchant)).toEqual({ row: 40n, shards: 42n, count: 16 });
    await callAs(sql, service, "wallet_transfer", [merchant, payers[1]!.accountId, 80, CURRENCY, nextKey(), null, {}]);
    expect(await rowAndShards(merchant)).toEqual({ row: 2n, shards: 0n, count: 16 });
    await assertLedgerInvariants(sql);
  });

  it("takes the next free shard when its own is held, and waits for its own only when every shard is held", async () => {
    const merchant = await hotAccount();
    // The payer's connection, whose backend decides the shard a credit tries first.
    const payer = await begin("read committed");
    const own = payer.pid % SHARDS;
    const holder = await holdOpen(
      `select (select count(*) from (select 1 from public.wallet_accounts where id = $1 for update) r)
            + (select count(*) from (select 1 from public.wallet_balance_shards where account_id = $1 and shard = $2 for update) s)`,
      [merchant, own],
      "superuser",
    );
    const [paid] = await payer.connection.unsafe<{ status: string }[]>(
      "select status from public.wallet_transfer($1, $2, $3, $4, $5)",
      [payers[0]!.accountId, merchant, 25, CURRENCY, nextKey()],
    );
    expect(paid!.status).toBe("posted");
    await commit(payer);
    const credited = await sql<{ shard: number; balance: string }[]>`
      select shard, balance from public.wallet_balance_shards where account_id = ${merchant} and balance <> 0`;
    expect(credited.map((c) => ({ shard: c.shard, balance: BigInt(c.balance) }))).toEqual([{ shard: (own + 1) % SHARDS, balance: 25n }]);
    await commit(holder);

    const everything = await holdRow(merchant, true);
    const waited = transferTo(merchant, 5);
    await someoneWaitsFor(everything);
    await commit(everything);
    expect(await waited).toBe("posted");
    expect(await balanceOf(merchant)).toBe(30n);
    await assertLedgerInvariants(sql);
  });

  it("refuses a credit to a frozen account that went to a shard because the row was busy", async () => {
    const merchant = await hotAccount();
    await callAs(sql, service, "wallet_set_status", [merchant, "frozen", "shards race"]);
    const busy = await holdRow(merchant);
    expect(await transferTo(merchant, 100)).toBe("WL004");
    await commit(busy);
    expect(await rowAndShards(merchant)).toEqual({ row: 0n, shards: 0n, count: SHARDS });
    await assertLedgerInvariants(sql);
  });

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

    const credit = await holdOpen("select public.wallet_transfer($1, $2, 250, $3, $4)", [
      payers[0]!.accountId,
      merchant,
      CURRENCY,
      nextKey(),
    ]);
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
    const credit = await holdOpen("select public.wallet_transfer($1, $2, 40, $3, $4)", [
      payers[0]!.accountId,
      merchant,
      CURRENCY,
      nextKey(),
    ]);
    const close = callAs(sql, service, "wallet_set_status", [merchant, "closed", "shards race"])
      .then(() => "closed")
      .catch((error: unknown) => sqlState(error));
    await someoneWaitsFor(credit);
    await commit(credit);
    expect(await close).toBe("WL008");
    expect(await balanceOf(merchant)).toBe(40n);
  });

  it("refuses with 40001 a REPEATABLE READ credit whose snapshot is older than a close", async () => {
    const merchant = await hotAccount();
    // begin() runs a statement, so the transaction's snapshot is taken before the close.
    const transfer = await begin("repeatable read");
    await callAs(sql, service, "wallet_set_status", [merchant, "closed", "shards race"]);
    const credit = await transfer.connection
      .unsafe("select status from public.wallet_transfer($1, $2, 100, $3, $4)", [payers[1]!.accountId, merchant, CURRENCY, nextKey()])
      .then(() => "posted")
      .catch((error: unknown) => sqlState(error));
    await transfer.connection`rollback`;
    transfer.connection.release();
    expect(credit).toBe("40001");
    expect(await balanceOf(merchant)).toBe(0n);
    await assertLedgerInvariants(sql);
  });

  it("takes the shards of a deposit and of a capture in one order when the clearing account has shards too", async () => {
    // A clearing account whose id sorts before the merchant's: the order that once crossed.
    const provider = `sh${run}`;
    const [clearing] = await sql<{ id: string }[]>`
      insert into public.wallet_accounts (id, kind, code, currency, allow_negative)
      values (${`00000000-0000-4000-8000-${run}0000`}, 'system', ${`clearing:${provider}:${CURRENCY}`}, ${CURRENCY}, true)
      returning id`;
    await callAs(sql, service, "wallet_set_balance_shards", [clearing!.id, 1]);
    const merchant = await hotAccount();
    await callAs(sql, service, "wallet_deposit", [merchant, 1_000, CURRENCY, provider, nextKey(), {}]);
    const [payout] = await callAs(sql, service, "wallet_withdraw", [merchant, 100, CURRENCY, provider, nextKey(), {}]);

    // The clearing account's row and shards held: both calls change it through a shard, and wait.
    const clearingShards = await holdRow(clearing!.id, true);
    const outcome = (call: Promise<WalletTransaction[]>) => call.then((rows) => rows[0]!.status).catch((error: unknown) => sqlState(error));
    const capture = outcome(callAs(sql, service, "wallet_capture", [payout!.id, null, null, null]));
    await someoneWaitsFor(clearingShards);
    const deposit = outcome(callAs(sql, service, "wallet_deposit", [merchant, 50, CURRENCY, provider, nextKey(), {}]));
    await someoneWaitsFor(clearingShards, 2);
    await commit(clearingShards);
    expect([await capture, await deposit]).toEqual(["posted", "posted"]);
    expect(await balanceOf(merchant)).toBe(950n);
    await assertLedgerInvariants(sql);
  });

  it("keeps every balance exact while many clients pay one account nobody configured and others pay out of it and freeze it", async () => {
    const merchant = await plainAccount();
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
    // The payers found its row busy: it got shards on its own.
    expect((await rowAndShards(merchant)).count).toBe(16);
    await assertLedgerInvariants(sql);
  });
});
