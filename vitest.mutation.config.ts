// The tests `npm run test:mutation` runs against each mutant: the unit tests of the shared code
// and the admin suites that exercise idempotency. They must kill every mutant of the code they
// cover on their own; suites that reach it only through the Deno server (gateway, integration)
// cannot see a mutant, and the webhook handler suites would only multiply the time per mutant.
import { defineConfig } from "vitest/config";
import base from "./vitest.config.ts";

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: [
      "supabase/functions/_shared/**/*.test.ts",
      "supabase/functions/admin/{app,handler}.test.ts",
    ],
  },
});
