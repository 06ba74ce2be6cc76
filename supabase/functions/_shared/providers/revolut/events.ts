// Revolut webhooks as webhook events. Merchant order events (ORDER_*) carry the order id:
// ORDER_COMPLETED credits the order as the Merchant API reports it, ORDER_FAILED and
// ORDER_CANCELLED fail the intent. The same events of a refund order settle the refund as the
// Merchant API reports it (refund-orders.ts). Business API TransactionStateChanged moves the
// mirror row of the transaction. Dedupe keys: order id + event; transaction id + event + new state.
import { z } from "zod";
import type { TransactionSql } from "../../db.ts";
import { parseOrThrow } from "../../errors.ts";
import { bytesToHex } from "../../hmac.ts";
import { jsonb } from "../../webhooks/jsonb.ts";
import { findIntentId, recordPaymentFailure, recordPaymentSuccess } from "../../webhooks/payments.ts";
import type { AppliedOutcome, WebhookEvent } from "../../webhooks/store-then-apply.ts";
import type { RevolutOrder } from "./client.ts";
import { applyRefundOrder, isRefundOrder } from "./refund-orders.ts";
import type { Settled } from "../settled.ts";

const envelope = z.looseObject({ event: z.string().min(1).max(64) });

const orderEvent = z.looseObject({
  event: z.string().startsWith("ORDER_"),
  order_id: z.string().min(1).max(255),
  merchant_order_ext_ref: z.string().max(255).nullish(),
});

const transactionStateChanged = z.looseObject({
  event: z.literal("TransactionStateChanged"),
  timestamp: z.string().optional(),
  data: z.looseObject({
    id: z.string().min(1).max(255),
    old_state: z.string().optional(),
    new_state: z.enum(["created", "pending", "completed", "declined", "failed", "reverted"]),
  }),
});

export type RevolutBody = Record<string, unknown>;
/** The order as the Merchant API reported it, or why it could not be asked. */
export type OrderLookup = Settled<RevolutOrder>;

const FAILED_ORDER_STATES: Record<string, string> = { ORDER_FAILED: "failed", ORDER_CANCELLED: "cancelled" };
/** The order events that can end an order, a refund order included: the order is looked up for them. */
const FINAL_ORDER_EVENTS = new Set([
  "ORDER_COMPLETED",
  ...Object.keys(FAILED_ORDER_STATES),
  "ORDER_PAYMENT_DECLINED",
  "ORDER_PAYMENT_FAILED",
]);

/** The order id whose state must be looked up before applying `body`, if any. */
export function orderToConfirm(body: RevolutBody): string | null {
  return typeof body.event === "string" && FINAL_ORDER_EVENTS.has(body.event) ? parseOrThrow(orderEvent, body).order_id : null;
}

async function mirror(
  tx: TransactionSql,
  row: {
    revolutId: string;
    kind: "order" | "transaction";
    intentId: string | null;
    event: string;
    state: string;
    amount: number | null;
    currency: string | null;
    raw: unknown;
  },
): Promise<boolean> {
  const updated = await tx`
    insert into public.revolut_transactions as r (revolut_id, kind, intent_id, event, state, amount, currency, raw_payload)
    values (${row.revolutId}, ${row.kind}, ${row.intentId}::uuid, ${row.event}, ${row.state}, ${row.amount}::bigint, ${row.currency},
            ${jsonb(tx, row.raw)})
    on conflict (revolut_id) do update
       set event = excluded.event, state = excluded.state, amount = coalesce(excluded.amount, r.amount),
           currency = coalesce(excluded.currency, r.currency), raw_payload = excluded.raw_payload
     where r.state <> excluded.state and private.status_transition_allowed('revolut_transactions', r.state, excluded.state)
    returning r.id`;
  return updated.length > 0;
}

const intentIdIn = (order: { metadata?: Record<string, unknown> | null; merchant_order_ext_ref?: string | null }) => {
  const fromMetadata = order.metadata?.intent_id;
  return typeof fromMetadata === "string" ? fromMetadata : order.merchant_order_ext_ref ?? null;
};

