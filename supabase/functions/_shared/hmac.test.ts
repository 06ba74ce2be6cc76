import { createHmac } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lastByteVariants } from "../../tests/support/last-byte.ts";
import { bytesToHex, hexToBytes, hmacSha256, hmacSha256Hex, matchesHex, timingSafeEqual } from "./hmac.ts";

describe("hmacSha256Hex", () => {
  it("matches RFC 4231 test case 2", async () => {
    expect(await hmacSha256Hex("Jefe", "what do ya want for nothing?")).toBe(
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    );
  });

  it("agrees with node:crypto on arbitrary keys and bytes", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1 }), fc.uint8Array(), async (key, data) => {
        expect(await hmacSha256Hex(key, data)).toBe(createHmac("sha256", key).update(data).digest("hex"));
      }),
      { numRuns: 50 },
    );
  });
});

describe("hex and comparison", () => {
  it("round-trips bytes through hex and rejects non-hex", () => {
    expect(bytesToHex(new Uint8Array([0, 15, 255]))).toBe("000fff");
    expect(hexToBytes("000FfF")).toEqual(new Uint8Array([0, 15, 255]));
    expect(hexToBytes("abc")).toBeNull();
    expect(hexToBytes("zz")).toBeNull();
    // Hex at one end only is not hex.
    expect(hexToBytes("0z")).toBeNull();
    expect(hexToBytes("z0")).toBeNull();
  });

  it("compares equal-length arrays by content and treats other lengths as unequal", () => {
    expect(timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3]))).toBe(true);
    expect(timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4]))).toBe(false);
    expect(timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2]))).toBe(false);
    // A prefix of the MAC is not the MAC, whichever side is shorter.
    expect(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3]))).toBe(false);
    expect(timingSafeEqual(new Uint8Array(0), new Uint8Array([1]))).toBe(false);
    expect(matchesHex(new Uint8Array([171, 205]), "ab")).toBe(false);
    expect(matchesHex(new Uint8Array([171, 205]), "ABCD")).toBe(true);
    expect(matchesHex(new Uint8Array([171, 205]), "abce")).toBe(false);
    expect(matchesHex(new Uint8Array([171, 205]), "not hex")).toBe(false);
  });

  it("compares every byte of a MAC, the last one included", async () => {
    const mac = await hmacSha256("secret", "payload");
    const lastChanged = mac.slice();
    lastChanged[mac.length - 1]! ^= 0x80;
    expect(timingSafeEqual(mac, lastChanged)).toBe(false);
    for (const forged of lastByteVariants(bytesToHex(mac))) expect(matchesHex(mac, forged)).toBe(false);
    expect(matchesHex(mac, bytesToHex(mac))).toBe(true);
  });
});
