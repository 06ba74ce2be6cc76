// Property tests of the ledger: fast-check generates sequences of transfers, deposits, holds,
// captures, voids, reversals, idempotent replays and switches of balance shards. A model predicts the outcome of every
// call (its result or its SQLSTATE) and every balance; the database must agree, and the
// ledger invariants must hold after every sequence. A second property runs several clients
// concurrently, where outcomes depend on timing: there, every balance must equal what the
// committed calls moved.
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import type { Sql } from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertLedgerInvariants } from "../support/ledger-invariants.ts";
import { modelRuns } from "../support/model-runs.ts";
import type { Party, WalletTransaction } from "./ledger-client.ts";
import { balances, callAs, connect, createFundedParties, service, sqlState, testDatabaseUrl } from "./ledger-client.ts";

const CURRENCY = "XPT";
const PARTIES = 4;
const FUNDING = 3_000n;

let sql: Sql;

beforeAll(() => {
  sql = connect(testDatabaseUrl(), 8);
});

afterAll(async () => {
  await sql?.end({ timeout: 5 });
});

type Command =
  | { op: "transfer"; from: number; to: number; amount: number }
  | { op: "deposit"; to: number; amount: number }
  | { op: "hold"; account: number; amount: number }
  | { op: "capture"; hold: number; to: number; share: number }
  | { op: "void"; hold: number }
  | { op: "reverse"; tx: number; amount: number | null; force: boolean }
  | { op: "replay"; tx: number }
  | { op: "conflict"; tx: number }
  | { op: "shards"; account: number; shards: number };

const party = fc.nat({ max: PARTIES - 1 });
const money = fc.integer({ min: 1, max: 2_500 });
const ref = fc.nat({ max: 50 });
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant("transfer" as const), from: party, to: party, amount: money }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("deposit" as const), to: party, amount: money }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("hold" as const), account: party, amount: money }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("capture" as const),
      hold: ref,
      to: party,
      share: fc.double({ min: 0.01, max: 1, noNaN: true }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("void" as const), hold: ref }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant("reverse" as const), tx: ref, amount: fc.option(money, { nil: null }), force: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("replay" as const), tx: ref }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("conflict" as const), tx: ref }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("shards" as const), account: party, shards: fc.nat({ max: 4 }) }) },
);

interface ModelAccount {
  balance: bigint;
  available: bigint;
}

interface ModelTx {
  id: string;
  kind: string;
  from: string;
  to: string;
  amount: bigint;
  reversed: bigint;
  /** The call that created it, for replays; absent for captures. */
  args?: unknown[];
  fn?: string;
}

interface ModelHold {
  id: string;
  account: string;
  amount: bigint;
  state: "pending" | "done";
}

/** Outcome of a call: the returned row, or its SQLSTATE. */
type Outcome = WalletTransaction | string;

async function outcomeOf(fn: string, args: unknown[]): Promise<Outcome> {
  try {
    return (await callAs(sql, service, fn, args))[0]!;
  } catch (error) {
    return sqlState(error);
  }
}

class Model {
  readonly accounts = new Map<string, ModelAccount>();
  readonly txs: ModelTx[] = [];
  readonly holds: ModelHold[] = [];
  private seq = 0;

  constructor(
    readonly parties: Party[],
    private readonly run: string,
  ) {
    for (const p of parties) this.accounts.set(p.accountId, { balance: FUNDING, available: FUNDING });
  }

  key(): string {
    return `pt-${this.run}-${this.seq++}`;
  }

  private move(from: string, to: string, amount: bigint): void {
    for (const [id, delta] of [[from, -amount], [to, amount]] as const) {
      const account = this.accounts.get(id);
      if (account) {
        account.balance += delta;
        account.available += delta;
      }
    }
  }

  private canDebit(id: string, amount: bigint): boolean {
    const account = this.accounts.get(id);
    return !account || (account.available >= amount && account.balance >= amount);
  }

