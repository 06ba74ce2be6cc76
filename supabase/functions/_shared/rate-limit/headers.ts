// The rate-limit headers every response carries, and Retry-After on a 429.
import type { RateLimitDecision } from "./limiter.ts";

/**
 * X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset (epoch seconds at which one
 * more request becomes available); on a refused hit also Retry-After (whole seconds, >= 1).
 */
export function rateLimitHeaders(decision: RateLimitDecision, now: number = Date.now()): Record<string, string> {
  const headers: Record<string, string> = {
    "x-ratelimit-limit": String(decision.limit),
    "x-ratelimit-remaining": String(Math.max(0, decision.remaining)),
    "x-ratelimit-reset": String(Math.ceil(decision.reset / 1000)),
  };
  if (!decision.success) headers["retry-after"] = String(Math.max(1, Math.ceil((decision.reset - now) / 1000)));
  return headers;
}
