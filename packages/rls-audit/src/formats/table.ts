// Plain aligned columns for a terminal.
import { qualifiedName } from "../finding.ts";
import { type Report, summaryLine } from "../report.ts";

export function renderTable(report: Report): string {
  const header = ["SEVERITY", "CHECK", "OBJECT", "STATUS", "DETAIL"];
  const rows = report.findings.map((f) => [
    f.severity,
    f.check,
    qualifiedName(f),
    f.accepted ? "accepted" : "open",
    f.detail,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join("  ");
  const body = rows.length === 0 ? ["no findings"] : [line(header), ...rows.map(line)];
  return `${body.join("\n")}\n\n${summaryLine(report.findings)}\n`;
}
