import { applySupabaseBootstrap, pushMigrations } from "./database.ts";
import { PostgresCluster } from "./cluster.ts";
import { readEnvFile } from "./env-file.ts";
import { functionsEnvFile, type FunctionsServer, startFunctionsServer } from "./functions-server.ts";
import { assertPortFree } from "./ports.ts";
import { TokenMinter } from "./tokens.ts";

export interface StackOptions {
  home: string;
  dbPort: number;
  functionsPort: number;
  durable: boolean;
  /** Start from an empty database (`npm start -- --reset`). */
  reset: boolean;
  seed: boolean;
  functionsOutput: "inherit" | "ignore" | number;
  /** Overrides on top of the functions' env file. */
  functionsEnv?: Record<string, string>;
  /** Called before each step, for progress lines. */
  onStep?: (step: string) => void;
}

export interface LocalStack {
  cluster: PostgresCluster;
  functions: FunctionsServer;
  dbUrl: string;
  functionsUrl: string;
  /** The environment the functions run with (env file plus the stack's overrides). */
  functionsEnv: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * The whole local Supabase stand-in: cluster, bootstrap, CLI migrations and seed, functions.
 * Whatever started is stopped again when a later step fails.
 */
export async function startStack(options: StackOptions): Promise<LocalStack> {
  const step = options.onStep ?? (() => {});
  // A live stack holds the functions port; only once that is free can a server of this data
  // directory be a leftover of a run that was killed.
  await assertPortFree(options.functionsPort, "functions");
  const cluster = new PostgresCluster({ home: options.home, port: options.dbPort, durable: options.durable });
  if (cluster.stopLeftover()) step("stopped the PostgreSQL an earlier, killed run left running");
  await assertPortFree(options.dbPort, "PostgreSQL");
  if (options.reset) cluster.destroy();
  step(cluster.initialized ? "starting PostgreSQL" : "creating the PostgreSQL cluster");
  await cluster.start();
  try {
    step("applying the Supabase bootstrap");
    await applySupabaseBootstrap(cluster.url);
    step(options.seed ? "applying migrations and seed (supabase db push)" : "applying migrations (supabase db push)");
    await pushMigrations(cluster.url, { seed: options.seed });
    // Callback URLs given to providers, and the Auth Admin API, point at this stack's own
    // gateway, which takes the service_role key signed with the functions' JWT secret.
    const envFile = { ...readEnvFile(functionsEnvFile()), ...options.functionsEnv };
    const functionsEnv = {
      ...envFile,
      PUBLIC_FUNCTIONS_URL: `http://127.0.0.1:${options.functionsPort}/functions/v1`,
      SUPABASE_URL: `http://127.0.0.1:${options.functionsPort}`,
      SUPABASE_SERVICE_ROLE_KEY: await new TokenMinter(envFile.SUPABASE_JWT_SECRET ?? "").apiKey("service_role"),
      ...options.functionsEnv,
      SUPABASE_DB_URL: cluster.url,
    };
    step("starting the functions server (deno)");
    const functions = await startFunctionsServer({ port: options.functionsPort, env: functionsEnv, output: options.functionsOutput });
    return {
      cluster,
      functions,
      dbUrl: cluster.url,
      functionsUrl: functions.url,
      functionsEnv,
      stop: async () => {
        await functions.stop();
        await cluster.stop();
      },
    };
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}
