import { describe, expect, it } from "vitest";
import { failureKind } from "./errors.ts";

describe("provider failure kinds", () => {
  it("declined for the provider's refusals, unavailable for outages and for refusals that are ours to fix", () => {
    for (const status of [400, 402, 404, 409, 422]) expect(failureKind(status)).toBe("declined");
    for (const status of [null, 401, 403, 408, 429, 500, 502, 503, 504]) expect(failureKind(status)).toBe("unavailable");
  });
});
