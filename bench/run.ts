// `npm run bench`: the benchmarks of docs/BENCHMARKS.md and a transfer's profile in one run on one machine, the ledger
// invariants checked after each, and docs/BENCHMARKS.md rewritten with the figures and the
// ratios next to their targets. Exits non-zero when a correctness check fails; missed
// performance targets are reported, not failed.
//   BENCH_SECONDS (default 20): seconds per throughput run; 5 gives a quick run.
import { join } from "node:path";
import postgres from "postgres";
import { exitWithError } from "@mfuko/local-stack/cli-output";
import { projectRoot } from "@mfuko/local-stack/paths";
import { startThrowawayStack } from "@mfuko/local-stack/throwaway-stack";
import { assertLedgerInvariants } from "../supabase/tests/support/ledger-invariants.ts";
import { runLedgerBenchmark } from "./ledger.ts";
import { runLocalStackStartup } from "./local-stack-startup.ts";
import { type BenchmarkResult, describeMachine, writeBenchmarksMarkdown } from "./lib/report.ts";
import { settleDatabase } from "./lib/settle.ts";
import { runRlsOverhead } from "./rls-overhead.ts";
import { runTransferProfile } from "./transfer-profile.ts";
import { runWebhookIngestion } from "./webhook-ingestion.ts";
import { runWhatsAppLatency } from "./whatsapp-latency.ts";

const seconds = Number(process.env.BENCH_SECONDS ?? 20);

async function main(): Promise<void> {
  const results: BenchmarkResult[] = [];
  // Durable like production: fsync and synchronous commit on.
  // The webhook benchmark sends from Stripe's pool of addresses, one hop before the gateway's.
  const stack = await startThrowawayStack({
    durable: true,
    functionsEnv: { RATE_LIMIT_STRIPE_WEBHOOK_PER_MIN: "100000", TRUSTED_PROXY_HOPS: "2" },
  });
  // Unnamed statements, as the functions use them (prepare: false behind the pooler): each
  // query is planned for its own parameters.
  const sql = postgres(stack.dbUrl, { max: 4, prepare: false, onnotice: () => {} });
  let postgresVersion = "";
  try {
    [{ version: postgresVersion }] = await sql`select split_part(version(), ' on ', 1) as version`;
    // First, while the ledger is still nearly empty: it grows it to 1,000,000 entries (the later
    // benchmarks then run on a ledger with history), and a second database to 1,000.
    console.log("bench: RLS overhead");
    results.push(await runRlsOverhead(sql, { requests: 2_000, dbUrl: stack.dbUrl }));
    await assertLedgerInvariants(sql);
    console.log("bench: ledger throughput, hot account, batch");
    results.push(...(await runLedgerBenchmark({ dbUrl: stack.dbUrl, seconds, clients: [1, 8, 20], batchClients: 8 })));
    await assertLedgerInvariants(sql);
    console.log("bench: where a transfer's time goes");
    results.push(await runTransferProfile(sql, stack.dbUrl));
    await assertLedgerInvariants(sql);
    console.log("bench: webhook ingestion");
    results.push(
      await runWebhookIngestion({ sql, dbUrl: stack.dbUrl, functionsUrl: stack.functionsUrl, env: stack.functionsEnv, seconds }),
    );
    await assertLedgerInvariants(sql);
    await settleDatabase(sql);
    console.log("bench: WhatsApp reply latency");
    results.push(await runWhatsAppLatency({ dbUrl: stack.dbUrl, env: stack.functionsEnv, rounds: 10 }));
    await assertLedgerInvariants(sql);
  } finally {
    await sql.end();
    await stack.stop();
  }
  console.log("bench: local stack startup");
  results.push(await runLocalStackStartup());
  const file = join(projectRoot, "docs", "BENCHMARKS.md");
  writeBenchmarksMarkdown(file, describeMachine(postgresVersion), "npm run bench", results);
  console.log(`bench: wrote ${file}`);
}

main().catch((error) => exitWithError("bench", error));
