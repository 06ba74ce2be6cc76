// GitHub-flavoured markdown for a job summary or a pull-request comment.
import { qualifiedName } from "../finding.ts";
import { type Report, summaryLine } from "../report.ts";

function cell(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

function code(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}

export function renderMarkdown(report: Report): string {
  const lines = [
    "## RLS and security audit",
    "",
    `PostgreSQL ${report.serverVersion}, ${report.generatedAt}. ${summaryLine(report.findings)}.`,
    "",
  ];
  if (report.findings.length === 0) {
    lines.push("No findings.");
  } else {
    lines.push("| severity | check | object | status | detail | remediation |");
    lines.push("|---|---|---|---|---|---|");
    for (const f of report.findings) {
      const status = f.accepted ? `accepted: ${f.reason ?? ""}` : "open";
      lines.push(
        `| ${f.severity} | ${code(f.check)} | ${cell(code(qualifiedName(f)))} | ${cell(status)} | ${cell(f.detail)} | ${
          cell(code(f.remediation))
        } |`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}
