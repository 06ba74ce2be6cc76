// `npm run rls:audit -- --db-url <url>`: audits a database and prints or writes the report.
// Exit 0: nothing open at or above --fail-on; 1: something is; 2: the audit could not run.
import { existsSync, writeFileSync } from "node:fs";
import { type AllowListEntry, AllowListError, applyAllowList, loadAllowList } from "./allow-list.ts";
import { CannotConnectError, runAudit } from "./audit.ts";
import { severityRank } from "./checks.ts";
import { renderJson } from "./formats/json.ts";
import { renderMarkdown } from "./formats/markdown.ts";
import { renderSarif } from "./formats/sarif.ts";
import { renderTable } from "./formats/table.ts";
import { type Format, type Options, parseOptions, usage, UsageError } from "./options.ts";
import { defaultAllowListPath } from "./paths.ts";
import { type Report, summaryLine } from "./report.ts";

const renderers: Record<Format, (report: Report) => string> = {
  table: renderTable,
  json: renderJson,
  markdown: renderMarkdown,
  sarif: renderSarif,
};

function allowListEntries(options: Options): AllowListEntry[] {
  if (options.allowList !== null) return loadAllowList(options.allowList);
  return existsSync(defaultAllowListPath) ? loadAllowList(defaultAllowListPath) : [];
}

async function main(argv: string[]): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(argv, process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`rls-audit: ${error.message}\n\n${usage}\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  try {
    const entries = allowListEntries(options);
    const { serverVersion, findings } = await runAudit(options.dbUrl, options);
    for (const stale of applyAllowList(findings, entries)) {
      process.stderr.write(`rls-audit: allow-list entry ${stale.check} ${stale.object} matched no finding\n`);
    }
    const report: Report = { generatedAt: new Date().toISOString(), serverVersion, findings };
    const text = renderers[options.format](report);
    if (options.output === null) {
      process.stdout.write(text);
    } else {
      writeFileSync(options.output, text);
      process.stderr.write(`rls-audit: ${summaryLine(findings)}; report written to ${options.output}\n`);
    }
    const threshold = options.failOn === "none" ? Number.POSITIVE_INFINITY : severityRank[options.failOn];
    return findings.some((f) => !f.accepted && severityRank[f.severity] >= threshold) ? 1 : 0;
  } catch (error) {
    if (error instanceof CannotConnectError || error instanceof AllowListError) {
      process.stderr.write(`rls-audit: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(`rls-audit: the audit query failed: ${(error as Error).message}\n`);
    return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
