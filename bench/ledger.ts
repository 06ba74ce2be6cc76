// Benchmarks 1-3 (docs/BENCHMARKS.md), all driven by pgbench on one cluster so that the ratios
// compare like with like:
//   1. wallet_transfer (as service_role, one call per transaction) vs pgbench's built-in
//      TPC-B-like script, at 1, 8 and 20 clients, 50 funded accounts;
//   2. the hot account: every transfer pays one merchant, which has balance shards (the
//      design for hot accounts); ratio to the uniform case, next to a merchant without them;
//   3. wallet_transfer_batch with 100 transfers per call; transfers/s and ratio to single calls;
//   4. limits: wallet_transfer as the sending account's owner with the tier's limits checked,
//      vs the same with private.wallet_check_limits swapped for an empty body.
// TPC-B runs in a database of its own (mfuko_bench_tpcb, dropped afterwards). After every
// ledger run the invariants are checked and the number of transactions is compared with what
// pgbench reports; any failure makes the run (and the script) fail.
//
//   MFUKO_BENCH_DB_URL=postgresql://postgres@127.0.0.1:54322/postgres tsx bench/ledger.ts
// Environment: LEDGER_BENCH_SECONDS (default 20 per run; 5 gives a ~1 minute quick run),
// LEDGER_BENCH_CLIENTS (default "1,8,20"), LEDGER_BENCH_BATCH_CLIENTS (default 8).
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import postgres from "postgres";
import { checkLedgerInvariants } from "../supabase/tests/support/ledger-invariants.ts";
import { createFundedAccounts } from "./lib/ledger-fixture.ts";
import { initialiseTpcb, type PgbenchRun, poolRuns, runPgbench } from "./lib/pgbench.ts";
import type { BenchmarkResult, Figure, Ratio } from "./lib/report.ts";

export interface LedgerBenchOptions {
  /** Superuser URL of a database with every migration applied. */
  dbUrl: string;
  seconds: number;
  clients: number[];
  batchClients: number;
}

const ACCOUNTS = 50;
/** The merchants of the hot-account runs: accounts 51 (balance in its row) and 52 (balance shards). */
const ROW_MERCHANT = ACCOUNTS + 1;
const SHARDED_MERCHANT = ACCOUNTS + 2;
const MERCHANT_SHARDS = 16;
/** The hot-account cases alternate in this many short runs (see measureInterleaved). */
const HOT_ROUNDS = 4;
const BATCH_SIZE = 100;
/** Clients of the limits runs. */
const LIMITS_CLIENTS = 8;
const CURRENCY = "USD";
const TPCB_DATABASE = "mfuko_bench_tpcb";

/** SQL for the id of the fixture account numbered by a pgbench variable (fixtureAccountId's shape). */
function account(run: string, variable: string): string {
  return `('${run}-0000-4000-8000-' || lpad((${variable})::text, 12, '0'))::uuid`;
}

/** Transfers between the 50 accounts, or from them all to one merchant when `merchant` is given. */
function transferScript(run: string, keyPrefix: string, merchant?: number): string {
  return [
    `\\set f random(1, ${ACCOUNTS})`,
    `\\set t 1 + (:f + random(0, ${ACCOUNTS - 2})) % ${ACCOUNTS}`,
    `\\set amt random(1, 100)`,
    `select public.wallet_transfer(${account(run, ":f")}, ${account(run, merchant === undefined ? ":t" : String(merchant))}, :amt, '${CURRENCY}', '${keyPrefix}' || gen_random_uuid()::text);`,
    "",
  ].join("\n");
}

/** Transfers between the 50 accounts, each made by the sender's owner (its id is the account's). */
function userTransferScript(run: string, keyPrefix: string): string {
  return [
    `\\set f random(1, ${ACCOUNTS})`,
    `\\set t 1 + (:f + random(0, ${ACCOUNTS - 2})) % ${ACCOUNTS}`,
    `\\set amt random(1, 100)`,
    // One statement, as PostgREST sends it: the claims are set (offset 0 keeps that subquery
    // from being flattened) before the call reads them.
    `select public.wallet_transfer(${account(run, ":f")}, ${account(run, ":t")}, :amt, '${CURRENCY}', '${keyPrefix}' || gen_random_uuid()::text)`,
    `  from (select set_config('request.jwt.claims', json_build_object('role', 'authenticated', 'sub', ${account(run, ":f")})::text, true) offset 0) claims;`,
    "",
  ].join("\n");
}

