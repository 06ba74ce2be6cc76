// The admin API's routing, validation and authorization, in-process with real JWTs and no
// database: its client points at a closed port, so any request that reached the database
// would answer 503. Every case here must be decided before that.
import { afterAll, describe, expect, it } from "vitest";
import { SignJWT } from "jose";
import { createSql } from "../_shared/db.ts";
import { ConfigError } from "../_shared/env.ts";
import { createLogger } from "../_shared/logger.ts";
import type { RateLimiter } from "../_shared/rate-limit/limiter.ts";
import { TokenMinter } from "@mfuko/local-stack/tokens";
import { type AdminCall, adminRequest, answerOf, refusal } from "../../tests/support/admin-fixtures.ts";
import { createAdminApp } from "./app.ts";
import { encodeCursor } from "./pagination.ts";
import { secretVerifier } from "../_shared/auth.ts";
import { momoClientFromEnv } from "../_shared/providers/momo/client.ts";
import { revolutClientFromEnv } from "../_shared/providers/revolut/client.ts";
import { stripeClientFromEnv } from "../_shared/providers/stripe/client.ts";

const SECRET = "admin-unit-test-secret-with-at-least-32-characters";
const minter = new TokenMinter(SECRET);
const sql = createSql("postgresql://postgres@127.0.0.1:1/postgres", { max: 1, connect_timeout: 1 });
afterAll(() => sql.end());

/** Lets every request through (the limiter has its own tests); records the keys it was asked about. */
const keys: string[] = [];
const openLimiter: RateLimiter = {
  store: "test",
  limit: (key, limit) => {
    keys.push(key);
    return Promise.resolve({ success: true, limit, remaining: limit - 1, reset: Date.now() + 60_000, failedOpen: false });
  },
  ping: () => Promise.resolve(),
};

const logLines: string[] = [];
const app = createAdminApp({
  logger: createLogger((line) => logLines.push(line)),
  dependencies: () => ({
    sql,
    limiter: openLimiter,
    rateLimitPerMinute: 200,
    verifyToken: secretVerifier(SECRET),
    providers: { stripe: stripeClientFromEnv, revolut: revolutClientFromEnv, momo: momoClientFromEnv },
  }),
});

const ids = { admin: crypto.randomUUID(), support: crypto.randomUUID(), user: crypto.randomUUID() };
const tokens = {
  admin: await minter.user({ id: ids.admin, email: "admin@test.local", appMetadata: { role: "admin" } }),
  support: await minter.user({ id: ids.support, email: "support@test.local", appMetadata: { role: "support" } }),
  user: await minter.user({ id: ids.user, email: "user@test.local" }),
};
const ACCOUNT = "0b0c6a4e-5d1a-4f7e-9a55-3f2f2b1d0c01";

const call = async (method: string, path: string, options: AdminCall = {}) =>
  answerOf(await app.fetch(adminRequest("http://admin.local", method, `/admin${path}`, options)));

