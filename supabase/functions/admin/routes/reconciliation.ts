// GET /admin/reconciliation?provider=&from=&to=: every mismatch between provider records and
// ledger credits (api_private.reconciliation), with a count per kind, and apart from them the
// needs_review payments an admin rejected. Not paginated: the answer
// is the complete list for the window, which is what a reconciliation has to be.
import { z } from "zod";
import { parseOrThrow } from "../../_shared/errors.ts";
import { allowMethods } from "../../_shared/middleware.ts";
import type { AdminApp, AdminRoutes } from "../types.ts";
import { FROM_BEFORE_TO, fromBeforeTo, timestampParam } from "../params.ts";

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
] as const;

export function registerReconciliationRoutes(app: AdminApp, routes: AdminRoutes): void {
  app.get("/reconciliation", async (c) => {
    const query = parseOrThrow(reconciliationQuery, c.req.query());
    const rows = await routes.asCaller(c, (tx) =>
      tx<{ mismatch: { kind: string } }[]>`
      select to_jsonb(r) as mismatch
        from api_private.reconciliation(${query.provider ?? null}, ${query.from ?? null}::timestamptz,
                                      ${query.to ?? null}::timestamptz) r`);
    // Rejected payments are decisions, not mismatches: listed apart, they leave the books balanced.
    const mismatches = rows.map((row) => row.mismatch).filter((m) => m.kind !== "rejected");
    const rejected = rows.map((row) => row.mismatch).filter((m) => m.kind === "rejected");
    const counts = Object.fromEntries(MISMATCH_KINDS.map((kind) => [kind, mismatches.filter((m) => m.kind === kind).length]));
    return c.json({
      provider: query.provider ?? null,
      from: query.from ?? null,
      to: query.to ?? null,
      balanced: mismatches.length === 0,
      counts,
      mismatches,
      rejected,
    });
  });
  app.all("/reconciliation", allowMethods("GET"));
}
