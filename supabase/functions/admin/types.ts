// What the admin API is built from and what its routes are given. Kept apart from app.ts,
// which registers the routes, so that routes and app.ts never import each other.
import type { Context, Hono } from "hono";
import type { TokenVerifier } from "../_shared/auth.ts";
import type { Sql, TransactionSql } from "../_shared/db.ts";
import type { Logger } from "../_shared/logger.ts";
import type { MomoClient } from "../_shared/providers/momo/client.ts";
import type { RevolutClient } from "../_shared/providers/revolut/client.ts";
import type { StripeClient } from "../_shared/providers/stripe/client.ts";
import type { RateLimiter } from "../_shared/rate-limit/limiter.ts";
import type { UserEnv } from "../_shared/user-layer.ts";

/** The provider clients, made on first use (a missing provider variable fails only its calls). */
export interface AdminProviders {
  /** Refunds. */
  stripe(): StripeClient;
  /** Refunds, and the order look-up of a replayed event. */
  revolut(): RevolutClient;
  /** The status look-up of a replayed callback. */
  momo(): MomoClient;
}

export interface AdminDependencies {
  sql: Sql;
  limiter: RateLimiter;
  /** Requests per minute per caller (RATE_LIMIT_ADMIN_PER_MIN). */
  rateLimitPerMinute: number;
  verifyToken: TokenVerifier;
  providers: AdminProviders;
}

export type AdminEnv = UserEnv;
export type AdminApp = Hono<AdminEnv>;
export type AdminContext = Context<AdminEnv>;

/** What the routes need: the database, reached as the calling admin, and the providers. */
export interface AdminRoutes {
  /** Runs `fn` in one transaction as `authenticated` with the caller's claims (RLS applies). */
  asCaller<T>(c: AdminContext, fn: (tx: TransactionSql) => Promise<T>): Promise<T>;
  providers(): AdminProviders;
  logger: Logger;
}
