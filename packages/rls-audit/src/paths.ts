import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const auditSqlPath = join(repoRoot, "sql", "rls-audit.sql");
export const defaultAllowListPath = join(repoRoot, "sql", "rls-audit-allowlist.json");
/** How reports name the audit SQL: relative to the repository root. */
export const auditSqlUri = "sql/rls-audit.sql";
