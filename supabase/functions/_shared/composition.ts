// How every function is built from its dependencies (docs/EDGE_FUNCTIONS.md, "Composition"):
// app.ts exports create<Function>App(options) and never reads the environment for them;
// handler.ts, the composition root, passes the deployed dependencies made from the environment
// on first use; tests pass their own.
import type { Logger } from "./logger.ts";

export interface AppOptions<D> {
  logger: Logger;
  /** Called per request, so that a configuration error is a 500 answer, not a crash at import. */
  dependencies: () => D;
}

/** `build`'s result, made on the first call and kept; a build that throws is tried again next call. */
export function onFirstUse<D>(build: () => D): () => D {
  let built: { value: D } | undefined;
  return () => (built ??= { value: build() }).value;
}
