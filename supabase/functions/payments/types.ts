// What the payments API is built from and what its routes are given. Kept apart from app.ts,
// which registers the routes, so that routes and app.ts never import each other.
import type { Context, Hono } from "hono";
import type { TokenVerifier } from "../_shared/auth.ts";
import type { Sql, TransactionSql } from "../_shared/db.ts";
import type { Logger } from "../_shared/logger.ts";
import type { RateLimiter } from "../_shared/rate-limit/limiter.ts";
import type { UserEnv } from "../_shared/user-layer.ts";
import type { ProviderClients } from "./provider-calls.ts";

export interface PaymentsDependencies {
  sql: Sql;
  limiter: RateLimiter;
  /** Requests per minute per user (RATE_LIMIT_PAYMENTS_PER_MIN). */
  rateLimitPerMinute: number;
  verifyToken: TokenVerifier;
  providers: ProviderClients;
}

export type PaymentsEnv = UserEnv;
export type PaymentsApp = Hono<PaymentsEnv>;
export type PaymentsContext = Context<PaymentsEnv>;

/** What the routes need: the database as the caller or as the service, and the providers. */
export interface PaymentsRoutes {
  /** One transaction as `authenticated` with the caller's claims (RLS and the SQL checks apply). */
  asCaller<T>(c: PaymentsContext, fn: (tx: TransactionSql) => Promise<T>): Promise<T>;
  /** One transaction as `service_role`, for the steps only the service may take (attach, failure). */
  asService<T>(c: PaymentsContext, fn: (tx: TransactionSql) => Promise<T>): Promise<T>;
  providers(): ProviderClients;
  logger: Logger;
}
