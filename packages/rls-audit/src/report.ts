import type { Severity } from "./checks.ts";
import type { Finding } from "./finding.ts";

export interface Report {
  generatedAt: string;
  serverVersion: string;
  findings: Finding[];
}

export interface Summary {
  error: number;
  warn: number;
  info: number;
  accepted: number;
}

export function summarize(findings: Finding[]): Summary {
  const summary: Summary = { error: 0, warn: 0, info: 0, accepted: 0 };
  for (const f of findings) {
    if (f.accepted) summary.accepted += 1;
    else summary[f.severity satisfies Severity] += 1;
  }
  return summary;
}

export function summaryLine(findings: Finding[]): string {
  const s = summarize(findings);
  return `${findings.length} finding${
    findings.length === 1 ? "" : "s"
  }: ${s.error} error, ${s.warn} warn, ${s.info} info open; ${s.accepted} accepted`;
}
