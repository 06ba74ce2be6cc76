// Which store the functions count in: Upstash exactly when UPSTASH_REDIS_REST_URL is set, and
// then only with its token; Postgres otherwise.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Sql } from "../db.ts";
import { clearEnvCache, ConfigError } from "../env.ts";
import { rateLimiterFromEnv } from "./config.ts";

afterEach(() => {
  vi.unstubAllEnvs();
  clearEnvCache();
});

// Choosing a store connects to nothing; the database client is only kept for later.
const unusedSql = {} as Sql;
const ignoreWarnings = () => undefined;

function storeWith(url: string, token: string): string {
  vi.stubEnv("UPSTASH_REDIS_REST_URL", url);
  vi.stubEnv("UPSTASH_REDIS_REST_TOKEN", token);
  clearEnvCache();
  return rateLimiterFromEnv(unusedSql, ignoreWarnings).store;
}

describe("rateLimiterFromEnv", () => {
  it("counts in Upstash when its REST URL and token are set", () => {
    expect(storeWith("https://eu1-example.upstash.io", "upstash-token")).toBe("upstash");
  });

  it("counts in Postgres when the Upstash URL is empty, whatever the token", () => {
    expect(storeWith("", "")).toBe("postgres");
    expect(storeWith("", "upstash-token")).toBe("postgres");
  });

  it("refuses an Upstash URL without its token, naming the variable", () => {
    expect(() => storeWith("https://eu1-example.upstash.io", "")).toThrowError(ConfigError);
    expect(() => storeWith("https://eu1-example.upstash.io", "")).toThrowError(/UPSTASH_REDIS_REST_TOKEN is missing/);
  });
});
