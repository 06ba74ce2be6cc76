import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { lastByteVariants } from "../../../../tests/support/last-byte.ts";
import { momoCallbackToken, verifyMomoCallbackToken } from "./callback-token.ts";

const secret = "momo-test-callback-secret";
const referenceId = "3f8e6a2c-1b4d-4c8e-9f0a-7d2b5e6c1a90";

describe("MoMo callback token", () => {
  it("is the hex HMAC-SHA256 of the reference id and verifies", async () => {
    const token = await momoCallbackToken(referenceId, secret);
    expect(token).toBe(createHmac("sha256", secret).update(referenceId).digest("hex"));
    expect(await verifyMomoCallbackToken(referenceId, token, secret)).toEqual({ ok: true });
  });

  it("refuses the token of another reference id or secret", async () => {
    const otherReference = await momoCallbackToken("aaaaaaaa-1b4d-4c8e-9f0a-7d2b5e6c1a90", secret);
    expect(await verifyMomoCallbackToken(referenceId, otherReference, secret)).toEqual({ ok: false, reason: "mismatch" });
    const otherSecret = await momoCallbackToken(referenceId, "another-secret");
    expect(await verifyMomoCallbackToken(referenceId, otherSecret, secret)).toEqual({ ok: false, reason: "mismatch" });
  });

  it("refuses a token that differs only in its last byte", async () => {
    for (const forged of lastByteVariants(await momoCallbackToken(referenceId, secret))) {
      expect(await verifyMomoCallbackToken(referenceId, forged, secret)).toEqual({ ok: false, reason: "mismatch" });
    }
  });

  it("refuses a missing or malformed token", async () => {
    expect(await verifyMomoCallbackToken(referenceId, null, secret)).toEqual({ ok: false, reason: "missing_header" });
    expect(await verifyMomoCallbackToken(null, "ab", secret)).toEqual({ ok: false, reason: "missing_header" });
    expect(await verifyMomoCallbackToken(referenceId, "xyz", secret)).toEqual({ ok: false, reason: "malformed_header" });
    const token = await momoCallbackToken(referenceId, secret);
    expect(await verifyMomoCallbackToken(referenceId, `${token}0`, secret)).toEqual({ ok: false, reason: "malformed_header" });
    expect(await verifyMomoCallbackToken(referenceId, `x${token}`, secret)).toEqual({ ok: false, reason: "malformed_header" });
    expect(await verifyMomoCallbackToken(referenceId, token.slice(0, -2), secret)).toEqual({ ok: false, reason: "malformed_header" });
  });
});
