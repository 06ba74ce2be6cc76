// Text as Postgres can hold it. A text or jsonb value cannot contain U+0000 (22021, 22P05), and
// jsonb refuses a lone UTF-16 surrogate; a provider can send either inside a signed body, and
// one such character would fail the whole delivery for ever. Each becomes U+FFFD, the
// replacement character, so that the stored text still shows where something was dropped.
// deno-lint-ignore no-control-regex -- U+0000 is exactly what this pattern is for
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export const REPLACEMENT_CHARACTER = "\uFFFD";

// The keys under which providers send credentials (Stripe's client_secret, Revolut's checkout
// token, anything named like a secret or a signature): the names private.scrub_secrets removes
// from every stored payload, compared in lower case. The database removes them whatever it is
// sent; removed here first, they never travel in a statement's parameters (which Postgres logs
// with a slow statement), and the database's one look at the text finds nothing to walk.
export const CREDENTIAL_KEYS: ReadonlySet<string> = new Set([
  "client_secret",
  "secret",
  "password",
  "token",
  "access_token",
  "refresh_token",
  "api_key",
  "apikey",
  "authorization",
  "signature",
  "cvc",
  "cvv",
  "card_number",
  "pin",
]);

export function storableText(text: string): string {
  return text.replace(UNSTORABLE, REPLACEMENT_CHARACTER);
}

/** A parsed JSON value with every string and object key made storable (a new value; the input is left as it is). */
export function storableJson(value: unknown): unknown {
  return storableWalk(value, () => true);
}

/**
 * A provider's payload as the database stores it: storableJson, without the credential keys at
 * any depth. Keys are lower-cased in ASCII only: a key that only Unicode case rules would turn
 * into a credential name is left for the database to judge by its own rules.
 */
export function storablePayload(value: unknown): unknown {
  return storableWalk(value, (key) => !CREDENTIAL_KEYS.has(key.replace(/[A-Z]+/g, (upper) => upper.toLowerCase())));
}

function storableWalk(value: unknown, keep: (key: string) => boolean): unknown {
  if (typeof value === "string") return storableText(value);
  if (Array.isArray(value)) return value.map((item) => storableWalk(item, keep));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).flatMap(([key, item]) => {
        const storableKey = storableText(key);
        return keep(storableKey) ? [[storableKey, storableWalk(item, keep)]] : [];
      }),
    );
  }
  return value;
}
