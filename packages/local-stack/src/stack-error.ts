/**
 * An expected failure of the local stack (busy port, missing binary, failed migration).
 * The CLIs print its message as one line and exit non-zero, never a stack trace.
 */
export class StackError extends Error {
  override readonly name = "StackError";
}
