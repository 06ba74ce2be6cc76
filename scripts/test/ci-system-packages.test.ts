// GitHub's runners are not root, so setup.mjs cannot install system packages there: each
// workflow that runs it (npm test, npm start) installs them with apt first. A package setup.mjs
// requires and a workflow leaves out stops that workflow at setup ("missing system packages").
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./run-script.ts";

// The PostgreSQL the runner image ships (ubuntu-24.04), for which setup.mjs asks its extensions.
const RUNNER_POSTGRES = "16";

/** The Debian packages setup.mjs requires beside PostgreSQL itself, for the runner's PostgreSQL. */
function packagesSetupRequires(): string[] {
  const source = readFileSync(join(repoRoot, "scripts/setup.mjs"), "utf8");
  return [...source.matchAll(/missing\.push\(\s*[`"]([^`"]+)[`"]\s*\)/g)]
    .map((match) => match[1].replaceAll("${version}", RUNNER_POSTGRES))
    .filter((name) => name !== `postgresql-${RUNNER_POSTGRES}`);
}

/** Each workflow that runs setup.mjs, with the packages its apt-get install lines name. */
function workflowsRunningSetup(): { file: string; installed: Set<string> }[] {
  const dir = join(repoRoot, ".github/workflows");
  return readdirSync(dir).filter((file) => file.endsWith(".yml")).map((file) => ({
    file,
    text: readFileSync(join(dir, file), "utf8"),
  })).filter(({ text }) => /scripts\/setup\.mjs|\.ci\/run|npm (start|test)\b/.test(text)).map(({ file, text }) => ({
    file,
    installed: new Set(
      [...text.matchAll(/apt-get install ([^\n]+)/g)].flatMap((match) => match[1].split(/\s+/).filter((word) => !word.startsWith("-"))),
    ),
  }));
}

describe("CI system packages", () => {
  it("every workflow that runs setup.mjs installs every package setup.mjs requires", () => {
    const required = packagesSetupRequires();
    expect(required).toContain("pgbouncer");
    const workflows = workflowsRunningSetup();
    expect(workflows.map((workflow) => workflow.file)).toEqual(expect.arrayContaining(["ci.yml", "deploy.yml", "rls-audit.yml"]));
    for (const { file, installed } of workflows) {
      expect(required.filter((name) => !installed.has(name)), file).toEqual([]);
    }
  });
});
