// GET /health/live: the process serves. GET /health/ready and GET /health: the database
// (5 s) and the rate-limit store (3 s), 200 when healthy or degraded, 503 when unhealthy.
// The shared layer without a rate limit: correlation id, 405/404 and JSON errors, one log line.
import { type Context, Hono } from "hono";
import type { AppOptions } from "../_shared/composition.ts";
import type { Sql } from "../_shared/db.ts";
import { applySharedLayer, type SharedEnv } from "../_shared/middleware.ts";
import type { RateLimiter } from "../_shared/rate-limit/limiter.ts";
import { checkReadiness, type Probe } from "./checks.ts";

export interface HealthDependencies {
  sql: Sql;
  limiter: RateLimiter;
}

export interface HealthAppOptions extends AppOptions<HealthDependencies> {
  /** The deployed version, in every answer. */
  version: string;
}

export function createHealthApp(options: HealthAppOptions): Hono<SharedEnv> {
  const { version } = options;
  const app = new Hono<SharedEnv>().basePath("/health");
  applySharedLayer(app, { functionName: "health", logger: options.logger, rateLimit: null, methods: ["GET", "HEAD"] });

  // The dependencies are asked for only here, so that /health/live answers even when the
  // configuration is broken.
  const readinessProbes = (): Probe[] => {
    const { sql, limiter } = options.dependencies();
    return [
      { name: "database", timeoutMs: 5_000, critical: true, run: () => sql`select 1` },
      { name: "rate_limit_store", timeoutMs: 3_000, critical: false, run: () => limiter.ping() },
    ];
  };

  app.get("/live", (c) => c.json({ status: "live", version }));
  const ready = async (c: Context<SharedEnv>) => {
    const readiness = await checkReadiness(readinessProbes());
    return c.json({ ...readiness, version }, readiness.status === "unhealthy" ? 503 : 200);
  };
  app.get("/ready", ready);
  app.get("/", ready);
  return app;
}
