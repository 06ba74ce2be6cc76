// A provider client's configuration from the environment: each setting from the variable
// named for it, and the call timeout all the clients share (PROVIDER_TIMEOUT_MS, read last).
import { type Env, env, type EnvName } from "../env.ts";

export type ConfigFromEnv<V extends Record<string, EnvName>> = { [S in keyof V]: Env[V[S]] } & { timeoutMs: number };

/** The settings named by `variables` (setting -> variable), validated; throws ConfigError. */
export function providerConfigFromEnv<V extends Record<string, EnvName>>(variables: V): ConfigFromEnv<V> {
  const values: Partial<Env> = env(...Object.values(variables), "PROVIDER_TIMEOUT_MS");
  const settings = Object.entries(variables).map(([setting, variable]) => [setting, values[variable]]);
  return { ...Object.fromEntries(settings), timeoutMs: values.PROVIDER_TIMEOUT_MS } as ConfigFromEnv<V>;
}
