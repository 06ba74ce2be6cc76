// Text as Postgres can hold it. A text or jsonb value cannot contain U+0000 (22021, 22P05), and
// jsonb refuses a lone UTF-16 surrogate; a provider can send either inside a signed body, and
// one such character would fail the whole delivery for ever. Each becomes U+FFFD, the
// replacement character, so that the stored text still shows where something was dropped.
// deno-lint-ignore no-control-regex -- U+0000 is exactly what this pattern is for
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export const REPLACEMENT_CHARACTER = "\uFFFD";

export function storableText(text: string): string {
  return text.replace(UNSTORABLE, REPLACEMENT_CHARACTER);
}

/** A parsed JSON value with every string and object key made storable (a new value; the input is left as it is). */
export function storableJson(value: unknown): unknown {
  if (typeof value === "string") return storableText(value);
  if (Array.isArray(value)) return value.map(storableJson);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [storableText(key), storableJson(item)]));
  }
  return value;
}
