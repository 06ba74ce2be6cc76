import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { lastByteVariants } from "../../../../tests/support/last-byte.ts";
import { REVOLUT_TOLERANCE_MS, revolutSignatureHeader, verifyRevolutSignature } from "./signature.ts";

// Revolut's documented example: a wsk_ signing secret, a millisecond timestamp and the
// TransactionStateChanged payload of their "payload_to_sign" walkthrough.
const secret = "wsk_r59a4HfWVAKycbCaNO1RvgCJec02gRd8";
const timestamp = "1683650202360";
const now = Number(timestamp) + 1_000;
const raw =
  '{"data":{"id":"645a7696-1234-aa47-1234-cbae0449cc46","new_state":"completed","old_state":"pending","request_id":"app_charges-9f5d5eb3-1234-1234-1234-3914763e0bcb"},"event":"TransactionStateChanged","timestamp":"2023-05-09T16:36:38.028960Z"}';
const rawBody = new TextEncoder().encode(raw);
// Computed independently, as Revolut's reference implementation does.
const expected = `v1=${createHmac("sha256", secret).update(`v1.${timestamp}.${raw}`).digest("hex")}`;

const verify = (overrides: Partial<Parameters<typeof verifyRevolutSignature>[0]>) =>
  verifyRevolutSignature({ rawBody, signatureHeader: expected, timestampHeader: timestamp, secret, now, ...overrides });

describe("Revolut-Signature", () => {
  it("accepts the signature of v1.{timestamp}.{raw body}", async () => {
    expect(await verify({})).toEqual({ ok: true });
    expect(await revolutSignatureHeader(raw, timestamp, secret)).toBe(expected);
  });

  it("accepts a header with several signatures of which one is valid (secret rotation)", async () => {
    const old = await revolutSignatureHeader(raw, timestamp, "wsk_previous_secret");
    expect(await verify({ signatureHeader: `${old},${expected}` })).toEqual({ ok: true });
    expect(await verify({ signatureHeader: `${expected}, ${old}` })).toEqual({ ok: true });
    // Spaces around items and the timestamp are not part of them.
    expect(await verify({ signatureHeader: `${old}, ${expected}` })).toEqual({ ok: true });
    expect(await verify({ timestampHeader: ` ${timestamp} ` })).toEqual({ ok: true });
  });

  it("refuses a timestamp that is not only digits, before computing anything", async () => {
    for (const bad of [`x${timestamp}`, `${timestamp}x`, "1.5e12", ""]) {
      expect(await verify({ timestampHeader: bad })).toEqual({ ok: false, reason: bad === "" ? "missing_header" : "malformed_header" });
    }
  });

  it("refuses a wrong secret, a tampered body and a signature of another timestamp", async () => {
    expect(await verify({ secret: "wsk_wrong" })).toEqual({ ok: false, reason: "mismatch" });
    expect(await verify({ rawBody: new TextEncoder().encode(raw.replace("completed", "COMPLETED")) })).toEqual({
      ok: false,
      reason: "mismatch",
    });
    expect(await verify({ timestampHeader: String(Number(timestamp) + 1) })).toEqual({ ok: false, reason: "mismatch" });
    const both = `${await revolutSignatureHeader(raw, timestamp, "a")},${await revolutSignatureHeader(raw, timestamp, "b")}`;
    expect(await verify({ signatureHeader: both })).toEqual({ ok: false, reason: "mismatch" });
  });

  it("refuses a signature that differs only in its last byte", async () => {
    for (const forged of lastByteVariants(expected.slice("v1=".length))) {
      expect(await verify({ signatureHeader: `v1=${forged}` })).toEqual({ ok: false, reason: "mismatch" });
    }
  });

  it("refuses stale and future timestamps beyond five minutes, at the boundary included", async () => {
    expect(await verify({ now: Number(timestamp) + REVOLUT_TOLERANCE_MS })).toEqual({ ok: true });
    expect(await verify({ now: Number(timestamp) + REVOLUT_TOLERANCE_MS + 1 })).toEqual({ ok: false, reason: "stale_timestamp" });
    expect(await verify({ now: Number(timestamp) - REVOLUT_TOLERANCE_MS })).toEqual({ ok: true });
    expect(await verify({ now: Number(timestamp) - REVOLUT_TOLERANCE_MS - 1 })).toEqual({ ok: false, reason: "future_timestamp" });
  });

  it("refuses missing and malformed headers", async () => {
    expect(await verify({ signatureHeader: null })).toEqual({ ok: false, reason: "missing_header" });
    expect(await verify({ timestampHeader: null })).toEqual({ ok: false, reason: "missing_header" });
    expect(await verify({ timestampHeader: "2023-05-09T16:36:42Z" })).toEqual({ ok: false, reason: "malformed_header" });
    expect(await verify({ signatureHeader: expected.replace("v1=", "v2=") })).toEqual({ ok: false, reason: "malformed_header" });
  });
});
