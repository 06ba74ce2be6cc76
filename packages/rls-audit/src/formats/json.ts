import { type Report, summarize } from "../report.ts";

export function renderJson(report: Report): string {
  return `${
    JSON.stringify(
      {
        tool: "@mfuko/rls-audit",
        generatedAt: report.generatedAt,
        serverVersion: report.serverVersion,
        summary: summarize(report.findings),
        findings: report.findings,
      },
      null,
      2,
    )
  }\n`;
}
