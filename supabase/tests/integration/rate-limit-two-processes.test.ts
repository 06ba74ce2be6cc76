// The rate limit is exact across two functions-server processes sharing one store, for both
// stores: the Postgres window counters and Upstash (a real redis-server behind the Upstash
// REST bridge), which count alike. Twenty requests from one caller, spread over both processes
// at once, get exactly the limit through and 429 with Retry-After for the rest; the counts are
// then read from the store that was meant to keep them, and the other store holds none.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readEnvFile } from "@mfuko/local-stack/env-file";
import { functionsEnvFile, type FunctionsServer, startFunctionsServer } from "@mfuko/local-stack/functions-server";
import { freePort } from "@mfuko/local-stack/ports";
import { type RedisServer, startRedisServer } from "../support/redis-server.ts";
import { startUpstashBridge, type UpstashBridge } from "../support/upstash-bridge.ts";
import { startWithRoomInWindow } from "../support/rate-limit-probe.ts";

const limit = 7;
const requests = 20;

function testDatabaseUrl(): string {
  const url = process.env.MFUKO_TEST_DB_URL;
  if (!url) throw new Error("MFUKO_TEST_DB_URL is not set: run through npm test or vitest's global setup");
  return url;
}

/** Two gateway processes with the same store settings and a low Stripe webhook limit. */
function twoServers(store: Record<string, string>): Promise<FunctionsServer[]> {
  const env = {
    ...readEnvFile(functionsEnvFile()),
    // Through the pooler, as the test stack's gateway.
    SUPABASE_DB_URL: process.env.MFUKO_TEST_POOLER_URL ?? testDatabaseUrl(),
    RATE_LIMIT_STRIPE_WEBHOOK_PER_MIN: String(limit),
    // The caller's address is the hop before the gateway's, so each test has its own key.
    TRUSTED_PROXY_HOPS: "2",
    ...store,
  };
  return Promise.all([0, 1].map(async () => startFunctionsServer({ port: await freePort(), env, output: "ignore" })));
}

/** The Postgres store's allowed hits for `key`: its two window counters (0 when it has no row for it). */
async function postgresHits(key: string): Promise<number> {
  const sql = postgres(testDatabaseUrl(), { max: 1 });
  try {
    const rows = await sql<{ hits: number }[]>`
      select current_hits + previous_hits as hits from private.rate_limit_windows where key = ${key}`;
    return rows[0]?.hits ?? 0;
  } finally {
    await sql.end();
  }
}

/** The Upstash store's allowed hits for `key`: the sum of its sliding-window counters in Redis. */
async function redisHits(redisUrl: string, key: string): Promise<number> {
  const redis = new Redis(redisUrl);
  try {
    const counters = await redis.keys(`mfuko:ratelimit:${limit}:${key}:*`);
    const values = counters.length > 0 ? await redis.mget(counters) : [];
    return values.reduce((sum, value) => sum + Number(value), 0);
  } finally {
    redis.disconnect();
  }
}

/**
 * Waits for the next minute when this one ends within 5 s. Both stores' sliding window weighs the
 * previous minute's count by the part of it still inside the window and rounds it down: a burst
 * across the edge can get one request more than the limit through (7 in the old minute count as
 * 6 a moment later), the algorithm's approximation, not what this file tests.
 * The functions servers run on this machine's clock, so this clock tells where the edge is.
 */
async function clearOfWindowEdge(): Promise<void> {
  const untilEdge = 60_000 - (Date.now() % 60_000);
  if (untilEdge < 5_000) await new Promise((resolve) => setTimeout(resolve, untilEdge + 100));
}

/**
 * Unsigned deliveries from one new caller (answered 401 once the limiter let them through),
 * alternating servers; returns the answers and the caller's rate-limit key.
 */
async function hammer(servers: FunctionsServer[]): Promise<{ responses: Response[]; key: string }> {
  await clearOfWindowEdge();
  // A fresh IPv6 documentation address, so no earlier run's window can hold its counts.
  const caller = `2001:db8::${randomBytes(8).toString("hex").replace(/(.{4})(?!$)/g, "$1:")}`;
  const responses = await Promise.all(Array.from({ length: requests }, async (_, i) => {
    const response = await fetch(`${servers[i % 2].url}/stripe-webhook`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": caller, "x-correlation-id": `two-processes-${i}` },
      body: "{}",
    });
    await response.arrayBuffer();
    return response;
  }));
  return { responses, key: `stripe:${caller}` };
}

function expectExactLimit(responses: Response[]): void {
  const refused = responses.filter((response) => response.status === 429);
  const through = responses.filter((response) => response.status !== 429);
  expect(through).toHaveLength(limit);
  expect(through.every((response) => response.status === 401)).toBe(true);
  expect(refused).toHaveLength(requests - limit);
  for (const response of refused) {
    expect(Number(response.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(response.headers.get("x-ratelimit-limit")).toBe(String(limit));
    expect(response.headers.get("x-ratelimit-remaining")).toBe("0");
  }
}

describe("the Postgres limiter shared by two server processes", () => {
  let servers: FunctionsServer[] = [];
  beforeAll(async () => {
    servers = await twoServers({ UPSTASH_REDIS_REST_URL: "", UPSTASH_REDIS_REST_TOKEN: "" });
  });
  afterAll(() => Promise.all(servers.map((server) => server.stop())));

  it("lets exactly the limit through and answers the rest 429 with Retry-After", async () => {
    await startWithRoomInWindow();
    const { responses, key } = await hammer(servers);
    expectExactLimit(responses);
    expect(await postgresHits(key)).toBe(limit);
  });
});

describe("the Upstash limiter shared by two server processes", () => {
  let redis: RedisServer;
  let bridge: UpstashBridge;
  let servers: FunctionsServer[] = [];
  beforeAll(async () => {
    redis = await startRedisServer();
    bridge = await startUpstashBridge({ redisUrl: redis.url, token: "two-processes-token" });
    servers = await twoServers({ UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: bridge.token });
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await bridge?.close();
    await redis?.stop();
  });

  it("lets exactly the limit through and answers the rest 429 with Retry-After, counted in Redis", async () => {
    await startWithRoomInWindow();
    const { responses, key } = await hammer(servers);
    expectExactLimit(responses);
    expect(await redisHits(redis.url, key)).toBe(limit);
    expect(await postgresHits(key)).toBe(0);
  });
});
