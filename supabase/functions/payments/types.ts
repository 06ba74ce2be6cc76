// What the payments API is built from and what its routes are given. Kept apart from app.ts,
// which registers the routes, so that routes and app.ts never import each other.
import type { UserApiDependencies, UserServiceRoutes } from "../_shared/user-api/app.ts";
import type { UserApp, UserContext } from "../_shared/user-layer.ts";
import type { ProviderClients } from "../_shared/money/topups.ts";

export type PaymentsDependencies = UserApiDependencies<ProviderClients>;
export type PaymentsApp = UserApp;
export type PaymentsContext = UserContext;

/** What the routes need: the database as the caller or as the service (attach, failure), and the providers. */
export type PaymentsRoutes = UserServiceRoutes<ProviderClients>;
