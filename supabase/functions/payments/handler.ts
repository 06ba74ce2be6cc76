// The deployed payments API: createPaymentsApp with the process's database client, rate
// limiter, token verifier and provider clients, all made on the first request so that loading
// the function never needs its configuration (a missing variable is a 500 configuration_error).
import { createLogger } from "../_shared/logger.ts";
import { providerClientsFromEnv } from "../_shared/money/provider-clients.ts";
import { userApiDependenciesFromEnv } from "../_shared/user-api/from-env.ts";
import { createPaymentsApp } from "./app.ts";

const logger = createLogger();

export default createPaymentsApp({ logger, dependencies: userApiDependenciesFromEnv("payments", logger, providerClientsFromEnv) });
