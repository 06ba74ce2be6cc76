// What the payments API is built from and what its routes are given. Kept apart from app.ts,
// which registers the routes, so that routes and app.ts never import each other.
import type { TransactionSql } from "../_shared/db.ts";
import type { UserApiDependencies, UserApiRoutes, UserApp, UserContext } from "../_shared/user-layer.ts";
import type { ProviderClients } from "../_shared/money/topups.ts";

export type PaymentsDependencies = UserApiDependencies<ProviderClients>;
export type PaymentsApp = UserApp;
export type PaymentsContext = UserContext;

/** What the routes need: the database as the caller or as the service, and the providers. */
export interface PaymentsRoutes extends UserApiRoutes<ProviderClients> {
  /** One transaction as `service_role`, for the steps only the service may take (attach, failure). */
  asService<T>(c: PaymentsContext, fn: (tx: TransactionSql) => Promise<T>): Promise<T>;
}
