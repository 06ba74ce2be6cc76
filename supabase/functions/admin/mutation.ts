// The shape of every mutating route: parse the JSON body, take the idempotency key, check
// the input, then run the change once per (admin, key) as the admin and answer its response
// (Idempotent-Replayed: true when it is the stored answer of an earlier call).
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import { parseJsonBody } from "../_shared/body.ts";
import type { TransactionSql } from "../_shared/db.ts";
import { parseOrThrow } from "../_shared/errors.ts";
import type { AdminContext, AdminRoutes } from "./types.ts";
import { idempotencyKeyOf, REPLAYED_HEADER, requestHash, type StoredResponse } from "../_shared/idempotency.ts";
import { runIdempotent } from "./idempotency.ts";

const jsonObject = z.record(z.string(), z.unknown(), { error: "must be a JSON object" });

/** The optional body field that may carry the key instead of the header. */
export const idempotencyKeyField = z.string().optional();

/** The body of a change that takes no input but the key (replays). */
export const keyOnlyBody = z.strictObject({ idempotency_key: idempotencyKeyField });

/** Why the admin did it: required, kept in the audit trail. */
export const reason = z.string({ error: "is required" }).trim().min(1, "is required").max(1000, "must be at most 1000 characters");

/** A positive whole number of minor units. */
export const amount = z.number({ error: "must be a whole number of minor units" })
  .int("must be a whole number of minor units").positive("must be positive").max(Number.MAX_SAFE_INTEGER);

export async function idempotentMutation<S extends z.ZodType>(
  c: AdminContext,
  routes: AdminRoutes,
  schema: S,
  work: (tx: TransactionSql, input: z.output<S>, key: string) => Promise<StoredResponse>,
): Promise<Response> {
  const raw = c.get("rawBody");
  const body = raw.length === 0 ? {} : parseJsonBody(raw, jsonObject);
  const key = idempotencyKeyOf(c.req.raw.headers, body);
  const input = parseOrThrow(schema, body);
  const method = c.req.method;
  const path = new URL(c.req.url).pathname;
  const hash = await requestHash(method, path, body);
  const { response, replayed } = await routes.asCaller(
    c,
    (tx) => runIdempotent(tx, { key, hash, method, path, correlationId: c.get("correlationId") }, (sp) => work(sp, input, key)),
  );
  return c.json(response.body as object, response.status as ContentfulStatusCode, { [REPLAYED_HEADER]: String(replayed) });
}
