// The benchmarks' way through PgBouncer (transaction mode) next to the direct way, with the
// same login on both: a login role whose sessions start as service_role, so that no run
// depends on a startup option the pooler cannot pass on (PGOPTIONS=-c role=...).
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type postgres from "postgres";
import { PgBouncer } from "@mfuko/local-stack/pgbouncer";
import { freePort } from "@mfuko/local-stack/ports";

const BENCH_LOGIN = "mfuko_bench_service";

export interface BenchPooler {
  /** The bench login (as service_role), straight to the cluster. */
  directUrl: string;
  /** The same login through PgBouncer. */
  pooledUrl: string;
  stop(): Promise<void>;
}

/** `sql` is a superuser session of the database at `dbUrl`; `poolSize` covers the most clients of any run. */
export async function startBenchPooler(sql: postgres.Sql, dbUrl: string, poolSize: number): Promise<BenchPooler> {
  const password = randomBytes(12).toString("hex");
  await sql.unsafe(`drop role if exists ${BENCH_LOGIN}`);
  await sql.unsafe(`create role ${BENCH_LOGIN} login noinherit password '${password}' in role service_role`);
  await sql.unsafe(`alter role ${BENCH_LOGIN} set role = 'service_role'`);
  const url = new URL(dbUrl);
  const home = mkdtempSync(join(tmpdir(), "mfuko-bench-pgbouncer-"));
  const pooler = new PgBouncer({
    home,
    port: await freePort(),
    serverPort: Number(url.port),
    users: { [BENCH_LOGIN]: password },
    poolSize,
  });
  await pooler.start();
  const direct = new URL(dbUrl);
  direct.username = BENCH_LOGIN;
  direct.password = password;
  return {
    directUrl: direct.toString(),
    pooledUrl: pooler.url(BENCH_LOGIN, url.pathname.slice(1) || "postgres"),
    stop: async () => {
      await pooler.stop();
      rmSync(home, { recursive: true, force: true });
      await sql.unsafe(`drop role if exists ${BENCH_LOGIN}`);
    },
  };
}
