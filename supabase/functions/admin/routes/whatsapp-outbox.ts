// GET /admin/whatsapp-outbox?status=&purpose=: outbound WhatsApp messages, newest first,
// without their bodies (a conversation is not an operations record);
// POST /admin/whatsapp-outbox/:id/replay: queue a dead message again (admins only; the next
// whatsapp-send run sends it). Support may list.
import { z } from "zod";
import { allowMethods } from "../../_shared/middleware.ts";
import type { AdminApp, AdminRoutes } from "../types.ts";
import { idempotencyKeyField, idempotentMutation } from "../mutation.ts";
import { cursorSchema, limitSchema } from "../pagination.ts";
import { registerListRoute } from "../list-route.ts";
import { pathId, timestampParam } from "../params.ts";

type Row = Record<string, unknown>;

const listQuery = z.strictObject({
  status: z.enum(["queued", "sending", "sent", "delivered", "read", "failed", "dead"]).optional(),
  purpose: z.enum(["reply", "notification"]).optional(),
  limit: limitSchema,
  cursor: cursorSchema(z.strictObject({ created_at: timestampParam, id: z.guid() })),
});

const replayBody = z.strictObject({ idempotency_key: idempotencyKeyField });

export function registerWhatsAppOutboxRoutes(app: AdminApp, routes: AdminRoutes): void {
  registerListRoute(app, routes, "/whatsapp-outbox", listQuery, (tx, query) =>
    tx<{ item: Row }[]>`
      select to_jsonb(o) - 'body' as item
        from public.whatsapp_outbox o
       where (${query.status ?? null}::text is null or o.status = ${query.status ?? null})
         and (${query.purpose ?? null}::text is null or o.purpose = ${query.purpose ?? null})
         and (${query.cursor?.created_at ?? null}::timestamptz is null
              or (o.created_at, o.id) < (${query.cursor?.created_at ?? null}::timestamptz, ${query.cursor?.id ?? null}::uuid))
       order by o.created_at desc, o.id desc
       limit ${query.limit + 1}`, (m) => ({ created_at: m.created_at, id: m.id }));

  app.post("/whatsapp-outbox/:id/replay", (c) => {
    const id = pathId(c);
    return idempotentMutation(c, routes, replayBody, async (tx) => {
      const [row] = await tx<{ message: Row }[]>`
        select to_jsonb(o) - 'body' as message from api_private.whatsapp_outbox_replay(${id}::uuid) o`;
      return { status: 200, body: { message: row!.message } };
    });
  });
  app.all("/whatsapp-outbox/:id/replay", allowMethods("POST"));
}
