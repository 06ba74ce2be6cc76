import { describe, expect, it } from "vitest";
import { type HttpLoad, poolHttpLoads } from "./http-load.ts";
import { percentile } from "./report.ts";

/** A round whose requests took `latenciesMs`, summarised as runHttpLoad summarises one. */
function round(requestsPerSecond: number, latenciesMs: number[], non2xx = 0): HttpLoad {
  return {
    requestsPerSecond,
    p50Ms: percentile(latenciesMs, 50),
    p99Ms: percentile(latenciesMs, 99),
    worstRoundP99Ms: percentile(latenciesMs, 99),
    latenciesMs,
    requests: latenciesMs.length,
    non2xx,
  };
}

describe("poolHttpLoads", () => {
  it("takes the percentiles over every request of the rounds, not the worse round's", () => {
    // A quick round of 100 requests and a slow one whose last 2 stalled: 2 of 200 is within the
    // pooled p99, and the stall stays visible as the worst round's p99.
    const quick = round(300, Array.from({ length: 100 }, (_, i) => 100 + i));
    const slow = round(200, [...Array.from({ length: 98 }, (_, i) => 150 + i), 1_000, 1_100]);
    const pooled = poolHttpLoads([quick, slow]);
    expect(pooled.p50Ms).toBe(percentile([...quick.latenciesMs, ...slow.latenciesMs], 50));
    expect(pooled.p99Ms).toBe(247);
    expect(pooled.worstRoundP99Ms).toBe(1_000);
  });

  it("averages the rates and adds up the requests and failures", () => {
    const pooled = poolHttpLoads([round(300, [10, 20, 30], 1), round(100, [40], 2)]);
    expect(pooled).toMatchObject({ requestsPerSecond: 200, requests: 4, non2xx: 3, latenciesMs: [10, 20, 30, 40] });
  });

  it("leaves a single round as it was", () => {
    const only = round(250, [5, 6, 7, 80]);
    expect(poolHttpLoads([only])).toEqual(only);
  });
});
