// The outbox sender's lease as the environment sets it: long enough for the two Graph API calls
// of one row (a text refused outside the window, then its template), each up to
// PROVIDER_TIMEOUT_MS, whatever JOBS_LEASE_SECONDS says; otherwise whatsapp-send leases a row
// whose sender is still waiting for Meta, and Meta delivers the message twice.
import "../../../../tests/support/functions-env.ts";
import { afterEach, expect, it } from "vitest";
import { clearEnvCache } from "../../env.ts";
import { whatsAppSendingFromEnv } from "./outbox-sender.ts";

const names = ["JOBS_LEASE_SECONDS", "PROVIDER_TIMEOUT_MS"] as const;
const previous = Object.fromEntries(names.map((name) => [name, process.env[name]]));

afterEach(() => {
  for (const name of names) {
    if (previous[name] === undefined) delete process.env[name];
    else process.env[name] = previous[name];
  }
  clearEnvCache();
});

function leaseWith(leaseSeconds: string, timeoutMs: string): number {
  process.env.JOBS_LEASE_SECONDS = leaseSeconds;
  process.env.PROVIDER_TIMEOUT_MS = timeoutMs;
  clearEnvCache();
  return whatsAppSendingFromEnv().leaseSeconds;
}

it("outlasts two Graph API calls even when JOBS_LEASE_SECONDS is set shorter", () => {
  expect(leaseWith("10", "10000")).toBeGreaterThan(20);
  expect(leaseWith("30", "60000")).toBeGreaterThan(120);
});

it("keeps JOBS_LEASE_SECONDS when it is longer", () => {
  expect(leaseWith("60", "10000")).toBe(60);
  expect(leaseWith("600", "10000")).toBe(600);
});
