// The admin API as a hono app, built from its dependencies so that tests can give it their
// own database, limiter and limits. handler.ts builds the deployed one from the environment.
// Pipeline: shared layer (correlation id, rate limit keyed by the verified user id, methods,
// body limits, JSON errors, one log line) -> authentication -> authorization -> route.
import type { AppOptions } from "../_shared/composition.ts";
import { createUserApiApp } from "../_shared/user-api/app.ts";
import { authorize } from "./auth.ts";
import { registerAccountRoutes } from "./routes/accounts.ts";
import { registerAuditRoutes } from "./routes/audit.ts";
import { registerChargebackRoutes } from "./routes/chargebacks.ts";
import { registerLedgerActionRoutes } from "./routes/ledger-actions.ts";
import { registerLimitRoutes } from "./routes/limits.ts";
import { registerPaymentActionRoutes } from "./routes/payment-actions.ts";
import { registerPaymentRecordRoutes } from "./routes/payment-records.ts";
import { registerReconciliationRoutes } from "./routes/reconciliation.ts";
import { registerUserRoutes } from "./routes/users.ts";
import { registerWebhookEventRoutes } from "./routes/webhook-events.ts";
import type { AdminApp, AdminDependencies } from "./types.ts";
import { registerWhatsAppOutboxRoutes } from "./routes/whatsapp-outbox.ts";

export function createAdminApp(options: AppOptions<AdminDependencies>): AdminApp {
  return createUserApiApp({
    ...options,
    functionName: "admin",
    methods: ["GET", "POST", "PUT"],
    keyPrefix: "",
    service: "The admin API",
    authorize,
    routes: [
      registerUserRoutes,
      registerAccountRoutes,
      registerLedgerActionRoutes,
      registerAuditRoutes,
      registerWebhookEventRoutes,
      registerReconciliationRoutes,
      registerLimitRoutes,
      registerPaymentActionRoutes,
      registerChargebackRoutes,
      registerPaymentRecordRoutes,
      registerWhatsAppOutboxRoutes,
    ],
  });
}
