// The shape every POST of the payments API shares (top-ups, cash-outs): claim the
// Idempotency-Key, create (or find again) the record the request is about as the user,
// committed before the provider is called so that a retry finds the same record, call the
// provider idempotently on that record, then store the answer for replays. A refusal of the
// SQL checks is the stored answer; a provider that is unavailable releases the key and answers
// 502 so that the same key retried later finishes the job with the same record.
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { JSONValue } from "postgres";
import { z } from "zod";
import { parseJsonBody } from "../_shared/body.ts";
import type { TransactionSql } from "../_shared/db.ts";
import { errorResponse, HttpError, parseOrThrow } from "../_shared/errors.ts";
import { idempotencyKeyOf, REPLAYED_HEADER, requestHash, type StoredResponse } from "../_shared/idempotency.ts";
import { ProviderError } from "../_shared/providers/errors.ts";
import { providerUnavailable } from "../_shared/providers/unavailable.ts";
import { sqlHttpError } from "../_shared/sql-errors.ts";
import { allowMethods } from "../_shared/middleware.ts";
import type { PaymentsApp, PaymentsContext, PaymentsRoutes } from "./types.ts";

/** Longer than a provider call may take (10 s timeout) plus the database steps around it. */
const LEASE_SECONDS = 60;

const jsonObject = z.record(z.string(), z.unknown(), { error: "must be a JSON object" });

/** One kind of provider request: its record and what the provider does with it. */
export interface ProviderRequest<Input, Subject> {
  schema: z.ZodType<Input>;
  /** As the caller, in the claim's transaction: create the record, or find it again by key (one row). */
  start(tx: TransactionSql, input: Input, key: string): Promise<Subject[]>;
  /** The provider call and what follows it: the answer to store. Throws ProviderError when unavailable. */
  finish(c: PaymentsContext, subject: Subject, input: Input): Promise<StoredResponse>;
  /** The 502 body's details, and the log line's fields, for a provider that did not answer. */
  unavailable(subject: Subject): { details: Record<string, unknown>; log: Record<string, unknown> };
}

type Claim<Subject> =
  | { outcome: "replay"; response: StoredResponse }
  | { outcome: "mismatch" }
  | { outcome: "in_progress" }
  | { outcome: "work"; subject: Subject };

interface ClaimRow {
  outcome: "new" | "resumed" | "replay" | "mismatch" | "in_progress";
  response_status: number | null;
  response_body: unknown;
}

export async function errorBody(error: HttpError, correlationId: string): Promise<StoredResponse> {
  return { status: error.status, body: await errorResponse(error, correlationId).json() };
}

/** POST `route` runs `request` idempotently; any other method is 405. */
export function registerProviderRequest<Input, Subject>(
  app: PaymentsApp,
  routes: PaymentsRoutes,
  route: string,
  request: ProviderRequest<Input, Subject>,
): void {
  /** Claims the key and, for a fresh or resumed claim, starts (or finds again) the record. */
  const claim = (c: PaymentsContext, key: string, hash: string, path: string, input: Input) =>
    routes.asCaller<Claim<Subject>>(c, async (tx) => {
      const [row] = await tx<ClaimRow[]>`
        select * from api_private.request_claim(${key}, ${hash}, 'POST', ${path}, ${LEASE_SECONDS})`;
      if (row!.outcome === "replay") return { outcome: "replay", response: { status: row!.response_status!, body: row!.response_body } };
      if (row!.outcome === "mismatch") return { outcome: "mismatch" };
      if (row!.outcome === "in_progress") return { outcome: "in_progress" };
      try {
        const [subject] = await tx.savepoint((sp) => request.start(sp, input, key)) as Subject[];
        return { outcome: "work", subject: subject! };
      } catch (error) {
        // A refusal of the SQL checks (not the caller's account, frozen, ...) is the answer.
        const refusal = sqlHttpError(error);
        if (!refusal || refusal.status >= 500) throw error;
        const response = await errorBody(refusal, c.get("correlationId"));
        await tx`select api_private.request_complete(${key}, ${response.status}, ${tx.json(response.body as JSONValue)})`;
        return { outcome: "replay", response };
      }
    });

  app.post(route, async (c) => {
    const raw = c.get("rawBody");
    const body = raw.length === 0 ? {} : parseJsonBody(raw, jsonObject);
    const key = idempotencyKeyOf(c.req.raw.headers, body);
    const input = parseOrThrow(request.schema, body);
    const path = new URL(c.req.url).pathname;
    const hash = await requestHash("POST", path, body);

    const claimed = await claim(c, key, hash, path, input);
    if (claimed.outcome === "mismatch") {
      throw new HttpError(422, "idempotency_key_reused", `Idempotency key ${key} was already used for a different request.`);
    }
    if (claimed.outcome === "in_progress") {
      throw new HttpError(
        409,
        "request_in_progress",
        `A request with idempotency key ${key} is still being processed; retry shortly.`,
        null,
        { "retry-after": "1" },
      );
    }
    let response: StoredResponse;
    let replayed = true;
    if (claimed.outcome === "replay") {
      response = claimed.response;
    } else {
      replayed = false;
      const subject = claimed.subject;
      try {
        response = await request.finish(c, subject, input);
      } catch (error) {
        // No answer to store: the next request with this key resumes the same record.
        await routes.asCaller(c, (tx) => tx`select api_private.request_release(${key})`);
        if (error instanceof ProviderError) {
          const { details, log } = request.unavailable(subject);
          throw providerUnavailable(routes.logger, error, log, details);
        }
        throw error;
      }
      await routes.asCaller(
        c,
        (tx) => tx`select api_private.request_complete(${key}, ${response.status}, ${tx.json(response.body as JSONValue)})`,
      );
    }
    return c.json(response.body as object, response.status as ContentfulStatusCode, { [REPLAYED_HEADER]: String(replayed) });
  });
  app.all(route, allowMethods("POST"));
}
