// Idempotent mutating calls. Every POST carries a key (the Idempotency-Key header or the
// body's idempotency_key); the first response to (admin, key) is stored in
// private.api_requests in the same transaction as the change it describes, and answered
// again to every replay of the same request. The same key with another request is 422.
// Stored are the answers the change itself produced (2xx and the ledger's 4xx); validation,
// authorization, rate-limit and server errors are not, so a corrected or retried request runs.
// A 5xx the change answers instead of throwing (a provider that did not answer) keeps what the
// change wrote, such as a MoMo refund recorded before its transfer, and releases the key: the
// same key retried resumes that work.
import type { JSONValue } from "postgres";
import type { TransactionSql } from "../_shared/db.ts";
import { errorResponse, HttpError } from "../_shared/errors.ts";
import type { StoredResponse } from "../_shared/idempotency.ts";
import { sqlHttpError } from "../_shared/sql-errors.ts";

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
    select * from api_private.request_claim(${request.key}, ${request.hash}, ${request.method}, ${request.path})`;
  if (claim!.outcome === "mismatch") {
    throw new HttpError(422, "idempotency_key_reused", `Idempotency key ${request.key} was already used for a different request.`);
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
  if (response.status >= 500) {
    await tx`select api_private.request_release(${request.key})`;
  } else {
    await tx`select api_private.request_complete(${request.key}, ${response.status}, ${tx.json(response.body as JSONValue)})`;
  }
  return { response, replayed: false };
}
