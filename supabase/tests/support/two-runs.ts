// Two runs of a job at once, as two overlapping schedules start them: the jobs' leases must give
// each item to one run only.
import { expect } from "vitest";
import type { AdminAnswer } from "./admin-fixtures.ts";

/** Runs `run` twice at once: both answer 200 and between them take `taken` items. Their answers. */
export async function twoRunsTaking(run: () => Promise<AdminAnswer>, taken: number): Promise<AdminAnswer[]> {
  const runs = await Promise.all([run(), run()]);
  expect(runs.map((r) => r.status)).toEqual([200, 200]);
  expect(runs.reduce((sum, r) => sum + (r.body.taken as number), 0)).toBe(taken);
  return runs;
}
