// GET /admin/whatsapp-outbox?status=&purpose=: outbound WhatsApp messages, newest first,
// without their bodies (a conversation is not an operations record);
// POST /admin/whatsapp-outbox/:id/replay: queue a dead message again (admins only; the next
// whatsapp-send run sends it). Support may list.
import { z } from "zod";
import { allowMethods } from "../../_shared/middleware.ts";
import type { AdminApp, AdminRoutes, Row } from "../types.ts";
import { idempotentMutation, keyOnlyBody } from "../mutation.ts";
import { registerListRoute } from "../list-route.ts";
import { pathId } from "../params.ts";

export function registerWhatsAppOutboxRoutes(app: AdminApp, routes: AdminRoutes): void {
  registerListRoute(app, routes, {
    path: "/whatsapp-outbox",
    from: (tx) => tx`to_jsonb(o) - 'body' as item from public.whatsapp_outbox o`,
    alias: "o",
    sortedBy: "created_at",
    filters: {
      status: z.enum(["queued", "sending", "sent", "delivered", "read", "failed", "dead"]).optional(),
      purpose: z.enum(["reply", "notification"]).optional(),
    },
  });

  app.post("/whatsapp-outbox/:id/replay", (c) => {
    const id = pathId(c);
    return idempotentMutation(c, routes, keyOnlyBody, async (tx) => {
      const [row] = await tx<{ message: Row }[]>`
        select to_jsonb(o) - 'body' as message from api_private.whatsapp_outbox_replay(${id}::uuid) o`;
      return { status: 200, body: { message: row!.message } };
    });
  });
  app.all("/whatsapp-outbox/:id/replay", allowMethods("POST"));
}
