import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["supabase/**/*.test.ts", "packages/**/*.test.ts", "bench/**/*.test.ts", "scripts/**/*.test.ts"],
    exclude: ["**/node_modules/**"],
    globalSetup: ["packages/local-stack/src/vitest-global-setup.ts"],
    // Integration suites talk to a real cluster and Deno server on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
    fileParallelism: true,
    maxWorkers: 2,
  },
});
