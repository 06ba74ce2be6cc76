// GET /admin/users?phone= | ?email=: the people a support case names, found by the phone
// number or the email address they give (api_private.user_lookup: Auth phone or WhatsApp
// number, email case-insensitively), each with their WhatsApp number, staff role and wallet
// accounts. Admin and support. The phone is never logged: the request line is logged without
// its query (docs/EDGE_FUNCTIONS.md).
import { z } from "zod";
import { parseOrThrow } from "../../_shared/errors.ts";
import { allowMethods } from "../../_shared/middleware.ts";
import type { AdminApp, AdminRoutes, Row } from "../types.ts";

// A '+' left unencoded in a query string reads as a space (`?phone=+250...`): trimmed away.
const lookupQuery = z.strictObject({
  phone: z.string().trim().max(255).regex(/^\+?[0-9][0-9 ().-]*$/, "must be a phone number such as +250788123456").optional(),
  email: z.string().trim().pipe(z.email({ error: "must be an email address" }).max(255)).optional(),
}).refine((q) => (q.phone === undefined) !== (q.email === undefined), {
  path: ["phone"],
  message: "give exactly one of phone and email",
});

export function registerUserRoutes(app: AdminApp, routes: AdminRoutes): void {
  app.get("/users", async (c) => {
    const query = parseOrThrow(lookupQuery, c.req.query());
    const rows = await routes.asCaller(c, (tx) =>
      tx<{ user: Row }[]>`
      select to_jsonb(u) as user from api_private.user_lookup(${query.phone ?? null}, ${query.email ?? null}) u`);
    return c.json({ data: rows.map((row) => row.user) });
  });
  app.all("/users", allowMethods("GET"));
}
