// Request guards that run before a handler reads anything: method (405 with Allow), content
// type (415) and body size (413), and reading the raw body bytes that signatures are computed over.
import { HttpError, parseOrThrow } from "./errors.ts";
import { storableJson } from "./storable.ts";
import type { z } from "zod";

export const MIB = 1024 * 1024;
/** Default body limit of every function (WhatsApp raises it to 3 MiB). */
export const DEFAULT_MAX_BODY_BYTES = 1 * MIB;

/** Throws 405 with the Allow header when `method` is not one of `allowed`. */
export function assertMethod(method: string, allowed: readonly string[]): void {
  if (!allowed.includes(method.toUpperCase())) {
    throw new HttpError(405, "method_not_allowed", `Method ${method.toUpperCase()} is not allowed here.`, { allowed }, {
      allow: allowed.join(", "),
    });
  }
}

/** The media type of a Content-Type header, lower case without parameters ("" when absent). */
export function mediaTypeOf(contentType: string | null): string {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase();
}

/** Throws 415 when the request's media type is not one of `allowed`. */
export function assertContentType(headers: Headers, allowed: readonly string[]): void {
  const mediaType = mediaTypeOf(headers.get("content-type"));
  if (!allowed.includes(mediaType)) {
    throw new HttpError(415, "unsupported_media_type", "The request content type is not supported.", {
      received: mediaType || null,
      allowed,
    });
  }
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, "payload_too_large", `The request body exceeds ${maxBytes} bytes.`, { max_bytes: maxBytes });
}

/**
 * The raw body bytes, refusing with 413 as soon as more than `maxBytes` are announced or
 * received (the stream is cancelled rather than buffered).
 */
export async function readBodyBytes(request: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/**
 * The body parsed as JSON (400 invalid_json), its text made storable (storable.ts) and checked
 * with `schema` (400 validation_failed).
 */
export function parseJsonBody<T extends z.ZodType>(rawBody: Uint8Array, schema: T): z.output<T> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(rawBody));
  } catch {
    throw new HttpError(400, "invalid_json", "The request body is not valid JSON.");
  }
  return parseOrThrow(schema, storableJson(value));
}
