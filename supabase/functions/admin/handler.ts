// The deployed admin API: createAdminApp with the process's database client, rate limiter,
// token verifier and the provider clients refunds and replays use, all made on the first
// request so that loading the function never needs its configuration (a missing variable is a
// 500 configuration_error, not a crash).
import { verifierFromEnv } from "../_shared/auth.ts";
import { onFirstUse } from "../_shared/composition.ts";
import { createSql } from "../_shared/db.ts";
import { createLogger } from "../_shared/logger.ts";
import { momoClientFromEnv } from "../_shared/providers/momo/client.ts";
import { revolutClientFromEnv } from "../_shared/providers/revolut/client.ts";
import { stripeClientFromEnv } from "../_shared/providers/stripe/client.ts";
import { rateLimiterFromEnv, rateLimitPerMinute } from "../_shared/rate-limit/config.ts";
import { createAdminApp } from "./app.ts";

const logger = createLogger();

export default createAdminApp({
  logger,
  dependencies: onFirstUse(() => {
    const sql = createSql();
    return {
      sql,
      limiter: rateLimiterFromEnv(sql, (event, fields) => logger.warn(event, fields)),
      rateLimitPerMinute: rateLimitPerMinute("admin"),
      verifyToken: verifierFromEnv(),
      providers: { stripe: stripeClientFromEnv, revolut: revolutClientFromEnv, momo: momoClientFromEnv },
    };
  }),
});
