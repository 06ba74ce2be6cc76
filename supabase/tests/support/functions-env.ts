// Import first (before any function handler) in tests that call a handler in-process: points
// the functions at the test database through its pooler (PgBouncer in transaction mode, as
// Supavisor in production; the database itself when no pooler is given) and fills every other variable from the committed
// supabase/functions/.env.example, as the local gateway does, without overriding what the
// test run already set.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const databaseUrl = process.env.MFUKO_TEST_DB_URL;
if (!databaseUrl) throw new Error("MFUKO_TEST_DB_URL is not set: run through `npm test` or export it");

const envExample = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "functions", ".env.example");
for (const line of readFileSync(envExample, "utf8").split("\n")) {
  const match = /^\s*([A-Z_][A-Z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
  if (match && process.env[match[1]!] === undefined) process.env[match[1]!] = match[2]!;
}
/** What the functions connect to: the pooler when the stack has one. */
export const functionsDatabaseUrl: string = process.env.MFUKO_TEST_POOLER_URL ?? databaseUrl;
process.env.SUPABASE_DB_URL = functionsDatabaseUrl;

/** The database itself, as the superuser: for fixtures and checks that need a session of their own. */
export const testDatabaseUrl: string = databaseUrl;

/** The Deno gateway of the test stack (…/functions/v1), for tests that go through it. */
export function testFunctionsUrl(): string {
  const url = process.env.MFUKO_TEST_FUNCTIONS_URL;
  if (!url) throw new Error("MFUKO_TEST_FUNCTIONS_URL is not set: run through `npm test` or start the gateway and export it");
  return url;
}
