import { mkdtempSync, openSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runSql } from "./database.ts";
import { freePort } from "./ports.ts";
import { type LocalStack, startStack } from "./stack.ts";

/**
 * A private stack for `npm test`, vitest and the benchmarks: its own temporary cluster and
 * free ports, so a running `npm start` is never touched. pgTAP is installed into `extensions`
 * here only; migrations never depend on it. Scheduled jobs are paused (pg_cron's jobs, and no
 * scheduler for the jobs function): tests call them.
 */
export async function startThrowawayStack(options: {
  durable: boolean;
  /** Overrides of the functions' environment (e.g. rate limits raised for a load benchmark). */
  functionsEnv?: Record<string, string>;
}): Promise<LocalStack & { home: string }> {
  const home = mkdtempSync(join(tmpdir(), "mfuko-stack-"));
  const stack = await startStack({
    home,
    dbPort: await freePort(),
    functionsPort: await freePort(),
    durable: options.durable,
    reset: false,
    seed: true,
    functionsOutput: openSync(join(home, "functions.log"), "a"),
    functionsEnv: options.functionsEnv,
  });
  // The migrations take EXECUTE on new functions away from PUBLIC by default, and grant each
  // of theirs to its callers. What the tests add next (pgTAP, their helpers) is called under
  // every API role: PostgreSQL's default again, for what is created from here on.
  await runSql(stack.dbUrl, "alter default privileges grant execute on functions to public");
  await runSql(stack.dbUrl, "create extension if not exists pgtap with schema extensions");
  // Tests run the jobs when they mean to: pg_cron keeps its schedule, paused.
  await runSql(stack.dbUrl, "do $$ begin if to_regclass('cron.job') is not null then update cron.job set active = false; end if; end $$");
  return {
    ...stack,
    home,
    stop: async () => {
      await stack.stop();
      stack.cluster.destroy();
    },
  };
}

/** The variables vitest suites read to reach a stack (see vitest-global-setup.ts). */
export function testEnvironment(stack: LocalStack): Record<string, string> {
  return {
    ...stack.functionsEnv,
    MFUKO_TEST_DB_URL: stack.dbUrl,
    MFUKO_TEST_FUNCTIONS_URL: stack.functionsUrl,
  };
}
