// The default rate-limit store: private.rate_limit_hit in our own Postgres (migration
// 20261122130000_rate_limit.sql), one exact sliding-window decision per call.
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
        // As service_role, the only API role allowed to execute the function, in one pipelined
        // transaction. A hit lost in a crash does not matter, so the commit does not wait for
        // the WAL flush: the key's lock is held for less time.
        const [, , rows] = await sql.begin((tx) => [
          tx`set local role service_role`,
          tx`set local synchronous_commit = off`,
          tx<HitRow[]>`select * from private.rate_limit_hit(${key}, ${limitPerMinute}, ${windowMs})`,
        ]);
        const row = rows[0]!;
        return {
          success: row.allowed,
          limit: row.limit,
          remaining: row.remaining,
          reset: Number(row.reset_ms),
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
