// The shared pipeline on a small hono app: order of the steps, headers on every answer, the
// error shape and the log line.
import { Hono } from "hono";
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { MIB, parseJsonBody } from "./body.ts";
import { HttpError } from "./errors.ts";
import { createLogger } from "./logger.ts";
import { allowMethods, applySharedLayer, type SharedEnv, type SharedLayerOptions, webhookCallerKey } from "./middleware.ts";
import type { RateLimitDecision, RateLimiter } from "./rate-limit/limiter.ts";
import { createPostgresLimiter } from "./rate-limit/postgres-limiter.ts";
import { requireValidSignature, signatureFailed } from "./webhooks/signature-check.ts";

/** A limiter whose decisions the test scripts; it records the keys it was asked about. */
function scriptedLimiter(decide: (hit: number) => Partial<RateLimitDecision> = () => ({})) {
  const keys: string[] = [];
  const limiter: RateLimiter = {
    store: "scripted",
    limit(key, limitPerMinute) {
      keys.push(key);
      const remaining = limitPerMinute - keys.length;
      return Promise.resolve({
        success: remaining >= 0,
        limit: limitPerMinute,
        remaining: Math.max(remaining, 0),
        reset: Date.now() + 30_000,
        failedOpen: false,
        ...decide(keys.length),
      });
    },
    ping: () => Promise.resolve(),
  };
  return { limiter, keys };
}

function buildApp(overrides: Partial<SharedLayerOptions> = {}, limit = 100) {
  const lines: string[] = [];
  const { limiter, keys } = scriptedLimiter();
  const handled: string[] = [];
  const app = new Hono<SharedEnv>().basePath("/fn");
  applySharedLayer(app, {
    functionName: "test-fn",
    logger: createLogger((line) => lines.push(line)),
    rateLimit: { limiter, perMinute: limit, key: webhookCallerKey("test") },
    ...overrides,
  });
  app.post("/", (c) => {
    handled.push("post");
    const body = parseJsonBody(c.get("rawBody"), z.object({ amount: z.number().int() }));
    return c.json({ ok: true, amount: body.amount, correlation: c.get("correlationId") });
  });
  app.post("/signed", (c) => {
    handled.push("signed");
    requireValidSignature(signatureFailed("mismatch"));
    return c.json({ ok: true });
  });
  app.get("/boom", () => {
    handled.push("boom");
    throw new Error("kaput at postgres://postgres:hunter2@db/postgres");
  });
  app.get("/conflict", () => {
    throw new HttpError(409, "conflict", "Already there.");
  });
  app.get("/items", (c) => c.json({ items: [] }));
  app.all("/items", allowMethods("GET"));
  const log = () => lines.map((line) => JSON.parse(line));
  return { app, keys, handled, log, lines };
}

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

