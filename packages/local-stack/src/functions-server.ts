import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, writeSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { functionsDir, projectRoot, supabaseDir } from "./paths.ts";
import { StackError } from "./stack-error.ts";
import { stopProcess } from "./stop-process.ts";

const gatewayScript = join(projectRoot, "packages", "local-stack", "src", "deno", "serve-functions.ts");

/** The deno executable that the npm package `deno` installs next to its package.json. */
export function denoExecutable(): string {
  const packageDir = dirname(createRequire(import.meta.url).resolve("deno/package.json"));
  const executable = join(packageDir, "deno");
  if (!existsSync(executable)) throw new StackError("the deno binary is missing: run `node scripts/setup.mjs`.");
  return executable;
}

/** The functions' environment file: the developer's .env when present, else the committed example. */
export function functionsEnvFile(): string {
  const own = join(functionsDir, ".env");
  return existsSync(own) ? own : join(functionsDir, ".env.example");
}

export interface FunctionsServerOptions {
  port: number;
  /** Defaults to the project's supabase/functions and supabase/config.toml (tests pass fixtures). */
  functionsDir?: string;
  configFile?: string;
  /** Overrides on top of the env file (e.g. SUPABASE_DB_URL of a throwaway cluster). */
  env: Record<string, string>;
  /** Where the functions' JSON log lines go: the terminal for `npm start`, a file in tests, or nowhere. */
  output: "inherit" | "ignore" | number;
}

export interface FunctionsServer {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts the Deno gateway and resolves once it listens. */
export async function startFunctionsServer(options: FunctionsServerOptions): Promise<FunctionsServer> {
  const args = [
    "run",
    "--allow-net",
    "--allow-env",
    "--allow-read",
    "--allow-sys",
    `--env-file=${functionsEnvFile()}`,
    `--config=${join(functionsDir, "deno.json")}`,
    gatewayScript,
    String(options.port),
    options.functionsDir ?? functionsDir,
    options.configFile ?? join(supabaseDir, "config.toml"),
  ];
  const child = spawn(denoExecutable(), args, {
    cwd: projectRoot,
    env: { ...process.env, ...options.env, NO_COLOR: "1" },
    // stdin stays open for the gateway's lifetime: it exits when it ends (our process died).
    stdio: ["pipe", "pipe", options.output === "ignore" ? "ignore" : options.output],
  });
  await new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(
      () => reject(new StackError(`the functions server did not start within 120 s on port ${options.port}`)),
      120_000,
    );
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(
        new StackError(`the functions server exited with code ${code} while starting (a function failed to load; see its error above)`),
      );
    });
    lines.on("line", (line) => {
      if (line.includes('"event":"listening"')) {
        clearTimeout(timer);
        resolve();
      }
      if (options.output === "inherit") process.stdout.write(`${line}\n`);
      else if (options.output !== "ignore") writeSync(options.output, `${line}\n`);
    });
  });
  return {
    url: `http://127.0.0.1:${options.port}/functions/v1`,
    process: child,
    stop: () => stopProcess(child, "SIGTERM", 5_000),
  };
}
