// Idempotent mutating calls. Every POST carries a key (the Idempotency-Key header or the
// body's idempotency_key); the first response to (admin, key) is stored in
// private.admin_requests in the same transaction as the change it describes, and answered
// again to every replay of the same request. The same key with another request is 422.
// Stored are the answers the change itself produced (2xx and the ledger's 4xx); validation,
// authorization, rate-limit and server errors are not, so a corrected or retried request runs.
import type { JSONValue } from "postgres";
import type { TransactionSql } from "../_shared/db.ts";
import { errorResponse, HttpError } from "../_shared/errors.ts";
import { sqlHttpError } from "./sql-errors.ts";

export const IDEMPOTENCY_HEADER = "idempotency-key";
export const REPLAYED_HEADER = "idempotent-replayed";
const KEY = /^[\x21-\x7e]{1,255}$/;

export interface StoredResponse {
  status: number;
  body: unknown;
}

/** The request's idempotency key: from the header or the body field, which must agree. */
export function idempotencyKeyOf(headers: Headers, body: Record<string, unknown>): string {
  const fromHeader = headers.get(IDEMPOTENCY_HEADER);
  const fromBody = body.idempotency_key;
  if (fromHeader !== null && fromBody !== undefined && fromHeader !== fromBody) {
    throw new HttpError(400, "validation_failed", "The request is not valid.", {
      fields: [{ path: "idempotency_key", message: "differs from the Idempotency-Key header" }],
    });
  }
  const key = fromHeader ?? fromBody;
  if (key === undefined) {
    throw new HttpError(400, "idempotency_key_required",
      "Changes need an Idempotency-Key header (or an idempotency_key field).");
  }
  if (typeof key !== "string" || !KEY.test(key)) {
    throw new HttpError(400, "validation_failed", "The request is not valid.", {
      fields: [{ path: "idempotency_key", message: "must be 1 to 255 visible ASCII characters" }],
    });
  }
  return key;
}

/** JSON with object keys sorted at every depth, so equal bodies hash equally. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** SHA-256 (hex) of the method, path and body without its idempotency_key. */
export async function requestHash(method: string, path: string, body: Record<string, unknown>): Promise<string> {
  const { idempotency_key: _key, ...rest } = body;
  const text = canonicalJson({ method: method.toUpperCase(), path, body: rest });
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export interface IdempotentRequest {
  key: string;
  hash: string;
  method: string;
  path: string;
  correlationId: string;
}

interface ClaimRow {
  outcome: "new" | "replay" | "mismatch";
  response_status: number | null;
  response_body: unknown;
}

/**
 * Runs `work` once per (admin, key) inside `tx` (the caller's request transaction) and
 * returns its response, or the stored response of the first run and replayed = true.
 */
export async function runIdempotent(
  tx: TransactionSql,
  request: IdempotentRequest,
  work: (sql: TransactionSql) => Promise<StoredResponse>,
): Promise<{ response: StoredResponse; replayed: boolean }> {
  const [claim] = await tx<ClaimRow[]>`
    select * from admin_api.idempotency_claim(${request.key}, ${request.hash}, ${request.method}, ${request.path})`;
  if (claim!.outcome === "mismatch") {
    throw new HttpError(422, "idempotency_key_reused",
      `Idempotency key ${request.key} was already used for a different request.`);
  }
  if (claim!.outcome === "replay") {
    return { response: { status: claim!.response_status!, body: claim!.response_body }, replayed: true };
  }

  let response: StoredResponse;
  try {
    // A savepoint, so that a refused change (insufficient funds, ...) is undone while its
    // answer is still stored.
    response = await tx.savepoint((sp) => work(sp));
  } catch (error) {
    const refusal = sqlHttpError(error);
    if (!refusal || refusal.status >= 500) throw error;
    response = { status: refusal.status, body: await errorResponse(refusal, request.correlationId).json() };
  }
  await tx`select admin_api.idempotency_complete(${request.key}, ${response.status}, ${tx.json(response.body as JSONValue)})`;
  return { response, replayed: false };
}
