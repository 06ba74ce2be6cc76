import { describe, expect, it } from "vitest";
import { assertPortFree, ephemeralPortRange, freePort } from "../src/ports.ts";

describe("freePort", () => {
  it("hands out free ports outside the kernel's ephemeral range, never the same one twice", async () => {
    const { low, high } = ephemeralPortRange();
    const ports = await Promise.all(Array.from({ length: 50 }, () => freePort()));
    expect(new Set(ports).size).toBe(ports.length);
    for (const port of ports) {
      expect(port < low || port > high, `port ${port} is inside ${low}-${high}`).toBe(true);
      await assertPortFree(port, "test");
    }
  });
});
