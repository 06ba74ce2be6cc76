// Runs sql/rls-audit.sql in one read-only transaction with the CLI's settings applied.
import { readFileSync } from "node:fs";
import postgres from "postgres";
import type { Finding } from "./finding.ts";
import { auditSqlPath } from "./paths.ts";

export interface AuditSettings {
  schemas: string[] | null;
  financialTables: string[] | null;
  appendOnly: string[] | null;
  bypassRlsRoles: string[] | null;
}

export interface AuditResult {
  serverVersion: string;
  findings: Finding[];
}

export class CannotConnectError extends Error {}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString();
  } catch {
    return "the database URL";
  }
}

/** A row of sql/rls-audit.sql: a finding before the allow-list is applied. */
type Row = Omit<Finding, "accepted" | "reason">;

export async function runAudit(url: string, settings: AuditSettings): Promise<AuditResult> {
  const auditSql = readFileSync(auditSqlPath, "utf8");
  let sql: postgres.Sql;
  try {
    sql = postgres(url, { max: 1, connect_timeout: 10, onnotice: () => {}, prepare: false });
  } catch (error) {
    throw new CannotConnectError(`cannot connect to ${redactUrl(url)}: ${(error as Error).message}`);
  }
  try {
    try {
      await sql`select 1`;
    } catch (error) {
      throw new CannotConnectError(`cannot connect to ${redactUrl(url)}: ${(error as Error).message}`);
    }
    return await sql.begin("read only", async (tx) => {
      // With stale catalog statistics (a database just built from migrations) the planner's
      // estimates can make JIT compilation of the audit take tens of seconds.
      await tx`select set_config('jit', 'off', true)`;
      const values: [string, string[] | null][] = [
        ["rls_audit.schemas", settings.schemas],
        ["rls_audit.financial_tables", settings.financialTables],
        ["rls_audit.append_only", settings.appendOnly],
        ["rls_audit.bypassrls_roles", settings.bypassRlsRoles],
      ];
      for (const [name, list] of values) {
        if (list !== null) await tx`select set_config(${name}, ${list.join(",")}, true)`;
      }
      const [{ server_version }] = await tx<{ server_version: string }[]>`select current_setting('server_version') as server_version`;
      const rows = await tx.unsafe<Row[]>(auditSql);
      const findings = rows.map((r) => ({ ...r, accepted: false, reason: null }));
      return { serverVersion: server_version, findings };
    });
  } finally {
    await sql.end({ timeout: 5 });
  }
}
