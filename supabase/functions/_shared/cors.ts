// Cross-origin answers of the user APIs (admin, payments), so that a web app or the admin
// dashboard can call them from a browser, as Supabase's guide to functions invoked from a
// browser asks: the preflight (OPTIONS, which Supabase's gateway passes on without a JWT) is
// answered here, before the rate limit and authentication, and every other answer, errors
// included, names the allowed origin. Mounted first, by applyUserLayer.
import type { Env as HonoEnv, Hono } from "hono";
import { cors } from "hono/cors";
import { CORRELATION_HEADER } from "./correlation.ts";
import { env } from "./env.ts";
import { IDEMPOTENCY_HEADER, REPLAYED_HEADER } from "./idempotency.ts";

/** What supabase-js sends with every call (authorization, x-client-info, apikey, content-type) and what the APIs read. */
const REQUEST_HEADERS = ["authorization", "x-client-info", "apikey", "content-type", IDEMPOTENCY_HEADER, CORRELATION_HEADER];
/** What a page may read of an answer beyond the CORS safelist: the replay mark, the request's id, the rate limit. */
const RESPONSE_HEADERS = [
  REPLAYED_HEADER,
  CORRELATION_HEADER,
  "retry-after",
  "x-ratelimit-limit",
  "x-ratelimit-remaining",
  "x-ratelimit-reset",
];
/** How long a browser may reuse a preflight's answer. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/**
 * The Access-Control-Allow-Origin of a request from `origin` under CORS_ALLOWED_ORIGINS: "*",
 * the origin itself when listed, or none (the browser then keeps the answer from the page).
 */
function allowedOrigin(origin: string): string | null {
  const allowed = env("CORS_ALLOWED_ORIGINS").CORS_ALLOWED_ORIGINS;
  if (allowed.includes("*")) return "*";
  return allowed.includes(origin) ? origin : null;
}

export function applyCors<E extends HonoEnv>(app: Hono<E>, methods: readonly string[]): void {
  app.use(
    "*",
    cors({
      // Read per request, so that a configuration error is a 500 answer, not a crash at import.
      origin: allowedOrigin,
      allowMethods: [...methods],
      allowHeaders: REQUEST_HEADERS,
      exposeHeaders: RESPONSE_HEADERS,
      maxAge: PREFLIGHT_MAX_AGE_SECONDS,
    }),
  );
}
