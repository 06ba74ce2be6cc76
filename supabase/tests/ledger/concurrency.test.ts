// Many clients at once against the real ledger: random transfers as the service and as
// account owners, the same idempotency key fired twice at the same moment, transfers in
// opposite directions between the same two accounts, overlapping batches, and holds; one
// account nobody configured is paid far more often than the others, so credits find its row
// busy and go to the shards it gets, while its payments out fold them. No call may fail with
// anything but WL001 (no deadlock, no serialization error); the invariants hold at every
// commit a checker reads while the clients run, and afterwards every balance equals what the
// committed calls say.
import { randomUUID } from "node:crypto";
import type { Sql } from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertLedgerInvariants } from "../support/ledger-invariants.ts";
import type { Caller, Party, WalletTransaction } from "./ledger-client.ts";
import {
  balances,
  callAs,
  connect,
  createFundedParties,
  serveCurrency,
  service,
  sqlState,
  stopServingCurrency,
  testDatabaseUrl,
} from "./ledger-client.ts";

const CLIENTS = 16;
const OPERATIONS_PER_CLIENT = 40;
const PARTIES = 10;
const FUNDING = 5_000n;
const CURRENCY = "XCC";

let sql: Sql;
let parties: Party[];
const run = randomUUID().slice(0, 8);

beforeAll(async () => {
  sql = connect(testDatabaseUrl(), CLIENTS + 2);
  // The owners' payments are limited; limits out of their reach keep every refusal WL001.
  await serveCurrency(sql, CURRENCY, { maxSingle: 10_000_000_000n, maxDaily: 1_000_000_000_000n, perHour: 1_000_000 });
  parties = await createFundedParties(sql, CURRENCY, PARTIES, FUNDING);
});

afterAll(async () => {
  if (!sql) return;
  await stopServingCurrency(sql, CURRENCY);
  await sql.end({ timeout: 5 });
});

/** Everything that committed, by transaction id (a replay returns an id already here). */
const committed = new Map<string, WalletTransaction>();
const unexpected: string[] = [];
let keySeq = 0;
const nextKey = () => `cc-${run}-${keySeq++}`;
const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)]!;
const amount = () => String(1 + Math.floor(Math.random() * 1500));

/** A payer and a payee; the payee is the hot account (the first party) half the time. */
function twoParties(): [Party, Party] {
  const a = pick(parties);
  let b = Math.random() < 0.5 && a !== parties[0] ? parties[0]! : pick(parties);
  while (b === a) b = pick(parties);
  return [a, b];
}

/** Runs a call; records what committed; WL001 (insufficient funds) is the only allowed failure. */
async function attempt(caller: Caller, fn: string, args: unknown[]): Promise<WalletTransaction[] | string> {
  try {
    const rows = await callAs(sql, caller, fn, args);
    for (const row of rows) committed.set(row.id, row);
    return rows;
  } catch (error) {
    const state = sqlState(error);
    if (state !== "WL001") unexpected.push(`${fn}: ${state} ${(error as Error).message}`);
    return state;
  }
}

const sameKeyOutcomes: Array<[WalletTransaction[] | string, WalletTransaction[] | string]> = [];

async function oneOperation(): Promise<void> {
  const roll = Math.random();
  const [a, b] = twoParties();
  if (roll < 0.35) {
    await attempt(service, "wallet_transfer", [a.accountId, b.accountId, amount(), CURRENCY, nextKey(), null, {}]);
  } else if (roll < 0.55) {
    await attempt({ kind: "user", userId: a.userId }, "wallet_transfer", [
      a.accountId,
      b.accountId,
      amount(),
      CURRENCY,
      nextKey(),
      null,
      {},
    ]);
  } else if (roll < 0.7) {
    // One key, two simultaneous requests: one effect, both see the same transaction.
    const args = [a.accountId, b.accountId, amount(), CURRENCY, nextKey(), "dup", {}];
    const caller: Caller = Math.random() < 0.5 ? service : { kind: "user", userId: a.userId };
    sameKeyOutcomes.push(await Promise.all([attempt(caller, "wallet_transfer", args), attempt(caller, "wallet_transfer", args)]));
  } else if (roll < 0.8) {
    // Opposite directions at once: the lock order must not depend on who pays whom.
    await Promise.all([
      attempt(service, "wallet_transfer", [a.accountId, b.accountId, amount(), CURRENCY, nextKey(), null, {}]),
      attempt(service, "wallet_transfer", [b.accountId, a.accountId, amount(), CURRENCY, nextKey(), null, {}]),
    ]);
  } else if (roll < 0.9) {
    const items = Array.from({ length: 2 + Math.floor(Math.random() * 10) }, () => {
      const [from, to] = twoParties();
      return { from: from.accountId, to: to.accountId, amount: Number(amount()) / 4, currency: CURRENCY, idempotency_key: nextKey() };
    }).map((item) => ({ ...item, amount: Math.max(1, Math.floor(item.amount)) }));
    await attempt(service, "wallet_transfer_batch", [items]);
  } else {
    const hold = await attempt(service, "wallet_hold", [a.accountId, amount(), CURRENCY, nextKey(), {}]);
    if (typeof hold === "string") return;
    const holdId = hold[0]!.id;
    committed.delete(holdId);
    if (Math.random() < 0.6) {
      const captured = Math.max(1, Math.floor(Number(hold[0]!.amount) / 2));
      await attempt(service, "wallet_capture", [holdId, b.accountId, captured, `cap-${holdId}`]);
    } else {
      await callAs(sql, service, "wallet_void", [holdId]);
    }
  }
}

