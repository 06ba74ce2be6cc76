// The superuser pool of one test file on the test database, ended after its tests, so that no
// file writes its own afterAll for it. Importing this module first also points the functions
// at the test database, as functions-env.ts does.
import { afterAll } from "vitest";
import { testDatabaseUrl } from "./functions-env.ts";
import { type Sql, testSql } from "./payments-fixtures.ts";

/** A pool on the test database for the calling test file, ended once its tests have run. */
export function useTestSql(): Sql {
  const sql = testSql(testDatabaseUrl);
  afterAll(() => sql.end({ timeout: 1 }));
  return sql;
}
