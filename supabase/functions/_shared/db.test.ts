// withRequestContext against the real database: role, claims, headers, correlation id and
// client address as PostgREST and its pre-request function set them, commit/rollback, and 503
// when the database cannot be reached.
import { afterAll, describe, expect, it, vi } from "vitest";
import { freePort } from "@mfuko/local-stack/ports";
import { createSql, type Sql, withRequestContext } from "./db.ts";
import { clearEnvCache } from "./env.ts";
import { HttpError } from "./errors.ts";

const databaseUrl = process.env.MFUKO_TEST_DB_URL;
if (!databaseUrl) throw new Error("MFUKO_TEST_DB_URL is not set: run through `npm test` or export it");

// One connection, so that what a transaction leaves behind on its session would be visible.
const sql: Sql = createSql(databaseUrl, { max: 1 });
afterAll(() => sql.end({ timeout: 1 }));

const alice = "11111111-1111-4111-8111-111111111111";
const context = {
  role: "authenticated" as const,
  claims: { sub: alice, role: "authenticated", app_metadata: { role: "admin" } },
  headers: new Headers({ "X-Correlation-Id": "corr-db-1", "User-Agent": "vitest" }),
  correlationId: "corr-db-1",
  clientAddress: "203.0.113.7",
};

describe("withRequestContext", () => {
  it("runs as the role with request.jwt.claims, request.headers, app.correlation_id and app.client_address set", async () => {
    const [row] = await withRequestContext(sql, context, (tx) =>
      tx`
      select current_user as role,
             auth.uid()::text as uid,
             auth.jwt() -> 'app_metadata' ->> 'role' as app_role,
             current_setting('request.headers')::json ->> 'user-agent' as user_agent,
             current_setting('app.correlation_id') as correlation_id,
             current_setting('app.client_address') as client_address`);
    expect(row).toEqual({
      role: "authenticated",
      uid: alice,
      app_role: "admin",
      user_agent: "vitest",
      correlation_id: "corr-db-1",
      client_address: "203.0.113.7",
    });
  });

  it("keeps the settings local to the transaction", async () => {
    await withRequestContext(sql, context, (tx) => tx`select 1`);
    const [row] = await sql`select current_user as role, coalesce(current_setting('app.correlation_id', true), '') as correlation_id`;
    expect(row).toEqual({ role: "postgres", correlation_id: "" });
  });

  it("rolls back when the work throws, and passes the error on unchanged", async () => {
    await sql`create temp table if not exists request_context_probe (n int)`;
    await sql`grant all on request_context_probe to service_role`;
    const failure = new Error("handler failed");
    const service = { ...context, role: "service_role" as const, claims: {} };
    await expect(withRequestContext(sql, service, async (tx) => {
      await tx`insert into request_context_probe values (1)`;
      throw failure;
    })).rejects.toBe(failure);
    expect((await sql`select count(*)::int as n from request_context_probe`)[0]!.n).toBe(0);
    await withRequestContext(sql, service, (tx) => tx`insert into request_context_probe values (2)`);
    expect((await sql`select count(*)::int as n from request_context_probe`)[0]!.n).toBe(1);
  });

  it("refuses a role that is not an API role", async () => {
    const bad = { ...context, role: "postgres; drop table x" as unknown as "anon" };
    await expect(withRequestContext(sql, bad, (tx) => tx`select 1`)).rejects.toThrow(/unknown database role/);
  });

  it("answers 503 database_unavailable when the database cannot be reached", async () => {
    const unreachable = createSql(`postgresql://postgres@127.0.0.1:${await freePort()}/postgres`, { connect_timeout: 2 });
    try {
      const error = await withRequestContext(unreachable, context, (tx) => tx`select 1`).then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(HttpError);
      expect(error).toMatchObject({ status: 503, code: "database_unavailable" });
    } finally {
      await unreachable.end({ timeout: 1 });
    }
  });
});

describe("createSql", () => {
  it("keeps DB_POOL_MAX connections, 10 unless set", async () => {
    const withPoolMax = (value: string) => {
      vi.stubEnv("DB_POOL_MAX", value);
      clearEnvCache();
      return createSql(databaseUrl);
    };
    const defaulted = withPoolMax("");
    const configured = withPoolMax("3");
    expect(() => withPoolMax("0")).toThrowError(/DB_POOL_MAX is invalid: must be at least 1/);
    vi.unstubAllEnvs();
    clearEnvCache();
    try {
      expect([defaulted.options.max, configured.options.max]).toEqual([10, 3]);
    } finally {
      await Promise.all([defaulted.end(), configured.end()]);
    }
  });
});
