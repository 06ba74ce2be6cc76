// The shape every POST of the payments API shares (top-ups, cash-outs): claim the
// Idempotency-Key, create (or find again) the record the request is about as the user,
// committed before the provider is called so that a retry finds the same record, call the
// provider idempotently on that record, then store the answer for replays. A refusal of the
// SQL checks is the stored answer; a provider that is unavailable releases the key and answers
// 502 so that the same key retried later finishes the job with the same record. The claim,
// its lease and the stored answers are _shared/idempotent-run.ts's runIdempotentAcross, which
// the admin API's MoMo refunds use too.
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import { parseJsonBody } from "../_shared/body.ts";
import type { TransactionSql } from "../_shared/db.ts";
import { errorResponse, type HttpError, parseOrThrow } from "../_shared/errors.ts";
import { idempotencyKeyOf, REPLAYED_HEADER, requestHash, type StoredResponse } from "../_shared/idempotency.ts";
import { runIdempotentAcross } from "../_shared/idempotent-run.ts";
import { ProviderError } from "../_shared/providers/errors.ts";
import { providerUnavailable } from "../_shared/providers/unavailable.ts";
import { allowMethods } from "../_shared/middleware.ts";
import type { PaymentsApp, PaymentsContext, PaymentsRoutes } from "./types.ts";

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

export async function errorBody(error: HttpError, correlationId: string): Promise<StoredResponse> {
  return { status: error.status, body: await errorResponse(error, correlationId).json() };
}

/** POST `route` runs `request` idempotently (runIdempotentAcross); any other method is 405. */
export function registerProviderRequest<Input, Subject>(
  app: PaymentsApp,
  routes: PaymentsRoutes,
  route: string,
  request: ProviderRequest<Input, Subject>,
): void {
  app.post(route, async (c) => {
    const raw = c.get("rawBody");
    const body = raw.length === 0 ? {} : parseJsonBody(raw, jsonObject);
    const key = idempotencyKeyOf(c.req.raw.headers, body);
    const input = parseOrThrow(request.schema, body);
    const path = new URL(c.req.url).pathname;
    const claim = { key, hash: await requestHash("POST", path, body), method: "POST", path, correlationId: c.get("correlationId") };
    const { response, replayed } = await runIdempotentAcross(
      (fn) => routes.asCaller(c, fn),
      claim,
      async (tx) => (await request.start(tx, input, key))[0]!,
      async (subject) => {
        try {
          return await request.finish(c, subject, input);
        } catch (error) {
          // No answer to store: the key is released, and the next request with it resumes the same record.
          if (!(error instanceof ProviderError)) throw error;
          const { details, log } = request.unavailable(subject);
          throw providerUnavailable(routes.logger, error, log, details);
        }
      },
    );
    return c.json(response.body as object, response.status as ContentfulStatusCode, { [REPLAYED_HEADER]: String(replayed) });
  });
  app.all(route, allowMethods("POST"));
}
