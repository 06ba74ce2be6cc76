// pgbench as the load driver of the database benchmarks: the same client for the TPC-B
// ceiling and for mfuko's own functions, so their ratios compare like with like.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { postgresBinDir } from "@mfuko/local-stack/postgres-binaries";
import { percentile } from "./report.ts";

export interface PgbenchRun {
  clients: number;
  tps: number;
  transactions: number;
  failed: number;
  p50Ms: number;
  p99Ms: number;
  /** Every transaction's latency, so that runs can be pooled. */
  latenciesMs: number[];
}

export interface PgbenchOptions {
  dbUrl: string;
  /** Another database on the same cluster (the TPC-B tables live in their own). */
  database?: string;
  /** Role switched to at login (e.g. service_role, as the functions and webhooks run). */
  role?: string;
  clients: number;
  seconds: number;
  /** A custom script file; none runs the built-in TPC-B-like script. */
  script?: string;
  /** Where pgbench writes its per-transaction logs (read for latencies, then removed). */
  workDir: string;
}

function pgbenchBinary(): string {
  const binary = join(postgresBinDir(), "pgbench");
  if (!existsSync(binary)) throw new Error(`pgbench not found at ${binary}: install the PostgreSQL server package`);
  return binary;
}

/** libpq's environment for a postgres URL. */
export function libpqEnvironment(url: string, database?: string, role?: string): NodeJS.ProcessEnv {
  const parsed = new URL(url);
  return {
    ...process.env,
    PGHOST: decodeURIComponent(parsed.hostname),
    PGPORT: parsed.port || "5432",
    PGUSER: decodeURIComponent(parsed.username || "postgres"),
    PGPASSWORD: decodeURIComponent(parsed.password),
    PGDATABASE: database ?? (parsed.pathname.slice(1) || "postgres"),
    PGOPTIONS: role ? `-c role=${role}` : "",
  };
}

export function runProcess(binary: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("error", reject);
    child.on(
      "exit",
      (code) => code === 0 ? resolve(output) : reject(new Error(`${binary} ${args.join(" ")} exited with ${code}:\n${output}`)),
    );
  });
}

/** `pgbench -i` of the TPC-B tables at `scale` (that many branch rows) in `database`. */
export async function initialiseTpcb(dbUrl: string, database: string, scale: number, workDir: string): Promise<void> {
  await runProcess(pgbenchBinary(), ["-i", "-q", "-s", String(scale)], libpqEnvironment(dbUrl, database), workDir);
}

/** One timed pgbench run; latencies come from its per-transaction log. */
export async function runPgbench(options: PgbenchOptions): Promise<PgbenchRun> {
  const prefix = `log-${Date.now().toString(36)}-${options.clients}`;
  const args = [
    "-n",
    "-c",
    String(options.clients),
    "-j",
    String(Math.min(2, options.clients)),
    "-T",
    String(options.seconds),
    "-l",
    `--log-prefix=${prefix}`,
  ];
  if (options.script) args.push("-f", options.script);
  const output = await runProcess(pgbenchBinary(), args, libpqEnvironment(options.dbUrl, options.database, options.role), options.workDir);
  const number = (pattern: RegExp) => Number(pattern.exec(output)?.[1] ?? Number.NaN);
  const latencies: number[] = [];
  for (const file of readdirSync(options.workDir).filter((name) => name.startsWith(`${prefix}.`))) {
    for (const line of readFileSync(join(options.workDir, file), "utf8").split("\n")) {
      const fields = line.split(" ");
      if (fields.length >= 3) latencies.push(Number(fields[2]) / 1000);
    }
    rmSync(join(options.workDir, file));
  }
  return {
    clients: options.clients,
    tps: number(/tps = ([\d.]+) \(without initial connection time\)/),
    transactions: number(/number of transactions actually processed: (\d+)/),
    failed: number(/number of failed transactions: (\d+)/) || 0,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    latenciesMs: latencies,
  };
}

/** Runs of equal length as one: mean throughput, summed counts, percentiles over all latencies. */
export function poolRuns(runs: PgbenchRun[]): PgbenchRun {
  const latencies = runs.flatMap((r) => r.latenciesMs);
  return {
    clients: runs[0]!.clients,
    tps: runs.reduce((sum, r) => sum + r.tps, 0) / runs.length,
    transactions: runs.reduce((sum, r) => sum + r.transactions, 0),
    failed: runs.reduce((sum, r) => sum + r.failed, 0),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    latenciesMs: latencies,
  };
}