function batchScript(run: string, keyPrefix: string): string {
  return [
    `select count(*) from public.wallet_transfer_batch((`,
    `  select jsonb_agg(jsonb_build_object('from', ${account(run, "g.f")}, 'to', ${account(run, `1 + (g.f + g.r) % ${ACCOUNTS}`)},`,
    `         'amount', 1 + floor(random() * 100)::int, 'currency', '${CURRENCY}', 'idempotency_key', '${keyPrefix}' || gen_random_uuid()::text))`,
    `    from (select 1 + floor(random() * ${ACCOUNTS})::int as f, floor(random() * ${ACCOUNTS - 1})::int as r`,
    `            from generate_series(1, ${BATCH_SIZE})) g));`,
    "",
  ].join("\n");
}

/** Fails unless the invariants hold and exactly `expected` transactions carry the run's key prefix. */
async function verifyLedgerRun(sql: postgres.Sql, keyPrefix: string, expected: number): Promise<void> {
  const [{ count }] = await sql<{ count: string }[]>`
    select count(*) from public.wallet_transactions where idempotency_key like ${keyPrefix + "%"}`;
  if (Number(count) !== expected) {
    throw new Error(`${keyPrefix}: pgbench committed ${expected} transfers, the ledger holds ${count}`);
  }
  const violations = await checkLedgerInvariants(sql);
  if (violations.length > 0) {
    throw new Error(`ledger invariants violated after ${keyPrefix}:\n${violations.map((v) => `- ${v.invariant}: ${v.detail}`).join("\n")}`);
  }
}

