// Benchmark 6 (docs/BENCHMARKS.md): seconds from `npm start` to a healthy /functions/v1/health on a
// warm install (packages installed), for a new database and for an existing one.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@mfuko/local-stack/ports";
import { spawnStart, type StartProcess } from "@mfuko/local-stack/start-process";
import type { BenchmarkResult } from "./lib/report.ts";

async function pollUntilHealthy(run: StartProcess, functionsPort: number, startedAt: number): Promise<number> {
  while (true) {
    if (run.child.exitCode !== null) throw new Error(`npm start exited before it was healthy:\n${run.output()}`);
    if (performance.now() - startedAt > 180_000) throw new Error("npm start was not healthy within 180 s");
    const healthy = await fetch(`http://127.0.0.1:${functionsPort}/functions/v1/health`)
      .then(async (response) => response.ok && (await response.json()).status === "healthy")
      .catch(() => false);
    if (healthy) return (performance.now() - startedAt) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function secondsUntilHealthy(stateDir: string): Promise<number> {
  const dbPort = await freePort();
  const functionsPort = await freePort();
  const startedAt = performance.now();
  const run = spawnStart({ dbPort, functionsPort, stateDir });
  let code: number | null;
  let seconds: number;
  try {
    seconds = await pollUntilHealthy(run, functionsPort, startedAt);
  } finally {
    code = await run.interrupt();
  }
  if (code !== 0) throw new Error(`npm start did not stop cleanly (exit ${code}):\n${run.output()}`);
  return seconds;
}

export async function runLocalStackStartup(): Promise<BenchmarkResult> {
  const stateDir = mkdtempSync(join(tmpdir(), "mfuko-startup-bench-"));
  chmodSync(stateDir, 0o755);
  try {
    const newDatabase = await secondsUntilHealthy(stateDir);
    const existingDatabase = await secondsUntilHealthy(stateDir);
    return {
      title: "6. Local stack: npm start to healthy",
      figures: [
        { name: "new database (initdb, bootstrap, all migrations, seed)", value: newDatabase, unit: "s" },
        { name: "existing database (nothing to migrate)", value: existingDatabase, unit: "s" },
      ],
      ratios: [],
      notes: ["Warm install: packages and system dependencies already present. Measured until GET /functions/v1/health answers healthy."],
    };
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}
