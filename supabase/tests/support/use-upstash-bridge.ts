// An Upstash REST bridge in front of a redis-server of the calling test file's own, both
// started before its tests and stopped after them.
import { afterAll, beforeAll } from "vitest";
import { type RedisServer, startRedisServer } from "./redis-server.ts";
import { startUpstashBridge, type UpstashBridge } from "./upstash-bridge.ts";

/** The bridge, filled in once the file's beforeAll has started it; `token` is its bearer token. */
export function useUpstashBridge(token: string): UpstashBridge {
  const bridge = {} as UpstashBridge;
  let redisServer: RedisServer | undefined;
  beforeAll(async () => {
    redisServer = await startRedisServer();
    Object.assign(bridge, await startUpstashBridge({ redisUrl: redisServer.url, token }));
  });
  afterAll(async () => {
    await bridge.close?.();
    await redisServer?.stop();
  });
  return bridge;
}