  /** Runs one command against the database and the model; fails the test on disagreement. */
  async step(c: Command): Promise<void> {
    const ids = this.parties.map((p) => p.accountId);
    switch (c.op) {
      case "transfer": {
        const [from, to, amount] = [ids[c.from]!, ids[c.to]!, BigInt(c.amount)];
        const args = [from, to, c.amount, CURRENCY, this.key(), null, {}];
        const expected = from === to ? "WL003" : this.canDebit(from, amount) ? "ok" : "WL001";
        const got = await outcomeOf("wallet_transfer", args);
        expect(typeof got === "string" ? got : "ok").toBe(expected);
        if (typeof got !== "string") {
          this.move(from, to, amount);
          this.txs.push({ id: got.id, kind: "transfer", from, to, amount, reversed: 0n, args, fn: "wallet_transfer" });
        }
        return;
      }
      case "deposit": {
        const args = [ids[c.to]!, c.amount, CURRENCY, "test", this.key(), {}];
        const got = await outcomeOf("wallet_deposit", args);
        expect(typeof got === "string" ? got : "ok").toBe("ok");
        if (typeof got !== "string") {
          this.move(got.from_account_id, ids[c.to]!, BigInt(c.amount));
          this.txs.push({
            id: got.id,
            kind: "deposit",
            from: got.from_account_id,
            to: ids[c.to]!,
            amount: BigInt(c.amount),
            reversed: 0n,
            args,
            fn: "wallet_deposit",
          });
        }
        return;
      }
      case "hold": {
        const [account, amount] = [ids[c.account]!, BigInt(c.amount)];
        const got = await outcomeOf("wallet_hold", [account, c.amount, CURRENCY, this.key(), {}]);
        const fits = this.accounts.get(account)!.available >= amount;
        expect(typeof got === "string" ? got : got.status).toBe(fits ? "pending" : "WL001");
        if (typeof got !== "string") {
          this.accounts.get(account)!.available -= amount;
          this.holds.push({ id: got.id, account, amount, state: "pending" });
        }
        return;
      }
      case "capture": {
        const hold = this.holds[c.hold % Math.max(1, this.holds.length)];
        if (!hold) return;
        const to = ids[c.to]!;
        const amount = BigInt(Math.max(1, Math.floor(Number(hold.amount) * c.share)));
        const source = this.accounts.get(hold.account)!;
        // No funds check: what a forced reversal took from the reservation goes below zero.
        const expected = hold.state !== "pending" ? "WL008" : to === hold.account ? "WL003" : "ok";
        const got = await outcomeOf("wallet_capture", [hold.id, to, amount, null]);
        expect(typeof got === "string" ? got : "ok").toBe(expected);
        if (typeof got !== "string") {
          expect([got.status, BigInt(got.amount)]).toEqual(["posted", amount]);
          source.available += hold.amount;
          this.move(hold.account, to, amount);
          hold.state = "done";
          this.txs.push({ id: got.id, kind: "hold", from: hold.account, to, amount, reversed: 0n });
        }
        return;
      }
      case "void": {
        const hold = this.holds[c.hold % Math.max(1, this.holds.length)];
        if (!hold) return;
        const got = await outcomeOf("wallet_void", [hold.id]);
        expect(typeof got === "string" ? got : got.status).toBe(hold.state === "pending" ? "voided" : "WL008");
        if (typeof got !== "string") {
          this.accounts.get(hold.account)!.available += hold.amount;
          hold.state = "done";
        }
        return;
      }
      case "reverse": {
        const tx = this.txs[c.tx % Math.max(1, this.txs.length)];
        if (!tx) return;
        const remaining = tx.amount - tx.reversed;
        const amount = c.amount === null ? remaining : BigInt(c.amount);
        const expected = tx.kind === "reversal" || remaining === 0n || amount > remaining
          ? "WL008"
          : c.force || this.canDebit(tx.to, amount)
          ? "ok"
          : "WL001";
        const got = await outcomeOf("wallet_reverse", [tx.id, this.key(), c.amount, null, c.force]);
        expect(typeof got === "string" ? got : "ok").toBe(expected);
        if (typeof got !== "string") {
          expect(BigInt(got.amount)).toBe(amount);
          tx.reversed += amount;
          this.move(tx.to, tx.from, amount);
          this.txs.push({ id: got.id, kind: "reversal", from: tx.to, to: tx.from, amount, reversed: 0n });
        }
        return;
      }
      case "shards": {
        // Where credits land changes, no balance does.
        const got = await callAs<{ balance_shards: number }>(sql, service, "wallet_set_balance_shards", [ids[c.account]!, c.shards]);
        expect(got[0]!.balance_shards).toBe(c.shards);
        return;
      }
      case "replay":
      case "conflict": {
        const replayable = this.txs.filter((t) => t.args);
        const tx = replayable[c.tx % Math.max(1, replayable.length)];
        if (!tx) return;
        const args = [...tx.args!];
        const amountIndex = tx.fn === "wallet_transfer" ? 2 : 1;
        if (c.op === "conflict") args[amountIndex] = Number(args[amountIndex]) + 1;
        const got = await outcomeOf(tx.fn!, args);
        // A replay returns the original and changes nothing; other parameters: WL005.
        expect(typeof got === "string" ? got : got.id).toBe(c.op === "replay" ? tx.id : "WL005");
        return;
      }
    }
  }

