// The common frame of the functions that serve signed-in users (admin, payments): a hono app
// under /<function-name> with the user layer (../user-layer.ts), the function's authorization
// when it has one, then its routes, each given the same routes object: the database reached as
// the caller (RLS applies) or as the service, the provider clients and the logger.
import { Hono } from "hono";
import type { Caller } from "../auth.ts";
import type { AppOptions } from "../composition.ts";
import { type Sql, type TransactionSql, withRequestContext } from "../db.ts";
import type { Logger } from "../logger.ts";
import type { LimitedFunction } from "../rate-limit/config.ts";
import { mapSqlErrors } from "../sql-errors.ts";
import {
  applyUserLayer,
  callerContext,
  type UserApp,
  type UserContext,
  type UserEnv,
  type UserLayerDependencies,
  type UserLayerOptions,
} from "../user-layer.ts";

export type UserApiFunction = Extract<LimitedFunction, "admin" | "payments">;

/** What a function serving signed-in users is built from, with its provider clients `P`. */
export interface UserApiDependencies<P> extends UserLayerDependencies {
  sql: Sql;
  providers: P;
}

/** What its routes are given: the database, reached as the caller, and the provider clients. */
export interface UserApiRoutes<P> {
  /** Runs `fn` in one transaction as `authenticated` with the caller's claims (RLS applies). */
  asCaller<T>(c: UserContext, fn: (tx: TransactionSql) => Promise<T>): Promise<T>;
  providers(): P;
  logger: Logger;
}

/** The routes object of a function whose routes also take steps only the service may take. */
export interface UserServiceRoutes<P> extends UserApiRoutes<P> {
  /** One transaction as `service_role`, the user staying the audit's actor. */
  asService<T>(c: UserContext, fn: (tx: TransactionSql) => Promise<T>): Promise<T>;
}

export interface UserApiOptions<P> extends Omit<UserLayerOptions, "functionName" | "dependencies">, AppOptions<UserApiDependencies<P>> {
  functionName: UserApiFunction;
  /** Throws (403) when the authenticated caller may not make this request; runs before every route. */
  authorize?: (caller: Caller, method: string) => void;
  /** The modules registering the function's routes, in order. */
  routes: readonly ((app: UserApp, routes: UserServiceRoutes<P>) => void)[];
}

export function createUserApiApp<P>(options: UserApiOptions<P>): UserApp {
  const deps = options.dependencies;
  const app = new Hono<UserEnv>().basePath(`/${options.functionName}`);

  applyUserLayer(app, options);
  const authorize = options.authorize;
  if (authorize) {
    app.use("*", async (c, next) => {
      authorize(c.get("caller"), c.req.method);
      await next();
    });
  }

  const routes: UserServiceRoutes<P> = {
    asCaller: (c, fn) => mapSqlErrors(() => withRequestContext(deps().sql, callerContext(c), fn)),
    asService: (c, fn) => mapSqlErrors(() => withRequestContext(deps().sql, callerContext(c, "service_role"), fn)),
    providers: () => deps().providers,
    logger: options.logger,
  };
  for (const register of options.routes) register(app, routes);
  return app;
}
