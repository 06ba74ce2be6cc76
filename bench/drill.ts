// `npm run drill`: the reliability drills (docs/TESTING.md) on one durable throwaway stack
// (fsync on, like production). Prints each drill's figures and exits non-zero on any loss,
// duplicate, 5xx or mismatch, saying what was lost.
import postgres from "postgres";
import { exitWithError } from "@mfuko/local-stack/cli-output";
import { startThrowawayStack } from "@mfuko/local-stack/throwaway-stack";
import { backupRestoreDrill } from "./drills/backup-restore.ts";
import { badInputDrill } from "./drills/bad-input.ts";
import { crashDrill } from "./drills/crash.ts";
import { providerOutageDrill } from "./drills/provider-outage.ts";
import { refundOutageDrill } from "./drills/refund-outage.ts";
import { replayStormDrill } from "./drills/replay-storm.ts";
import { type DrillReport, printDrill } from "./drills/report.ts";
import { whatsAppOutageDrill } from "./drills/whatsapp-outage.ts";

// The drills send thousands of requests from one address: the limiter would answer 429 to
// most of them and the drills would test nothing else.
const unlimited = Object.fromEntries(
  ["WHATSAPP_WEBHOOK", "STRIPE_WEBHOOK", "MOMO_WEBHOOK", "REVOLUT_WEBHOOK", "ADMIN", "PAYMENTS"].map((
    fn,
  ) => [`RATE_LIMIT_${fn}_PER_MIN`, "100000"]),
);

async function main(): Promise<void> {
  const stack = await startThrowawayStack({ durable: true, functionsEnv: unlimited });
  const sql = postgres(stack.dbUrl, { max: 4, onnotice: () => {} });
  const reports: DrillReport[] = [];
  const record = (report: DrillReport) => {
    printDrill(report);
    reports.push(report);
  };
  try {
    record(await badInputDrill(sql, { functionsUrl: stack.functionsUrl, env: stack.functionsEnv }));
    record(await replayStormDrill(sql, { functionsUrl: stack.functionsUrl, webhookSecret: stack.functionsEnv.STRIPE_WEBHOOK_SECRET }));
    record(await providerOutageDrill(sql, { dbUrl: stack.dbUrl, env: unlimited }));
    record(await refundOutageDrill(sql, { dbUrl: stack.dbUrl, env: unlimited }));
    record(await whatsAppOutageDrill(sql, { dbUrl: stack.dbUrl, env: unlimited }));
    await sql.end();
    record(await crashDrill(stack.cluster, { seconds: Number(process.env.DRILL_CRASH_SECONDS ?? 15) }));
    record(await backupRestoreDrill(stack.dbUrl));
  } finally {
    await sql.end().catch(() => {});
    await stack.stop();
  }
  const failed = reports.filter((report) => report.failures.length > 0);
  console.log(`\ndrills: ${reports.length - failed.length} passed, ${failed.length} failed`);
  process.exit(failed.length === 0 ? 0 : 1);
}

main().catch((error) => exitWithError("drill", error));
