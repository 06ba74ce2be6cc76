// Revolut webhook signatures: Revolut-Signature carries one or more comma-separated
// `v1=<hex HMAC-SHA256("v1.{Revolut-Request-Timestamp}.{raw body}", signing secret)>` (several
// while a secret is being rotated); the timestamp is in epoch milliseconds and must be within
// five minutes of now, in either direction, so that a captured request cannot be replayed.
import { hmacSha256, hmacSha256Hex, matchesHex } from "../../hmac.ts";
import { type SignatureCheck, signatureFailed, signatureOk } from "../../webhooks/signature-check.ts";

export const REVOLUT_SIGNATURE_HEADER = "revolut-signature";
export const REVOLUT_TIMESTAMP_HEADER = "revolut-request-timestamp";
export const REVOLUT_TOLERANCE_MS = 5 * 60 * 1000;

export interface RevolutSignatureInput {
  rawBody: Uint8Array;
  signatureHeader: string | null;
  timestampHeader: string | null;
  secret: string;
  /** Epoch milliseconds; defaults to the clock. */
  now?: number;
}

function signedPayload(timestamp: string, rawBody: Uint8Array | string): Uint8Array {
  const body = typeof rawBody === "string" ? new TextEncoder().encode(rawBody) : rawBody;
  const prefix = new TextEncoder().encode(`v1.${timestamp}.`);
  const payload = new Uint8Array(prefix.length + body.length);
  payload.set(prefix);
  payload.set(body, prefix.length);
  return payload;
}

export async function verifyRevolutSignature(input: RevolutSignatureInput): Promise<SignatureCheck> {
  const { rawBody, signatureHeader, timestampHeader, secret, now = Date.now() } = input;
  if (!signatureHeader || !timestampHeader) return signatureFailed("missing_header");
  const timestamp = timestampHeader.trim();
  if (!/^\d{1,16}$/.test(timestamp)) return signatureFailed("malformed_header");
  const age = now - Number(timestamp);
  if (age > REVOLUT_TOLERANCE_MS) return signatureFailed("stale_timestamp");
  if (age < -REVOLUT_TOLERANCE_MS) return signatureFailed("future_timestamp");

  const candidates = signatureHeader.split(",").map((part) => part.trim())
    .filter((part) => part.startsWith("v1=")).map((part) => part.slice(3));
  if (candidates.length === 0) return signatureFailed("malformed_header");

  const expected = await hmacSha256(secret, signedPayload(timestamp, rawBody));
  // Check every candidate so the time taken does not reveal which one matched.
  let matched = false;
  for (const candidate of candidates) matched = matchesHex(expected, candidate) || matched;
  return matched ? signatureOk : signatureFailed("mismatch");
}

/** The Revolut-Signature value for this body and timestamp (tests, local tools). */
export async function revolutSignatureHeader(rawBody: Uint8Array | string, timestamp: number | string, secret: string): Promise<string> {
  return `v1=${await hmacSha256Hex(secret, signedPayload(String(timestamp), rawBody))}`;
}
