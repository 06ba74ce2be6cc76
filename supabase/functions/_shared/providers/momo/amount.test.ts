import { describe, expect, it } from "vitest";
import { minorUnitDigits, toMajorUnits, toMinorUnits } from "./amount.ts";

describe("MoMo amounts in minor units", () => {
  it("uses the ISO 4217 exponent of the currency", () => {
    expect(minorUnitDigits("UGX")).toBe(0);
    expect(minorUnitDigits("EUR")).toBe(2);
    expect(minorUnitDigits("KWD")).toBe(3);
    expect(toMinorUnits("1500", "UGX")).toBe(1500);
    expect(toMinorUnits("12.5", "EUR")).toBe(1250);
    expect(toMinorUnits("12.50", "EUR")).toBe(1250);
    expect(toMinorUnits("0.125", "KWD")).toBe(125);
    expect(toMinorUnits("1500.00", "UGX")).toBe(1500);
  });

  it("refuses amounts the currency cannot hold, and non-numbers", () => {
    expect(() => toMinorUnits("10.5", "UGX")).toThrow(/more than 0 decimals/);
    expect(() => toMinorUnits("1.001", "EUR")).toThrow(/more than 2 decimals/);
    expect(() => toMinorUnits("-5", "EUR")).toThrow(/not a decimal/);
    expect(() => toMinorUnits("99999999999999999", "EUR")).toThrow(/too large/);
  });

  it("writes minor units back as MoMo's decimal strings", () => {
    expect(toMajorUnits(1500, "UGX")).toBe("1500");
    expect(toMajorUnits(1250, "EUR")).toBe("12.50");
    expect(toMajorUnits(5, "EUR")).toBe("0.05");
    expect(toMajorUnits(1, "KWD")).toBe("0.001");
    for (const [minor, currency] of [[1, "EUR"], [99999, "GHS"], [7, "UGX"], [1234, "KWD"]] as const) {
      expect(toMinorUnits(toMajorUnits(minor, currency), currency)).toBe(minor);
    }
    expect(() => toMajorUnits(-1, "EUR")).toThrow();
  });
});
