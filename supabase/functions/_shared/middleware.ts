// The shared request pipeline of every function, as hono middleware:
// correlation id -> rate limit -> method/content-type/body size and deadline -> handler -> error mapping
// -> one JSON log line. Mount it with applySharedLayer(app, options).
import type { Context, Hono, MiddlewareHandler } from "hono";
import { assertContentType, assertMethod, DEFAULT_MAX_BODY_BYTES, mediaTypeOf, readBodyBytes } from "./body.ts";
import { clientAddress } from "./client-address.ts";
import { CORRELATION_HEADER, correlationIdFrom } from "./correlation.ts";
import { env } from "./env.ts";
import { errorResponse, HttpError, toHttpError } from "./errors.ts";
import type { Logger, RateLimitLog } from "./logger.ts";
import { rateLimitHeaders } from "./rate-limit/headers.ts";
import type { RateLimitDecision, RateLimiter } from "./rate-limit/limiter.ts";

/** What the shared layer puts in the hono context for handlers. */
export interface SharedVariables {
  correlationId: string;
  /** The raw request body bytes (empty for GET/HEAD); signatures are computed over these. */
  rawBody: Uint8Array;
  rateLimit: RateLimitDecision | null;
}
export type SharedEnv = { Variables: SharedVariables };

export interface RateLimitOptions<E extends SharedEnv> {
  limiter: RateLimiter;
  perMinute: number;
  /** The caller's key, e.g. webhookCallerKey("stripe") or the admin's user id. */
  key: (c: Context<E>) => string | Promise<string>;
}

export interface SharedLayerOptions<E extends SharedEnv = SharedEnv> {
  /** The function's name, as in the logs and RATE_LIMIT_<FUNCTION>_PER_MIN. */
  functionName: string;
  logger: Logger;
  /** null: no rate limit (health checks, and the jobs only the service_role key may run). */
  rateLimit: RateLimitOptions<E> | null;
  /** Methods the whole function accepts (405 with Allow otherwise); per-route checks use allowMethods. */
  methods?: readonly string[];
  /** Default 1 MiB. */
  maxBodyBytes?: number;
  /** How long the body may take to arrive (408 after that); default REQUEST_BODY_TIMEOUT_MS. */
  bodyTimeoutMs?: number;
  /** Media types accepted for a request body; default application/json. */
  contentTypes?: readonly string[];
}

const BODYLESS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Rate-limit key of a webhook caller: the provider plus the client address. */
export function webhookCallerKey(provider: string) {
  return (c: Context): string => `${provider}:${clientAddress(c.req.raw.headers, c.env)}`;
}

function rateLimitLog(decision: RateLimitDecision | null): RateLimitLog | null {
  return decision && {
    allowed: decision.success,
    limit: decision.limit,
    remaining: decision.remaining,
    failed_open: decision.failedOpen,
  };
}

async function guardRequest<E extends SharedEnv>(c: Context<E>, options: SharedLayerOptions<E>): Promise<void> {
  // The limiter comes first so that floods of forged requests cost one store call each.
  if (options.rateLimit) {
    const { limiter, perMinute, key } = options.rateLimit;
    const decision = await limiter.limit(await key(c), perMinute);
    c.set("rateLimit", decision);
    if (!decision.success) {
      throw new HttpError(429, "rate_limited", "Too many requests; retry after the time in Retry-After.");
    }
  }
  if (options.methods) assertMethod(c.req.method, options.methods);
  if (BODYLESS.has(c.req.method)) {
    c.set("rawBody", new Uint8Array(0));
    return;
  }
  const contentTypes = options.contentTypes ?? ["application/json"];
  if (c.req.raw.headers.has("content-type")) assertContentType(c.req.raw.headers, contentTypes);
  const timeoutMs = options.bodyTimeoutMs ?? env("REQUEST_BODY_TIMEOUT_MS").REQUEST_BODY_TIMEOUT_MS;
  const rawBody = await readBodyBytes(c.req.raw, options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, timeoutMs);
  if (rawBody.length > 0 && mediaTypeOf(c.req.raw.headers.get("content-type")) === "") {
    assertContentType(c.req.raw.headers, contentTypes);
  }
  c.set("rawBody", rawBody);
}

/** The middleware itself; applySharedLayer also installs the 404 and error handlers. */
export function sharedMiddleware<E extends SharedEnv>(options: SharedLayerOptions<E>): MiddlewareHandler<E> {
  return async (c, next) => {
    const started = performance.now();
    const correlationId = correlationIdFrom(c.req.raw.headers);
    c.set("correlationId", correlationId);
    c.set("rateLimit", null);
    let failure: unknown = null;
    try {
      await guardRequest(c, options);
      await next();
      failure = c.error ?? null;
    } catch (error) {
      failure = error;
      c.res = errorResponse(error, correlationId);
    }

    const decision = c.get("rateLimit");
    c.res.headers.set(CORRELATION_HEADER, correlationId);
    if (decision) {
      for (const [name, value] of Object.entries(rateLimitHeaders(decision))) c.res.headers.set(name, value);
    }
    const httpError = failure === null ? null : toHttpError(failure);
    options.logger.request({
      function: options.functionName,
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      status: c.res.status,
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
      correlation_id: correlationId,
      rate_limit: rateLimitLog(decision),
      ...(httpError && { error_code: httpError.code }),
      ...(httpError && httpError.status >= 500 && { error: describe(failure) }),
    });
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.name}${typeof code === "string" ? ` ${code}` : ""}: ${error.message}`;
  }
  return String(error);
}

/**
 * A route handler that answers 405 with Allow for the methods a path does not serve; register
 * it with app.all(path, ...) after the path's real routes.
 */
export function allowMethods(...methods: string[]): MiddlewareHandler {
  return async (c, next) => {
    assertMethod(c.req.method, methods);
    await next();
  };
}

/** Mounts the shared middleware and the JSON 404 and error handlers on `app`. */
export function applySharedLayer<E extends SharedEnv>(app: Hono<E>, options: SharedLayerOptions<E>): void {
  app.use("*", sharedMiddleware(options));
  app.notFound((c) => errorResponse(new HttpError(404, "not_found", "No such route."), c.get("correlationId")));
  app.onError((error, c) => errorResponse(error, c.get("correlationId")));
}
