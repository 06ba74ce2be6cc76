// A rate limit probed at its exact boundary: a limiter that is off by one either way fails.
import { expect } from "vitest";
import { WINDOW_MS } from "../../functions/_shared/rate-limit/limiter.ts";

/**
 * Waits for the next rate-limit window when less than `marginMs` of this one is left. The
 * limiters count a sliding window, weighting the previous window's hits by what is left of it:
 * a probe that straddled two windows would see a hit of the first counted as less than one.
 */
export async function startWithRoomInWindow(marginMs = 15_000): Promise<void> {
  const left = WINDOW_MS - (Date.now() % WINDOW_MS);
  if (left < marginMs) await new Promise((resolve) => setTimeout(resolve, left + 100));
}

/**
 * Sends `limit` + 1 requests from one caller: each of the first `limit` answers `passStatus`
 * with X-RateLimit-Remaining counting down to 0, the next one is 429 rate_limited with
 * Retry-After.
 */
export async function expectLimitAt(limit: number, send: () => Response | Promise<Response>, passStatus: number): Promise<void> {
  await startWithRoomInWindow();
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
