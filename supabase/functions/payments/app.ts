// The payments API (a signed-in user's top-ups) as a hono app, built from its dependencies so
// that tests can give it their own database, limiter and provider clients; handler.ts builds
// the deployed one from the environment. Pipeline: shared layer (correlation id, rate limit
// keyed by the verified user id, methods, body limits, JSON errors, one log line) ->
// authentication -> route.
import { type Context, Hono } from "hono";
import { type Authentication, authenticate, type Caller, type TokenVerifier } from "../_shared/auth.ts";
import { clientAddress } from "../_shared/client-address.ts";
import { type Sql, type TransactionSql, withRequestContext } from "../_shared/db.ts";
import type { Logger } from "../_shared/logger.ts";
import { applySharedLayer, type SharedVariables } from "../_shared/middleware.ts";
import type { RateLimiter } from "../_shared/rate-limit/limiter.ts";
import { mapSqlErrors } from "../_shared/sql-errors.ts";
import type { ProviderClients } from "./provider-calls.ts";
import { registerTopUpRoutes } from "./topups.ts";

export interface PaymentsDependencies {
  sql: Sql;
  limiter: RateLimiter;
  /** Requests per minute per user (RATE_LIMIT_PAYMENTS_PER_MIN). */
  rateLimitPerMinute: number;
  verifyToken: TokenVerifier;
  providers: ProviderClients;
}

export type PaymentsEnv = {
  Variables: SharedVariables & { authentication: Authentication | undefined; caller: Caller };
};
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

// Credentials stay out of request.headers: nothing in SQL needs them.
const UNFORWARDED_HEADERS = ["authorization", "apikey", "cookie"];

function forwardedHeaders(headers: Headers): Headers {
  const copy = new Headers(headers);
  for (const name of UNFORWARDED_HEADERS) copy.delete(name);
  return copy;
}

export function createPaymentsApp(options: { logger: Logger; dependencies: () => PaymentsDependencies }): PaymentsApp {
  const deps = options.dependencies;
  const app = new Hono<PaymentsEnv>().basePath("/payments");

  const authenticationOf = async (c: PaymentsContext): Promise<Authentication> => {
    let outcome = c.get("authentication");
    if (!outcome) {
      outcome = await authenticate(c.req.raw.headers, deps().verifyToken, "The payments API");
      c.set("authentication", outcome);
    }
    return outcome;
  };

  applySharedLayer(app, {
    functionName: "payments",
    logger: options.logger,
    methods: ["GET", "POST"],
    rateLimit: {
      get limiter() {
        return deps().limiter;
      },
      get perMinute() {
        return deps().rateLimitPerMinute;
      },
      key: async (c) => {
        const outcome = await authenticationOf(c);
        return outcome.ok ? `payments:user:${outcome.caller.userId}` : `payments:anonymous:${clientAddress(c.req.raw.headers, c.env)}`;
      },
    },
  });

  app.use("*", async (c, next) => {
    const outcome = await authenticationOf(c);
    if (!outcome.ok) throw outcome.error;
    c.set("caller", outcome.caller);
    await next();
  });

  const context = (c: PaymentsContext, role: "authenticated" | "service_role") => ({
    role,
    // The service steps keep the user as the audit's actor, with the service's role.
    claims: role === "authenticated"
      ? c.get("caller").claims as Record<string, unknown>
      : { sub: c.get("caller").userId, role: "service_role" },
    headers: forwardedHeaders(c.req.raw.headers),
    correlationId: c.get("correlationId"),
  });
  registerTopUpRoutes(app, {
    asCaller: (c, fn) => mapSqlErrors(() => withRequestContext(deps().sql, context(c, "authenticated"), fn)),
    asService: (c, fn) => mapSqlErrors(() => withRequestContext(deps().sql, context(c, "service_role"), fn)),
    providers: () => deps().providers,
    logger: options.logger,
  });
  return app;
}
