// GET /health/live: the process serves. GET /health/ready and GET /health: the database
// (5 s) and the rate-limit store (3 s), 200 when healthy or degraded, 503 when unhealthy.
import { type Context, Hono } from "hono";
import { correlationIdFrom, CORRELATION_HEADER } from "../_shared/correlation.ts";
import { createSql, type Sql } from "../_shared/db.ts";
import { readEnv } from "../_shared/env.ts";
import { errorResponse, HttpError } from "../_shared/errors.ts";
import { createLogger } from "../_shared/logger.ts";
import { rateLimiterFromEnv } from "../_shared/rate-limit/config.ts";
import type { RateLimiter } from "../_shared/rate-limit/limiter.ts";
import { checkReadiness, type Probe } from "./checks.ts";

const version = readEnv("MFUKO_VERSION") ?? "dev";
const logger = createLogger();

let dependencies: { sql: Sql; limiter: RateLimiter } | undefined;

/** Created on first use so that /health/live answers even when the configuration is broken. */
function readinessProbes(): Probe[] {
  if (!dependencies) {
    const sql = createSql(undefined, { max: 2 });
    dependencies = { sql, limiter: rateLimiterFromEnv(sql, (event, fields) => logger.warn(event, fields)) };
  }
  const { sql, limiter } = dependencies;
  return [
    { name: "database", timeoutMs: 5_000, critical: true, run: () => sql`select 1` },
    { name: "rate_limit_store", timeoutMs: 3_000, critical: false, run: () => limiter.ping() },
  ];
}

type Env = { Variables: { correlationId: string } };
const app = new Hono<Env>().basePath("/health");

app.use(async (c, next) => {
  c.set("correlationId", correlationIdFrom(c.req.raw.headers));
  await next();
  c.header(CORRELATION_HEADER, c.get("correlationId"));
});

app.get("/live", (c) => c.json({ status: "live", version }));

const ready = async (c: Context<Env>) => {
  const readiness = await checkReadiness(readinessProbes());
  return c.json({ ...readiness, version }, readiness.status === "unhealthy" ? 503 : 200);
};
app.get("/ready", ready);
app.get("/", ready);

const methodNotAllowed = (c: Context<Env>) =>
  errorResponse(new HttpError(405, "method_not_allowed", "Use GET.", null, { allow: "GET" }), c.get("correlationId"));
for (const path of ["/live", "/ready", "/"]) app.all(path, methodNotAllowed);
app.notFound((c) => errorResponse(new HttpError(404, "not_found", "No such route."), c.get("correlationId")));
app.onError((error, c) => errorResponse(error, c.get("correlationId")));

export default app;
