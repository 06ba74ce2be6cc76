// The shape every benchmark returns, and the docs/BENCHMARKS.md writer.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";

export interface Figure {
  name: string;
  value: number;
  unit: string;
}

/** A measured ratio next to its target (the targets are listed in docs/BENCHMARKS.md). */
export interface Ratio {
  name: string;
  value: number;
  /** The least the ratio may be (the most with `atMost`); none: reported only. */
  target?: number;
  atMost?: boolean;
  /** The measured figure and its baseline, as written in the targets table (e.g. "1,535/s"). */
  measured?: string;
  baseline?: string;
  /** What limits the figure when the target is missed (filled in by the benchmark). */
  limitedBy?: string;
}

/** Whether a ratio meets its target (a ratio without one has nothing to miss). */
export function meetsTarget(ratio: Ratio): boolean {
  if (ratio.target === undefined) return true;
  return ratio.atMost ? ratio.value <= ratio.target : ratio.value >= ratio.target;
}

function describeTarget(ratio: Ratio): string {
  if (ratio.target === undefined) return "none";
  return `${ratio.atMost ? "<=" : ">="} ${ratio.target}`;
}

export interface BenchmarkResult {
  title: string;
  figures: Figure[];
  ratios: Ratio[];
  notes: string[];
}

export interface Machine {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  postgres: string;
}

export function describeMachine(postgresVersion: string): Machine {
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    postgres: postgresVersion,
  };
}

export function formatNumber(value: number): string {
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString("en-US");
  return value.toFixed(value < 10 ? 2 : 1);
}

/** Latency percentiles of a sample (milliseconds in, milliseconds out). */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export function writeBenchmarksMarkdown(file: string, machine: Machine, command: string, results: BenchmarkResult[]): void {
  const date = new Date().toISOString().replace("T", " ").slice(0, 16) + " UTC";
  let commit = "unknown";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
  } catch {
    // not a git checkout: the commit stays unknown
  }
  const lines = [
    "# Benchmarks",
    "",
    `Written by \`${command}\` on ${date} at commit ${commit}. All figures come from one run on one machine,`,
    "so the ratios compare like with like; absolute numbers vary between machines and runs.",
    "",
    `Machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB memory, ${machine.postgres}.`,
    "",
    "## Targets",
    "",
    "| figure | measured | baseline | ratio | target | met |",
    "|---|---|---|---|---|---|",
    ...results.flatMap((result) =>
      result.ratios.map((ratio) =>
        `| ${ratio.name} | ${ratio.measured ?? ""} | ${ratio.baseline ?? ""} | ${formatNumber(ratio.value)} | ${describeTarget(ratio)} | ${
          ratio.target === undefined ? "" : meetsTarget(ratio) ? "yes" : "no"
        } |`
      )
    ),
    "",
  ];
  for (const result of results) {
    lines.push(`## ${result.title}`, "", "| figure | value | unit |", "|---|---|---|");
    for (const figure of result.figures) lines.push(`| ${figure.name} | ${formatNumber(figure.value)} | ${figure.unit} |`);
    const missed = result.ratios.filter((ratio) => !meetsTarget(ratio));
    for (const ratio of missed) {
      lines.push(
        "",
        `Missed: ${ratio.name} is ${formatNumber(ratio.value)} against ${describeTarget(ratio)}. ${ratio.limitedBy ?? ""}`.trimEnd(),
      );
    }
    if (result.notes.length > 0) lines.push("", ...result.notes);
    lines.push("");
  }
  writeFileSync(file, lines.join("\n") + keptHistory(file));
}

/** The page's "History" section (measurements of earlier designs, written by hand), which a new run keeps. */
function keptHistory(file: string): string {
  if (!existsSync(file)) return "";
  const page = readFileSync(file, "utf8");
  const start = page.indexOf("\n## History\n");
  return start < 0 ? "" : page.slice(start + 1);
}
