// The admin API as a hono app, built from its dependencies so that tests can give it their
// own database, limiter and limits. handler.ts builds the deployed one from the environment.
// Pipeline: shared layer (correlation id, rate limit keyed by the verified user id, methods,
// body limits, JSON errors, one log line) -> authentication -> authorization -> route.
import { Hono } from "hono";
import type { AppOptions } from "../_shared/composition.ts";
import { withRequestContext } from "../_shared/db.ts";
import { mapSqlErrors } from "../_shared/sql-errors.ts";
import { applyUserLayer, callerContext, type UserEnv } from "../_shared/user-layer.ts";
import { authorize } from "./auth.ts";
import { registerAccountRoutes } from "./routes/accounts.ts";
import { registerAuditRoutes } from "./routes/audit.ts";
import { registerLedgerActionRoutes } from "./routes/ledger-actions.ts";
import { registerLimitRoutes } from "./routes/limits.ts";
import { registerPaymentActionRoutes } from "./routes/payment-actions.ts";
import { registerReconciliationRoutes } from "./routes/reconciliation.ts";
import { registerWebhookEventRoutes } from "./routes/webhook-events.ts";
import type { AdminApp, AdminDependencies, AdminRoutes } from "./types.ts";
import { registerWhatsAppOutboxRoutes } from "./routes/whatsapp-outbox.ts";

export function createAdminApp(options: AppOptions<AdminDependencies>): AdminApp {
  const deps = options.dependencies;
  const app = new Hono<UserEnv>().basePath("/admin");

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
    providers: () => deps().providers,
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
