// SARIF 2.1.0 for GitHub code scanning. Each result names the audited object as a logical
// location and points at the check's section of sql/rls-audit.sql (code scanning needs a
// physical location). Accepted findings carry an external suppression with the allow-list reason.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Log, ReportingDescriptor, Result } from "sarif";
import { checks, type Severity } from "../checks.ts";
import { qualifiedName } from "../finding.ts";
import { auditSqlPath, auditSqlUri } from "../paths.ts";
import type { Report } from "../report.ts";

const levels: Record<Severity, Result.level> = { error: "error", warn: "warning", info: "note" };

/** The line of each `-- check: <id>` marker in the audit SQL. */
function checkLines(): Map<string, number> {
  const lines = readFileSync(auditSqlPath, "utf8").split("\n");
  const found = new Map<string, number>();
  lines.forEach((text, index) => {
    const match = /^\s*-- check: ([a-z0-9-]+)\s*$/.exec(text);
    if (match) found.set(match[1], index + 1);
  });
  return found;
}

export function renderSarif(report: Report): string {
  const lineOf = checkLines();
  const rules: ReportingDescriptor[] = checks.map((c) => ({
    id: c.id,
    name: c.id.replace(/(^|-)([a-z])/g, (_, __, ch: string) => ch.toUpperCase()),
    shortDescription: { text: c.title },
    fullDescription: { text: c.help },
    help: { text: `${c.help} Severity: ${c.severity}.` },
    properties: { tags: ["security", "postgres", "rls"] },
  }));
  const ruleIndex = new Map(checks.map((c, i) => [c.id, i]));
  const results: Result[] = report.findings.map((f) => {
    const name = qualifiedName(f);
    const result: Result = {
      ruleId: f.check,
      level: levels[f.severity],
      message: { text: `${f.detail} Remediation: ${f.remediation}` },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: auditSqlUri, uriBaseId: "%SRCROOT%" },
            region: { startLine: lineOf.get(f.check) ?? 1 },
          },
          logicalLocations: [{ fullyQualifiedName: name, name: f.object, kind: f.schema === null ? "role" : "object" }],
        },
      ],
      partialFingerprints: {
        "rlsAuditFinding/v1": createHash("sha256").update(`${f.check}\0${name}`).digest("hex"),
      },
    };
    const index = ruleIndex.get(f.check);
    if (index !== undefined) result.ruleIndex = index;
    if (f.accepted) result.suppressions = [{ kind: "external", justification: f.reason ?? "" }];
    return result;
  });
  const log: Log = {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "mfuko-rls-audit",
            semanticVersion: "0.1.0",
            rules,
          },
        },
        results,
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
