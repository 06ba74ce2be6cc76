// Runs the real CLI against a database holding every flaw and one holding every clean twin.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Ajv from "ajv-draft-04";
import addFormats from "ajv-formats";
import sarifSchema from "@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json" with { type: "json" };
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { checks } from "../src/checks.ts";
import type { Finding } from "../src/finding.ts";
import { auditSqlPath } from "../src/paths.ts";
import { type Fixture, fixtures, preamble, roleFixture } from "./fixtures.ts";
import { type CliRun, createDatabase, dropDatabase, onCluster, qualified, runCli, testDatabaseUrl, urlFor } from "./support.ts";

const suffix = `${process.pid}_${Date.now()}`;
const flawedDb = `rls_audit_flawed_${suffix}`;
const cleanDb = `rls_audit_clean_${suffix}`;
const role = roleFixture(suffix);
const allFixtures: Fixture[] = [...fixtures, role];
const work = mkdtempSync(join(tmpdir(), "rls-audit-test-"));
const emptyAllowList = join(work, "empty-allowlist.json");
writeFileSync(emptyAllowList, JSON.stringify({ accepted: [] }));

interface JsonReport {
  summary: { error: number; warn: number; info: number; accepted: number };
  findings: Finding[];
}

function audit(database: string, ...args: string[]): Promise<CliRun> {
  return runCli(["--db-url", urlFor(database), "--allow-list", emptyAllowList, ...args]);
}

function parseReport(run: CliRun): JsonReport {
  return JSON.parse(run.stdout) as JsonReport;
}

let flawed: { run: CliRun; report: JsonReport };
let clean: { run: CliRun; report: JsonReport };
let mfuko: { run: CliRun; report: JsonReport };
let bypassAllowed: JsonReport;

beforeAll(async () => {
  // mfuko's own schema first, before the fixture roles exist on the cluster; with the
  // committed allow-list, as CI runs it.
  const mfukoRun = await runCli(["--db-url", testDatabaseUrl(), "--format", "json", "--fail-on", "warn"]);
  mfuko = { run: mfukoRun, report: parseReport(mfukoRun) };
  // One after the other: the bootstrap alters cluster-wide rows that cannot be updated concurrently.
  await createDatabase(flawedDb, [preamble, ...fixtures.map((f) => f.flawed)].join("\n"));
  await createDatabase(cleanDb, [preamble, ...fixtures.map((f) => f.clean)].join("\n"));
  await onCluster(role.flawed + role.clean);
  try {
    const run = await audit(flawedDb, "--format", "json");
    flawed = { run, report: parseReport(run) };
    const allowed = ["service_role", "postgres", "supabase_admin", `rls_audit_fixture_bypass_${suffix}`];
    const allowedRun = await audit(flawedDb, "--format", "json", "--fail-on", "none", "--bypassrls-roles", allowed.join(","));
    bypassAllowed = parseReport(allowedRun);
  } finally {
    await onCluster(`drop role rls_audit_fixture_bypass_${suffix};`);
  }
  try {
    const run = await audit(cleanDb, "--format", "json", "--fail-on", "info");
    clean = { run, report: parseReport(run) };
  } finally {
    await onCluster(`drop role rls_audit_fixture_plain_${suffix};`);
  }
}, 60_000);

afterAll(async () => {
  await Promise.all([dropDatabase(flawedDb), dropDatabase(cleanDb)]);
});

describe("every check", () => {
  test("has a description, a `-- check:` section in the SQL and a fixture", () => {
    const sqlIds = [...readFileSync(auditSqlPath, "utf8").matchAll(/^\s*-- check: ([a-z0-9-]+)\s*$/gm)].map((m) => m[1]);
    const described = checks.map((c) => c.id);
    expect([...sqlIds].sort()).toEqual([...described].sort());
    expect(allFixtures.map((f) => f.check).sort()).toEqual([...described].sort());
  });

  test.each(allFixtures.map((f) => [f.check, f] as const))("%s: reported on the flaw with its severity", (_, fixture) => {
    const found = flawed.report.findings
      .filter((f) => f.check === fixture.check)
      .map((f) => ({ severity: f.severity, object: qualified(f) }));
    for (const expected of fixture.expected) expect(found).toContainEqual(expected);
    for (const f of flawed.report.findings.filter((x) => x.check === fixture.check)) {
      expect(f.detail.length).toBeGreaterThan(20);
      expect(f.remediation.length).toBeGreaterThan(10);
    }
  });

  test.each(allFixtures.map((f) => [f.check, f] as const))("%s: silent on the clean twin", (_, fixture) => {
    expect(clean.report.findings.filter((f) => f.check === fixture.check)).toEqual([]);
  });

  test("the clean database has no finding at all and exits 0 even with --fail-on info", () => {
    expect(clean.report.findings).toEqual([]);
    expect(clean.run.code).toBe(0);
  });
});

