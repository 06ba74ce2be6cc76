// Meta (WhatsApp Cloud API) webhook signatures:
// X-Hub-Signature-256: sha256=<hex HMAC-SHA256(raw body, app secret)>.
import { hmacSha256, hmacSha256Hex, matchesHex } from "../../hmac.ts";
import { type SignatureCheck, signatureFailed, signatureOk } from "../../webhooks/signature-check.ts";

export const WHATSAPP_SIGNATURE_HEADER = "x-hub-signature-256";

/** Checks the X-Hub-Signature-256 header value against the raw body bytes. */
export async function verifyWhatsAppSignature(
  rawBody: Uint8Array,
  header: string | null,
  appSecret: string,
): Promise<SignatureCheck> {
  if (!header) return signatureFailed("missing_header");
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
  if (!match) return signatureFailed("malformed_header");
  const expected = await hmacSha256(appSecret, rawBody);
  return matchesHex(expected, match[1]!) ? signatureOk : signatureFailed("mismatch");
}

/** The header value Meta would send for this body (tests, local tools). */
export async function whatsAppSignatureHeader(rawBody: Uint8Array | string, appSecret: string): Promise<string> {
  return `sha256=${await hmacSha256Hex(appSecret, rawBody)}`;
}
