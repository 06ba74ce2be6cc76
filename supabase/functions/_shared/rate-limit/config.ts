// Which store and which limits: Upstash when UPSTASH_REDIS_REST_URL is set, else Postgres;
// limits per function from RATE_LIMIT_<FUNCTION>_PER_MIN.
import type { Sql } from "../db.ts";
import { ConfigError, env } from "../env.ts";
import type { RateLimiter, WarningSink } from "./limiter.ts";
import { createPostgresLimiter } from "./postgres-limiter.ts";
import { createUpstashLimiter } from "./upstash-limiter.ts";

/** The functions that have a limit, with the variable that sets it (defaults in env.ts). */
const LIMIT_VARIABLES = {
  "whatsapp-webhook": "RATE_LIMIT_WHATSAPP_WEBHOOK_PER_MIN",
  "stripe-webhook": "RATE_LIMIT_STRIPE_WEBHOOK_PER_MIN",
  "momo-webhook": "RATE_LIMIT_MOMO_WEBHOOK_PER_MIN",
  "revolut-webhook": "RATE_LIMIT_REVOLUT_WEBHOOK_PER_MIN",
  admin: "RATE_LIMIT_ADMIN_PER_MIN",
  payments: "RATE_LIMIT_PAYMENTS_PER_MIN",
} as const;

export type LimitedFunction = keyof typeof LIMIT_VARIABLES;

/** Requests per minute per caller for `fn`: whatsapp-webhook 6000 (per sender: RATE_LIMIT_WHATSAPP_SENDER_PER_MIN), payment webhooks 50, admin 200, payments 30. */
export function rateLimitPerMinute(fn: LimitedFunction): number {
  const variable = LIMIT_VARIABLES[fn];
  return env(variable)[variable];
}

/** The configured store: Upstash when UPSTASH_REDIS_REST_URL is set, else the Postgres one. */
export function rateLimiterFromEnv(sql: Sql, warn: WarningSink): RateLimiter {
  const { UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: token } = env("UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN");
  if (!url) return createPostgresLimiter(sql, warn);
  if (!token) throw new ConfigError("UPSTASH_REDIS_REST_TOKEN", "is missing (UPSTASH_REDIS_REST_URL is set)");
  return createUpstashLimiter({ url, token, warn });
}
