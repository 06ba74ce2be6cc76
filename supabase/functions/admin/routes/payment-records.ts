// What support needs to answer "my top-up never arrived", "was I charged twice" and "where is
// my cash-out", read as the caller (admin and support read every row through RLS):
// GET /admin/payment-intents?user_id=&account_id=&provider=&status=  top-up requests, newest first
// GET /admin/payment-intents/:id  one intent with its payments (and their refunds), the
//                                 provider's mirror rows and the webhook events that name it
// GET /admin/payments?status=&provider=&user_id=&intent_id=  confirmed payments, newest first
//                                 (status=needs_review: the payments held for review)
// GET /admin/payments/:id         one payment with its refunds (pending ones included)
// GET /admin/cashouts?user_id=&account_id=&status=  cash-outs to MoMo, newest first
// Provider payloads (payments.raw, the mirrors' raw columns) are left out: a webhook event's
// stored payload is GET /admin/webhook-events/:id.
import type { Fragment } from "postgres";
import { z } from "zod";
import type { TransactionSql } from "../../_shared/db.ts";
import { HttpError } from "../../_shared/errors.ts";
import { allowMethods } from "../../_shared/middleware.ts";
import type { AdminApp, AdminRoutes, Row } from "../types.ts";
import { registerListRoute } from "../list-route.ts";
import { pathId, uuidParam } from "../params.ts";

const provider = z.enum(["stripe", "momo", "revolut"]).optional();

/** The payment without its raw provider payload, with its refunds, oldest first. */
function paymentsWithRefunds(tx: TransactionSql, where: Fragment) {
  return tx<{ payment: Row }[]>`
    select (to_jsonb(p) - 'raw') || jsonb_build_object('refunds', coalesce(
             (select jsonb_agg(to_jsonb(r) order by r.created_at, r.id) from public.refunds r where r.payment_id = p.id),
             '[]'::jsonb)) as payment
      from public.payments p
     where ${where}
     order by p.created_at, p.id`;
}

export function registerPaymentRecordRoutes(app: AdminApp, routes: AdminRoutes): void {
  registerListRoute(app, routes, {
    path: "/payment-intents",
    from: (tx) => tx`to_jsonb(i) as item from public.payment_intents i`,
    alias: "i",
    sortedBy: "created_at",
    filters: {
      user_id: uuidParam.optional(),
      account_id: uuidParam.optional(),
      provider,
      status: z.enum(["requires_payment", "processing", "succeeded", "failed", "canceled"]).optional(),
    },
  });

  app.get("/payment-intents/:id", async (c) => {
    const id = pathId(c);
    const found = await routes.asCaller(c, async (tx) => {
      const [intent] = await tx<{ intent: Row & { provider: string; provider_ref: string | null; created_at: string } }[]>`
        select to_jsonb(i) as intent from public.payment_intents i where i.id = ${id}::uuid`;
      if (!intent) return null;
      const payments = await paymentsWithRefunds(tx, tx`p.intent_id = ${id}::uuid`);
      const mirrors = await tx<{ row: Row }[]>`
        select to_jsonb(m) - 'raw_callback' || jsonb_build_object('mirror', 'momo_transactions') as row
          from public.momo_transactions m where m.intent_id = ${id}::uuid
        union all
        select to_jsonb(r) - 'raw_payload' || jsonb_build_object('mirror', 'revolut_transactions')
          from public.revolut_transactions r where r.intent_id = ${id}::uuid`;
      // The provider's deliveries about the intent's reference, which arrive after the intent
      // exists (the received_at index bounds the scan): MoMo and Revolut ids start with the
      // reference, Stripe's events carry the PaymentIntent as their object or its field.
      const ref = intent.intent.provider_ref;
      const events = ref === null ? [] : await tx<{ event: Row }[]>`
        select to_jsonb(e) - 'payload' as event
          from public.webhook_events e
         where e.received_at >= ${intent.intent.created_at}::timestamptz
           and e.provider = ${intent.intent.provider}
           and (starts_with(e.event_id, ${ref} || ':')
                or e.payload #>> '{data,object,id}' = ${ref}
                or e.payload #>> '{data,object,payment_intent}' = ${ref})
         order by e.received_at, e.id`;
      return {
        intent: intent.intent,
        payments: payments.map((row) => row.payment),
        provider_records: mirrors.map((row) => row.row),
        webhook_events: events.map((row) => row.event),
      };
    });
    if (!found) throw new HttpError(404, "not_found", `Payment intent ${id} not found.`);
    return c.json(found);
  });
  app.all("/payment-intents/:id", allowMethods("GET"));

  registerListRoute(app, routes, {
    path: "/payments",
    from: (tx) => tx`to_jsonb(p) - 'raw' as item from public.payments p`,
    alias: "p",
    sortedBy: "created_at",
    filters: {
      status: z.enum(["succeeded", "needs_review", "rejected", "refunded", "partially_refunded"]).optional(),
      provider,
      user_id: uuidParam.optional(),
      intent_id: uuidParam.optional(),
    },
  });

  app.get("/payments/:id", async (c) => {
    const id = pathId(c);
    const [found] = await routes.asCaller(c, (tx) => paymentsWithRefunds(tx, tx`p.id = ${id}::uuid`));
    if (!found) throw new HttpError(404, "not_found", `Payment ${id} not found.`);
    return c.json({ payment: found.payment });
  });
  app.all("/payments/:id", allowMethods("GET"));

  registerListRoute(app, routes, {
    path: "/cashouts",
    from: (tx) => tx`to_jsonb(k) as item from public.cashouts k`,
    alias: "k",
    sortedBy: "created_at",
    filters: {
      user_id: uuidParam.optional(),
      account_id: uuidParam.optional(),
      status: z.enum(["pending", "paid", "failed"]).optional(),
    },
  });
}