function completedOrder(body: z.output<typeof orderEvent>, lookup: OrderLookup | null): WebhookEvent["apply"] {
  return async (tx): Promise<AppliedOutcome> => {
    if (!lookup) throw new Error(`order ${body.order_id} was not looked up`);
    if (!lookup.ok) throw lookup.error;
    const order = lookup.value;
    if (order.state !== "completed") throw new Error(`Revolut reports order ${order.id} as ${order.state}, not completed`);
    const intentId = await findIntentId(tx, "revolut", order.id, intentIdIn(order) ?? body.merchant_order_ext_ref);
    await mirror(tx, {
      revolutId: order.id,
      kind: "order",
      intentId,
      event: body.event,
      state: "completed",
      amount: order.amount,
      currency: order.currency,
      raw: { webhook: body, order },
    });
    await recordPaymentSuccess(tx, {
      provider: "revolut",
      providerPaymentId: order.id,
      intentId,
      amount: order.amount,
      currency: order.currency,
      raw: order,
    });
    return "processed";
  };
}

function failedOrder(body: z.output<typeof orderEvent>, state: string, lookup: OrderLookup | null): WebhookEvent["apply"] {
  return async (tx): Promise<AppliedOutcome> => {
    const intentId = await findIntentId(tx, "revolut", body.order_id, body.merchant_order_ext_ref);
    // An order none of our top-ups names may be a refund made in Revolut's dashboard, which only
    // the Merchant API tells apart: while it cannot be read, the event is retried, not mirrored
    // as a top-up's order.
    if (!intentId && lookup && !lookup.ok) throw lookup.error;
    const moved = await mirror(tx, {
      revolutId: body.order_id,
      kind: "order",
      intentId,
      event: body.event,
      state,
      amount: null,
      currency: null,
      raw: { webhook: body },
    });
    if (!intentId) return moved ? "processed" : "ignored";
    await recordPaymentFailure(tx, intentId, body.event);
    return "processed";
  };
}

/** What an order event does to the top-up (payment order) it names. */
function paymentOrderApply(body: z.output<typeof orderEvent>, lookup: OrderLookup | null): WebhookEvent["apply"] {
  if (body.event === "ORDER_COMPLETED") return completedOrder(body, lookup);
  const failedState = FAILED_ORDER_STATES[body.event];
  return failedState ? failedOrder(body, failedState, lookup) : () => Promise.resolve("ignored");
}

async function bodyDigest(body: RevolutBody): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(body)));
  return bytesToHex(new Uint8Array(digest));
}

/** The webhook event for a verified Revolut body (400 when its shape is wrong). */
export async function revolutWebhookEvent(body: RevolutBody, lookup: OrderLookup | null): Promise<WebhookEvent> {
  const { event } = parseOrThrow(envelope, body);
  if (event.startsWith("ORDER_")) {
    const order = parseOrThrow(orderEvent, body);
    const base = { eventId: `${order.order_id}:${event}`, type: event, payload: body };
    const ofPayment = paymentOrderApply(order, lookup);
    if (!FINAL_ORDER_EVENTS.has(event)) return { ...base, apply: ofPayment };
    return {
      ...base,
      apply: async (tx) =>
        await isRefundOrder(tx, order.order_id, lookup) ? await applyRefundOrder(tx, order.order_id, lookup) : await ofPayment(tx),
    };
  }
  if (event === "TransactionStateChanged") {
    const change = parseOrThrow(transactionStateChanged, body);
    return {
      eventId: `${change.data.id}:${event}:${change.data.new_state}`,
      type: event,
      payload: body,
      apply: async (tx) => {
        const moved = await mirror(tx, {
          revolutId: change.data.id,
          kind: "transaction",
          intentId: null,
          event,
          state: change.data.new_state,
          amount: null,
          currency: null,
          raw: body,
        });
        return moved ? "processed" : "ignored";
      },
    };
  }
  return { eventId: `${event}:${await bodyDigest(body)}`, type: event, payload: body, apply: () => Promise.resolve("ignored") };
}
