// The deployed dependencies of a function serving signed-in users: the process's database
// client, the configured rate limiter with the function's limit, the token verifier and the
// function's provider clients, all made on the first request so that loading the function
// never needs its configuration (a missing variable is a 500 configuration_error, not a crash).
import { verifierFromEnv } from "../auth.ts";
import { onFirstUse } from "../composition.ts";
import { createSql } from "../db.ts";
import type { Logger } from "../logger.ts";
import { rateLimiterFromEnv, rateLimitPerMinute } from "../rate-limit/config.ts";
import type { UserApiDependencies, UserApiFunction } from "./app.ts";

export function userApiDependenciesFromEnv<P>(
  functionName: UserApiFunction,
  logger: Logger,
  providers: () => P,
): () => UserApiDependencies<P> {
  return onFirstUse(() => {
    const sql = createSql();
    return {
      sql,
      limiter: rateLimiterFromEnv(sql, (event, fields) => logger.warn(event, fields)),
      rateLimitPerMinute: rateLimitPerMinute(functionName),
      verifyToken: verifierFromEnv(),
      providers: providers(),
    };
  });
}
