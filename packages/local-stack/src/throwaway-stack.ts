import { chmodSync, mkdtempSync, openSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runSql } from "./database.ts";
import { testsSchemaSqlFile } from "./paths.ts";
import { PgBouncer } from "./pgbouncer.ts";
import { freePort } from "./ports.ts";
import { type LocalStack, startStack } from "./stack.ts";

/**
 * The provider webhooks' per-address limits of the gateways the test suites share (the stack's,
 * and each suite's payments gateway). Each suite's deliveries reach the functions through a
 * local gateway, from its address, so all the suites running at once share one per-address
 * bucket per provider, and the production limit (50 a minute) would answer 429 to whichever
 * suite comes after another's burst. The suites themselves keep the production limits
 * (testEnvironment leaves these out): the tests of the limit run the functions in process, or
 * start a gateway of their own with those limits.
 */
export const suiteWebhookLimits: Record<string, string> = {
  RATE_LIMIT_STRIPE_WEBHOOK_PER_MIN: "100000",
  RATE_LIMIT_MOMO_WEBHOOK_PER_MIN: "100000",
  RATE_LIMIT_REVOLUT_WEBHOOK_PER_MIN: "100000",
};

/**
 * A private stack for `npm test`, vitest and the benchmarks: its own temporary cluster and
 * free ports, so a running `npm start` is never touched. pgTAP is installed into `extensions`
 * here only, with the suites' `tests` schema of helpers; migrations never depend on either.
 * Scheduled jobs are paused (pg_cron's jobs, and no scheduler for the jobs function): tests call
 * them. The functions reach the database through PgBouncer in transaction mode, as they reach
 * Supavisor in production; tests that need a superuser session use `dbUrl`, the cluster itself.
 */
export async function startThrowawayStack(options: {
  durable: boolean;
  /** Overrides of the functions' environment (e.g. rate limits raised for a load benchmark). */
  functionsEnv?: Record<string, string>;
}): Promise<LocalStack & { home: string; pooler: PgBouncer; poolerUrl: string }> {
  const home = mkdtempSync(join(tmpdir(), "mfuko-stack-"));
  // Enterable by the unprivileged user PgBouncer runs as, before the cluster takes the folder over.
  chmodSync(home, 0o755);
  const dbPort = await freePort();
  // Started before the cluster: it connects to the server only when a client comes.
  const pooler = new PgBouncer({
    home: join(home, "pgbouncer"),
    port: await freePort(),
    serverPort: dbPort,
    users: { postgres: "postgres" },
    poolSize: 40,
  });
  await pooler.start();
  let stack: LocalStack;
  try {
    stack = await startStack({
      home,
      dbPort,
      functionsPort: await freePort(),
      durable: options.durable,
      reset: false,
      seed: true,
      functionsOutput: openSync(join(home, "functions.log"), "a"),
      functionsEnv: { SUPABASE_DB_URL: pooler.url(), ...options.functionsEnv },
    });
  } catch (error) {
    await pooler.stop();
    throw error;
  }
  // The migrations take EXECUTE on new functions away from PUBLIC by default, and grant each
  // of theirs to its callers. What the tests add next (pgTAP, their helpers) is called under
  // every API role: PostgreSQL's default again, for what is created from here on.
  await runSql(stack.dbUrl, "alter default privileges grant execute on functions to public");
  await runSql(stack.dbUrl, "create extension if not exists pgtap with schema extensions");
  await runSql(stack.dbUrl, readFileSync(testsSchemaSqlFile, "utf8"));
  // Tests run the jobs when they mean to: pg_cron keeps its schedule, paused.
  await runSql(stack.dbUrl, "do $$ begin if to_regclass('cron.job') is not null then update cron.job set active = false; end if; end $$");
  return {
    ...stack,
    home,
    pooler,
    poolerUrl: pooler.url(),
    stop: async () => {
      await stack.stop();
      await pooler.stop();
      stack.cluster.destroy();
    },
  };
}

/**
 * The variables vitest suites read to reach a stack (see vitest-global-setup.ts): the
 * functions' environment but the limits raised for the shared gateways (suiteWebhookLimits).
 */
export function testEnvironment(stack: LocalStack & { poolerUrl: string }): Record<string, string> {
  const functionsEnv = Object.entries(stack.functionsEnv).filter(([name]) => !(name in suiteWebhookLimits));
  return {
    ...Object.fromEntries(functionsEnv),
    MFUKO_TEST_DB_URL: stack.dbUrl,
    MFUKO_TEST_POOLER_URL: stack.poolerUrl,
    MFUKO_TEST_FUNCTIONS_URL: stack.functionsUrl,
  };
}
