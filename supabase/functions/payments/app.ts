// The payments API (a signed-in user's top-ups and cash-outs) as a hono app, built from its dependencies so
// that tests can give it their own database, limiter and provider clients; handler.ts builds
// the deployed one from the environment. Pipeline: shared layer (correlation id, rate limit
// keyed by the verified user id, methods, body limits, JSON errors, one log line) ->
// authentication -> route.
import { Hono } from "hono";
import type { AppOptions } from "../_shared/composition.ts";
import { withRequestContext } from "../_shared/db.ts";
import { mapSqlErrors } from "../_shared/sql-errors.ts";
import { applyUserLayer, callerContext, type UserEnv } from "../_shared/user-layer.ts";
import { registerCashOutRoutes } from "./cashouts.ts";
import { registerTopUpRoutes } from "./topups.ts";
import type { PaymentsApp, PaymentsDependencies, PaymentsRoutes } from "./types.ts";

export function createPaymentsApp(options: AppOptions<PaymentsDependencies>): PaymentsApp {
  const deps = options.dependencies;
  const app = new Hono<UserEnv>().basePath("/payments");

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
