import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The committed output of `supabase gen types`, which frontends import. */
export const generatedTypesFile = join(dirname(fileURLToPath(import.meta.url)), "database.ts");
