// The deployed payments API: createPaymentsApp with the process's database client, rate
// limiter, token verifier and provider clients, all made on the first request so that loading
// the function never needs its configuration (a missing variable is a 500 configuration_error).
import { verifierFromEnv } from "../_shared/auth.ts";
import { onFirstUse } from "../_shared/composition.ts";
import { createSql } from "../_shared/db.ts";
import { createLogger } from "../_shared/logger.ts";
import { rateLimiterFromEnv, rateLimitPerMinute } from "../_shared/rate-limit/config.ts";
import { createPaymentsApp } from "./app.ts";
import type { PaymentsDependencies } from "./types.ts";
import { providerClientsFromEnv } from "../_shared/money/provider-clients.ts";

const logger = createLogger();

export default createPaymentsApp({
  logger,
  dependencies: onFirstUse((): PaymentsDependencies => {
    const sql = createSql();
    return {
      sql,
      limiter: rateLimiterFromEnv(sql, (event, fields) => logger.warn(event, fields)),
      rateLimitPerMinute: rateLimitPerMinute("payments"),
      verifyToken: verifierFromEnv(),
      providers: providerClientsFromEnv(),
    };
  }),
});
