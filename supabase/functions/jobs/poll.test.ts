// How a polling run shares its batch between its sources (shareBatch), over sources with any
// number of items waiting.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { shareBatch } from "./poll.ts";

/** Runs shareBatch over sources with `waiting` items each; how many each gave. */
async function share(batchSize: number, waiting: number[]): Promise<number[]> {
  const left = [...waiting];
  const taken = waiting.map(() => 0);
  await shareBatch(batchSize, waiting.map((_, index) => index), (source, limit) => {
    expect(limit).toBeGreaterThan(0);
    const n = Math.min(limit, left[source]!);
    left[source]! -= n;
    taken[source]! += n;
    return Promise.resolve(n);
  });
  return taken;
}

describe("shareBatch", () => {
  it("gives a source after a backlog its share: 101 top-ups waiting do not take a cash-out's turn", async () => {
    expect(await share(100, [101, 1, 0])).toEqual([99, 1, 0]);
    expect(await share(100, [500, 500, 500])).toEqual([34, 33, 33]);
    expect(await share(100, [0, 2, 500])).toEqual([0, 2, 98]);
    expect(await share(100, [30, 500, 500])).toEqual([30, 35, 35]);
  });

  it("never takes more than the batch, fills it when enough waits, and gives each source at least its share or all it has", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 200 }),
        fc.array(fc.nat({ max: 300 }), { minLength: 1, maxLength: 4 }),
        async (batch, waiting) => {
          const taken = await share(batch, waiting);
          const total = taken.reduce((a, b) => a + b, 0);
          expect(total).toBe(Math.min(batch, waiting.reduce((a, b) => a + b, 0)));
          const fairShare = Math.floor(batch / waiting.length);
          taken.forEach((n, i) => expect(n).toBeGreaterThanOrEqual(Math.min(fairShare, waiting[i]!)));
        },
      ),
      { numRuns: 500 },
    );
  });
});
