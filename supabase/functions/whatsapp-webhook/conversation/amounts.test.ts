// Amounts typed in major units, counted in minor units by the currency's exponent.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatMoney, toMinor } from "./amounts.ts";

describe("toMinor", () => {
  it("uses the currency's exponent", () => {
    expect(toMinor("12.5", "EUR")).toEqual({ ok: true, minor: 1250 });
    expect(toMinor("12.50", "EUR")).toEqual({ ok: true, minor: 1250 });
    expect(toMinor("5000", "UGX")).toEqual({ ok: true, minor: 5000 });
    expect(toMinor("5000.00", "UGX")).toEqual({ ok: true, minor: 5000 });
    expect(toMinor("1.005", "KWD")).toEqual({ ok: true, minor: 1005 });
  });

  it("refuses a zero, more decimals than the currency has, and more than a safe integer", () => {
    expect(toMinor("0", "UGX")).toEqual({ ok: false, problem: "zero" });
    expect(toMinor("0.00", "EUR")).toEqual({ ok: false, problem: "zero" });
    expect(toMinor("0.001", "EUR")).toEqual({ ok: false, problem: "too_precise" });
    expect(toMinor("1.5", "UGX")).toEqual({ ok: false, problem: "too_precise" });
    expect(toMinor(String(Number.MAX_SAFE_INTEGER), "UGX")).toEqual({ ok: true, minor: Number.MAX_SAFE_INTEGER });
    expect(toMinor(String(Number.MAX_SAFE_INTEGER + 1), "UGX")).toEqual({ ok: false, problem: "too_large" });
    expect(toMinor("90071992547409.92", "EUR")).toEqual({ ok: false, problem: "too_large" });
  });
});

describe("formatMoney", () => {
  it("groups thousands and shows the currency's decimals", () => {
    expect(formatMoney(500000, "UGX")).toBe("500,000 UGX");
    expect(formatMoney(1250, "EUR")).toBe("12.50 EUR");
    expect(formatMoney(5, "EUR")).toBe("0.05 EUR");
    expect(formatMoney(123456789n, "USD")).toBe("1,234,567.89 USD");
    expect(formatMoney(-7, "EUR")).toBe("-0.07 EUR");
  });

  it("reads back as the same amount", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.constantFrom("UGX", "EUR", "KWD"), (minor, currency) => {
      const typed = formatMoney(minor, currency).split(" ")[0]!.replaceAll(",", "");
      expect(toMinor(typed, currency)).toEqual({ ok: true, minor });
    }));
  });
});
