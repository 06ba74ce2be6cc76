// reconcile: the ledger invariants and the provider-vs-ledger reconciliation, stored as the
// day's report (api_private.reconcile). Any finding is logged at error level, which is what
// alerting watches; a WhatsApp message to the admins follows once the outbox exists.
import { withRequestContext } from "../_shared/db.ts";
import type { Job } from "./job.ts";

interface Report {
  report_date: string;
  invariant_violations: number;
  reconciliation_findings: number;
}

export const reconcile: Job = async (run) => {
  const [report] = await withRequestContext(run.sql, run.context, (tx) =>
    tx<Report[]>`
    select report_date::text, invariant_violations, reconciliation_findings from api_private.reconcile()`);
  const counts = { ...report! };
  if (counts.invariant_violations > 0 || counts.reconciliation_findings > 0) {
    run.logger.error("reconciliation_findings", { correlation_id: run.context.correlationId, ...counts });
  }
  return counts;
};
