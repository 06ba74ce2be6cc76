// Phone numbers as people type them, normalized to wa_ids with libphonenumber-js.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { displayPhone, senderRegion, senderTimeZone, toWaId } from "./phone.ts";

describe("toWaId", () => {
  it("reads international and local forms of one number as the same wa_id", () => {
    const forms = ["+250 788 123 456", "250788123456", "+250788123456", "00250788123456", "0788 123 456", "0788-123-456", " 0788123456 "];
    for (const form of forms) expect(toWaId(form, "RW"), form).toBe("250788123456");
  });

  it("reads a local number in the default region", () => {
    expect(toWaId("0712 345 678", "UG")).toBe("256712345678");
    expect(toWaId("0712 345 678", "KE")).toBe("254712345678");
  });

  it("reads a sender's local numbers in the country of its own number", () => {
    expect(senderRegion("256772123456", "RW")).toBe("UG");
    expect(senderRegion("254712345678", "RW")).toBe("KE");
    expect(senderRegion("255712345678", "RW")).toBe("TZ");
    expect(senderRegion("233244123456", "RW")).toBe("GH");
    expect(senderRegion("4915123456789", "RW")).toBe("DE");
    expect(senderRegion("250788123456", "UG")).toBe("RW");
    expect(toWaId("0772 123 456", senderRegion("256700000001", "RW"))).toBe("256772123456");
    expect(toWaId("0151 23456789", senderRegion("4915123456789", "RW"))).toBe("4915123456789");
    // A number that names no country leaves local numbers to the default region.
    expect(senderRegion("999123456789", "RW")).toBe("RW");
  });

  it("reads digits that are no number of the region as an international number without its '+'", () => {
    expect(toWaId("254712345678", "RW")).toBe("254712345678");
    expect(toWaId("256 772 123 456", "RW")).toBe("256772123456");
    // A number of the region is read there first.
    expect(toWaId("788123456", "RW")).toBe("250788123456");
  });

  it("refuses what cannot be a phone number there", () => {
    for (const typed of ["12345", "+256 12", "0788 123", "not a number", "+1 555 0100", "", "+999 123 456 789"]) {
      expect(toWaId(typed, "RW"), typed).toBeNull();
    }
  });

  it("gives every valid Rwandan mobile number the same wa_id in each of its forms", () => {
    fc.assert(
      fc.property(fc.constantFrom("72", "73", "78", "79"), fc.integer({ min: 0, max: 9_999_999 }), (prefix, rest) => {
        const national = `${prefix}${String(rest).padStart(7, "0")}`;
        const expected = `250${national}`;
        for (const form of [`+250${national}`, `250 ${national}`, `0${national}`, `00250${national}`]) {
          expect(toWaId(form, "RW")).toBe(expected);
        }
        expect(toWaId(displayPhone(expected), "UG")).toBe(expected);
      }),
      { numRuns: 200 },
    );
  });
});

describe("senderTimeZone", () => {
  it("reads times in the sender's own country, UTC for a country it does not know", () => {
    expect(senderTimeZone("250788123456")).toEqual({ zone: "Africa/Kigali", name: "Kigali time" });
    expect(senderTimeZone("255712345678")).toEqual({ zone: "Africa/Dar_es_Salaam", name: "Dar es Salaam time" });
    expect(senderTimeZone("4915123456789")).toEqual({ zone: "UTC", name: "UTC" });
  });
});