describe("authentication", () => {
  it("answers 401 with WWW-Authenticate without a bearer token", async () => {
    const answer = await call("GET", "/accounts");
    expect(answer.status).toBe(401);
    expect(answer.body.error.code).toBe("missing_token");
    expect(answer.headers.get("www-authenticate")).toContain("Bearer");
    expect(answer.headers.get("x-correlation-id")).toBe(answer.body.error.correlation_id);
  });

  it("answers 401 for a token signed with another secret, an expired token and garbage", async () => {
    const forged = await new TokenMinter("another-secret-that-is-also-at-least-32-chars").user({
      id: ids.admin,
      email: "x@test.local",
      appMetadata: { role: "admin" },
    });
    const expired = await new SignJWT({ sub: ids.admin, role: "authenticated", aud: "authenticated", app_metadata: { role: "admin" } })
      .setProtectedHeader({ alg: "HS256" }).setIssuedAt(1_700_000_000).setExpirationTime(1_700_000_600)
      .sign(new TextEncoder().encode(SECRET));
    for (const token of [forged, expired, "not.a.jwt"]) {
      const answer = await call("GET", "/accounts", { token });
      expect(answer.status).toBe(401);
      expect(answer.body.error.code).toBe("invalid_token");
    }
  });

  it("answers 401 for an unsigned token (alg none)", async () => {
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const claims = { sub: ids.admin, role: "authenticated", aud: "authenticated", app_metadata: { role: "admin" }, exp: 4_000_000_000 };
    const unsigned = `${encode({ alg: "none", typ: "JWT" })}.${encode(claims)}.`;
    expect(refusal(await call("GET", "/accounts", { token: unsigned }))).toEqual({ status: 401, code: "invalid_token" });
  });

  it("answers 401 for a token without an expiry", async () => {
    const token = await new SignJWT({ sub: ids.admin, role: "authenticated", aud: "authenticated", app_metadata: { role: "admin" } })
      .setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(SECRET));
    expect(refusal(await call("GET", "/accounts", { token }))).toEqual({ status: 401, code: "invalid_token" });
  });

  it("answers 403 for genuine tokens that are nobody's session: API keys, another audience", async () => {
    const otherAudience = await new SignJWT({ sub: ids.admin, role: "authenticated", aud: "other", app_metadata: { role: "admin" } })
      .setProtectedHeader({ alg: "HS256" }).setExpirationTime("1h").sign(new TextEncoder().encode(SECRET));
    for (const token of [await minter.apiKey("anon"), await minter.apiKey("service_role"), otherAudience]) {
      const answer = await call("GET", "/accounts", { token });
      expect(answer.status).toBe(403);
      expect(answer.body.error.code).toBe("forbidden");
    }
  });

  it("keys the rate limit by the verified user id, and unverified callers by address", async () => {
    keys.length = 0;
    await call("GET", "/nope", { token: tokens.support });
    await call("GET", "/accounts", { headers: { "x-forwarded-for": "203.0.113.9" } });
    expect(keys).toEqual([`user:${ids.support}`, "anonymous:203.0.113.9"]);
  });
});

describe("authorization", () => {
  const FORBIDDEN = { status: 403, code: "forbidden" };
  const reads = [
    "/accounts",
    `/accounts/${ACCOUNT}`,
    "/audit",
    "/webhook-events",
    "/reconciliation",
    "/reconciliation/reports",
    "/reconciliation/reports/2026-12-07",
    "/users?phone=250788123456",
    "/payment-intents",
    `/payment-intents/${ACCOUNT}`,
    "/payments?status=needs_review",
    `/payments/${ACCOUNT}`,
    "/cashouts",
  ];
  const writes: [string, unknown][] = [
    [`/accounts/${ACCOUNT}/status`, { status: "frozen", reason: "x" }],
    [`/transactions/${ACCOUNT}/reverse`, { reason: "x" }],
    ["/adjustments", { account_id: ACCOUNT, amount: 1, direction: "credit", reason: "x" }],
    [`/webhook-events/${ACCOUNT}/replay`, {}],
    [`/payments/${ACCOUNT}/refund`, { amount: 1, reason: "x" }],
    [`/payments/${ACCOUNT}/resolve`, { action: "credit", reason: "x" }],
    [`/cashouts/${ACCOUNT}/resolve`, { outcome: "failed", reason: "x" }],
    [`/refunds/${ACCOUNT}/resolve`, { outcome: "failed", reason: "x" }],
    [`/refunds/${ACCOUNT}/paid-out`, { amount: 1, method: "cash", reference: "x", reason: "x" }],
    [`/whatsapp-outbox/${ACCOUNT}/replay`, {}],
  ];

  it("refuses a plain user on every route with 403", async () => {
    for (const path of reads) expect(refusal(await call("GET", path, { token: tokens.user }))).toEqual(FORBIDDEN);
    for (const [path, body] of writes) {
      expect(refusal(await call("POST", path, { token: tokens.user, body, idempotencyKey: "k" }))).toEqual(FORBIDDEN);
    }
  });

  it("refuses support on every change with 403 (read-only)", async () => {
    for (const [path, body] of writes) {
      const answer = await call("POST", path, { token: tokens.support, body, idempotencyKey: "k" });
      expect(refusal(answer)).toEqual(FORBIDDEN);
      expect(answer.body.error.message).toContain("read-only");
    }
  });

  it("never reads user_metadata: a user calling itself admin there is refused", async () => {
    const token = await new SignJWT({
      sub: ids.user,
      role: "authenticated",
      aud: "authenticated",
      app_metadata: {},
      user_metadata: { role: "admin" },
    }).setProtectedHeader({ alg: "HS256" }).setExpirationTime("1h").sign(new TextEncoder().encode(SECRET));
    expect(refusal(await call("GET", "/accounts", { token }))).toEqual(FORBIDDEN);
  });

  it("lets admin and support reads through to the database (503 here: it is unreachable)", async () => {
    expect((await call("GET", "/accounts", { token: tokens.support })).status).toBe(503);
    expect((await call("GET", "/accounts", { token: tokens.admin })).status).toBe(503);
  });
});

