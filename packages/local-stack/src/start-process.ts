// `npm start` as a child process on chosen ports and state folder, for the stack's own tests
// and the startup benchmark (so they never touch a developer's running stack).
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { projectRoot } from "./paths.ts";

export interface StartProcess {
  child: ChildProcess;
  /** Everything printed so far (stdout and stderr). */
  output(): string;
  exited: Promise<number | null>;
  /** Ctrl-C, and the exit code. */
  interrupt(): Promise<number | null>;
}

export interface StartOptions {
  dbPort: number;
  functionsPort: number;
  stateDir: string;
  args?: string[];
  /**
   * Run the real `npm start` in a process group of its own, as a process manager does, so that
   * signals can be sent to the npm process alone. Default: start.ts in one node process.
   */
  throughNpm?: boolean;
}

export function spawnStart(options: StartOptions): StartProcess {
  const args = options.args ?? [];
  // tsx as a loader in one node process (not tsx's wrapper process, which relays signals on
  // its own terms), so SIGINT reaches start.ts's handler exactly as Ctrl-C does.
  const [command, commandArgs] = options.throughNpm
    ? ["npm", ["start", "--silent", ...(args.length > 0 ? ["--", ...args] : [])]]
    : [process.execPath, ["--import", "tsx", join(projectRoot, "packages/local-stack/src/start.ts"), ...args]];
  const child = spawn(command, commandArgs, {
    cwd: projectRoot,
    env: {
      ...process.env,
      MFUKO_DB_PORT: String(options.dbPort),
      MFUKO_FUNCTIONS_PORT: String(options.functionsPort),
      MFUKO_STATE_DIR: options.stateDir,
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.throughNpm ?? false,
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    output: () => output,
    exited,
    interrupt: () => {
      child.kill("SIGINT");
      return exited;
    },
  };
}

/** Resolves when `text` has been printed; rejects when the process exits first or after `timeoutMs`. */
export async function waitForOutput(run: StartProcess, text: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!run.output().includes(text)) {
    if (run.child.exitCode !== null) throw new Error(`npm start exited early:\n${run.output()}`);
    if (Date.now() > deadline) throw new Error(`"${text}" not printed within ${timeoutMs / 1000} s:\n${run.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
