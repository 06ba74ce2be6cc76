// The front of every function that serves signed-in users (admin, payments): the cross-origin
// answers browsers need (cors.ts), the shared layer with the rate limit keyed by the verified
// user (requests without a valid token count against their address), then authentication,
// which puts the Caller in the context or answers 401/403.
// The token is verified once per request, by whichever of the two needs it first.
import type { Context, Hono } from "hono";
import { authenticate, type Authentication, type Caller, type TokenVerifier } from "./auth.ts";
import { clientAddress } from "./client-address.ts";
import { applyCors } from "./cors.ts";
import type { RequestContext } from "./db.ts";
import type { Logger } from "./logger.ts";
import { applySharedLayer, type SharedVariables } from "./middleware.ts";
import type { RateLimiter } from "./rate-limit/limiter.ts";

export type UserVariables = SharedVariables & { authentication: Authentication | undefined; caller: Caller };
export type UserEnv = { Variables: UserVariables };

export type UserApp = Hono<UserEnv>;
export type UserContext = Context<UserEnv>;

export interface UserLayerDependencies {
  limiter: RateLimiter;
  /** Requests per minute per caller (RATE_LIMIT_<FUNCTION>_PER_MIN). */
  rateLimitPerMinute: number;
  verifyToken: TokenVerifier;
}

export interface UserLayerOptions {
  functionName: string;
  logger: Logger;
  methods: readonly string[];
  /** Read per request, so that a configuration error is a 500 answer, not a crash at import. */
  dependencies: () => UserLayerDependencies;
  /** Prefix of the rate-limit keys, so that functions sharing a store count apart. */
  keyPrefix: string;
  /** The API's name in the 403 given to genuine tokens that are not a user's session. */
  service: string;
}

export function applyUserLayer<E extends UserEnv>(app: Hono<E>, options: UserLayerOptions): void {
  const deps = options.dependencies;
  const authenticationOf = async (c: Context<E>): Promise<Authentication> => {
    let outcome = c.get("authentication");
    if (!outcome) {
      outcome = await authenticate(c.req.raw.headers, deps().verifyToken, options.service);
      c.set("authentication", outcome);
    }
    return outcome;
  };

  applyCors(app, options.methods);
  applySharedLayer(app, {
    functionName: options.functionName,
    logger: options.logger,
    methods: options.methods,
    rateLimit: {
      get limiter() {
        return deps().limiter;
      },
      get perMinute() {
        return deps().rateLimitPerMinute;
      },
      key: async (c) => {
        const outcome = await authenticationOf(c);
        return outcome.ok
          ? `${options.keyPrefix}user:${outcome.caller.userId}`
          : `${options.keyPrefix}anonymous:${clientAddress(c.req.raw.headers, c.env)}`;
      },
    },
  });

  app.use("*", async (c, next) => {
    const outcome = await authenticationOf(c);
    if (!outcome.ok) throw outcome.error;
    c.set("caller", outcome.caller);
    await next();
  });
}

// Credentials stay out of request.headers: nothing in SQL needs them.
const UNFORWARDED_HEADERS = ["authorization", "apikey", "cookie"];

/**
 * The request context of a query made for the caller: as `authenticated` with the verified
 * claims, or as `service_role` for the steps only the service may take (the user stays the
 * audit's actor, with the service's role).
 */
export function callerContext(c: Context<UserEnv>, role: "authenticated" | "service_role" = "authenticated"): RequestContext {
  const headers = new Headers(c.req.raw.headers);
  for (const name of UNFORWARDED_HEADERS) headers.delete(name);
  const caller = c.get("caller");
  return {
    role,
    claims: role === "authenticated" ? caller.claims as Record<string, unknown> : { sub: caller.userId, role: "service_role" },
    headers,
    correlationId: c.get("correlationId"),
    clientAddress: clientAddress(c.req.raw.headers, c.env),
  };
}
