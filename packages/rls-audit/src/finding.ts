import type { Severity } from "./checks.ts";

/** One row of sql/rls-audit.sql, plus whether the allow-list accepts it. */
export interface Finding {
  check: string;
  severity: Severity;
  schema: string | null;
  object: string;
  detail: string;
  remediation: string;
  accepted: boolean;
  /** The allow-list's reason, for accepted findings. */
  reason: string | null;
}

/** schema.object, or the object alone for objects outside schemas (roles). */
export function qualifiedName(f: Pick<Finding, "schema" | "object">): string {
  return f.schema === null ? f.object : `${f.schema}.${f.object}`;
}