describe("shared middleware", () => {
  it("answers with the caller's correlation id, the rate-limit headers and one log line", async () => {
    const { app, log } = buildApp();
    const response = await app.request(
      "/fn",
      json({ amount: 5 }, { "x-correlation-id": "abc-123", "x-forwarded-for": "203.0.113.7, 10.0.0.1" }),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, amount: 5, correlation: "abc-123" });
    expect(response.headers.get("x-correlation-id")).toBe("abc-123");
    expect(response.headers.get("x-ratelimit-limit")).toBe("100");
    expect(response.headers.get("x-ratelimit-remaining")).toBe("99");
    expect(Number(response.headers.get("x-ratelimit-reset"))).toBeGreaterThan(Date.now() / 1000);
    expect(response.headers.get("retry-after")).toBeNull();
    expect(log()).toEqual([expect.objectContaining({
      event: "request",
      function: "test-fn",
      method: "POST",
      path: "/fn",
      status: 200,
      correlation_id: "abc-123",
      rate_limit: { allowed: true, limit: 100, remaining: 99, failed_open: false },
      duration_ms: expect.any(Number),
    })]);
  });

  it("keys webhook callers by provider and the x-forwarded-for hop the trusted proxy appended", async () => {
    const { app, keys } = buildApp();
    await app.request("/fn", json({ amount: 1 }, { "x-forwarded-for": "10.0.0.1, 203.0.113.7" }));
    await app.request("/fn", json({ amount: 1 }));
    await app.request("/fn", json({ amount: 1 }, { "x-forwarded-for": "not an address" }));
    expect(keys).toEqual(["test:203.0.113.7", "test:unknown", "test:invalid"]);
  });

  it("refuses with 429 and Retry-After before reading the body or running the handler", async () => {
    const { app, handled, log } = buildApp({}, 1);
    await app.request("/fn/signed", json({}));
    const oversized = { method: "POST", headers: { "content-type": "text/plain" }, body: "x".repeat(2 * MIB) };
    const response = await app.request("/fn/signed", oversized);
    expect(response.status).toBe(429);
    expect(Number(response.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(response.headers.get("x-ratelimit-remaining")).toBe("0");
    const body = await response.json();
    expect(body.error).toMatchObject({ code: "rate_limited", correlation_id: response.headers.get("x-correlation-id") });
    expect(handled).toEqual(["signed"]);
    expect(log()[1]).toMatchObject({ status: 429, error_code: "rate_limited", rate_limit: { allowed: false } });
  });

  it("counts forged requests too: the signature check runs after the limiter", async () => {
    const { app, keys } = buildApp({}, 2);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await app.request("/fn/signed", json({}))).status);
    expect(statuses).toEqual([401, 401, 429]);
    expect(keys).toHaveLength(3);
  });

  it("answers 413 over the body limit, and honours a larger limit", async () => {
    const big = json({ amount: 1, pad: "x".repeat(MIB) });
    const { app } = buildApp();
    const refused = await app.request("/fn", big);
    expect(refused.status).toBe(413);
    expect((await refused.json()).error.code).toBe("payload_too_large");
    const { app: whatsapp } = buildApp({ maxBodyBytes: 3 * MIB });
    expect((await whatsapp.request("/fn", big)).status).toBe(200);
  });

  it("answers 415 for another content type and for a body without one", async () => {
    const { app, handled } = buildApp();
    const text = await app.request("/fn", { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" });
    expect(text.status).toBe(415);
    const untyped = await app.request("/fn", { method: "POST", body: new Uint8Array([123, 125]) });
    expect(untyped.status).toBe(415);
    expect(handled).toEqual([]);
  });

  it("answers 405 with Allow for methods the function or the route does not serve", async () => {
    const { app } = buildApp({ methods: ["POST"] });
    const wrong = await app.request("/fn", { method: "PATCH" });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("POST");
    const { app: routes } = buildApp();
    const route = await routes.request("/fn/items", { method: "DELETE" });
    expect(route.status).toBe(405);
    expect(route.headers.get("allow")).toBe("GET");
    expect((await routes.request("/fn/items")).status).toBe(200);
  });

  it("answers 404 in the error shape for an unknown route", async () => {
    const { app } = buildApp();
    const response = await app.request("/fn/nowhere");
    expect(response.status).toBe(404);
    const body = await response.json();
    expect(body.error).toMatchObject({ code: "not_found", correlation_id: response.headers.get("x-correlation-id") });
    expect(response.headers.get("x-ratelimit-limit")).toBe("100");
  });

  it("maps handler errors: validation 400 with fields, HttpError as is, anything else an opaque 500", async () => {
    const { app, log, lines } = buildApp();
    const invalid = await app.request("/fn", json({ amount: "five" }));
    expect(invalid.status).toBe(400);
    expect((await invalid.json()).error.details.fields).toEqual([expect.objectContaining({ path: "amount" })]);
    expect((await app.request("/fn/conflict")).status).toBe(409);
    const boom = await app.request("/fn/boom");
    expect(boom.status).toBe(500);
    const text = await boom.text();
    expect(text).not.toContain("kaput");
    expect(text).not.toContain("hunter2");
    expect(JSON.parse(text).error.code).toBe("internal_error");
    expect(boom.headers.get("x-correlation-id")).toBeTruthy();
    expect(log().at(-1)).toMatchObject({
      level: "error",
      status: 500,
      error_code: "internal_error",
      error: expect.stringContaining("kaput"),
    });
    expect(lines.join("\n")).not.toContain("hunter2");
  });

  it("lets requests through and logs failed_open when the limiter's store is down", async () => {
    const { limiter } = scriptedLimiter(() => ({ success: true, failedOpen: true }));
    const { app, log } = buildApp({ rateLimit: { limiter, perMinute: 1, key: () => "k" } });
    for (let i = 0; i < 3; i++) expect((await app.request("/fn", json({ amount: 1 }))).status).toBe(200);
    expect(log().map((l) => l.rate_limit.failed_open)).toEqual([true, true, true]);
  });

  it("accepts a body-less GET and an empty POST without content type", async () => {
    const { app } = buildApp();
    expect((await app.request("/fn/items")).status).toBe(200);
    expect((await app.request("/fn", { method: "POST" })).status).toBe(400);
  });
});

describe("shared middleware with the Postgres limiter", () => {
  const databaseUrl = process.env.MFUKO_TEST_DB_URL;
  if (!databaseUrl) throw new Error("MFUKO_TEST_DB_URL is not set: run through `npm test` or export it");
  const sql = postgres(databaseUrl, { prepare: false, max: 2, onnotice: () => undefined });
  afterAll(() => sql.end({ timeout: 1 }));

  it("answers 429 once a caller has used its limit", async () => {
    const limiter = createPostgresLimiter(sql, () => undefined);
    const caller = `198.51.100.${Math.floor(Math.random() * 250)}:${crypto.randomUUID()}`;
    const { app } = buildApp({ rateLimit: { limiter, perMinute: 3, key: () => caller } });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await app.request("/fn", json({ amount: 1 }))).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});
