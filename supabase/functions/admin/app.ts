// The admin API as a hono app, built from its dependencies so that tests can give it their
// own database, limiter and limits. handler.ts builds the deployed one from the environment.
// Pipeline: shared layer (correlation id, rate limit keyed by the verified user id, methods,
// body limits, JSON errors, one log line) -> authentication -> authorization -> route.
import { type Context, Hono } from "hono";
import type { TokenVerifier } from "../_shared/auth.ts";
import { type Sql, type TransactionSql, withRequestContext } from "../_shared/db.ts";
import type { Logger } from "../_shared/logger.ts";
import type { RateLimiter } from "../_shared/rate-limit/limiter.ts";
import { mapSqlErrors } from "../_shared/sql-errors.ts";
import { applyUserLayer, callerContext, type UserEnv } from "../_shared/user-layer.ts";
import { authorize } from "./auth.ts";
import { registerAccountRoutes } from "./routes/accounts.ts";
import { registerAuditRoutes } from "./routes/audit.ts";
import type { RefundProviders } from "./refund-providers.ts";
import { registerLedgerActionRoutes } from "./routes/ledger-actions.ts";
import { registerLimitRoutes } from "./routes/limits.ts";
import { registerPaymentActionRoutes } from "./routes/payment-actions.ts";
import { registerReconciliationRoutes } from "./routes/reconciliation.ts";
import { registerWebhookEventRoutes } from "./routes/webhook-events.ts";
import { registerWhatsAppOutboxRoutes } from "./routes/whatsapp-outbox.ts";

export interface AdminDependencies {
  sql: Sql;
  limiter: RateLimiter;
  /** Requests per minute per caller (RATE_LIMIT_ADMIN_PER_MIN). */
  rateLimitPerMinute: number;
  verifyToken: TokenVerifier;
  /** The provider clients refunds go through. */
  refundProviders: RefundProviders;
}

export type AdminEnv = UserEnv;
export type AdminApp = Hono<AdminEnv>;
export type AdminContext = Context<AdminEnv>;

/** What the routes need: the database, reached as the calling admin. */
export interface AdminRoutes {
  /** Runs `fn` in one transaction as `authenticated` with the caller's claims (RLS applies). */
  asCaller<T>(c: AdminContext, fn: (tx: TransactionSql) => Promise<T>): Promise<T>;
  refundProviders(): RefundProviders;
  logger: Logger;
}

export function createAdminApp(options: { logger: Logger; dependencies: () => AdminDependencies }): AdminApp {
  const deps = options.dependencies;
  const app = new Hono<AdminEnv>().basePath("/admin");

  applyUserLayer(app, {
    functionName: "admin",
    logger: options.logger,
    methods: ["GET", "POST", "PUT"],
    dependencies: deps,
    keyPrefix: "",
    service: "The admin API",
  });
  app.use("*", async (c, next) => {
    authorize(c.get("caller"), c.req.method);
    await next();
  });

  const routes: AdminRoutes = {
    asCaller: (c, fn) => mapSqlErrors(() => withRequestContext(deps().sql, callerContext(c), fn)),
    refundProviders: () => deps().refundProviders,
    logger: options.logger,
  };
  registerAccountRoutes(app, routes);
  registerLedgerActionRoutes(app, routes);
  registerAuditRoutes(app, routes);
  registerWebhookEventRoutes(app, routes);
  registerReconciliationRoutes(app, routes);
  registerLimitRoutes(app, routes);
  registerPaymentActionRoutes(app, routes);
  registerWhatsAppOutboxRoutes(app, routes);
  return app;
}
