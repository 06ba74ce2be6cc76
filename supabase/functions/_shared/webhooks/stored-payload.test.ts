// The credential keys the webhooks drop before a payload reaches the database
// (storablePayload) are exactly the ones the database removes from what it stores
// (private.scrub_secrets): the same payload stored either way is the same row.
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { testDatabaseUrl } from "../../../tests/support/functions-env.ts";
import { testSql } from "../../../tests/support/payments-fixtures.ts";
import { CREDENTIAL_KEYS, storableJson, storablePayload } from "../storable.ts";

const sql = testSql(testDatabaseUrl);
afterAll(() => sql.end({ timeout: 1 }));

/** A credential name in mixed ASCII case, a name close to one, or any short key. */
const key = fc.oneof(
  fc.constantFrom(...CREDENTIAL_KEYS, "authorisation", "card", "pins", "secrets", "client_secret_id", "token_type", "apiKey")
    .chain((name) =>
      fc.array(fc.boolean(), { minLength: name.length, maxLength: name.length })
        .map((upper) => [...name].map((char, i) => (upper[i] ? char.toUpperCase() : char)).join(""))
    ),
  fc.string({ maxLength: 8 }),
);
const payload = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.string({ maxLength: 12 }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    tie("object"),
    tie("array"),
  ),
  object: fc.dictionary(key, tie("value"), { maxKeys: 5 }),
  array: fc.array(tie("value"), { maxLength: 4 }),
})).object;

async function scrubbedByDatabase(values: unknown[]): Promise<unknown[]> {
  const rows = await sql<{ scrubbed: unknown }[]>`
    select private.scrub_secrets(v.value) as scrubbed
      from jsonb_array_elements(${sql.json(values as never)}::jsonb) with ordinality as v (value, n)
     order by v.n`;
  return rows.map((row) => row.scrubbed);
}

describe("storablePayload", () => {
  it("knows the database's credential names, no more and no fewer", async () => {
    const [row] = await sql<{ keys: string[] }[]>`select private.credential_keys() as keys`;
    expect([...CREDENTIAL_KEYS].sort()).toEqual([...row!.keys].sort());
  });

  it("removes every credential key the database removes, and nothing else", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(payload, { minLength: 1, maxLength: 50 }), async (payloads) => {
        const storable = payloads.map(storableJson);
        expect(payloads.map(storablePayload)).toEqual(await scrubbedByDatabase(storable));
      }),
      { numRuns: 40 },
    );
  });

  it("removes each credential name the database knows, alone at the top and deep in an array", async () => {
    const payloads = [...CREDENTIAL_KEYS].flatMap((name) => [{ [name]: "x", kept: 1 }, { list: [{ [name.toUpperCase()]: "x", kept: 2 }] }]);
    const scrubbed = await scrubbedByDatabase(payloads);
    expect(scrubbed).toEqual(payloads.map((item) => ("list" in item ? { list: [{ kept: 2 }] } : { kept: 1 })));
    expect(payloads.map(storablePayload)).toEqual(scrubbed);
  });
});
