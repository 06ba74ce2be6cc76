// Backup and restore drill (docs/TESTING.md): pg_dump of the loaded database restored into a fresh
// cluster; every table's row count and the ledger invariants must be identical.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { PostgresCluster } from "@mfuko/local-stack/cluster";
import { freePort } from "@mfuko/local-stack/ports";
import { postgresBinary } from "@mfuko/local-stack/postgres-binaries";
import { checkLedgerInvariants } from "../../supabase/tests/support/ledger-invariants.ts";
import { libpqEnvironment, runProcess } from "../lib/pgbench.ts";
import type { DrillReport } from "./report.ts";

// The schemas mfuko's migrations and Supabase's bootstrap own.
const schemas = ["public", "auth", "audit", "private", "api_private", "supabase_migrations"];

async function rowCounts(url: string): Promise<Map<string, number>> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const tables = await sql<{ name: string }[]>`
      select format('%I.%I', n.nspname, c.relname) as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and n.nspname = any (${schemas}) order by 1`;
    const counts = new Map<string, number>();
    for (const { name } of tables) {
      const [{ count }] = await sql.unsafe(`select count(*)::bigint as count from ${name}`);
      counts.set(name, Number(count));
    }
    return counts;
  } finally {
    await sql.end();
  }
}

async function invariantViolations(url: string): Promise<string[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return (await checkLedgerInvariants(sql)).map((violation) => `${violation.invariant}: ${violation.detail}`);
  } finally {
    await sql.end();
  }
}

export async function backupRestoreDrill(sourceUrl: string): Promise<DrillReport> {
  const work = mkdtempSync(join(tmpdir(), "mfuko-restore-drill-"));
  // The cluster runs as an unprivileged user, who must be able to enter this folder.
  chmodSync(work, 0o755);
  const target = new PostgresCluster({ home: join(work, "cluster"), port: await freePort(), durable: false });
  try {
    const dump = join(work, "mfuko.dump");
    const roles = join(work, "roles.sql");
    const sourceEnv = libpqEnvironment(sourceUrl);
    // Roles are global to a cluster, so they travel separately from the database, as on Supabase.
    await runProcess(postgresBinary("pg_dumpall"), ["--roles-only", "--no-role-passwords", "-f", roles], sourceEnv, work);
    await runProcess(postgresBinary("pg_dump"), ["--format=custom", "--file", dump], sourceEnv, work);
    await target.start();
    const targetEnv = libpqEnvironment(target.url);
    // The fresh cluster already has the postgres role: that one line of the roles file fails, the rest apply.
    await runProcess(postgresBinary("psql"), ["-q", "-f", roles], targetEnv, work);
    await runProcess(postgresBinary("pg_restore"), ["--exit-on-error", "--dbname", "postgres", dump], targetEnv, work);

    const [before, after] = [await rowCounts(sourceUrl), await rowCounts(target.url)];
    const failures: string[] = [];
    for (const [table, count] of before) {
      if (after.get(table) !== count) {
        failures.push(`mismatch: ${table} has ${count} rows in the source and ${after.get(table) ?? "no table"} after restore`);
      }
    }
    const sourceViolations = await invariantViolations(sourceUrl);
    const restoredViolations = await invariantViolations(target.url);
    failures.push(...sourceViolations.map((v) => `source invariant ${v}`), ...restoredViolations.map((v) => `restored invariant ${v}`));
    return {
      name: "Backup and restore (pg_dump into a fresh cluster)",
      figures: {
        "tables compared": before.size,
        "rows compared": [...before.values()].reduce((sum, count) => sum + count, 0),
        "tables that differ": failures.filter((failure) => failure.startsWith("mismatch")).length,
        "invariant violations after restore": restoredViolations.length,
      },
      failures,
    };
  } finally {
    await target.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
