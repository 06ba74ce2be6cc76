// Stopping a child process the stack or a test started: one signal, then SIGKILL if it has not
// exited in time (a server too slow for the polite signal must not hold its port for ever).
import type { ChildProcess } from "node:child_process";

/**
 * Sends `signal` to `child` and resolves once it has exited, sending SIGKILL after
 * `killAfterMs` unless that is null. Resolves at once for a child that has already exited.
 */
export function stopProcess(child: ChildProcess, signal: NodeJS.Signals, killAfterMs: number | null): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = killAfterMs === null ? undefined : setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}
