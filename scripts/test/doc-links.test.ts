// The docs are read on GitHub, where a relative link to a moved file or a renamed heading goes
// nowhere: every relative link of README.md, CONTRIBUTING.md and docs/ must name a file or
// folder of the repository, and its #anchor a heading of that file, slugged as GitHub does.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./run-script.ts";

function markdownFiles(): string[] {
  const docs = (dir: string): string[] =>
    readdirSync(join(repoRoot, dir), { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? docs(join(dir, entry.name)) : entry.name.endsWith(".md") ? [join(dir, entry.name)] : []
    );
  return ["README.md", "CONTRIBUTING.md", ...docs("docs")];
}

/** The text outside fenced code blocks, where links and headings are. */
function prose(text: string): string[] {
  let fenced = false;
  return text.split("\n").filter((line) => {
    if (line.startsWith("```")) fenced = !fenced;
    return !fenced && !line.startsWith("```");
  });
}

/** GitHub's anchors of a file's headings: lower case, punctuation dropped, spaces as dashes, repeats numbered. */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of prose(readFileSync(file, "utf8"))) {
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (!heading) continue;
    const slug = heading[1].trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
    const count = seen.get(slug);
    seen.set(slug, (count ?? -1) + 1);
    result.add(count === undefined ? slug : `${slug}-${count + 1}`);
  }
  return result;
}

describe("links between the docs", () => {
  it("every relative link names a file of the repository, and every anchor one of its headings", () => {
    const broken: string[] = [];
    for (const file of markdownFiles()) {
      const path = join(repoRoot, file);
      for (const line of prose(readFileSync(path, "utf8"))) {
        for (const [, href] of line.matchAll(/\]\(([^)\s]+)\)/g)) {
          if (/^[a-z]+:/.test(href)) continue;
          const [target, anchor] = href.split("#");
          const targetPath = target === "" ? path : resolve(dirname(path), target);
          if (!existsSync(targetPath) || relative(repoRoot, targetPath).startsWith("..")) {
            broken.push(`${file}: ${href} (no such file in the repository)`);
          } else if (anchor !== undefined && (statSync(targetPath).isDirectory() || !anchors(targetPath).has(anchor))) {
            broken.push(`${file}: ${href} (no such heading)`);
          }
        }
      }
    }
    expect(broken).toEqual([]);
  });
});
