// Two runs of a job at once, as two overlapping schedules start them: the jobs' leases must give
// each item to one run only.
import { expect } from "vitest";
import type { AdminAnswer } from "./admin-fixtures.ts";
import { creditsTo, type Sql } from "./payments-fixtures.ts";

/** Runs `run` twice at once: both answer 200 and between them take `taken` items. Their answers. */
export async function twoRunsTaking(run: () => Promise<AdminAnswer>, taken: number): Promise<AdminAnswer[]> {
  const runs = await Promise.all([run(), run()]);
  expect(runs.map((r) => r.status)).toEqual([200, 200]);
  expect(runs.reduce((sum, r) => sum + (r.body.taken as number), 0)).toBe(taken);
  return runs;
}

/**
 * Two runs of a poll at once over three top-ups made by `topUp`, each paid at the provider by
 * `pay` with its webhooks lost: between them they take all three, ask the provider about each
 * once (`lookups` counts the questions about one) and credit each once.
 */
export async function twoRunsCreditingOnce<T extends { accountId: string }>(
  sql: Sql,
  run: () => Promise<AdminAnswer>,
  { topUp, pay, lookups }: { topUp: (amount: number) => Promise<T>; pay: (topUp: T) => Promise<void>; lookups: (topUp: T) => number },
): Promise<void> {
  const topUps = await Promise.all([300, 400, 500].map(topUp));
  for (const paid of topUps) await pay(paid);
  await twoRunsTaking(run, topUps.length);
  for (const paid of topUps) {
    expect(lookups(paid)).toBe(1);
    expect(await creditsTo(sql, paid.accountId)).toBe(1);
  }
}
