// What every rate-limit store offers the middleware.

export interface RateLimitDecision {
  /** Whether this hit is allowed. */
  success: boolean;
  /** Hits allowed per window. */
  limit: number;
  /** Hits still available in the window after this one. */
  remaining: number;
  /** Epoch milliseconds at which one more hit becomes available. */
  reset: number;
  /** True when the store could not be asked and the hit was let through. */
  failedOpen: boolean;
}

export interface RateLimiter {
  /** The store's name for logs and the health check ("postgres" or "upstash"). */
  readonly store: string;
  /** Records one hit for `key` against `limitPerMinute`; fails open when the store is down. */
  limit(key: string, limitPerMinute: number): Promise<RateLimitDecision>;
  /** Resolves when the store answers, rejects when it does not (health checks). */
  ping(): Promise<void>;
}

export type WarningSink = (event: string, fields: Record<string, unknown>) => void;

export const WINDOW_MS = 60_000;

/** The decision used when the store is unreachable: let the request through. */
export function failedOpen(limitPerMinute: number, now: number = Date.now()): RateLimitDecision {
  return { success: true, limit: limitPerMinute, remaining: limitPerMinute, reset: now + WINDOW_MS, failedOpen: true };
}
