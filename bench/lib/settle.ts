// Between a benchmark's setup and its measurement, as pgbench vacuums before its own runs:
// otherwise autovacuum and the checkpointer work through the rows the previous benchmark (or
// this one's setup) wrote while the measurement runs, on the same two cores.
import type postgres from "postgres";

/** Vacuums and analyzes the database, then checkpoints it. */
export async function settleDatabase(sql: postgres.Sql): Promise<void> {
  await sql`vacuum (analyze)`;
  await sql`checkpoint`;
}
