// GET /admin/audit?table=&record_id=&actor_id=&from=&to=: the audit trail, newest first,
// read through api_private.audit_log (audit.log is outside the API; admin and support only).
import { z } from "zod";
import { parseOrThrow } from "../../_shared/errors.ts";
import { allowMethods } from "../../_shared/middleware.ts";
import type { AdminApp, AdminRoutes } from "../types.ts";
import { cursorSchema, limitSchema, page } from "../pagination.ts";
import { FROM_BEFORE_TO, fromBeforeTo, textParam, timestampParam, uuidParam } from "../params.ts";

const auditQuery = z.strictObject({
  table: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a table name").optional(),
  record_id: textParam.optional(),
  actor_id: uuidParam.optional(),
  from: timestampParam.optional(),
  to: timestampParam.optional(),
  limit: limitSchema,
  cursor: cursorSchema(z.strictObject({ id: z.number().int().positive() })),
}).refine((q) => q.record_id === undefined || q.table !== undefined, {
  path: ["record_id"],
  message: "needs table",
}).refine(fromBeforeTo, FROM_BEFORE_TO);

export function registerAuditRoutes(app: AdminApp, routes: AdminRoutes): void {
  app.get("/audit", async (c) => {
    const query = parseOrThrow(auditQuery, c.req.query());
    const rows = await routes.asCaller(c, (tx) =>
      tx<{ entry: Record<string, unknown> }[]>`
      select r as entry
        from api_private.audit_log(${query.table ?? null}, ${query.record_id ?? null}, ${query.actor_id ?? null}::uuid,
                                 ${query.from ?? null}::timestamptz, ${query.to ?? null}::timestamptz,
                                 ${query.cursor?.id ?? null}::bigint, ${query.limit + 1}::integer) r`);
    return c.json(page(rows.map((row) => row.entry), query.limit, (entry) => ({ id: entry.id })));
  });
  app.all("/audit", allowMethods("GET"));
}
