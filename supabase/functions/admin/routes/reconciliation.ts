// GET /admin/reconciliation?provider=&from=&to=: every mismatch between provider records and
// ledger credits (api_private.reconciliation), with a count per kind, and apart from them the
// needs_review payments an admin resolved (rejected or credited), the refunds the platform
// bore for a closed account (refund_borne), the failed refunds whose money is owed to a
// closed account's former owner (refund_failed_owed) and those an admin paid out to them
// another way (refund_owed_paid_out). Not paginated: the answer
// is the complete list for the window, which is what a reconciliation has to be.
// GET /admin/reconciliation/reports: the nightly reconcile job's stored reports, newest first,
// each with its counts; GET /admin/reconciliation/reports/:date: one day's whole report
// (api_private.reconciliation_reports).
import { z } from "zod";
import { HttpError, parseOrThrow } from "../../_shared/errors.ts";
import { allowMethods } from "../../_shared/middleware.ts";
import type { AdminApp, AdminContext, AdminRoutes, Row } from "../types.ts";
import { cursorSchema, limitSchema, page } from "../pagination.ts";
import { dateParam, FROM_BEFORE_TO, fromBeforeTo, timestampParam } from "../params.ts";

const reconciliationQuery = z.strictObject({
  provider: z.enum(["stripe", "momo", "revolut"]).optional(),
  from: timestampParam.optional(),
  to: timestampParam.optional(),
}).refine(fromBeforeTo, FROM_BEFORE_TO);

export const MISMATCH_KINDS = [
  "missing_credit",
  "credit_without_payment",
  "amount_differs",
  "reversal_differs",
  "refund_pending",
  "cashout_pending",
  "revolut_dispute_lost",
] as const;

/**
 * Rows that are no mismatch, listed apart from them: an admin's resolutions of needs_review
 * payments (decisions), refunds the platform bore because the credited account was closed
 * (a loss the ledger recorded, decision 0026), refunds that failed after the account they
 * were taken from closed (money owed to its former owner, decision 0027), and those of them an
 * admin paid out to the former owner another way (POST /admin/refunds/:id/paid-out).
 */
const RESOLUTION_KINDS = ["rejected", "credited", "refund_borne", "refund_failed_owed", "refund_owed_paid_out"] as const;

const reportDate = dateParam;
const reportsQuery = z.strictObject({
  limit: limitSchema,
  cursor: cursorSchema(z.strictObject({ report_date: reportDate })),
});

interface StoredReport extends Row {
  report_date: string;
  invariant_violations: Row[];
  reconciliation_findings: { kind: string }[];
  resolutions: { kind: string }[];
  undelivered_messages: number;
}

/** How many of `rows` are of each of `kinds`. */
const countsByKind = (rows: { kind: string }[], kinds: readonly string[]) =>
  Object.fromEntries(kinds.map((kind) => [kind, rows.filter((row) => row.kind === kind).length]));

/** A stored report's counts: its invariant violations, its findings per mismatch kind, its resolutions per kind, and the WhatsApp messages that died. */
function reportCounts(report: StoredReport) {
  return {
    invariant_violations: report.invariant_violations.length,
    ...countsByKind(report.reconciliation_findings, MISMATCH_KINDS),
    ...countsByKind(report.resolutions, RESOLUTION_KINDS),
    undelivered_messages: report.undelivered_messages,
  };
}

function readReports(routes: AdminRoutes, c: AdminContext, date: string | null, before: string | null, limit: number) {
  return routes.asCaller(c, (tx) =>
    tx<{ report: StoredReport }[]>`
    select r as report from api_private.reconciliation_reports(${date}::date, ${before}::date, ${limit}::integer) r`);
}

export function registerReconciliationRoutes(app: AdminApp, routes: AdminRoutes): void {
  app.get("/reconciliation", async (c) => {
    const query = parseOrThrow(reconciliationQuery, c.req.query());
    const rows = await routes.asCaller(c, (tx) =>
      tx<{ finding: { kind: string }; mismatch: boolean }[]>`
      select to_jsonb(r) as finding, api_private.reconciliation_mismatch(r.kind) as mismatch
        from api_private.reconciliation(${query.provider ?? null}, ${query.from ?? null}::timestamptz,
                                      ${query.to ?? null}::timestamptz) r`);
    // An admin's resolutions are decisions, not mismatches: listed apart, they leave the books
    // balanced. The database says which is which, as it does for the reconcile job's alert.
    const mismatches = rows.filter((row) => row.mismatch).map((row) => row.finding);
    const resolutions = rows.filter((row) => !row.mismatch).map((row) => row.finding);
    const counts = countsByKind(mismatches, MISMATCH_KINDS);
    return c.json({
      provider: query.provider ?? null,
      from: query.from ?? null,
      to: query.to ?? null,
      balanced: mismatches.length === 0,
      counts,
      mismatches,
      resolutions,
    });
  });
  app.all("/reconciliation", allowMethods("GET"));

  app.get("/reconciliation/reports", async (c) => {
    const query = parseOrThrow(reportsQuery, c.req.query());
    const rows = await readReports(routes, c, null, query.cursor?.report_date ?? null, query.limit + 1);
    const summaries = rows.map(({ report }) => ({
      report_date: report.report_date,
      created_at: report.created_at,
      findings: report.findings,
      counts: reportCounts(report),
    }));
    return c.json(page(summaries, query.limit, (summary) => ({ report_date: summary.report_date })));
  });
  app.all("/reconciliation/reports", allowMethods("GET"));

  app.get("/reconciliation/reports/:date", async (c) => {
    const date = parseOrThrow(z.object({ date: reportDate }), { date: c.req.param("date") }).date;
    const [row] = await readReports(routes, c, date, null, 1);
    if (!row) throw new HttpError(404, "not_found", `No reconciliation report for ${date}.`);
    return c.json({ report: { ...row.report, counts: reportCounts(row.report) } });
  });
  app.all("/reconciliation/reports/:date", allowMethods("GET"));
}
