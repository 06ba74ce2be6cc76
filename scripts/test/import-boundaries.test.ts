// The repository's import boundaries, read from the source: a function imports only its own
// folder and _shared (so each deploys on its own), a workspace package is imported by its
// name and never by a relative path into its folder, and benchmarks and drills use no test
// file (only supabase/tests/support).
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./run-script.ts";

const SKIPPED = new Set(["node_modules", ".git", ".local", ".stryker-tmp", "coverage"]);
const IMPORT = /(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)["']([^"']+)["']/gm;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (SKIPPED.has(entry.name)) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|mjs)$/.test(entry.name) ? [path] : [];
  });
}

interface Import {
  /** The importing file, relative to the repository root, with "/" separators. */
  file: string;
  /** The imported file, likewise. */
  target: string;
}

/** Every relative import of the repository's TypeScript, resolved. */
function relativeImports(): Import[] {
  const toRepoPath = (path: string) => relative(repoRoot, path).split(sep).join("/");
  return sourceFiles(repoRoot).flatMap((path) =>
    [...readFileSync(path, "utf8").matchAll(IMPORT)]
      .map((match) => match[1]!)
      .filter((specifier) => specifier.startsWith("."))
      .map((specifier) => ({ file: toRepoPath(path), target: toRepoPath(resolve(dirname(path), specifier)) }))
  );
}

const imports = relativeImports();
const describeImport = ({ file, target }: Import) => `${file} -> ${target}`;
const topFolder = (path: string, under: string) => path.startsWith(under) ? path.slice(under.length).split("/")[0]! : null;

describe("import boundaries", () => {
  it("finds the imports it checks", () => {
    expect(imports.length).toBeGreaterThan(500);
  });

  it("lets a function import only its own folder, _shared and (tests) supabase/tests", () => {
    const FUNCTIONS = "supabase/functions/";
    const crossing = imports.filter(({ file, target }) => {
      const from = topFolder(file, FUNCTIONS);
      const to = topFolder(target, FUNCTIONS);
      return from !== null && to !== null && to !== from && to !== "_shared";
    });
    expect(crossing.map(describeImport)).toEqual([]);
  });

  it("imports a workspace package by its name, never by a path into its folder from outside", () => {
    const crossing = imports.filter(({ file, target }) => {
      const to = topFolder(target, "packages/");
      return to !== null && topFolder(file, "packages/") !== to;
    });
    expect(crossing.map(describeImport)).toEqual([]);
  });

  it("gives benchmarks and drills no test file, only supabase/tests/support", () => {
    const testCode = imports.filter(({ file, target }) =>
      file.startsWith("bench/") &&
      (/\.test\.[a-z]+$/.test(target) || (target.startsWith("supabase/tests/") && !target.startsWith("supabase/tests/support/")))
    );
    expect(testCode.map(describeImport)).toEqual([]);
  });
});
