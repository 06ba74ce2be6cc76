import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root, whatever the current directory is. */
export const projectRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const supabaseDir = join(projectRoot, "supabase");
export const functionsDir = join(supabaseDir, "functions");
export const localStateDir = join(projectRoot, ".local");
export const bootstrapSqlFile = join(projectRoot, "packages", "local-stack", "sql", "supabase-bootstrap.sql");
/** The pgTAP suites' `tests` schema, installed by the throwaway stack only. */
export const testsSchemaSqlFile = join(projectRoot, "packages", "local-stack", "sql", "tests-schema.sql");
export const binDir = join(projectRoot, "node_modules", ".bin");
