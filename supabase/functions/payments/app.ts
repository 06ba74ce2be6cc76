// The payments API (a signed-in user's top-ups and cash-outs) as a hono app, built from its dependencies so
// that tests can give it their own database, limiter and provider clients; handler.ts builds
// the deployed one from the environment. Pipeline: shared layer (correlation id, rate limit
// keyed by the verified user id, methods, body limits, JSON errors, one log line) ->
// authentication -> route.
import { type Context, Hono } from "hono";
import type { TokenVerifier } from "../_shared/auth.ts";
import { type Sql, type TransactionSql, withRequestContext } from "../_shared/db.ts";
import type { Logger } from "../_shared/logger.ts";
import type { RateLimiter } from "../_shared/rate-limit/limiter.ts";
import { mapSqlErrors } from "../_shared/sql-errors.ts";
import { applyUserLayer, callerContext, type UserEnv } from "../_shared/user-layer.ts";
import type { ProviderClients } from "./provider-calls.ts";
import { registerCashOutRoutes } from "./cashouts.ts";
import { registerTopUpRoutes } from "./topups.ts";

export interface PaymentsDependencies {
  sql: Sql;
  limiter: RateLimiter;
  /** Requests per minute per user (RATE_LIMIT_PAYMENTS_PER_MIN). */
  rateLimitPerMinute: number;
  verifyToken: TokenVerifier;
  providers: ProviderClients;
}

export type PaymentsEnv = UserEnv;
export type PaymentsApp = Hono<PaymentsEnv>;
export type PaymentsContext = Context<PaymentsEnv>;

/** What the routes need: the database as the caller or as the service, and the providers. */
export interface PaymentsRoutes {
  /** One transaction as `authenticated` with the caller's claims (RLS and the SQL checks apply). */
  asCaller<T>(c: PaymentsContext, fn: (tx: TransactionSql) => Promise<T>): Promise<T>;
  /** One transaction as `service_role`, for the steps only the service may take (attach, failure). */
  asService<T>(c: PaymentsContext, fn: (tx: TransactionSql) => Promise<T>): Promise<T>;
  providers(): ProviderClients;
  logger: Logger;
}

export function createPaymentsApp(options: { logger: Logger; dependencies: () => PaymentsDependencies }): PaymentsApp {
  const deps = options.dependencies;
  const app = new Hono<PaymentsEnv>().basePath("/payments");

  applyUserLayer(app, {
    functionName: "payments",
    logger: options.logger,
    methods: ["GET", "POST"],
    dependencies: deps,
    keyPrefix: "payments:",
    service: "The payments API",
  });

  const routes: PaymentsRoutes = {
    asCaller: (c, fn) => mapSqlErrors(() => withRequestContext(deps().sql, callerContext(c), fn)),
    asService: (c, fn) => mapSqlErrors(() => withRequestContext(deps().sql, callerContext(c, "service_role"), fn)),
    providers: () => deps().providers,
    logger: options.logger,
  };
  registerTopUpRoutes(app, routes);
  registerCashOutRoutes(app, routes);
  return app;
}
