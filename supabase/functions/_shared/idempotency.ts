// Idempotency keys of mutating calls (admin API, payments): the key a request carries (the
// Idempotency-Key header or the body's idempotency_key) and the hash that tells a replay of
// the same request from the reuse of its key for another one. Where the first answer is
// stored is each function's own business.
import { HttpError } from "./errors.ts";

export const IDEMPOTENCY_HEADER = "idempotency-key";
export const REPLAYED_HEADER = "idempotent-replayed";
const KEY = /^[\x21-\x7e]{1,255}$/;

export interface StoredResponse {
  status: number;
  body: unknown;
}

/** The request's idempotency key: from the header or the body field, which must agree. */
export function idempotencyKeyOf(headers: Headers, body: Record<string, unknown>): string {
  const fromHeader = headers.get(IDEMPOTENCY_HEADER);
  const fromBody = body.idempotency_key;
  if (fromHeader !== null && fromBody !== undefined && fromHeader !== fromBody) {
    throw new HttpError(400, "validation_failed", "The request is not valid.", {
      fields: [{ path: "idempotency_key", message: "differs from the Idempotency-Key header" }],
    });
  }
  const key = fromHeader ?? fromBody;
  if (key === undefined) {
    throw new HttpError(400, "idempotency_key_required", "Changes need an Idempotency-Key header (or an idempotency_key field).");
  }
  if (typeof key !== "string" || !KEY.test(key)) {
    throw new HttpError(400, "validation_failed", "The request is not valid.", {
      fields: [{ path: "idempotency_key", message: "must be 1 to 255 visible ASCII characters" }],
    });
  }
  return key;
}

/** JSON with object keys sorted at every depth, so equal bodies hash equally. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** SHA-256 (hex) of a text. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** SHA-256 (hex) of the method, path and body without its idempotency_key. */
export function requestHash(method: string, path: string, body: Record<string, unknown>): Promise<string> {
  const { idempotency_key: _key, ...rest } = body;
  return sha256Hex(canonicalJson({ method: method.toUpperCase(), path, body: rest }));
}
