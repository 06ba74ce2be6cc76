// Benchmark 5 (docs/BENCHMARKS.md): an authenticated user reads its balance and latest 50 entries,
// through RLS exactly as PostgREST runs it, from a ledger of 1,000 and of 1,000,000 entries;
// the same reads as service_role (no RLS) for the overhead. The two ledgers are two databases
// of one cluster with the same migrations, so that their reads alternate in rounds: measured
// one after the other, around the growth, they took the machine's drift in full.
import postgres from "postgres";
import { createMigratedDatabase, dropDatabase } from "@mfuko/local-stack/database";
import { type BenchmarkResult, percentile } from "./lib/report.ts";
import { roundOrder } from "./lib/round-order.ts";
import { settleDatabase } from "./lib/settle.ts";

const owner = "0b0b0b0b-0000-4000-8000-000000000001";
const smallLedger = 1_000;
const largeLedger = 1_000_000;
const smallLedgerDatabase = "mfuko_bench_small_ledger";
const ROUNDS = 4;

interface Fixture {
  account: string;
  counterparty: string;
}

/**
 * A user account whose every transaction is a deposit of 1 from a clearing account, written in
 * bulk. Replica mode skips triggers (append-only guards, audit) for the load only; balances are
 * set to the entries' sums, so the ledger invariants hold afterwards.
 */
async function createFixture(sql: postgres.Sql): Promise<Fixture> {
  await sql`insert into auth.users (id, email, aud, role) values (${owner}, 'rls-bench@mfuko.test', 'authenticated', 'authenticated') on conflict do nothing`;
  const [account] = await sql`
    insert into public.wallet_accounts (owner_id, kind, currency) values (${owner}, 'user', 'KES') returning id`;
  const [counterparty] = await sql`
    insert into public.wallet_accounts (kind, code, currency, allow_negative) values ('system', 'clearing:rls-bench:KES', 'KES', true) returning id`;
  return { account: account.id, counterparty: counterparty.id };
}

/** Grows the ledger to `entries` entries in total (two per transaction). */
async function growLedgerTo(sql: postgres.Sql, fixture: Fixture, entries: number): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    const [{ count }] = await tx`select count(*)::int as count from public.wallet_entries`;
    const transactions = Math.floor((entries - count) / 2);
    if (transactions <= 0) {
      throw new Error(
        `the ledger already holds ${count} entries, more than the ${entries} this benchmark needs: run it on a fresh database`,
      );
    }
    await tx`
      with moved as (
        insert into public.wallet_transactions (kind, status, amount, currency, from_account_id, to_account_id, idempotency_key, posted_at)
        select 'deposit', 'posted', 1, 'KES', ${fixture.counterparty}, ${fixture.account}, 'rls-bench-' || ${count} || '-' || g, now()
        from generate_series(1, ${transactions}) g
        returning id
      )
      insert into public.wallet_entries (transaction_id, account_id, amount)
      select m.id, posting.account_id, posting.amount
        from moved m
        cross join lateral (values (${fixture.account}::uuid, 1), (${fixture.counterparty}::uuid, -1)) as posting (account_id, amount)`;
    await tx`
      update public.wallet_accounts a
      set balance = s.total, available = s.total
      from (select account_id, sum(amount) as total from public.wallet_entries where account_id in (${fixture.account}, ${fixture.counterparty}) group by account_id) s
      where a.id = s.account_id`;
  });
  // Reads measured right after the growth would also pay for its aftermath: hint bits set on
  // first read, autovacuum and the checkpointer on the new rows.
  await settleDatabase(sql);
}

/** Milliseconds per request: one transaction with role and claims set as PostgREST sets them. */
async function measureReads(
  sql: postgres.Sql,
  fixture: Fixture,
  role: "authenticated" | "service_role",
  requests: number,
): Promise<number[]> {
  const claims = JSON.stringify({ sub: owner, role, aud: "authenticated" });
  const samples: number[] = [];
  for (let i = 0; i < requests; i++) {
    const startedAt = performance.now();
    const rows = await sql.begin(async (tx) => {
      await tx.unsafe(`set local role ${role}`);
      await tx`select set_config('request.jwt.claims', ${claims}, true)`;
      const [account] = await tx`select balance, available from public.wallet_account_balances where account_id = ${fixture.account}`;
      const entries =
        await tx`select id, transaction_id, amount, created_at from public.wallet_entries where account_id = ${fixture.account} order by id desc limit 50`;
      return { account, entries };
    });
    samples.push(performance.now() - startedAt);
    if (!rows.account || rows.entries.length !== 50) {
      throw new Error(`the ${role} read returned ${rows.entries.length} entries instead of 50`);
    }
  }
  return samples;
}

