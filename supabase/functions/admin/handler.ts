// The deployed admin API: createAdminApp with the process's database client, rate limiter,
// token verifier and the provider clients refunds use, all made on the first request so that loading the function never
// needs its configuration (a missing variable is a 500 configuration_error, not a crash).
import { createSql } from "../_shared/db.ts";
import { createLogger } from "../_shared/logger.ts";
import { rateLimiterFromEnv, rateLimitPerMinute } from "../_shared/rate-limit/config.ts";
import { type AdminDependencies, createAdminApp } from "./app.ts";
import { verifierFromEnv } from "../_shared/auth.ts";
import { revolutClientFromEnv } from "../_shared/providers/revolut/client.ts";
import { stripeClientFromEnv } from "../_shared/providers/stripe/client.ts";

const logger = createLogger();
let dependencies: AdminDependencies | undefined;

function dependenciesFromEnv(): AdminDependencies {
  if (!dependencies) {
    const sql = createSql();
    dependencies = {
      sql,
      limiter: rateLimiterFromEnv(sql, (event, fields) => logger.warn(event, fields)),
      rateLimitPerMinute: rateLimitPerMinute("admin"),
      verifyToken: verifierFromEnv(),
      refundProviders: { stripe: stripeClientFromEnv, revolut: revolutClientFromEnv },
    };
  }
  return dependencies;
}

export default createAdminApp({ logger, dependencies: dependenciesFromEnv });
