// A rate limit probed at its exact boundary: a limiter that is off by one either way fails.
import { expect } from "vitest";

/**
 * Sends `limit` + 1 requests from one caller: each of the first `limit` answers `passStatus`
 * with X-RateLimit-Remaining counting down to 0, the next one is 429 rate_limited with
 * Retry-After.
 */
export async function expectLimitAt(limit: number, send: () => Response | Promise<Response>, passStatus: number): Promise<void> {
  for (let request = 1; request <= limit; request++) {
    const response = await send();
    await response.arrayBuffer();
    expect({ request, status: response.status, remaining: response.headers.get("x-ratelimit-remaining") })
      .toEqual({ request, status: passStatus, remaining: String(limit - request) });
  }
  const refused = await send();
  const body = await refused.json() as { error: { code: string } };
  expect(refused.status).toBe(429);
  expect(body.error.code).toBe("rate_limited");
  expect(refused.headers.get("x-ratelimit-limit")).toBe(String(limit));
  expect(refused.headers.get("x-ratelimit-remaining")).toBe("0");
  const retryAfter = Number(refused.headers.get("retry-after"));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
}
