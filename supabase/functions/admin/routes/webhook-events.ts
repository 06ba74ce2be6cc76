// GET /admin/webhook-events?provider=&status=&type=: stored deliveries, newest first, without
// their payloads; GET /admin/webhook-events/:id: one event with its payload;
// POST /admin/webhook-events/:id/replay: apply a failed or dead event again (webhook-replay.ts).
import { z } from "zod";
import { HttpError } from "../../_shared/errors.ts";
import { allowMethods } from "../../_shared/middleware.ts";
import type { AdminApp, AdminRoutes, Row } from "../types.ts";
import { idempotentMutation, keyOnlyBody } from "../mutation.ts";
import { registerListRoute } from "../list-route.ts";
import { replayWebhookEvent, storedEventDecoders } from "../webhook-replay.ts";
import { pathId, textParam } from "../params.ts";

export function registerWebhookEventRoutes(app: AdminApp, routes: AdminRoutes): void {
  registerListRoute(app, routes, {
    path: "/webhook-events",
    from: (tx) => tx`to_jsonb(e) - 'payload' as item from public.webhook_events e`,
    alias: "e",
    sortedBy: "received_at",
    filters: {
      provider: z.enum(["whatsapp", "stripe", "momo", "revolut"]).optional(),
      status: z.enum(["received", "processed", "ignored", "failed", "dead"]).optional(),
      type: textParam.optional(),
    },
  });

  app.get("/webhook-events/:id", async (c) => {
    const id = pathId(c);
    const [row] = await routes.asCaller(c, (tx) =>
      tx<{ event: Row }[]>`
      select to_jsonb(e) as event from public.webhook_events e where e.id = ${id}::uuid`);
    if (!row) throw new HttpError(404, "not_found", `Webhook event ${id} not found.`);
    return c.json({ event: row.event });
  });
  app.all("/webhook-events/:id", allowMethods("GET"));

  app.post("/webhook-events/:id/replay", (c) => {
    const id = pathId(c);
    return idempotentMutation(c, routes, keyOnlyBody, async (tx) => ({
      status: 200,
      body: await replayWebhookEvent(tx, id, storedEventDecoders(routes.providers())),
    }));
  });
  app.all("/webhook-events/:id/replay", allowMethods("POST"));
}
