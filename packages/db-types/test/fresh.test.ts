// Frontends compile against the committed types; this fails when a migration changed the
// schema and `npm run db:types` was not run.
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { generateTypes } from "@mfuko/local-stack/database";
import { generatedTypesFile } from "../src/location.ts";

it("the committed database types match the migrated schema (run `npm run db:types` if not)", async () => {
  const url = process.env.MFUKO_TEST_DB_URL;
  if (!url) throw new Error("MFUKO_TEST_DB_URL is not set: run through npm test or vitest's global setup");
  const generated = await generateTypes(url);
  expect(readFileSync(generatedTypesFile, "utf8")).toBe(generated);
});
