// The default rate-limit store: private.rate_limit_hit in our own Postgres (migration
// 20261122130000_rate_limit.sql), one sliding-window decision per call, counted as the Upstash
// store counts.
import type { Sql } from "../db.ts";
import { failedOpen, type RateLimitDecision, type RateLimiter, type WarningSink, WINDOW_MS } from "./limiter.ts";

interface HitRow {
  allowed: boolean;
  limit: number;
  remaining: number;
  reset_ms: string;
}

export function createPostgresLimiter(sql: Sql, warn: WarningSink, windowMs: number = WINDOW_MS): RateLimiter {
  return {
    store: "postgres",
    async limit(key, limitPerMinute): Promise<RateLimitDecision> {
      try {
        // One statement, its own transaction, as the functions' login role: the key's lock is
        // held for the server's work only (and rate_limit_hit's commit does not wait for the WAL
        // flush), never while this process gets round to sending COMMIT.
        const [row] = await sql<HitRow[]>`select * from private.rate_limit_hit(${key}, ${limitPerMinute}, ${windowMs})`;
        return {
          success: row!.allowed,
          limit: row!.limit,
          remaining: row!.remaining,
          reset: Number(row!.reset_ms),
          failedOpen: false,
        };
      } catch (error) {
        warn("rate_limit_store_unavailable", { store: "postgres", error });
        return failedOpen(limitPerMinute);
      }
    },
    async ping() {
      await sql`select 1`;
    },
  };
}