  async verify(): Promise<void> {
    const actual = await balances(sql, [...this.accounts.keys()]);
    for (const [id, account] of this.accounts) expect(actual.get(id)).toEqual(account);
    await assertLedgerInvariants(sql);
  }
}

describe("ledger properties", () => {
  it("every call does what the model predicts and the invariants hold", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 5, maxLength: 30 }), async (commands) => {
        const run = randomUUID().slice(0, 8);
        const model = new Model(await createFundedParties(sql, CURRENCY, PARTIES, FUNDING), run);
        for (const c of commands) await model.step(c);
        await model.verify();
      }),
      modelRuns(15),
    );
  });

  it("concurrent clients keep the invariants and lose no update", async () => {
    // The first party is the hot account: paid in about half the transfers.
    const transfer = fc.record({ from: party, to: fc.oneof(party, fc.constant(0)), amount: money, sameKeyAsPrevious: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(transfer, { minLength: 1, maxLength: 12 }), { minLength: 2, maxLength: 4 }), async (clients) => {
        const run = randomUUID().slice(0, 8);
        const parties = await createFundedParties(sql, CURRENCY, PARTIES, FUNDING);
        const ids = parties.map((p) => p.accountId);
        // Nobody configures shards: credits that find a row busy create and take them, debits fold them.
        const committed = new Map<string, WalletTransaction>();
        // Clients share key numbers, so the same key (with the same or other parameters) races across clients.
        await Promise.all(
          clients.map(async (ops) => {
            for (const [i, op] of ops.entries()) {
              const key = `pc-${run}-${op.sameKeyAsPrevious ? 0 : i}`;
              const got = await outcomeOf("wallet_transfer", [ids[op.from], ids[op.to], op.amount, CURRENCY, key, null, {}]);
              if (typeof got === "string") expect(["WL001", "WL003", "WL005"]).toContain(got);
              else committed.set(got.id, got);
              await assertLedgerInvariants(sql);
            }
          }),
        );
        const expected = new Map(ids.map((id) => [id, FUNDING]));
        for (const tx of committed.values()) {
          expected.set(tx.from_account_id, expected.get(tx.from_account_id)! - BigInt(tx.amount));
          expected.set(tx.to_account_id!, expected.get(tx.to_account_id!)! + BigInt(tx.amount));
        }
        const actual = await balances(sql, ids);
        for (const id of ids) expect(actual.get(id)?.balance).toBe(expected.get(id));
        await assertLedgerInvariants(sql);
      }),
      modelRuns(10),
    );
  });
});