async function client(): Promise<void> {
  for (let i = 0; i < OPERATIONS_PER_CLIENT; i++) await oneOperation();
}

describe("ledger under concurrency", () => {
  it("keeps every invariant and loses no update with 16 clients", async () => {
    let running = true;
    const checks: number[] = [];
    const checker = async () => {
      while (running) {
        await assertLedgerInvariants(sql);
        checks.push(Date.now());
      }
    };
    const checking = checker();
    await Promise.all(Array.from({ length: CLIENTS }, client)).finally(() => (running = false));
    await checking;
    expect(checks.length).toBeGreaterThan(1);
    // The hot account found its row busy and got shards; nobody configured it.
    const [hot] = await sql<{ balance_shards: number }[]>`
      select balance_shards from public.wallet_accounts where id = ${parties[0]!.accountId}`;
    expect(hot!.balance_shards).toBeGreaterThan(0);

    expect(unexpected).toEqual([]);
    expect(committed.size).toBeGreaterThan(CLIENTS * OPERATIONS_PER_CLIENT * 0.3);

    for (const [first, second] of sameKeyOutcomes) {
      if (typeof first === "string" || typeof second === "string") {
        // A refused request is refused for both (the first rolled back, the second retried and failed the same way).
        expect([first, second].every((o) => o === "WL001" || (typeof o !== "string" && o.length === 1))).toBe(true);
      } else {
        expect(second[0]!.id).toBe(first[0]!.id);
      }
    }

    // Every balance is the funding plus what the committed transactions moved.
    const expected = new Map(parties.map((p) => [p.accountId, FUNDING]));
    for (const tx of committed.values()) {
      expect(tx.status).toBe("posted");
      const value = BigInt(tx.amount);
      if (expected.has(tx.from_account_id)) expected.set(tx.from_account_id, expected.get(tx.from_account_id)! - value);
      if (tx.to_account_id && expected.has(tx.to_account_id)) expected.set(tx.to_account_id, expected.get(tx.to_account_id)! + value);
    }
    const actual = await balances(sql, parties.map((p) => p.accountId));
    for (const p of parties) {
      expect(actual.get(p.accountId)).toEqual({ balance: expected.get(p.accountId), available: expected.get(p.accountId) });
    }

    // Nothing committed that no caller saw: one transaction per key of this run.
    const [{ count }] = await sql<{ count: string }[]>`
      select count(*) from public.wallet_transactions
       where idempotency_key like ${`cc-${run}-%`} and status = 'posted'`;
    expect(Number(count)).toBe(committed.size);

    await assertLedgerInvariants(sql);
  });

  it("lets one of many simultaneous reversals or settlements of the same transaction win", async () => {
    const [payer, payee] = parties;
    await callAs(sql, service, "wallet_deposit", [payer!.accountId, 2000, CURRENCY, "test", nextKey(), {}]);
    const [payment] = await callAs(sql, service, "wallet_transfer", [
      payer!.accountId,
      payee!.accountId,
      900,
      CURRENCY,
      nextKey(),
      null,
      {},
    ]);
    // Eight reversals of 300 race for a payment of 900: exactly three fit.
    const reversals = await Promise.all(
      Array.from({ length: 8 }, () => attempt(service, "wallet_reverse", [payment!.id, nextKey(), 300, "race", true])),
    );
    expect(reversals.filter((r) => typeof r !== "string")).toHaveLength(3);
    expect(unexpected.filter((u) => !u.startsWith("wallet_reverse: WL008"))).toEqual([]);
    unexpected.length = 0;

    // Captures and voids of one hold at once: one wins, every other call sees WL008.
    const [hold] = await callAs(sql, service, "wallet_hold", [payer!.accountId, 500, CURRENCY, nextKey(), {}]);
    const settlements = await Promise.all(
      Array.from(
        { length: 6 },
        (_, i) =>
          callAs(
            sql,
            service,
            i % 2 === 0 ? "wallet_capture" : "wallet_void",
            i % 2 === 0 ? [hold!.id, payee!.accountId, 200, null] : [hold!.id],
          )
            .then((rows) => rows[0]!.status)
            .catch((error: unknown) => sqlState(error)),
      ),
    );
    expect(settlements.filter((s) => s === "posted" || s === "voided")).toHaveLength(1);
    expect(settlements.filter((s) => s === "WL008")).toHaveLength(5);

    await assertLedgerInvariants(sql);
  });
});
