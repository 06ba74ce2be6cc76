// Idempotent mutating calls of the admin and payments APIs. Every POST carries a key (the
// Idempotency-Key header or the body's idempotency_key); the first answer to (caller, key) is
// stored in private.api_requests and answered again to every replay of the same request. The
// same key with another request is 422. Stored are the answers the change itself produced (2xx
// and the ledger's 4xx); validation, authorization, rate-limit and server errors are not, so a
// corrected or retried request runs.
//
// Two shapes. runIdempotent: the change and its answer in the caller's one transaction (the
// admin API's ledger changes); a 5xx the change answers instead of throwing keeps what it wrote
// and releases the key, so the same key retried resumes that work. runIdempotentAcross: a
// change whose record must be committed before a provider is asked (a top-up's intent, a
// cash-out, a MoMo refund's pending row) claims the key for a lease in the transaction that
// writes the record; another request with the key meanwhile is 409, and the provider's answer
// is stored in a transaction of its own.
import type { JSONValue } from "postgres";
import type { TransactionSql } from "./db.ts";
import { errorResponse, HttpError } from "./errors.ts";
import { leaseOutlastingCalls } from "./providers/call-lease.ts";
import type { StoredResponse } from "./idempotency.ts";
import { sqlHttpError } from "./sql-errors.ts";

export interface IdempotentRequest {
  key: string;
  hash: string;
  method: string;
  path: string;
  correlationId: string;
}

interface ClaimRow {
  outcome: "new" | "resumed" | "in_progress" | "replay" | "mismatch";
  response_status: number | null;
  response_body: unknown;
}

/**
 * How long a run across a provider's answer holds its key: longer than its provider calls may
 * take (a MoMo transfer or request-to-pay is at most four: a token and the call, both again
 * after a 401, each up to PROVIDER_TIMEOUT_MS) plus the database steps around them, and never
 * under a minute. A lease that ran out while the provider still answered would let the same
 * key's retry run beside the first.
 */
export function runLeaseSeconds(): number {
  return leaseOutlastingCalls(4, 20, 60);
}

/**
 * Claims the request's key in `tx`, for the transaction (`leaseSeconds` null) or for a lease:
 * the stored answer of an earlier run of the request, or null when this one is to do the work.
 */
async function claim(tx: TransactionSql, request: IdempotentRequest, leaseSeconds: number | null): Promise<StoredResponse | null> {
  const [row] = await tx<ClaimRow[]>`
    select * from api_private.request_claim(${request.key}, ${request.hash}, ${request.method}, ${request.path}, ${leaseSeconds}::int)`;
  if (row!.outcome === "mismatch") {
    throw new HttpError(422, "idempotency_key_reused", `Idempotency key ${request.key} was already used for a different request.`);
  }
  if (row!.outcome === "in_progress") {
    throw new HttpError(
      409,
      "request_in_progress",
      `A request with idempotency key ${request.key} is still being processed; retry shortly.`,
      null,
      {
        "retry-after": "1",
      },
    );
  }
  return row!.outcome === "replay" ? { status: row!.response_status!, body: row!.response_body } : null;
}

/** The answer to store for a change the ledger refused (its 4xx); any other error is thrown on. */
async function refusalOf(error: unknown, request: IdempotentRequest): Promise<StoredResponse> {
  const refusal = sqlHttpError(error);
  if (!refusal || refusal.status >= 500) throw error;
  return { status: refusal.status, body: await errorResponse(refusal, request.correlationId).json() };
}

/** Stores the answer for replays; a 5xx (no answer) releases the key instead, so that a retry resumes. */
async function store(tx: TransactionSql, request: IdempotentRequest, response: StoredResponse): Promise<void> {
  if (response.status >= 500) {
    await tx`select api_private.request_release(${request.key})`;
  } else {
    await tx`select api_private.request_complete(${request.key}, ${response.status}, ${tx.json(response.body as JSONValue)})`;
  }
}

/**
 * Runs `work` once per (caller, key) inside `tx` (the caller's request transaction) and
 * returns its response, or the stored response of the first run and replayed = true.
 */
export async function runIdempotent(
  tx: TransactionSql,
  request: IdempotentRequest,
  work: (sql: TransactionSql) => Promise<StoredResponse>,
): Promise<{ response: StoredResponse; replayed: boolean }> {
  const stored = await claim(tx, request, null);
  if (stored) return { response: stored, replayed: true };

  let response: StoredResponse;
  try {
    // A savepoint, so that a refused change (insufficient funds, ...) is undone while its
    // answer is still stored.
    response = await tx.savepoint((sp) => work(sp));
  } catch (error) {
    response = await refusalOf(error, request);
  }
  await store(tx, request, response);
  return { response, replayed: false };
}

/** Runs a function in a transaction of its own, as the caller. */
export type InTransaction = <T>(fn: (tx: TransactionSql) => Promise<T>) => Promise<T>;

/**
 * Runs a change once per (caller, key) in two steps, for a change whose record must outlive
 * whatever becomes of the request once a provider has been asked: `start` writes the record
 * (or finds it again) in the transaction that claims the key for runLeaseSeconds(), which commits
 * before `finish` asks the provider, outside any transaction, for the answer; that answer is
 * stored in a transaction of its own. A refusal of start's SQL checks is the stored answer. A
 * finish that throws, or answers a 5xx, releases the key: the same key retried runs both steps
 * again (start finding its record), as does one that comes after a lease ran out unanswered.
 */
export async function runIdempotentAcross<Subject>(
  inTransaction: InTransaction,
  request: IdempotentRequest,
  start: (sql: TransactionSql) => Promise<Subject>,
  finish: (subject: Subject) => Promise<StoredResponse>,
): Promise<{ response: StoredResponse; replayed: boolean }> {
  type Started = { answered: { response: StoredResponse; replayed: boolean } } | { answered: null; subject: Subject };
  const started = await inTransaction(async (tx): Promise<Started> => {
    const stored = await claim(tx, request, runLeaseSeconds());
    if (stored) return { answered: { response: stored, replayed: true } };
    try {
      return { answered: null, subject: await tx.savepoint((sp) => start(sp)) as Subject };
    } catch (error) {
      const response = await refusalOf(error, request);
      await store(tx, request, response);
      return { answered: { response, replayed: false } };
    }
  });
  if (started.answered) return started.answered;

  let response: StoredResponse;
  try {
    response = await finish(started.subject);
  } catch (error) {
    await inTransaction((tx) => tx`select api_private.request_release(${request.key})`);
    throw error;
  }
  await inTransaction((tx) => store(tx, request, response));
  return { response, replayed: false };
}
