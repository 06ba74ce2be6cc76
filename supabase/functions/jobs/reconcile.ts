// reconcile: the ledger invariants, the provider-vs-ledger reconciliation and the WhatsApp
// messages that died since the last report, stored as the day's report
// (api_private.reconcile). On any finding the same transaction queues a WhatsApp
// alert to every admin with a contact, and the run logs the counts at error level, which is
// what log alerting watches. The alerts are left to the whatsapp-send job (due at once, sent
// within its 10 s): a daily alert gains nothing from a few seconds, and this job then never
// needs the Graph API or its credentials, so a WhatsApp outage cannot fail the run that
// stores the report.
import { withRequestContext } from "../_shared/db.ts";
import type { Job } from "./job.ts";

interface Report {
  report_date: string;
  invariant_violations: number;
  reconciliation_findings: number;
  undelivered_messages: number;
  alerts_queued: number;
}

export const reconcile: Job = async (run) => {
  const [report] = await withRequestContext(run.sql, run.context, (tx) =>
    tx<Report[]>`
    select report_date::text, invariant_violations, reconciliation_findings, undelivered_messages, alerts_queued
      from api_private.reconcile()`);
  const counts = { ...report! };
  if (counts.invariant_violations > 0 || counts.reconciliation_findings > 0 || counts.undelivered_messages > 0) {
    run.logger.error("reconciliation_findings", { correlation_id: run.context.correlationId, ...counts });
  }
  return counts;
};
