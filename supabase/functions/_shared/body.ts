// Request guards that run before a handler reads anything: method (405 with Allow), content
// type (415), body size (413) and body read deadline (408), and reading the raw body bytes that
// signatures are computed over.
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

function tooSlow(timeoutMs: number): HttpError {
  return new HttpError(408, "request_timeout", `The request body did not arrive within ${timeoutMs} ms.`, { timeout_ms: timeoutMs });
}

/**
 * The raw body bytes, refusing with 413 as soon as more than `maxBytes` are announced or
 * received, and with 408 when the whole body has not arrived `timeoutMs` after reading began
 * (one deadline for the whole body, so a trickle of small chunks cannot extend it). Either
 * way the stream is cancelled rather than read on.
 */
export async function readBodyBytes(request: Request, maxBytes: number, timeoutMs: number): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(tooSlow(timeoutMs)), timeoutMs);
  });
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), deadline]);
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) throw tooLarge(maxBytes);
      chunks.push(value);
    }
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    throw error;
  } finally {
    clearTimeout(timer);
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
