import { describe, expect, it } from "vitest";
import { rateLimitHeaders } from "./headers.ts";

const now = 1_800_000_000_000;

describe("rateLimitHeaders", () => {
  it("writes limit, remaining and reset (epoch seconds) on an allowed hit, without Retry-After", () => {
    expect(rateLimitHeaders({ success: true, limit: 50, remaining: 49, reset: now + 60_000, failedOpen: false }, now)).toEqual({
      "x-ratelimit-limit": "50",
      "x-ratelimit-remaining": "49",
      "x-ratelimit-reset": String(Math.ceil((now + 60_000) / 1000)),
    });
  });

  it("adds Retry-After in whole seconds, at least 1, on a refused hit", () => {
    const refused = { success: false, limit: 50, remaining: 0, reset: now + 12_300, failedOpen: false };
    expect(rateLimitHeaders(refused, now)["retry-after"]).toBe("13");
    expect(rateLimitHeaders({ ...refused, reset: now - 5 }, now)["retry-after"]).toBe("1");
  });
});
