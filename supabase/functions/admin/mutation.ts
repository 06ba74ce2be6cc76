// The shape of every mutating route: parse the JSON body, take the idempotency key, check
// the input, then run the change once per (admin, key) as the admin and answer its response
// (Idempotent-Replayed: true when it is the stored answer of an earlier call): in one
// transaction, or, for a change whose record must be committed before a provider is asked, in
// the two steps of runIdempotentAcross.
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import { parseJsonBody } from "../_shared/body.ts";
import type { TransactionSql } from "../_shared/db.ts";
import { parseOrThrow } from "../_shared/errors.ts";
import type { AdminContext, AdminRoutes } from "./types.ts";
import { idempotencyKeyOf, REPLAYED_HEADER, requestHash, type StoredResponse } from "../_shared/idempotency.ts";
import { type IdempotentRequest, runIdempotent, runIdempotentAcross } from "../_shared/idempotent-run.ts";

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

/** The request's input checked with `schema`, its key and what tells a replay of it. */
async function parseMutation<S extends z.ZodType>(c: AdminContext, schema: S) {
  const raw = c.get("rawBody");
  const body = raw.length === 0 ? {} : parseJsonBody(raw, jsonObject);
  const key = idempotencyKeyOf(c.req.raw.headers, body);
  const input = parseOrThrow(schema, body);
  const method = c.req.method;
  const path = new URL(c.req.url).pathname;
  const request: IdempotentRequest = {
    key,
    hash: await requestHash(method, path, body),
    method,
    path,
    correlationId: c.get("correlationId"),
  };
  return { input, key, request };
}

function answer(c: AdminContext, result: { response: StoredResponse; replayed: boolean }): Response {
  return c.json(result.response.body as object, result.response.status as ContentfulStatusCode, {
    [REPLAYED_HEADER]: String(result.replayed),
  });
}

export async function idempotentMutation<S extends z.ZodType>(
  c: AdminContext,
  routes: AdminRoutes,
  schema: S,
  work: (tx: TransactionSql, input: z.output<S>, key: string) => Promise<StoredResponse>,
): Promise<Response> {
  const { input, key, request } = await parseMutation(c, schema);
  return answer(c, await routes.asCaller(c, (tx) => runIdempotent(tx, request, (sp) => work(sp, input, key))));
}

/**
 * A mutation whose record is committed before a provider is asked (runIdempotentAcross):
 * `start` writes or finds the record as the admin, `finish` asks the provider and gives the
 * answer to store.
 */
export async function idempotentProviderMutation<S extends z.ZodType, Subject>(
  c: AdminContext,
  routes: AdminRoutes,
  schema: S,
  steps: {
    start: (tx: TransactionSql, input: z.output<S>, key: string) => Promise<Subject>;
    finish: (subject: Subject, input: z.output<S>, key: string) => Promise<StoredResponse>;
  },
): Promise<Response> {
  const { input, key, request } = await parseMutation(c, schema);
  return answer(
    c,
    await runIdempotentAcross(
      (fn) => routes.asCaller(c, fn),
      request,
      (tx) => steps.start(tx, input, key),
      (subject) => steps.finish(subject, input, key),
    ),
  );
}
