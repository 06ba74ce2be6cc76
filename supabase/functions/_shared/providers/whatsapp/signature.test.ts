import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { lastByteVariants } from "../../../../tests/support/last-byte.ts";
import { requireValidSignature } from "../../webhooks/signature-check.ts";
import { verifyWhatsAppSignature, whatsAppSignatureHeader } from "./signature.ts";

const secret = "whatsapp-test-app-secret";
const body = new TextEncoder().encode(
  '{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages"}]}]}',
);
// Computed independently of our code, the way Meta documents it.
const metaHeader = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

describe("WhatsApp X-Hub-Signature-256", () => {
  it("accepts Meta's signature of the raw body, in either hex case", async () => {
    expect(await verifyWhatsAppSignature(body, metaHeader, secret)).toEqual({ ok: true });
    expect(await verifyWhatsAppSignature(body, metaHeader.toUpperCase().replace("SHA256=", "sha256="), secret)).toEqual({ ok: true });
    expect(await whatsAppSignatureHeader(body, secret)).toBe(metaHeader);
    // Spaces around the header value are not part of it.
    expect(await verifyWhatsAppSignature(body, ` ${metaHeader} `, secret)).toEqual({ ok: true });
  });

  it("refuses a signature made with another secret", async () => {
    const forged = await whatsAppSignatureHeader(body, "another-secret");
    expect(await verifyWhatsAppSignature(body, forged, secret)).toEqual({ ok: false, reason: "mismatch" });
  });

  it("refuses a signature that differs only in its last byte", async () => {
    for (const forged of lastByteVariants(metaHeader.slice("sha256=".length))) {
      expect(await verifyWhatsAppSignature(body, `sha256=${forged}`, secret)).toEqual({ ok: false, reason: "mismatch" });
    }
  });

  it("refuses a tampered body", async () => {
    const tampered = new TextEncoder().encode(new TextDecoder().decode(body).replace("messages", "messageZ"));
    expect(await verifyWhatsAppSignature(tampered, metaHeader, secret)).toEqual({ ok: false, reason: "mismatch" });
  });

  it("refuses a missing or malformed header", async () => {
    expect(await verifyWhatsAppSignature(body, null, secret)).toEqual({ ok: false, reason: "missing_header" });
    expect(await verifyWhatsAppSignature(body, metaHeader.slice("sha256=".length), secret)).toEqual({
      ok: false,
      reason: "malformed_header",
    });
    expect(await verifyWhatsAppSignature(body, "sha1=abc", secret)).toEqual({ ok: false, reason: "malformed_header" });
    expect(await verifyWhatsAppSignature(body, `${metaHeader}00`, secret)).toEqual({ ok: false, reason: "malformed_header" });
    expect(await verifyWhatsAppSignature(body, `x${metaHeader}`, secret)).toEqual({ ok: false, reason: "malformed_header" });
    expect(await verifyWhatsAppSignature(body, metaHeader.slice(0, -2), secret)).toEqual({ ok: false, reason: "malformed_header" });
  });

  it("turns a failed check into a 401 invalid_signature", async () => {
    const check = await verifyWhatsAppSignature(body, null, secret);
    expect(() => requireValidSignature(check)).toThrowError(expect.objectContaining({ status: 401, code: "invalid_signature" }));
    expect(() => requireValidSignature({ ok: true })).not.toThrow();
  });
});
