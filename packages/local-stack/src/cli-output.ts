import { StackError } from "./stack-error.ts";

/**
 * Ends a CLI on an error with one line: what failed and what to do. Unexpected errors get
 * their message too (the stack trace is only shown with MFUKO_DEBUG=1).
 */
export function exitWithError(tool: string, error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`${tool}: ${message}`);
  if (!(error instanceof StackError) && process.env.MFUKO_DEBUG === "1" && error instanceof Error) console.error(error.stack);
  process.exit(1);
}
