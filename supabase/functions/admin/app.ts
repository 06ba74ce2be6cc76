// The admin API as a hono app, built from its dependencies so that tests can give it their
// own database, limiter and limits. handler.ts builds the deployed one from the environment.
// Pipeline: shared layer (correlation id, rate limit keyed by the verified user id, methods,
// body limits, JSON errors, one log line) -> authentication -> authorization -> route.
import { type Context, Hono } from "hono";
import { clientAddress } from "../_shared/client-address.ts";
import { type Sql, type TransactionSql, withRequestContext } from "../_shared/db.ts";
import type { Logger } from "../_shared/logger.ts";
import { applySharedLayer, type SharedVariables } from "../_shared/middleware.ts";
import type { RateLimiter } from "../_shared/rate-limit/limiter.ts";
import { type Authentication, authenticate, type Caller, type TokenVerifier } from "../_shared/auth.ts";
import { authorize } from "./auth.ts";
import { mapSqlErrors } from "../_shared/sql-errors.ts";
import { registerAccountRoutes } from "./routes/accounts.ts";
import { registerAuditRoutes } from "./routes/audit.ts";
import { registerLedgerActionRoutes } from "./routes/ledger-actions.ts";
import { registerReconciliationRoutes } from "./routes/reconciliation.ts";
import { registerWebhookEventRoutes } from "./routes/webhook-events.ts";

export interface AdminDependencies {
  sql: Sql;
  limiter: RateLimiter;
  /** Requests per minute per caller (RATE_LIMIT_ADMIN_PER_MIN). */
  rateLimitPerMinute: number;
  verifyToken: TokenVerifier;
}

export type AdminEnv = {
  Variables: SharedVariables & { authentication: Authentication | undefined; caller: Caller };
};
export type AdminApp = Hono<AdminEnv>;
export type AdminContext = Context<AdminEnv>;

/** What the routes need: the database, reached as the calling admin. */
export interface AdminRoutes {
  /** Runs `fn` in one transaction as `authenticated` with the caller's claims (RLS applies). */
  asCaller<T>(c: AdminContext, fn: (tx: TransactionSql) => Promise<T>): Promise<T>;
}

// Credentials stay out of request.headers: nothing in SQL needs them.
const UNFORWARDED_HEADERS = ["authorization", "apikey", "cookie"];

function forwardedHeaders(headers: Headers): Headers {
  const copy = new Headers(headers);
  for (const name of UNFORWARDED_HEADERS) copy.delete(name);
  return copy;
}

export function createAdminApp(options: { logger: Logger; dependencies: () => AdminDependencies }): AdminApp {
  const deps = options.dependencies;
  const app = new Hono<AdminEnv>().basePath("/admin");

  // Verified once per request: by the rate limiter's key (which must know the caller) or,
  // when the limiter could not run, by the authentication step.
  const authenticationOf = async (c: AdminContext): Promise<Authentication> => {
    let outcome = c.get("authentication");
    if (!outcome) {
      outcome = await authenticate(c.req.raw.headers, deps().verifyToken);
      c.set("authentication", outcome);
    }
    return outcome;
  };

  applySharedLayer(app, {
    functionName: "admin",
    logger: options.logger,
    methods: ["GET", "POST"],
    // Read per request, so that a configuration error is a 500 answer, not a crash at import.
    rateLimit: {
      get limiter() {
        return deps().limiter;
      },
      get perMinute() {
        return deps().rateLimitPerMinute;
      },
      // Per signed-in user; requests without a valid token count against their address.
      key: async (c) => {
        const outcome = await authenticationOf(c);
        return outcome.ok ? `user:${outcome.caller.userId}` : `anonymous:${clientAddress(c.req.raw.headers, c.env)}`;
      },
    },
  });

  app.use("*", async (c, next) => {
    const outcome = await authenticationOf(c);
    if (!outcome.ok) throw outcome.error;
    authorize(outcome.caller, c.req.method);
    c.set("caller", outcome.caller);
    await next();
  });

  const routes: AdminRoutes = {
    asCaller: (c, fn) =>
      mapSqlErrors(() =>
        withRequestContext(deps().sql, {
          role: "authenticated",
          claims: c.get("caller").claims as Record<string, unknown>,
          headers: forwardedHeaders(c.req.raw.headers),
          correlationId: c.get("correlationId"),
        }, fn)
      ),
  };
  registerAccountRoutes(app, routes);
  registerLedgerActionRoutes(app, routes);
  registerAuditRoutes(app, routes);
  registerWebhookEventRoutes(app, routes);
  registerReconciliationRoutes(app, routes);
  return app;
}
