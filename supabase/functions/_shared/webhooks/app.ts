// The common frame of the four webhook functions: a hono app under /<function-name> with the
// shared layer (rate limit per provider and client address first, then method, content type
// and body limits), and the process-wide database client and limiter, created on first use so
// that loading a function never needs the database.
import { Hono } from "hono";
import { createSql, type Sql } from "../db.ts";
import { createLogger, type Logger } from "../logger.ts";
import { applySharedLayer, type SharedEnv, webhookCallerKey } from "../middleware.ts";
import { type LimitedFunction, rateLimiterFromEnv, rateLimitPerMinute } from "../rate-limit/config.ts";
import type { RateLimiter } from "../rate-limit/limiter.ts";

export type WebhookFunction = Extract<LimitedFunction, `${string}-webhook`>;

export interface WebhookAppOptions {
  functionName: WebhookFunction;
  /** Provider name in rate-limit keys and webhook_events.provider. */
  provider: string;
  methods: readonly string[];
  maxBodyBytes?: number;
  contentTypes?: readonly string[];
}

const logger: Logger = createLogger();
let sql: Sql | undefined;
let limiter: RateLimiter | undefined;

/** The process's database client (SUPABASE_DB_URL, prepare: false). */
export function webhookSql(): Sql {
  sql ??= createSql();
  return sql;
}

/** Delegates to the configured store, created on the first request. */
const lazyLimiter: RateLimiter = {
  get store() {
    return limiterInstance().store;
  },
  limit: (key, perMinute) => limiterInstance().limit(key, perMinute),
  ping: () => limiterInstance().ping(),
};

function limiterInstance(): RateLimiter {
  limiter ??= rateLimiterFromEnv(webhookSql(), (event, fields) => logger.warn(event, fields));
  return limiter;
}

/** The process's rate limiter (created on first use). */
export function webhookLimiter(): RateLimiter {
  return lazyLimiter;
}

export function webhookLogger(): Logger {
  return logger;
}

/** A hono app for one webhook function with the shared layer mounted. */
export function createWebhookApp(options: WebhookAppOptions): Hono<SharedEnv> {
  const app = new Hono<SharedEnv>().basePath(`/${options.functionName}`);
  applySharedLayer(app, {
    functionName: options.functionName,
    logger,
    rateLimit: { limiter: lazyLimiter, perMinute: rateLimitPerMinute(options.functionName), key: webhookCallerKey(options.provider) },
    methods: options.methods,
    maxBodyBytes: options.maxBodyBytes,
    contentTypes: options.contentTypes,
  });
  return app;
}
