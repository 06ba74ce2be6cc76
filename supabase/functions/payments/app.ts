// The payments API (a signed-in user's top-ups, cash-outs and payee look-ups) as a hono app, built from its dependencies so
// that tests can give it their own database, limiter and provider clients; handler.ts builds
// the deployed one from the environment. Pipeline: shared layer (correlation id, rate limit
// keyed by the verified user id, methods, body limits, JSON errors, one log line) ->
// authentication -> route.
import type { AppOptions } from "../_shared/composition.ts";
import { createUserApiApp } from "../_shared/user-api/app.ts";
import { registerCashOutRoutes } from "./cashouts.ts";
import { registerPayeeRoutes } from "./payees.ts";
import { registerTopUpRoutes } from "./topups.ts";
import type { PaymentsApp, PaymentsDependencies } from "./types.ts";

export function createPaymentsApp(options: AppOptions<PaymentsDependencies>): PaymentsApp {
  return createUserApiApp({
    ...options,
    functionName: "payments",
    methods: ["GET", "POST"],
    keyPrefix: "payments:",
    service: "The payments API",
    routes: [registerTopUpRoutes, registerCashOutRoutes, registerPayeeRoutes],
  });
}
