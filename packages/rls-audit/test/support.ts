// Throwaway databases on the test cluster and a way to run the real CLI.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import type { Finding } from "../src/finding.ts";
import { repoRoot } from "../src/paths.ts";

/** A finding's object as the fixtures name it: schema-qualified unless it is cluster-wide. */
export const qualified = (f: Finding): string => (f.schema === null ? f.object : `${f.schema}.${f.object}`);

export function testDatabaseUrl(): string {
  const url = process.env.MFUKO_TEST_DB_URL;
  if (!url) throw new Error("MFUKO_TEST_DB_URL is not set: it must name a superuser URL of the test cluster");
  return url;
}

/** The URL of `database` on the cluster of `clusterUrl` (by default the test cluster). */
export function urlFor(database: string, clusterUrl: string = testDatabaseUrl()): string {
  const url = new URL(clusterUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

const bootstrapSql = readFileSync(join(repoRoot, "packages", "local-stack", "sql", "supabase-bootstrap.sql"), "utf8");

/** Creates a database as Supabase would have it, then runs `sql` in it. */
export async function createDatabase(name: string, sql: string, clusterUrl: string = testDatabaseUrl()): Promise<void> {
  const admin = postgres(clusterUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name} template template0`);
  } finally {
    await admin.end();
  }
  const db = postgres(urlFor(name, clusterUrl), { max: 1, onnotice: () => {} });
  try {
    await db.unsafe(bootstrapSql);
    await db.unsafe(sql);
  } finally {
    await db.end();
  }
}

export async function dropDatabase(name: string): Promise<void> {
  const admin = postgres(testDatabaseUrl(), { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
  } finally {
    await admin.end();
  }
}

/** Runs statements on a cluster's own database (roles are cluster-wide). */
export async function onCluster(sql: string, clusterUrl: string = testDatabaseUrl()): Promise<void> {
  const admin = postgres(clusterUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(sql);
  } finally {
    await admin.end();
  }
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const tsx = join(repoRoot, "node_modules", ".bin", "tsx");
const cli = join(repoRoot, "packages", "rls-audit", "src", "cli.ts");

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const { DATABASE_URL: _ignored, ...inherited } = process.env;
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, [cli, ...args], { cwd: repoRoot, env: { ...inherited, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
