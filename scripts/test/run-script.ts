// Runs one of the operator scripts with bash, asynchronously (so that servers started by the
// same test keep answering), with a controlled environment; stdin is a pipe, not a terminal,
// unless the script runs in a pseudo-terminal through util-linux `script`.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

export interface ScriptResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function collect(command: string, args: string[], env: Record<string, string>, input: string, timeoutMs: number): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: repoRoot,
      // Only PATH and HOME come from the caller, so the shell running the tests cannot leak in.
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    // A script that exits before reading its input must not fail the test with EPIPE.
    child.stdin.on("error", () => undefined);
    child.stdin.end(input);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} ${args.join(" ")} did not finish within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export function runScript(script: string, args: string[], env: Record<string, string> = {}, timeoutMs = 15_000): Promise<ScriptResult> {
  return collect("bash", [script, ...args], env, "", timeoutMs);
}

/** Runs `bash <script> <args>` on a terminal that types `input`; stdout and stderr arrive merged. */
export function runScriptInTerminal(
  script: string,
  args: string[],
  env: Record<string, string>,
  input: string,
  timeoutMs = 15_000,
): Promise<ScriptResult> {
  const quoted = [script, ...args].map((word) => `'${word.replaceAll("'", "'\\''")}'`).join(" ");
  return collect("script", ["--quiet", "--return", "--command", `bash ${quoted}`, "/dev/null"], env, input, timeoutMs);
}
