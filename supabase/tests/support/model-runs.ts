// How many runs a model-based property test (fast-check) makes: its own number in CI, or
// MODEL_RUNS to run it longer locally, with MODEL_SEED to repeat a run that failed.
export function modelRuns(inCi: number): { numRuns: number; seed?: number } {
  const numRuns = Number(process.env.MODEL_RUNS ?? inCi);
  return process.env.MODEL_SEED === undefined ? { numRuns } : { numRuns, seed: Number(process.env.MODEL_SEED) };
}
