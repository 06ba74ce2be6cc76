// The production rate-limit store when UPSTASH_REDIS_REST_URL is set: @upstash/ratelimit's
// sliding window over Upstash Redis (REST). Its Lua script runs atomically in Redis, so the
// count is shared exactly by every process that uses the same database and prefix.
import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis";
import { failedOpen, type RateLimitDecision, type RateLimiter, type WarningSink, WINDOW_MS } from "./limiter.ts";

export interface UpstashLimiterOptions {
  url: string;
  token: string;
  warn: WarningSink;
  /** Key prefix in Redis; processes that share a prefix share their counts. */
  prefix?: string;
  windowMs?: number;
  /** How long to wait for Redis before failing open. */
  timeoutMs?: number;
}

export function createUpstashLimiter(options: UpstashLimiterOptions): RateLimiter {
  const { warn, prefix = "mfuko:ratelimit", windowMs = WINDOW_MS, timeoutMs = 1_000 } = options;
  // One quick retry only: a slow store must not hold the request up for long before failing open.
  const redis = new Redis({
    url: options.url,
    token: options.token,
    retry: { retries: 1, backoff: () => 50 },
    enableTelemetry: false,
  });
  // A Ratelimit is bound to one limit; functions use a handful of limits, so keep one per limit.
  const limiters = new Map<number, Ratelimit>();
  const limiterFor = (limitPerMinute: number): Ratelimit => {
    let limiter = limiters.get(limitPerMinute);
    if (!limiter) {
      limiter = new Ratelimit({
        redis,
        prefix: `${prefix}:${limitPerMinute}`,
        limiter: Ratelimit.slidingWindow(limitPerMinute, `${windowMs} ms`),
        timeout: timeoutMs,
        analytics: false,
      });
      limiters.set(limitPerMinute, limiter);
    }
    return limiter;
  };

  return {
    store: "upstash",
    async limit(key, limitPerMinute): Promise<RateLimitDecision> {
      try {
        const result = await limiterFor(limitPerMinute).limit(key);
        // On timeout @upstash/ratelimit lets the request through with reason "timeout".
        if (result.reason === "timeout") {
          warn("rate_limit_store_unavailable", { store: "upstash", error: "timeout" });
          return failedOpen(limitPerMinute);
        }
        return { success: result.success, limit: result.limit, remaining: result.remaining, reset: result.reset, failedOpen: false };
      } catch (error) {
        warn("rate_limit_store_unavailable", { store: "upstash", error });
        return failedOpen(limitPerMinute);
      }
    },
    async ping() {
      await redis.ping();
    },
  };
}
