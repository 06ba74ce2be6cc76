// The Upstash store against a real redis-server behind the Upstash-REST bridge.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "@mfuko/local-stack/ports";
import { type RedisServer, startRedisServer } from "../../../tests/support/redis-server.ts";
import { startUpstashBridge, type UpstashBridge } from "../../../tests/support/upstash-bridge.ts";
import type { WarningSink } from "./limiter.ts";
import { createUpstashLimiter } from "./upstash-limiter.ts";

let redisServer: RedisServer;
let bridge: UpstashBridge;

beforeAll(async () => {
  redisServer = await startRedisServer();
  bridge = await startUpstashBridge({ redisUrl: redisServer.url, token: "upstash-limiter-test-token" });
});

afterAll(async () => {
  await bridge?.close();
  await redisServer?.stop();
});

function recordingWarnings(): { warn: WarningSink; events: string[] } {
  const events: string[] = [];
  return { warn: (event) => events.push(event), events };
}

// A window of an hour keeps the whole burst inside one bucket of the sliding window, so that
// the expected count does not depend on when the test runs.
const HOUR_MS = 3_600_000;

describe("upstash limiter", () => {
  it("allows exactly the limit across two processes' limiters sharing the store", async () => {
    const { warn, events } = recordingWarnings();
    const options = { url: bridge.url, token: bridge.token, warn, windowMs: HOUR_MS, timeoutMs: 10_000 };
    const first = createUpstashLimiter(options);
    const second = createUpstashLimiter(options);
    const key = `exact:${crypto.randomUUID()}`;
    const decisions = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? first : second).limit(key, 15)),
    );
    expect(decisions.filter((d) => d.success)).toHaveLength(15);
    expect(decisions.every((d) => !d.failedOpen && d.limit === 15)).toBe(true);
    expect(decisions.filter((d) => !d.success).every((d) => d.remaining === 0)).toBe(true);
    expect(events).toEqual([]);
  });

  it("keeps separate counts per key and per limit", async () => {
    const { warn } = recordingWarnings();
    const limiter = createUpstashLimiter({ url: bridge.url, token: bridge.token, warn, windowMs: HOUR_MS });
    const key = `separate:${crypto.randomUUID()}`;
    expect((await limiter.limit(key, 1)).success).toBe(true);
    expect((await limiter.limit(key, 1)).success).toBe(false);
    expect((await limiter.limit(`${key}:other`, 1)).success).toBe(true);
    const decision = await limiter.limit(key, 5);
    expect(decision).toMatchObject({ success: true, limit: 5, remaining: 4, failedOpen: false });
    expect(decision.reset).toBeGreaterThan(Date.now());
  });

  it("fails open with a warning when the bridge is down", async () => {
    const { warn, events } = recordingWarnings();
    const limiter = createUpstashLimiter({ url: `http://127.0.0.1:${await freePort()}`, token: "t", warn });
    const decision = await limiter.limit("down", 10);
    expect(decision).toMatchObject({ success: true, limit: 10, failedOpen: true });
    expect(events).toEqual(["rate_limit_store_unavailable"]);
    await expect(limiter.ping()).rejects.toThrow();
  });

  it("fails open when the store answers with an error (wrong token)", async () => {
    const { warn, events } = recordingWarnings();
    const limiter = createUpstashLimiter({ url: bridge.url, token: "wrong-token", warn });
    expect(await limiter.limit("unauthorized", 10)).toMatchObject({ success: true, failedOpen: true });
    expect(events).toEqual(["rate_limit_store_unavailable"]);
  });

  it("answers a health ping when the store is up", async () => {
    const { warn } = recordingWarnings();
    await expect(createUpstashLimiter({ url: bridge.url, token: bridge.token, warn }).ping()).resolves.toBeUndefined();
  });
});
