import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { type HttpLoad, httpLoad, poolHttpLoads, runHttpLoad } from "./http-load.ts";
import { percentile } from "./report.ts";

/** A round whose requests took `latenciesMs`. */
function round(requestsPerSecond: number, latenciesMs: number[], non2xx = 0): HttpLoad {
  return httpLoad({ requestsPerSecond, latenciesMs, requests: latenciesMs.length, non2xx });
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

describe("runHttpLoad", () => {
  it("keeps one latency per answered request, each at least as long as the server took", async () => {
    const delayMs = 20;
    const server = createServer((_request, response) => setTimeout(() => response.end("ok"), delayMs));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const load = await runHttpLoad({ url: `http://127.0.0.1:${port}/`, connections: 4, duration: 1 });
      expect(load.requests).toBeGreaterThan(0);
      expect(load.latenciesMs).toHaveLength(load.requests);
      expect(Math.min(...load.latenciesMs)).toBeGreaterThanOrEqual(delayMs - 1);
      expect(load.p99Ms).toBe(percentile(load.latenciesMs, 99));
      expect(load.non2xx).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("counts answers other than 2xx", async () => {
    const server = createServer((_request, response) => {
      response.statusCode = 503;
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const load = await runHttpLoad({ url: `http://127.0.0.1:${port}/`, connections: 2, amount: 10 });
      expect(load.requests).toBe(10);
      expect(load.non2xx).toBe(10);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
