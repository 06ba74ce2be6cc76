import { describe, expect, it } from "vitest";
import { correlationIdFrom } from "./correlation.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const from = (value?: string) => correlationIdFrom(new Headers(value === undefined ? {} : { "x-correlation-id": value }));

describe("correlationIdFrom", () => {
  it("keeps a caller's id of up to 128 safe characters", () => {
    expect(from("req-42.retry:1_A")).toBe("req-42.retry:1_A");
    expect(from("a".repeat(128))).toBe("a".repeat(128));
  });

  it("generates a UUID when the id is missing, too long, empty or unsafe", () => {
    for (const value of [undefined, "", "a".repeat(129), "has space", "semi;colon", "new\u00e9", "<script>"]) {
      const id = from(value);
      expect(id, String(value)).toMatch(UUID);
    }
    expect(from()).not.toBe(from());
  });
});
