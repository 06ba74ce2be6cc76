// Keyset pagination of the list routes: `limit` 1..200 (default 50) and an opaque `cursor`
// that encodes the sort key of the last row of the previous page. A list answers
// {data, next_cursor}; next_cursor is null on the last page.
import { z } from "zod";

export const MAX_PAGE_SIZE = 200;
export const limitSchema = z.coerce.number({ error: "must be a whole number" }).int("must be a whole number")
  .min(1, "must be at least 1").max(MAX_PAGE_SIZE, `must be at most ${MAX_PAGE_SIZE}`).default(50);

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

export function encodeCursor(position: unknown): string {
  return toBase64Url(encoder.encode(JSON.stringify(position)));
}

/** A query-string cursor that decodes to a `shape` position (else a 400 on `cursor`). */
export function cursorSchema<T extends z.ZodType>(shape: T) {
  return z.string().max(512).transform((text, ctx): z.output<T> => {
    let decoded: unknown;
    try {
      decoded = JSON.parse(decoder.decode(fromBase64Url(text)));
    } catch {
      decoded = undefined;
    }
    const result = shape.safeParse(decoded);
    if (!result.success) {
      ctx.addIssue({ code: "custom", message: "is not a cursor returned by this list" });
      return z.NEVER;
    }
    return result.data;
  }).optional();
}

/** The page of `rows` (fetched with limit + 1) and the cursor of the next one. */
export function page<R>(rows: R[], limit: number, position: (row: R) => unknown): { data: R[]; next_cursor: string | null } {
  const data = rows.slice(0, limit);
  const last = data[data.length - 1];
  return { data, next_cursor: rows.length > limit && last !== undefined ? encodeCursor(position(last)) : null };
}
