// The deployed admin API: createAdminApp with the process's database client, rate limiter,
// token verifier and the provider clients refunds and replays use, all made on the first
// request so that loading the function never needs its configuration (a missing variable is a
// 500 configuration_error, not a crash).
import { createLogger } from "../_shared/logger.ts";
import { momoClientFromEnv } from "../_shared/providers/momo/client.ts";
import { revolutClientFromEnv } from "../_shared/providers/revolut/client.ts";
import { stripeClientFromEnv } from "../_shared/providers/stripe/client.ts";
import { userApiDependenciesFromEnv } from "../_shared/user-api/from-env.ts";
import { createAdminApp } from "./app.ts";

const logger = createLogger();

export default createAdminApp({
  logger,
  dependencies: userApiDependenciesFromEnv("admin", logger, () => ({
    stripe: stripeClientFromEnv,
    revolut: revolutClientFromEnv,
    momo: momoClientFromEnv,
  })),
});
