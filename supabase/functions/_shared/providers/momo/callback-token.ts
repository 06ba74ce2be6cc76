// MTN MoMo does not sign its callbacks. The callback URL we give MoMo for a request-to-pay
// carries the reference id and a token = hex HMAC-SHA256(reference id, MOMO_CALLBACK_SECRET);
// a callback is accepted only with the token of its own reference id. (The handler then asks
// MoMo for the real status, so the token only keeps strangers from triggering those look-ups.)
import { hmacSha256, hmacSha256Hex, matchesHex } from "../../hmac.ts";
import { type SignatureCheck, signatureFailed, signatureOk } from "../../webhooks/signature-check.ts";

/** The token to put in the callback URL of this reference id. */
export function momoCallbackToken(referenceId: string, secret: string): Promise<string> {
  return hmacSha256Hex(secret, referenceId);
}

export async function verifyMomoCallbackToken(
  referenceId: string | null,
  token: string | null,
  secret: string,
): Promise<SignatureCheck> {
  if (!referenceId || !token) return signatureFailed("missing_header");
  if (!/^[0-9a-fA-F]{64}$/.test(token)) return signatureFailed("malformed_header");
  const expected = await hmacSha256(secret, referenceId);
  return matchesHex(expected, token) ? signatureOk : signatureFailed("mismatch");
}
