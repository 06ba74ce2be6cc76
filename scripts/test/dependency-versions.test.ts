// The edge functions (Deno, supabase/functions/deno.json) and the Node side (tests, local stack,
// benchmarks: package.json) import the same libraries; they must ask for the same versions, or a
// test passes against a library the deployed function does not run.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./run-script.ts";

const readJson = (path: string) => JSON.parse(readFileSync(join(repoRoot, path), "utf8"));

/** name -> version range of every `npm:` import of the functions' import map. */
function denoNpmImports(): Map<string, string> {
  const imports: Record<string, string> = readJson("supabase/functions/deno.json").imports;
  const ranges = new Map<string, string>();
  for (const target of Object.values(imports)) {
    const match = /^npm:\/?(@?[^@]+)@([^/]+)\/?$/.exec(target);
    if (!match) throw new Error(`not an npm: import with a version: ${target}`);
    ranges.set(match[1], match[2]);
  }
  return ranges;
}

describe("dependency versions", () => {
  it("every npm import of the functions asks for the version range package.json asks for", () => {
    const imports = denoNpmImports();
    const nodeSide = ["package.json", "packages/local-stack/package.json", "packages/rls-audit/package.json"].map(readJson);
    expect(imports.size).toBeGreaterThan(0);
    for (const [name, range] of imports) {
      const declared = nodeSide.map((manifest) => manifest.dependencies?.[name]).filter((value) => value !== undefined);
      expect(declared.length, name).toBeGreaterThan(0);
      for (const value of declared) expect(`${name}@${value}`).toBe(`${name}@${range}`);
    }
  });
});