export async function runLedgerBenchmark(options: LedgerBenchOptions): Promise<BenchmarkResult[]> {
  const sql = postgres(options.dbUrl, { max: 2, onnotice: () => {} });
  const workDir = mkdtempSync(join(tmpdir(), "mfuko-ledger-bench-"));
  const run = randomUUID().slice(0, 8);
  const runs = new Map<string, PgbenchRun>();
  try {
    await sql.unsafe(`drop database if exists ${TPCB_DATABASE} with (force)`);
    await sql.unsafe(`create database ${TPCB_DATABASE}`);
    await initialiseTpcb(options.dbUrl, TPCB_DATABASE, workDir);
    // 50 funded senders and the two merchants of the hot-account runs.
    const fixture = await createFundedAccounts(sql, { count: SHARDED_MERCHANT, currency: CURRENCY, funds: 1_000_000_000, run });
    await sql`select public.wallet_set_balance_shards(${fixture.ids[SHARDED_MERCHANT - 1]!}, ${MERCHANT_SHARDS})`;

    // TPC-B runs in its own database as the superuser; ledger scripts as service_role, like the functions.
    const runOnce = async (label: string, clients: number, script: string | undefined, transfersPerCall: number, seconds: number,
                           role = "service_role") => {
      await sql`checkpoint`;
      const keyPrefix = `bench-${run}-${label}-`;
      let scriptFile: string | undefined;
      if (script) {
        scriptFile = join(workDir, `${label}.sql`);
        writeFileSync(scriptFile, script.replaceAll("{{KEY}}", keyPrefix));
      }
      const result = await runPgbench({
        dbUrl: options.dbUrl,
        ...(script ? { role, script: scriptFile } : { database: TPCB_DATABASE }),
        clients,
        seconds,
        workDir,
      });
      if (script) {
        if (result.failed > 0) throw new Error(`${label}: ${result.failed} ledger calls failed`);
        await verifyLedgerRun(sql, keyPrefix, result.transactions * transfersPerCall);
      }
      console.error(`${label}: ${result.tps.toFixed(0)} tps, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms`);
      return result;
    };
    const measure = async (label: string, clients: number, script?: string, transfersPerCall = 1) => {
      const result = await runOnce(label, clients, script, transfersPerCall, options.seconds);
      runs.set(label, result);
      return result;
    };
    // Cases whose ratio is the figure alternate in HOT_ROUNDS runs of seconds / HOT_ROUNDS
    // each, pooled per case: on this shared 2-core machine the throughput of back-to-back
    // 20 s runs drifts by +-15 %, and alternating puts that drift on every case alike.
    const roundSeconds = Math.max(1, Math.round(options.seconds / HOT_ROUNDS));
    // A case may prepare the database before each of its rounds, and run as another role.
    type Case = { label: string; script: string; role?: string; before?: () => Promise<unknown> };
    const measureInterleaved = async (clients: number, cases: Case[]) => {
      const rounds = new Map<string, PgbenchRun[]>(cases.map(({ label }) => [label, []]));
      for (let round = 1; round <= HOT_ROUNDS; round++) {
        for (const { label, script, role, before } of cases) {
          await before?.();
          rounds.get(label)!.push(await runOnce(`${label}-r${round}`, clients, script, 1, roundSeconds, role));
        }
      }
      for (const [label, results] of rounds) runs.set(label, poolRuns(results));
    };

    for (const clients of options.clients) {
      await measure(`tpcb-c${clients}`, clients);
      await measure(`transfer-c${clients}`, clients, transferScript(run, "{{KEY}}"));
      if (clients > 1) {
        await measureInterleaved(clients, [
          { label: `uniform-c${clients}`, script: transferScript(run, "{{KEY}}") },
          { label: `hot-c${clients}`, script: transferScript(run, "{{KEY}}", SHARDED_MERCHANT) },
          { label: `hot-one-row-c${clients}`, script: transferScript(run, "{{KEY}}", ROW_MERCHANT) },
        ]);
      }
    }

    // Limits: the senders in the merchant tier, its limits raised out of reach (the check's
    // work does not depend on their values), restored afterwards; the check's real body and
    // an empty one swapped in before each round.
    const [{ definition: checkLimits }] = await sql<{ definition: string }[]>`
      select pg_get_functiondef('private.wallet_check_limits(uuid, bigint, text)'::regprocedure) as definition`;
    const noLimits = checkLimits.replace(/\$function\$[\s\S]*\$function\$/, () => "$function$ begin end $function$");
    const [merchant] = await sql`select max_single, max_daily, max_per_hour from public.wallet_limit_tiers where tier = 'merchant'`;
    await sql`update public.wallet_accounts set limit_tier = 'merchant' where id = any(${fixture.ids.slice(0, ACCOUNTS)}::uuid[])`;
    await sql`select public.wallet_update_limit_tier('merchant', 10000000000, 9000000000000000000, 2147483647)`;
    try {
      await measureInterleaved(LIMITS_CLIENTS, [
        { label: `limits-c${LIMITS_CLIENTS}`, script: userTransferScript(run, "{{KEY}}"), role: "authenticated", before: () => sql.unsafe(checkLimits) },
        { label: `no-limits-c${LIMITS_CLIENTS}`, script: userTransferScript(run, "{{KEY}}"), role: "authenticated", before: () => sql.unsafe(noLimits) },
      ]);
    } finally {
      await sql.unsafe(checkLimits);
      await sql`select public.wallet_update_limit_tier('merchant', ${merchant!.max_single}, ${merchant!.max_daily}, ${merchant!.max_per_hour})`;
    }
    const single = runs.get(`transfer-c${options.batchClients}`) ??
      (await measure(`transfer-c${options.batchClients}`, options.batchClients, transferScript(run, "{{KEY}}")));
    const batch = await measure(`batch-c${options.batchClients}`, options.batchClients, batchScript(run, "{{KEY}}"), BATCH_SIZE);

    const figures = (labels: string[], perCall = 1): Figure[] =>
      labels.flatMap((label) => {
        const r = runs.get(label);
        if (!r) return [];
        return [
          { name: `${label} ${perCall > 1 ? "transfers/s" : "transactions/s"}`, value: r.tps * perCall, unit: "1/s" },
          { name: `${label} p50`, value: r.p50Ms, unit: "ms" },
          { name: `${label} p99`, value: r.p99Ms, unit: "ms" },
        ];
      });
    const ratio = (name: string, numerator: number, denominator: number, target: number, limitedBy: string): Ratio => ({
      name,
      value: numerator / denominator,
      target,
      limitedBy,
    });
    const multi = options.clients.filter((c) => c > 1);
    const tps = (label: string) => runs.get(label)!.tps;

    return [
      {
        title: "Ledger throughput: wallet_transfer vs pgbench TPC-B-like",
        figures: figures(options.clients.flatMap((c) => [`tpcb-c${c}`, `transfer-c${c}`])),
        ratios: multi.map((c) =>
          ratio(`wallet_transfer / TPC-B at ${c} clients`, tps(`transfer-c${c}`), tps(`tpcb-c${c}`), 0.7,
            "CPU per call: a transfer runs about a dozen SQL statements (validation, the transaction with its idempotency key, 2 entries, 2 account updates, 5 audit rows), each with fixed executor and constraint set-up; TPC-B runs 5. docs/BENCHMARKS.md, \"Where a transfer's time goes\", has the profile."),
        ),
        notes: [
          `${options.seconds} s per run, ${ACCOUNTS} funded accounts, amounts 1-100, a fresh idempotency key per call, pgbench -c N -j min(2,N) -T ${options.seconds}, wallet_transfer called as service_role (PGOPTIONS=-c role=service_role), TPC-B at scale 1 in its own database. Invariants and transaction counts checked after every ledger run.`,
        ],
      },
      {
        title: "Hot account: every transfer pays one merchant",
        figures: figures(multi.flatMap((c) => [`uniform-c${c}`, `hot-c${c}`, `hot-one-row-c${c}`])),
        ratios: multi.map((c) =>
          ratio(`hot / uniform at ${c} clients`, tps(`hot-c${c}`), tps(`uniform-c${c}`), 0.9,
            `The merchant's credits spread over ${MERCHANT_SHARDS} balance shards, so what is left is the work of a transfer itself: a shard update, its audit row and the account check instead of an account row update. docs/LEDGER.md, "Hot accounts".`),
        ),
        notes: [
          `Senders chosen uniformly among the 50 accounts. uniform: transfers between the 50 accounts, as in the throughput runs. hot: every transfer pays a merchant with ${MERCHANT_SHARDS} balance shards (wallet_set_balance_shards), the design for hot accounts. hot-one-row: a merchant without shards, for comparison: every transfer queues for its row lock, held through the commit flush.`,
          `The three cases alternate in ${HOT_ROUNDS} rounds of ${roundSeconds} s per client count and are pooled per case (mean throughput, percentiles over every transaction), so that the machine's drift between runs falls on all three alike.`,
        ],
      },
      {
        title: "Limits: a user's transfer with its tier's limits checked",
        figures: figures([`limits-c${LIMITS_CLIENTS}`, `no-limits-c${LIMITS_CLIENTS}`]),
        ratios: [
          ratio(`with limits / without at ${LIMITS_CLIENTS} clients`, tps(`limits-c${LIMITS_CLIENTS}`), tps(`no-limits-c${LIMITS_CLIENTS}`), 0.9,
            "One primary-key upsert of the sender's usage counter and one join of its account and tier, inside a transfer of about a dozen statements (docs/LEDGER.md, \"Limits\")."),
        ],
        notes: [
          `wallet_transfer between the ${ACCOUNTS} accounts as each sender's owner (role authenticated, the claims set in the same statement), ${LIMITS_CLIENTS} clients. limits: the merchant tier's limits checked (raised out of reach, so that every transfer passes); no-limits: private.wallet_check_limits replaced by an empty body, so that only the check's work differs. The two cases alternate in ${HOT_ROUNDS} rounds of ${roundSeconds} s and are pooled per case.`,
        ],
      },
      {
        title: `Batch: wallet_transfer_batch with ${BATCH_SIZE} transfers per call`,
        figures: [
          { name: `batch-c${options.batchClients} transfers/s`, value: batch.tps * BATCH_SIZE, unit: "1/s" },
          { name: `batch-c${options.batchClients} p50 per call`, value: batch.p50Ms, unit: "ms" },
          { name: `batch-c${options.batchClients} p99 per call`, value: batch.p99Ms, unit: "ms" },
          { name: `single calls at ${options.batchClients} clients transfers/s`, value: single.tps, unit: "1/s" },
        ],
        ratios: [
          ratio(`batch (100 per call) / single calls at ${options.batchClients} clients`, batch.tps * BATCH_SIZE, single.tps, 5,
            "Per-transfer work inside a batch bounds the gain once commits and round trips are amortised: inserting 100 transactions and 200 entries with their audit rows is about 60 % of a batch's time, and a batch holds nearly all 50 accounts' locks from its account update to its commit (docs/LEDGER.md, \"Batches\")."),
        ],
        notes: [],
      },
    ];
  } finally {
    await sql.unsafe(`drop database if exists ${TPCB_DATABASE} with (force)`).catch(() => {});
    await sql.end({ timeout: 5 });
    rmSync(workDir, { recursive: true, force: true });
  }
}

function printResults(results: BenchmarkResult[]): void {
  for (const result of results) {
    console.log(`\n## ${result.title}`);
    for (const figure of result.figures) console.log(`${figure.name}: ${figure.value.toFixed(2)} ${figure.unit}`);
    for (const r of result.ratios) console.log(`${r.name}: ${r.value.toFixed(2)} (target >= ${r.target}) ${r.value >= r.target ? "met" : "MISSED"}`);
    for (const note of result.notes) console.log(note);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const dbUrl = process.env.MFUKO_BENCH_DB_URL ?? process.env.MFUKO_TEST_DB_URL;
  if (!dbUrl) {
    console.error("set MFUKO_BENCH_DB_URL to the superuser URL of a database with every migration applied");
    process.exit(2);
  }
  const options: LedgerBenchOptions = {
    dbUrl,
    seconds: Number(process.env.LEDGER_BENCH_SECONDS ?? 20),
    clients: (process.env.LEDGER_BENCH_CLIENTS ?? "1,8,20").split(",").map(Number),
    batchClients: Number(process.env.LEDGER_BENCH_BATCH_CLIENTS ?? 8),
  };
  runLedgerBenchmark(options).then(printResults, (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
