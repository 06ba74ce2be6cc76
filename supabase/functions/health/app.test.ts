// The health function's HTTP answers, in-process with stand-in probes: live never needs the
// configuration, ready follows the probes, and the shared layer answers 405 and 404.
import { describe, expect, it } from "vitest";
import type { Sql } from "../_shared/db.ts";
import { ConfigError } from "../_shared/env.ts";
import { createLogger } from "../_shared/logger.ts";
import type { RateLimiter } from "../_shared/rate-limit/limiter.ts";
import { createHealthApp, type HealthDependencies } from "./app.ts";

const limiter = (ping: () => Promise<void>): RateLimiter => ({
  store: "postgres",
  limit: () => Promise.reject(new Error("health has no rate limit")),
  ping,
});
const database = (answer: () => Promise<unknown>) => answer as unknown as Sql;

function healthApp(dependencies: () => HealthDependencies) {
  const lines: string[] = [];
  const app = createHealthApp({ logger: createLogger((line) => lines.push(line)), version: "abc123", dependencies });
  return { request: (path: string, init?: RequestInit) => app.request(`http://functions.test/health${path}`, init), lines };
}

const healthy = () => ({ sql: database(() => Promise.resolve([])), limiter: limiter(() => Promise.resolve()) });

describe("health", () => {
  it("answers /live with the version even when the configuration is broken", async () => {
    const { request } = healthApp(() => {
      throw new ConfigError("SUPABASE_DB_URL", "is missing");
    });
    const response = await request("/live");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "live", version: "abc123" });
    expect(response.headers.get("x-correlation-id")).toMatch(/.+/);
  });

  it("is 200 healthy on /ready and / when every probe answers", async () => {
    const { request } = healthApp(healthy);
    for (const path of ["/ready", ""]) {
      const response = await request(path);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ status: "healthy", version: "abc123", checks: { database: { status: "healthy" } } });
    }
  });

  it("is 200 degraded when only the rate-limit store fails, 503 unhealthy when the database does", async () => {
    const degraded = await healthApp(() => ({ ...healthy(), limiter: limiter(() => Promise.reject(new Error("down"))) })).request("/ready");
    expect(degraded.status).toBe(200);
    expect(await degraded.json()).toMatchObject({
      status: "degraded",
      checks: { rate_limit_store: { status: "unhealthy", error: "unreachable" } },
    });
    const unhealthy = await healthApp(() => ({ ...healthy(), sql: database(() => Promise.reject(new Error("ECONNREFUSED"))) })).request(
      "/ready",
    );
    expect(unhealthy.status).toBe(503);
    expect(await unhealthy.json()).toMatchObject({ status: "unhealthy", checks: { database: { status: "unhealthy" } } });
  });

  it("answers another method 405 with Allow and an unknown path 404, as JSON with the correlation id", async () => {
    const { request, lines } = healthApp(healthy);
    const wrongMethod = await request("/live", { method: "POST", headers: { "x-correlation-id": "probe-1" } });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("GET, HEAD");
    expect(await wrongMethod.json()).toMatchObject({ error: { code: "method_not_allowed", correlation_id: "probe-1" } });
    const unknown = await request("/nope");
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: "not_found" } });
    expect(lines.map((line) => JSON.parse(line))).toContainEqual(
      expect.objectContaining({ function: "health", status: 405, correlation_id: "probe-1" }),
    );
  });
});
