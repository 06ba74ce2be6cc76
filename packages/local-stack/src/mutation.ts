// `npm run test:mutation`: Stryker on one throwaway stack shared by its test-runner processes,
// so that a runner restarted after a timed-out mutant does not start a cluster of its own.
// Arguments go to `stryker run` (e.g. `-- --mutate 'supabase/functions/_shared/body.ts'`).
import { spawn } from "node:child_process";
import { join } from "node:path";
import { exitWithError } from "./cli-output.ts";
import { projectRoot } from "./paths.ts";
import { startThrowawayStack, suiteWebhookLimits, testEnvironment } from "./throwaway-stack.ts";

async function main(): Promise<void> {
  const stack = await startThrowawayStack({ durable: false, functionsEnv: suiteWebhookLimits });
  const stryker = spawn(join(projectRoot, "node_modules", ".bin", "stryker"), ["run", ...process.argv.slice(2)], {
    cwd: projectRoot,
    env: { ...process.env, ...testEnvironment(stack) },
    stdio: "inherit",
  });
  const stop = (signal: NodeJS.Signals) => stryker.kill(signal);
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  const code = await new Promise<number>((resolve) => stryker.once("exit", (exitCode) => resolve(exitCode ?? 1)));
  await stack.stop();
  process.exit(code);
}

main().catch((error) => exitWithError("mfuko mutation", error));
