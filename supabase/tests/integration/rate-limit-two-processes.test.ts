// The rate limit is exact across two functions-server processes sharing one store, for both
// stores: the Postgres sliding window and Upstash (a real redis-server behind the Upstash
// REST bridge). Twenty requests from one caller, spread over both processes at once, get
// exactly the limit through and 429 with Retry-After for the rest.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readEnvFile } from "../../../packages/local-stack/src/env-file.ts";
import { type FunctionsServer, functionsEnvFile, startFunctionsServer } from "../../../packages/local-stack/src/functions-server.ts";
import { freePort } from "../../../packages/local-stack/src/ports.ts";
import { type RedisServer, startRedisServer } from "../support/redis-server.ts";
import { startUpstashBridge, type UpstashBridge } from "../support/upstash-bridge.ts";

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
    SUPABASE_DB_URL: testDatabaseUrl(),
    RATE_LIMIT_STRIPE_WEBHOOK_PER_MIN: String(limit),
    // The caller's address is the hop before the gateway's, so each test has its own key.
    TRUSTED_PROXY_HOPS: "2",
    ...store,
  };
  return Promise.all([0, 1].map(async () => startFunctionsServer({ port: await freePort(), env, output: "ignore" })));
}

/** Unsigned deliveries (answered 401 once the limiter let them through), alternating servers. */
function hammer(servers: FunctionsServer[]): Promise<Response[]> {
  const caller = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
  return Promise.all(Array.from({ length: requests }, async (_, i) => {
    const response = await fetch(`${servers[i % 2].url}/stripe-webhook`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": caller, "x-correlation-id": `two-processes-${i}` },
      body: "{}",
    });
    await response.arrayBuffer();
    return response;
  }));
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
    expectExactLimit(await hammer(servers));
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

  it("lets exactly the limit through and answers the rest 429 with Retry-After", async () => {
    expectExactLimit(await hammer(servers));
  });
});