describe("configuration", () => {
  it("answers 500 configuration_error, naming nothing secret, when the environment is incomplete", async () => {
    const broken = createAdminApp({
      logger: createLogger(() => undefined),
      dependencies: () => {
        throw new ConfigError("SUPABASE_DB_URL", "is missing");
      },
    });
    const answer = await answerOf(
      await broken.fetch(adminRequest("http://admin.local", "GET", "/admin/accounts", { token: tokens.admin })),
    );
    expect(answer.status).toBe(500);
    expect(answer.body.error.code).toBe("configuration_error");
    expect(JSON.stringify(answer.body)).not.toContain("SUPABASE_DB_URL");
  });
});

describe("routing", () => {
  it("answers 404 for an unknown route", async () => {
    const answer = await call("GET", "/nope", { token: tokens.admin });
    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe("not_found");
  });

  it("answers 405 with Allow for a method a route does not serve", async () => {
    const post = await call("POST", "/accounts", { token: tokens.admin, body: {} });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET");
    const get = await call("GET", "/adjustments", { token: tokens.admin });
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    const del = await call("DELETE", "/accounts", { token: tokens.admin });
    expect(del.status).toBe(405);
    expect(del.headers.get("allow")).toBe("GET, POST, PUT");
  });

  it("answers 415 for a body that is not JSON", async () => {
    const answer = await call("POST", "/adjustments", {
      token: tokens.admin,
      body: "amount=1",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(answer.status).toBe(415);
  });
});

describe("validation (400, nothing written)", () => {
  const fieldsOf = (answer: { body: { error: { details: { fields: { path: string }[] } } } }) =>
    answer.body.error.details.fields.map((field) => field.path);

  it("checks list queries: limit 1..200, cursors, filters, unknown parameters", async () => {
    for (const query of ["limit=0", "limit=201", "limit=abc", "cursor=garbage", "status=open", "owner_id=123", "currency=kes", "owner=x"]) {
      const answer = await call("GET", `/accounts?${query}`, { token: tokens.admin });
      expect(answer.status, query).toBe(400);
      expect(answer.body.error.code).toBe("validation_failed");
    }
    expect(fieldsOf(await call("GET", "/accounts?limit=500", { token: tokens.admin }))).toEqual(["limit"]);
  });

  it("refuses a well-formed cursor whose timestamp is not one (400, not a failed cast)", async () => {
    const id = "00000000-0000-4000-8000-000000000001";
    for (
      const path of [
        `/accounts?cursor=${encodeCursor({ created_at: "notadate", id })}`,
        `/webhook-events?cursor=${encodeCursor({ received_at: "2026-13-40T99:00:00Z", id })}`,
      ]
    ) {
      const answer = await call("GET", path, { token: tokens.admin });
      expect(answer.status, path).toBe(400);
      expect(fieldsOf(answer), path).toEqual(["cursor"]);
    }
  });

  it("checks the audit and reconciliation filters", async () => {
    expect(fieldsOf(await call("GET", "/audit?record_id=1", { token: tokens.support }))).toEqual(["record_id"]);
    expect(fieldsOf(await call("GET", "/audit?actor_id=me", { token: tokens.support }))).toEqual(["actor_id"]);
    expect(fieldsOf(await call("GET", "/audit?from=yesterday", { token: tokens.support }))).toEqual(["from"]);
    expect(fieldsOf(await call("GET", "/reconciliation?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", { token: tokens.support })))
      .toEqual(["to"]);
    expect(fieldsOf(await call("GET", "/reconciliation?provider=paypal", { token: tokens.support }))).toEqual(["provider"]);
    expect(fieldsOf(await call("GET", "/webhook-events?status=lost", { token: tokens.support }))).toEqual(["status"]);
  });

  it("refuses year 0000, which ISO 8601 spells but PostgreSQL rejects (400, not a failed cast)", async () => {
    const id = "00000000-0000-4000-8000-000000000001";
    const cases: [path: string, field: string][] = [
      ["/audit?from=0000-01-01T00:00:00Z", "from"],
      ["/audit?to=0000-02-29T00:00:00%2B00:00", "to"],
      ["/reconciliation?from=0000-06-01T00:00:00Z", "from"],
      [`/accounts?cursor=${encodeCursor({ created_at: "0000-01-01T00:00:00Z", id })}`, "cursor"],
      [`/reconciliation/reports?cursor=${encodeCursor({ report_date: "0000-01-01" })}`, "cursor"],
      ["/reconciliation/reports/0000-01-01", "date"],
    ];
    for (const [path, field] of cases) {
      const answer = await call("GET", path, { token: tokens.support });
      expect(answer.status, path).toBe(400);
      expect(fieldsOf(answer), path).toEqual([field]);
    }
    // Year 1 is PostgreSQL's first.
    expect((await call("GET", "/audit?from=0001-01-01T00:00:00Z", { token: tokens.support })).status).toBe(503);
  });

  it("refuses a NUL character in a free-text filter, which no text column can hold (400, not a 500)", async () => {
    for (
      const [path, field] of [
        ["/webhook-events?type=payment%00intent", "type"],
        ["/audit?table=payments&record_id=a%00b", "record_id"],
      ]
    ) {
      const answer = await call("GET", path!, { token: tokens.support });
      expect(answer.status, path).toBe(400);
      expect(fieldsOf(answer), path).toEqual([field]);
    }
  });

  it("checks path ids", async () => {
    expect(fieldsOf(await call("GET", "/accounts/42", { token: tokens.admin }))).toEqual(["id"]);
    const answer = await call("POST", "/transactions/42/reverse", { token: tokens.admin, body: { reason: "x" }, idempotencyKey: "k" });
    expect(answer.status).toBe(400);
  });

  it("requires an idempotency key on every change, from the header or the body, never two different ones", async () => {
    const body = { account_id: ACCOUNT, amount: 100, direction: "credit", reason: "missing top-up" };
    const missing = await call("POST", "/adjustments", { token: tokens.admin, body });
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe("idempotency_key_required");
    const conflicting = await call("POST", "/adjustments", {
      token: tokens.admin,
      body: { ...body, idempotency_key: "a" },
      idempotencyKey: "b",
    });
    expect(fieldsOf(conflicting)).toEqual(["idempotency_key"]);
    const tooLong = await call("POST", "/adjustments", { token: tokens.admin, body, idempotencyKey: "k".repeat(256) });
    expect(fieldsOf(tooLong)).toEqual(["idempotency_key"]);
  });

  it("checks change bodies field by field", async () => {
    const post = (path: string, body: unknown) => call("POST", path, { token: tokens.admin, body, idempotencyKey: "k" });
    expect(fieldsOf(await post("/adjustments", { account_id: ACCOUNT, amount: 0, direction: "up", reason: " " })).sort())
      .toEqual(["amount", "direction", "reason"]);
    expect(fieldsOf(await post("/adjustments", { account_id: ACCOUNT, amount: 1.5, direction: "credit", reason: "x" })))
      .toEqual(["amount"]);
    expect(fieldsOf(await post("/adjustments", { amount: 1, direction: "credit", reason: "x", extra: 1 })).sort())
      .toEqual(["", "account_id"]);
    expect(fieldsOf(await post(`/accounts/${ACCOUNT}/status`, { status: "deleted", reason: "x" }))).toEqual(["status"]);
    expect(fieldsOf(await post(`/transactions/${ACCOUNT}/reverse`, { amount: -5, reason: "x", force: "yes" })).sort())
      .toEqual(["amount", "force"]);
  });

  it("answers 400 invalid_json for a body that does not parse, and for a JSON array", async () => {
    const broken = await call("POST", "/adjustments", { token: tokens.admin, body: "{", idempotencyKey: "k" });
    expect(broken.body.error.code).toBe("invalid_json");
    const array = await call("POST", "/adjustments", { token: tokens.admin, body: [], idempotencyKey: "k" });
    expect(array.status).toBe(400);
  });

  it("logs one line per request without the token", () => {
    expect(logLines.length).toBeGreaterThan(10);
    for (const token of Object.values(tokens)) expect(logLines.join("\n")).not.toContain(token);
  });
});
