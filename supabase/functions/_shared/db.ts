// Postgres access for the functions: one postgres.js client per process, and every unit of work
// in a transaction that carries the caller's role and request context exactly as PostgREST
// sets them, so RLS, the SQL checks and the audit trail see who did what.
import postgres from "postgres";
import { env } from "./env.ts";
import { HttpError } from "./errors.ts";

export type Sql = postgres.Sql;
export type TransactionSql = postgres.TransactionSql;
/** What runs a statement: the client (one statement, its own transaction) or a transaction. */
export type Queryable = Sql | TransactionSql;

/**
 * A client for SUPABASE_DB_URL (or `url`) with DB_POOL_MAX connections. `prepare: false` keeps
 * it usable behind Supabase's transaction pooler; a short connect timeout turns an unreachable
 * database into a quick 503.
 */
export function createSql(url: string = env("SUPABASE_DB_URL").SUPABASE_DB_URL, options: postgres.Options<never> = {}): Sql {
  const { DB_POOL_MAX: max } = env("DB_POOL_MAX");
  return postgres(url, { prepare: false, max, connect_timeout: 5, idle_timeout: 30, onnotice: () => undefined, ...options });
}

/** The API roles a request may act as. */
export const DB_ROLES = ["anon", "authenticated", "service_role"] as const;
export type DbRole = (typeof DB_ROLES)[number];

export interface RequestContext {
  role: DbRole;
  /** The JWT claims as PostgREST sets them in request.jwt.claims ({} for webhooks). */
  claims: Record<string, unknown>;
  /** The request headers, stored as a JSON object with lower-case names in request.headers. */
  headers: Headers | Record<string, string>;
  /** The accepted or generated correlation id the response carries (app.correlation_id). */
  correlationId: string;
  /**
   * The client address as clientAddress() gives it, the trusted x-forwarded-for hop
   * (app.client_address); the audit records it when it is an IP address. The audit never reads
   * x-forwarded-for or x-correlation-id from request.headers: a client writes those.
   */
  clientAddress: string;
}

const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  // SQLSTATE: admin/crash shutdown, cannot connect now, too many connections
  "57P01",
  "57P02",
  "57P03",
  "53300",
]);

/** Whether `error` means the database cannot be reached (as opposed to a failing statement). */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { code, name } = error as { code?: unknown; name?: unknown };
  if (typeof code === "string" && (UNREACHABLE_CODES.has(code) || code.startsWith("08"))) return true;
  return name === "ConnectionRefused" || name === "ConnectionReset" || name === "TimedOut";
}

export const databaseUnavailable = () => new HttpError(503, "database_unavailable", "The database is unavailable; try again shortly.");

/** The request headers as request.headers holds them: a JSON object with lower-case names. */
export function headersObject(headers: Headers | Record<string, string>): Record<string, string> {
  const entries = headers instanceof Headers ? [...headers.entries()] : Object.entries(headers);
  return Object.fromEntries(entries.map(([name, value]) => [name.toLowerCase(), value]));
}

/**
 * Runs `fn` in one transaction as `context.role` with request.jwt.claims and request.headers set
 * locally, the way PostgREST does per request, and app.correlation_id and app.client_address,
 * the way PostgREST's pre-request function (api_hooks.pre_request) does. The transaction
 * commits when `fn` resolves and rolls back when it throws. An unreachable database becomes
 * HttpError 503.
 */
export async function withRequestContext<T>(
  sql: Sql,
  context: RequestContext,
  fn: (tx: TransactionSql) => Promise<T>,
): Promise<T> {
  if (!DB_ROLES.includes(context.role)) throw new Error(`unknown database role ${String(context.role)}`);
  try {
    return await sql.begin(async (tx) => {
      // set_config('role', ..., true) is SET LOCAL ROLE with a bound parameter, and setting it
      // in the same statement as the context saves a round trip on every request.
      await tx`
        select set_config('role', ${context.role}, true),
               set_config('request.jwt.claims', ${JSON.stringify(context.claims)}, true),
               set_config('request.headers', ${JSON.stringify(headersObject(context.headers))}, true),
               set_config('app.correlation_id', ${context.correlationId}, true),
               set_config('app.client_address', ${context.clientAddress}, true)`;
      return fn(tx);
    }) as T;
  } catch (error) {
    if (isDatabaseUnavailable(error)) throw databaseUnavailable();
    throw error;
  }
}
