// Mutation testing of the functions' shared TypeScript (`npm run test:mutation`, not part of
// `npm test`). Each mutant runs the vitest suites of vitest.mutation.config.ts that cover it;
// their global setup starts one throwaway stack per test-runner process. Narrow a run with
// `npm run test:mutation -- --mutate supabase/functions/_shared/providers/*/signature.ts`.
/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  // pnpm keeps the runner out of the core's node_modules, where Stryker looks for plugins.
  plugins: [import.meta.resolve("@stryker-mutator/vitest-runner")],
  vitest: { configFile: "vitest.mutation.config.ts" },
  coverageAnalysis: "perTest",
  mutate: [
    "supabase/functions/_shared/**/*.ts",
    "!supabase/functions/_shared/**/*.test.ts",
  ],
  // Two cores: two test-runner processes, each with its own Postgres and Deno server.
  concurrency: 2,
  // Later runs test only the mutants whose code or tests changed since the last report.
  incremental: true,
  incrementalFile: ".local/stryker/incremental.json",
  ignorePatterns: [".local", ".stryker-tmp", "bench", "docs", "coverage"],
  tempDirName: ".stryker-tmp",
  timeoutMS: 20_000,
  reporters: ["clear-text", "progress-append-only", "html", "json"],
  htmlReporter: { fileName: ".local/stryker/report.html" },
  jsonReporter: { fileName: ".local/stryker/report.json" },
  thresholds: { high: 90, low: 80, break: null },
  cleanTempDir: "always",
};
