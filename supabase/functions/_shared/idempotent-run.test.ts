// The lease of a key held across a provider's answer: long enough for a MoMo call's four requests
// at the configured timeout, and never under a minute.
import { afterEach, describe, expect, it, vi } from "vitest";
import { clearEnvCache } from "./env.ts";
import { runLeaseSeconds } from "./idempotent-run.ts";

afterEach(() => {
  vi.unstubAllEnvs();
  clearEnvCache();
});

describe("runLeaseSeconds", () => {
  it("outlasts four provider calls at the configured timeout, and is never under a minute", () => {
    for (const [timeoutMs, lease] of [["", 60], ["100", 60], ["10000", 60], ["30000", 140], ["60000", 260]] as const) {
      vi.stubEnv("PROVIDER_TIMEOUT_MS", timeoutMs);
      clearEnvCache();
      expect(runLeaseSeconds(), `PROVIDER_TIMEOUT_MS=${timeoutMs}`).toBe(lease);
      expect(runLeaseSeconds() * 1000).toBeGreaterThan(4 * Number(timeoutMs || 10_000));
    }
  });
});
