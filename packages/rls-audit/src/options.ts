// Command-line options of `npm run rls:audit`. Anything invalid is a UsageError: the CLI
// prints the message and the usage text and exits 2.
import { parseArgs } from "node:util";
import type { Severity } from "./checks.ts";

export const formats = ["table", "json", "markdown", "sarif"] as const;
export type Format = (typeof formats)[number];
export const failLevels = ["error", "warn", "info", "none"] as const;
export type FailLevel = (typeof failLevels)[number];

export interface Options {
  help: boolean;
  dbUrl: string;
  format: Format;
  failOn: Severity | "none";
  schemas: string[] | null;
  financialTables: string[] | null;
  appendOnly: string[] | null;
  bypassRlsRoles: string[] | null;
  /** null: use sql/rls-audit-allowlist.json when it exists. */
  allowList: string | null;
  output: string | null;
}

export class UsageError extends Error {}

export const usage = `Usage: npm run rls:audit -- [options]

Runs sql/rls-audit.sql against a database and reports RLS and security findings.

Options:
  --db-url <url>              database to audit (default: $DATABASE_URL)
  --format <f>                table (default), json, markdown or sarif
  --fail-on <level>           exit 1 when a finding at or above this level is not accepted:
                              error (default), warn, info or none
  --schemas <a,b>             exposed schemas (default: public plus pgrst.db_schemas)
  --financial-tables <a,b>    financial tables, table or schema.table (default: the ten of docs/PAYMENTS.md,
                              wallet_balance_shards, wallet_limit_tiers, wallet_tier_limits and cashouts)
  --append-only <a,b>         append-only ledger tables (default: wallet_accounts, wallet_transactions, wallet_entries,
                              wallet_balance_shards, wallet_limit_tiers, wallet_tier_limits)
  --bypassrls-roles <a,b>     roles allowed to bypass RLS (default: service_role, postgres, supabase_admin)
  --allow-list <file>         accepted findings (default: sql/rls-audit-allowlist.json when present)
  --output <file>             write the report to a file instead of stdout
  --help                      show this text

Exit codes: 0 no failing finding, 1 a finding at or above --fail-on that is not accepted,
2 the audit could not run (bad options, cannot connect, unreadable allow-list).`;

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`--${name} must be one of ${allowed.join(", ")}, got "${value}"`);
}

const identifierList = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/;

function nameList(name: string, value: string | undefined, qualified: boolean): string[] | null {
  if (value === undefined) return null;
  const names = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (names.length === 0) throw new UsageError(`--${name} needs at least one name`);
  for (const n of names) {
    if (!identifierList.test(n) || (!qualified && n.includes("."))) {
      throw new UsageError(`--${name}: "${n}" is not a valid ${qualified ? "table or schema.table" : "schema or role"} name`);
    }
  }
  return names;
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        "db-url": { type: "string" },
        format: { type: "string" },
        "fail-on": { type: "string" },
        schemas: { type: "string" },
        "financial-tables": { type: "string" },
        "append-only": { type: "string" },
        "bypassrls-roles": { type: "string" },
        "allow-list": { type: "string" },
        output: { type: "string" },
        help: { type: "boolean" },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const v = parsed.values;
  const help = v.help === true;
  const dbUrl = v["db-url"] ?? env.DATABASE_URL ?? "";
  if (!help && dbUrl === "") throw new UsageError("no database: pass --db-url or set DATABASE_URL");
  return {
    help,
    dbUrl,
    format: oneOf("format", v.format ?? "table", formats),
    failOn: oneOf("fail-on", v["fail-on"] ?? "error", failLevels),
    schemas: nameList("schemas", v.schemas, false),
    financialTables: nameList("financial-tables", v["financial-tables"], true),
    appendOnly: nameList("append-only", v["append-only"], true),
    bypassRlsRoles: nameList("bypassrls-roles", v["bypassrls-roles"], false),
    allowList: v["allow-list"] ?? null,
    output: v.output ?? null,
  };
}