interface ReadCase {
  sql: postgres.Sql;
  fixture: Fixture;
  role: "authenticated" | "service_role";
  samples: number[];
}

export async function runRlsOverhead(
  sql: postgres.Sql,
  options: { requests: number; dbUrl: string },
): Promise<BenchmarkResult> {
  const small = postgres(await createMigratedDatabase(options.dbUrl, smallLedgerDatabase), {
    max: 1,
    prepare: false,
    onnotice: () => {},
  });
  try {
    const smallFixture = await createFixture(small);
    await growLedgerTo(small, smallFixture, smallLedger);
    const largeFixture = await createFixture(sql);
    await growLedgerTo(sql, largeFixture, largeLedger);
    const readCase = (on: postgres.Sql, fixture: Fixture, role: ReadCase["role"]): ReadCase => ({ sql: on, fixture, role, samples: [] });
    const smallAuthenticated = readCase(small, smallFixture, "authenticated");
    const smallService = readCase(small, smallFixture, "service_role");
    const largeAuthenticated = readCase(sql, largeFixture, "authenticated");
    const largeService = readCase(sql, largeFixture, "service_role");
    const cases = [smallAuthenticated, largeAuthenticated, smallService, largeService];
    for (const c of cases) await measureReads(c.sql, c.fixture, c.role, Math.ceil(options.requests / 10)); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of roundOrder(cases, round)) {
        c.samples.push(...(await measureReads(c.sql, c.fixture, c.role, Math.ceil(options.requests / ROUNDS))));
      }
    }
    return rlsOverheadResult(options.requests, {
      smallAuthenticated: smallAuthenticated.samples,
      smallService: smallService.samples,
      largeAuthenticated: largeAuthenticated.samples,
      largeService: largeService.samples,
    });
  } finally {
    await small.end();
    await dropDatabase(options.dbUrl, smallLedgerDatabase);
  }
}

function rlsOverheadResult(
  requests: number,
  samples: { smallAuthenticated: number[]; smallService: number[]; largeAuthenticated: number[]; largeService: number[] },
): BenchmarkResult {
  const summary = (of: number[]) => ({ p50: percentile(of, 50), p99: percentile(of, 99) });
  const smallAuthenticated = summary(samples.smallAuthenticated);
  const smallService = summary(samples.smallService);
  const largeAuthenticated = summary(samples.largeAuthenticated);
  const largeService = summary(samples.largeService);
  return {
    title: "5. RLS overhead: balance and latest 50 entries",
    figures: [
      { name: "authenticated, 1,000 entries, p50", value: smallAuthenticated.p50, unit: "ms" },
      { name: "authenticated, 1,000 entries, p99", value: smallAuthenticated.p99, unit: "ms" },
      { name: "service_role, 1,000 entries, p50", value: smallService.p50, unit: "ms" },
      { name: "authenticated, 1,000,000 entries, p50", value: largeAuthenticated.p50, unit: "ms" },
      { name: "authenticated, 1,000,000 entries, p99", value: largeAuthenticated.p99, unit: "ms" },
      { name: "service_role, 1,000,000 entries, p50", value: largeService.p50, unit: "ms" },
      {
        name: "RLS overhead: authenticated / service_role, 1,000,000 entries, p50",
        value: largeAuthenticated.p50 / largeService.p50,
        unit: "x",
      },
    ],
    ratios: [
      // Stated so that higher is better: 1.0 means "costs the same" (docs/LEDGER.md, performance targets), 0.8 allows 20 %.
      {
        name: "read cost, 1,000 / 1,000,000 entries (authenticated, p50)",
        value: smallAuthenticated.p50 / largeAuthenticated.p50,
        target: 0.8,
        limitedBy: "A plan that does not use (account_id, id) for the latest entries would show here.",
      },
    ],
    notes: [
      `Each request is one transaction (set local role, request.jwt.claims, two selects: the balance from wallet_account_balances, the account row plus its shards, as a frontend reads it, and the entries), ${requests} requests per case on one connection after a warm-up.`,
      `The two ledgers are two databases of the stack's cluster, both migrated with the Supabase CLI: the stack's own, grown to 1,000,000 entries, and a second one (dropped afterwards) grown to 1,000; each is vacuumed, analyzed and checkpointed after its growth (bench/lib/settle.ts), and the account owns half of all entries, written as each transaction's pair of postings, as the ledger writes them. The four cases alternate in ${ROUNDS} rounds (in reverse order every other round) and are pooled per case (percentiles over every request).`,
    ],
  };
}
