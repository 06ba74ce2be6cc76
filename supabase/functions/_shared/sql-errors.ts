// The SQL error codes of the ledger, payment and admin functions (docs/LEDGER.md "Errors": WL001..WL009, 42501,
// 22023) as HTTP answers. Their messages name the account, transaction or key and are written
// for the caller, so they are passed on; any other database error stays a 500.
import { HttpError } from "./errors.ts";

const ANSWERS: Record<string, [status: number, code: string]> = {
  WL001: [409, "insufficient_funds"],
  WL002: [422, "currency_mismatch"],
  WL003: [422, "same_account"],
  WL004: [409, "account_not_active"],
  WL005: [422, "idempotency_key_reused"],
  WL006: [422, "invalid_amount"],
  WL007: [404, "not_found"],
  WL008: [409, "invalid_state"],
  WL009: [422, "limit_exceeded"],
  "42501": [403, "forbidden"],
  "22023": [400, "invalid_argument"],
};

/** The SQLSTATE of a database error (postgres.js's PostgresError), or null for any other error. */
export function sqlstateOf(error: unknown): string | null {
  if (!(error instanceof Error) || error.name !== "PostgresError") return null;
  const code = (error as Error & { code?: unknown }).code;
  return typeof code === "string" ? code : null;
}

/** The HttpError for a ledger/admin SQLSTATE, or null for any other error. */
export function sqlHttpError(error: unknown): HttpError | null {
  const sqlstate = sqlstateOf(error);
  const answer = sqlstate === null ? undefined : ANSWERS[sqlstate];
  if (!answer) return null;
  return new HttpError(answer[0], answer[1], (error as Error).message, { sqlstate });
}

/** Runs `work`, turning the documented SQL errors into their HttpErrors. */
export async function mapSqlErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw sqlHttpError(error) ?? error;
  }
}
