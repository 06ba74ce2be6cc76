// `npm test`: every suite, in order, on a throwaway stack. Static checks first (types, lint, format),
// then pgTAP with pg_prove and vitest against the same private cluster and functions server.
// Exits non-zero when any step fails; the last line counts the tests of both runners.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { exitWithError } from "./cli-output.ts";
import { denoExecutable } from "./functions-server.ts";
import { binDir, projectRoot } from "./paths.ts";
import { formatFinding, notChecked, plpgsqlFindings } from "./plpgsql-check.ts";
import { startThrowawayStack, suiteWebhookLimits, testEnvironment } from "./throwaway-stack.ts";

interface StepResult {
  name: string;
  ok: boolean;
  seconds: number;
}

function run(command: string, args: string[], env: Record<string, string> = {}): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: projectRoot,
      env: { ...process.env, NO_COLOR: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const relay = (chunk: Buffer, to: NodeJS.WriteStream) => {
      output += chunk;
      to.write(chunk);
    };
    child.stdout.on("data", (chunk: Buffer) => relay(chunk, process.stdout));
    child.stderr.on("data", (chunk: Buffer) => relay(chunk, process.stderr));
    child.once("error", (error) => resolve({ ok: false, output: `${command}: ${error.message}` }));
    child.once("close", (code) => resolve({ ok: code === 0, output }));
  });
}

const results: StepResult[] = [];
const counts = { passed: 0, failed: 0 };

/** A static check (types, lint) counts as one test; runners' own tests are counted from their reports. */
async function staticCheck(name: string, action: () => Promise<boolean>): Promise<void> {
  await step(name, action);
  counts[results[results.length - 1].ok ? "passed" : "failed"] += 1;
}

async function step(name: string, action: () => Promise<boolean>): Promise<void> {
  console.log(`\n=== ${name}`);
  const startedAt = performance.now();
  const ok = await action().catch((error: unknown) => {
    console.error(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    return false;
  });
  results.push({ name, ok, seconds: (performance.now() - startedAt) / 1000 });
}

/** Every function's Edge Runtime entry point (folders starting with _ hold shared code). */
function functionEntryPoints(): string[] {
  const dir = join(projectRoot, "supabase", "functions");
  return readdirSync(dir)
    .filter((name) => !name.startsWith("_") && existsSync(join(dir, name, "index.ts")))
    .map((name) => join(dir, name, "index.ts"));
}

function countPgTap(output: string): void {
  const tests = Number(output.match(/Files=\d+, Tests=(\d+)/)?.[1] ?? 0);
  const failedTests = [...output.matchAll(/Failed (\d+)\/\d+ subtests/g)].reduce((sum, m) => sum + Number(m[1]), 0);
  counts.passed += tests - failedTests;
  counts.failed += failedTests;
}

function countVitest(reportFile: string): void {
  if (!existsSync(reportFile)) return;
  const report = JSON.parse(readFileSync(reportFile, "utf8")) as { numPassedTests: number; numFailedTests: number };
  counts.passed += report.numPassedTests;
  counts.failed += report.numFailedTests;
}

async function main(): Promise<void> {
  await staticCheck("typecheck: tsc", async () => (await run(join(binDir, "tsc"), ["-p", "tsconfig.json"])).ok);
  await staticCheck("typecheck: deno check (functions, gateway, minimal webhook)", async () => {
    const entries = [
      ...functionEntryPoints(),
      join(projectRoot, "packages", "local-stack", "src", "deno", "serve-functions.ts"),
      join(projectRoot, "bench", "deno", "minimal-webhook.ts"),
    ];
    return (await run(denoExecutable(), [
      "check",
      "--quiet",
      `--config=${join(projectRoot, "supabase", "functions", "deno.json")}`,
      ...entries,
    ])).ok;
  });
  await staticCheck("lint: deno lint", async () => (await run(denoExecutable(), ["lint"])).ok);
  await staticCheck("format: deno fmt --check", async () => (await run(denoExecutable(), ["fmt", "--check"])).ok);

  console.log("\n=== starting a throwaway stack (own cluster and ports)");
  const stack = await startThrowawayStack({ durable: false, functionsEnv: suiteWebhookLimits });
  try {
    await staticCheck("SQL lint: plpgsql_check of every PL/pgSQL function", async () => {
      const findings = await plpgsqlFindings(stack.dbUrl);
      for (const finding of findings) console.log(formatFinding(finding));
      for (const [fn, reason] of Object.entries(notChecked)) console.log(`not checked: ${fn}: ${reason}`);
      const errors = findings.filter((finding) => finding.level === "error").length;
      console.log(`plpgsql_check: ${errors} errors, ${findings.length - errors} warnings`);
      return errors === 0;
    });
    await step("pgTAP: pg_prove supabase/tests/database", async () => {
      const result = await run("pg_prove", ["--ext", ".sql", "-r", "supabase/tests/database"], {
        PGHOST: "127.0.0.1",
        PGPORT: String(stack.cluster.port),
        PGUSER: "postgres",
        PGPASSWORD: "postgres",
        PGDATABASE: "postgres",
      });
      countPgTap(result.output);
      return result.ok;
    });
    await step("vitest: unit and integration", async () => {
      const reportFile = join(stack.home, "vitest.json");
      const result = await run(
        join(binDir, "vitest"),
        ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${reportFile}`],
        testEnvironment(stack),
      );
      countVitest(reportFile);
      return result.ok;
    });
  } finally {
    await stack.stop();
  }

  console.log("\n=== summary");
  for (const result of results) console.log(`${result.ok ? "ok  " : "FAIL"}  ${result.name} (${result.seconds.toFixed(1)} s)`);
  const failedSteps = results.filter((result) => !result.ok).length;
  console.log(`tests: ${counts.passed} passed, ${counts.failed} failed`);
  process.exit(failedSteps === 0 && counts.failed === 0 ? 0 : 1);
}

main().catch((error) => exitWithError("npm test", error));
