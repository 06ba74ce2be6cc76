// HMAC-SHA256 with Web Crypto and constant-time comparison, for the webhook signatures.

const encoder = new TextEncoder();

function bytesOf(data: string | Uint8Array): Uint8Array<ArrayBuffer> {
  return typeof data === "string" ? encoder.encode(data) : new Uint8Array(data);
}

/** HMAC-SHA256(data, secret) as raw bytes. */
export async function hmacSha256(secret: string, data: string | Uint8Array): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", bytesOf(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, bytesOf(data)));
}

/** HMAC-SHA256(data, secret) as lowercase hex. */
export async function hmacSha256Hex(secret: string, data: string | Uint8Array): Promise<string> {
  return bytesToHex(await hmacSha256(secret, data));
}

export function bytesToHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The bytes of an even-length hex string (either case), or null if it is not hex. */
export function hexToBytes(hex: string): Uint8Array | null {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return null;
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/**
 * Whether two byte arrays are equal, in time that depends only on their length (the length of
 * a MAC is public). Arrays of different lengths are unequal.
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

/** Whether `candidateHex` is the hex encoding of `expected`, compared in constant time. */
export function matchesHex(expected: Uint8Array, candidateHex: string): boolean {
  const candidate = hexToBytes(candidateHex);
  return candidate !== null && timingSafeEqual(expected, candidate);
}
