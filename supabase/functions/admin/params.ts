// Query and path parameter rules shared by the routes.
import { z } from "zod";
import { parseOrThrow } from "../_shared/errors.ts";

export const uuidParam = z.guid({ error: "must be a UUID" });

const idPath = z.object({ id: uuidParam });

/** The route's :id, a UUID (else a 400 naming the field `id`). */
export function pathId(c: { req: { param(name: "id"): string | undefined } }): string {
  return parseOrThrow(idPath, { id: c.req.param("id") }).id;
}

/** Free text to compare with a text column: 1 to 255 characters, none of them U+0000, which no text value holds (22021, a 500). */
export const textParam = z.string().min(1).max(255).refine((text) => !text.includes("\u0000"), "must not contain U+0000");

export const currencyParam = z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as KES");

// ISO 8601 (and zod) spell a year 0000, PostgreSQL's first year is 1: the cast of year 0 fails
// (22008, a 500), so it is refused here.
const NOT_YEAR_ZERO = [(text: string) => !text.startsWith("0000"), "must be in year 1 or later"] as const;

export const timestampParam = z.iso.datetime({ offset: true, error: "must be an ISO 8601 date-time with a time zone" })
  .refine(...NOT_YEAR_ZERO);

export const dateParam = z.iso.date({ error: "must be a date such as 2026-12-07" }).refine(...NOT_YEAR_ZERO);

/** For query schemas with optional `from` and `to`: when both are given, from < to (else a 400 on `to`). */
export function fromBeforeTo(query: { from?: string; to?: string }): boolean {
  return query.from === undefined || query.to === undefined || Date.parse(query.from) < Date.parse(query.to);
}
export const FROM_BEFORE_TO = { path: ["to"], message: "must be after from" };