test("mfuko's own schema has no open finding at warn or above", () => {
  const open = mfuko.report.findings.filter((f) => !f.accepted && f.severity !== "info");
  expect(open).toEqual([]);
  expect(mfuko.run.code).toBe(0);
});

describe.concurrent("exit codes", () => {
  test("1 when an error finding is open (default --fail-on error)", () => {
    expect(flawed.report.summary.error).toBeGreaterThan(0);
    expect(flawed.run.code).toBe(1);
  });

  test("2 with one clear line when the database cannot be reached", async () => {
    const run = await runCli(["--db-url", "postgresql://postgres:secret@127.0.0.1:1/postgres"]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    const lines = run.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^rls-audit: cannot connect to postgresql:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/postgres: /);
    expect(run.stderr).not.toContain("secret");
  });

  test.each([
    [["--format", "xml", "--db-url", "postgresql://x@127.0.0.1/x"], "--format must be one of"],
    [["--bogus"], "Unknown option"],
  ])("2 and the usage text for bad options %j", async (args, message) => {
    const run = await runCli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain("Usage: npm run rls:audit");
  });

  test("--help prints the usage and exits 0", async () => {
    const run = await runCli(["--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("--allow-list <file>");
  });
});

describe.concurrent("settings", () => {
  test("--schemas replaces the exposed schemas", async () => {
    const report = parseReport(await audit(flawedDb, "--format", "json", "--fail-on", "none", "--schemas", "app_private"));
    const rlsDisabled = report.findings.filter((f) => f.check === "rls-disabled").map(qualified);
    expect(rlsDisabled).toEqual(["app_private.pd_notes"]);
  });

  test("--bypassrls-roles replaces the roles allowed to bypass RLS", () => {
    expect(flawed.report.findings.filter((f) => f.check === "bypassrls-role")).not.toEqual([]);
    expect(bypassAllowed.findings.filter((f) => f.check === "bypassrls-role")).toEqual([]);
  });

  test("--financial-tables and --append-only replace the default lists", async () => {
    const report = parseReport(
      await audit(
        cleanDb,
        "--format",
        "json",
        "--fail-on",
        "none",
        "--financial-tables",
        "public.rd_closed,mt_items",
        "--append-only",
        "at_posts",
      ),
    );
    const forced = report.findings.filter((f) => f.check === "force-rls-missing").map(qualified).sort();
    expect(forced).toEqual(["public.mt_items", "public.rd_closed"]);
    const writable = report.findings.filter((f) => f.check === "ledger-write-privilege").map(qualified);
    expect(writable).toEqual(["public.at_posts"]);
  });
});

describe("allow-list", () => {
  test("accepted findings are still reported, marked, and no longer fail the run", async () => {
    const errors = flawed.report.findings.filter((f) => f.severity === "error" && f.check !== "bypassrls-role");
    const file = join(work, "accept-errors.json");
    const accepted = errors.map((f) => ({ check: f.check, object: qualified(f), reason: "fixture flaw accepted by the test" }));
    writeFileSync(file, JSON.stringify({ accepted }));
    const run = await runCli(["--db-url", urlFor(flawedDb), "--allow-list", file, "--format", "json"]);
    const report = parseReport(run);
    expect(run.code).toBe(0);
    expect(report.findings.filter((f) => f.severity === "error")).toHaveLength(errors.length);
    for (const f of report.findings.filter((x) => x.severity === "error")) {
      expect(f.accepted).toBe(true);
      expect(f.reason).toBe("fixture flaw accepted by the test");
    }
    expect(report.summary.accepted).toBe(errors.length);
    expect(report.summary.error).toBe(0);
    const failOnWarn = await runCli(["--db-url", urlFor(flawedDb), "--allow-list", file, "--fail-on", "warn"]);
    expect(failOnWarn.code).toBe(1);
  });

  test("a function entry without arguments accepts it; stale entries are named on stderr", async () => {
    const file = join(work, "accept-function.json");
    writeFileSync(
      file,
      JSON.stringify({
        accepted: [
          { check: "secdef-executable", object: "public.se_open", reason: "checks its caller in the body" },
          { check: "rls-disabled", object: "public.no_such_table", reason: "entry that matches nothing" },
        ],
      }),
    );
    const run = await runCli(["--db-url", urlFor(flawedDb), "--allow-list", file, "--format", "json", "--fail-on", "none"]);
    const seOpen = parseReport(run).findings.find((f) => f.object === "se_open(p_id integer)");
    expect(seOpen?.accepted).toBe(true);
    expect(run.stderr).toContain("allow-list entry rls-disabled public.no_such_table matched no finding");
  });

  test("2 for an allow-list entry without a reason", async () => {
    const file = join(work, "no-reason.json");
    writeFileSync(file, JSON.stringify({ accepted: [{ check: "rls-disabled", object: "public.rd_open" }] }));
    const run = await runCli(["--db-url", urlFor(flawedDb), "--allow-list", file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^rls-audit: allow-list .* is invalid: accepted\.0\.reason: /);
  });
});

describe.concurrent("formats", () => {
  test("sarif validates against the SARIF 2.1.0 schema and names each object", async () => {
    const output = join(work, "report.sarif");
    const run = await audit(flawedDb, "--format", "sarif", "--output", output, "--fail-on", "none");
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("");
    const log = JSON.parse(readFileSync(output, "utf8"));
    // The schema is draft-04 and its patterns predate the regex `u` flag.
    const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
    addFormats(ajv);
    const validate = ajv.compile(sarifSchema);
    expect(validate(log), JSON.stringify(validate.errors)).toBe(true);
    const [sarifRun] = log.runs;
    expect(sarifRun.tool.driver.rules.map((r: { id: string }) => r.id)).toEqual(checks.map((c) => c.id));
    const jsonFindings = flawed.report.findings.filter((f) => f.check !== "bypassrls-role");
    expect(sarifRun.results).toHaveLength(jsonFindings.length);
    const levels = { error: "error", warn: "warning", info: "note" } as const;
    const sqlLines = readFileSync(auditSqlPath, "utf8").split("\n");
    for (const f of jsonFindings) {
      const result = sarifRun.results.find(
        (r: { ruleId: string; locations: { logicalLocations: { fullyQualifiedName: string }[] }[] }) =>
          r.ruleId === f.check && r.locations[0].logicalLocations[0].fullyQualifiedName === qualified(f),
      );
      expect(result?.level).toBe(levels[f.severity]);
      expect(result?.locations[0].physicalLocation.artifactLocation.uri).toBe("sql/rls-audit.sql");
      const line = result?.locations[0].physicalLocation.region.startLine;
      expect(sqlLines[line - 1]).toBe(`  -- check: ${f.check}`);
    }
  });

  test("markdown has one table row per finding", async () => {
    const run = await audit(flawedDb, "--format", "markdown", "--fail-on", "none");
    const rows = run.stdout.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| severity"));
    const jsonFindings = flawed.report.findings.filter((f) => f.check !== "bypassrls-role");
    expect(rows).toHaveLength(jsonFindings.length);
    for (const row of rows) {
      const cells = row.slice(2, -2).split(/(?<!\\) \| /);
      expect(cells).toHaveLength(6);
      expect(["error", "warn", "info"]).toContain(cells[0]);
      expect(checks.map((c) => `\`${c.id}\``)).toContain(cells[1]);
    }
    expect(run.stdout).toContain("`public.rd_open`");
  });

  test("table prints a header, one line per finding and a summary (and --fail-on none exits 0)", async () => {
    const run = await audit(flawedDb, "--fail-on", "none");
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^SEVERITY\s+CHECK\s+OBJECT\s+STATUS\s+DETAIL$/);
    const jsonFindings = flawed.report.findings.filter((f) => f.check !== "bypassrls-role");
    expect(lines.filter((l) => /^(error|warn|info) /.test(l))).toHaveLength(jsonFindings.length);
    expect(lines.at(-1)).toMatch(/^\d+ findings: \d+ error, \d+ warn, 0 info open; 0 accepted$/);
  });
});
