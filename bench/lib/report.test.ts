// docs/BENCHMARKS.md is rewritten by every `npm run bench`; its hand-written "History" section
// (measurements of designs the code no longer has) must survive the rewrite.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { writeBenchmarksMarkdown } from "./report.ts";

const machine = { cores: 2, cpuModel: "test", memoryGiB: 1, postgres: "PostgreSQL 15" };
const result = { title: "Ledger", figures: [{ name: "transfers/s", value: 1234, unit: "1/s" }], ratios: [], notes: [] };
let dir = "";

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("writeBenchmarksMarkdown", () => {
  it("keeps the History section of the page it replaces, after the new figures", () => {
    dir = mkdtempSync(join(tmpdir(), "bench-report-"));
    const file = join(dir, "BENCHMARKS.md");
    writeFileSync(file, "# Benchmarks\n\nold figures\n\n## History\n\nOne row, 2026-11-22: 0.73.\n");
    writeBenchmarksMarkdown(file, machine, "npm run bench", [result]);
    const page = readFileSync(file, "utf8");
    expect(page).not.toContain("old figures");
    expect(page).toContain("| transfers/s | 1,234 | 1/s |");
    expect(page.endsWith("\n## History\n\nOne row, 2026-11-22: 0.73.\n")).toBe(true);
  });

  it("writes no History section when the page had none, or did not exist", () => {
    dir = mkdtempSync(join(tmpdir(), "bench-report-"));
    const file = join(dir, "BENCHMARKS.md");
    writeBenchmarksMarkdown(file, machine, "npm run bench", [result]);
    expect(readFileSync(file, "utf8")).not.toContain("## History");
  });
});
