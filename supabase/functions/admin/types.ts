// What the admin API is built from and what its routes are given. Kept apart from app.ts,
// which registers the routes, so that routes and app.ts never import each other.
import type { MomoClient } from "../_shared/providers/momo/client.ts";
import type { RevolutClient } from "../_shared/providers/revolut/client.ts";
import type { StripeClient } from "../_shared/providers/stripe/client.ts";
import type { UserApiDependencies, UserServiceRoutes } from "../_shared/user-api/app.ts";
import type { UserApp, UserContext } from "../_shared/user-layer.ts";

/** The provider clients, made on first use (a missing provider variable fails only its calls). */
export interface AdminProviders {
  /** Refunds. */
  stripe(): StripeClient;
  /** Refunds, the order look-up of a replayed event, and the dispute look-up of a chargeback. */
  revolut(): RevolutClient;
  /** The status look-up of a replayed callback. */
  momo(): MomoClient;
}

export type AdminDependencies = UserApiDependencies<AdminProviders>;
/**
 * What the routes need: the database, reached as the calling admin (or as the service for the
 * steps only the service takes, such as closing a MoMo refund MoMo refused), and the providers.
 */
export type AdminRoutes = UserServiceRoutes<AdminProviders>;
export type AdminApp = UserApp;
export type AdminContext = UserContext;
/** A database row read as JSON (to_jsonb), handed on to the response as it is. */
export type Row = Record<string, unknown>;
