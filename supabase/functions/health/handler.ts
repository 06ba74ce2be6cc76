// The deployed health function: createHealthApp with a small database client of its own and
// the configured rate-limit store, made on the first readiness check.
import { onFirstUse } from "../_shared/composition.ts";
import { createSql } from "../_shared/db.ts";
import { readEnv } from "../_shared/env.ts";
import { createLogger } from "../_shared/logger.ts";
import { rateLimiterFromEnv } from "../_shared/rate-limit/config.ts";
import { createHealthApp } from "./app.ts";

const logger = createLogger();

export default createHealthApp({
  logger,
  version: readEnv("MFUKO_VERSION") ?? "dev",
  dependencies: onFirstUse(() => {
    const sql = createSql(undefined, { max: 2 });
    return { sql, limiter: rateLimiterFromEnv(sql, (event, fields) => logger.warn(event, fields)) };
  }),
});
