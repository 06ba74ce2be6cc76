// The migrations apply to a database without pg_cron, as on a Supabase project that has not
// enabled it: every step that would schedule a job says so and schedules nothing. The test
// stack's own database has pg_cron, so a second database of its cluster, which pg_cron does
// not serve, is migrated with the Supabase CLI as the stack's is.
import { randomUUID } from "node:crypto";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { createMigratedDatabase, dropDatabase } from "@mfuko/local-stack/database";
import { projectRoot } from "@mfuko/local-stack/paths";
import { testDatabaseUrl } from "../support/functions-env.ts";
import { testSql } from "../support/payments-fixtures.ts";

const database = `mfuko_without_cron_${randomUUID().slice(0, 8)}`;

afterAll(() => dropDatabase(testDatabaseUrl, database));

it("applies every migration to a database without pg_cron and schedules nothing there", async () => {
  const migrated = testSql(await createMigratedDatabase(testDatabaseUrl, database));
  try {
    const [state] = await migrated<{ cron: boolean; applied: number }[]>`
      select to_regnamespace('cron') is not null as cron,
             (select count(*)::int from supabase_migrations.schema_migrations) as applied`;
    const migrations = readdirSync(join(projectRoot, "supabase", "migrations")).filter((file) => file.endsWith(".sql"));
    expect(state).toEqual({ cron: false, applied: migrations.length });
  } finally {
    await migrated.end({ timeout: 1 });
  }
}, 120_000);
