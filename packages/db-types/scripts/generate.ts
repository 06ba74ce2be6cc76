// `npm run db:types`: regenerates src/database.ts from the migrations, on a throwaway
// database, with the Supabase CLI (`supabase gen types typescript --remote=<url>`).
import { writeFileSync } from "node:fs";
import { exitWithError } from "@mfuko/local-stack/cli-output";
import { generateTypes } from "@mfuko/local-stack/database";
import { startThrowawayStack } from "@mfuko/local-stack/throwaway-stack";
import { generatedTypesFile } from "../src/location.ts";

async function main(): Promise<void> {
  const stack = await startThrowawayStack({ durable: false });
  try {
    writeFileSync(generatedTypesFile, await generateTypes(stack.dbUrl));
    console.log(`wrote ${generatedTypesFile}`);
  } finally {
    await stack.stop();
  }
}

main().catch((error) => exitWithError("db:types", error));
