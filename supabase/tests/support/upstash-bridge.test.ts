// The test bridge must speak the Upstash REST protocol as @upstash/redis expects it.
import { createHash } from "node:crypto";
import { Redis } from "@upstash/redis";
import { describe, expect, it } from "vitest";
import { useUpstashBridge } from "./use-upstash-bridge.ts";

const bridge = useUpstashBridge("bridge-test-token");

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${bridge.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${bridge.token}`, ...headers },
    body: JSON.stringify(body),
  });

describe("upstash bridge", () => {
  it("runs one command and answers {result}", async () => {
    expect(await (await post("/", ["SET", "bridge:a", "hello"])).json()).toEqual({ result: "OK" });
    expect(await (await post("/", ["GET", "bridge:a"])).json()).toEqual({ result: "hello" });
    expect(await (await post("/", ["INCRBY", "bridge:n", 5])).json()).toEqual({ result: 5 });
    expect(await (await post("/", ["GET", "bridge:missing"])).json()).toEqual({ result: null });
  });

  it("base64-encodes strings except OK when asked to", async () => {
    const headers = { "upstash-encoding": "base64" };
    expect(await (await post("/", ["SET", "bridge:b", "bar"], headers)).json()).toEqual({ result: "OK" });
    expect(await (await post("/", ["GET", "bridge:b"], headers)).json()).toEqual({ result: "YmFy" });
  });

  it("answers pipelines and transactions with one reply per command, errors included", async () => {
    const commands = [["SET", "bridge:p", "x"], ["INCR", "bridge:p"], ["EXISTS", "bridge:p"]];
    for (const path of ["/pipeline", "/multi-exec"]) {
      const replies = await (await post(path, commands)).json();
      expect(replies).toEqual([{ result: "OK" }, { error: expect.stringContaining("not an integer") }, { result: 1 }]);
    }
  });

  it("refuses a missing or wrong token with 401 and a bad command with 400", async () => {
    const wrong = await fetch(bridge.url, { method: "POST", headers: { authorization: "Bearer nope" }, body: '["PING"]' });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: "Unauthorized" });
    const bad = await post("/", ["NOSUCHCOMMAND"]);
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatch(/unknown command/i);
  });

  it("serves @upstash/redis, including EVALSHA and its NOSCRIPT error", async () => {
    const redis = new Redis({ url: bridge.url, token: bridge.token, enableTelemetry: false });
    await redis.set("bridge:json", { amount: 10 });
    expect(await redis.get("bridge:json")).toEqual({ amount: 10 });
    const script = "return {tonumber(ARGV[1]) + 1, 'two'}";
    expect(await redis.eval(script, [], [41])).toEqual([42, "two"]);
    await expect(redis.evalsha("0".repeat(40), [], [])).rejects.toThrow(/NOSCRIPT/);
  });

  it("runs scripts flagged allow-key-locking, by EVAL and then by the client's own hash", async () => {
    const redis = new Redis({ url: bridge.url, token: bridge.token, enableTelemetry: false });
    const script = "#!lua flags=allow-key-locking\nreturn redis.call('INCR', KEYS[1])";
    expect(await redis.eval(script, ["bridge:flagged"], [])).toBe(1);
    const clientHash = createHash("sha1").update(script).digest("hex");
    expect(await redis.evalsha(clientHash, ["bridge:flagged"], [])).toBe(2);
  });
});
