// The outcome of a Revolut refund order, as the Merchant API reports it. A refund is an order
// of its own (type refund, related_order_id = the order refunded) that Revolut may still be
// processing when it answers the admin's refund call; that refund is stored pending, and the
// webhooks of the refund order (ORDER_COMPLETED, ORDER_CANCELLED, ...) carry only its id. The
// order is read back from the API, never taken from the webhook: completed records the refund
// and moves the ledger (refund_record), failed or cancelled closes it and frees its amount
// (refund_record_failure); any other state is not an outcome yet and the event is retried.
//
// An admin's refund is recorded pending under its request id before Revolut is asked, and that
// id is the refund order's merchant_order_data.reference: the refund order read back names it,
// so the refund takes the order's id first (identifyRefund) even when Revolut's answer to
// the admin's request was lost.
import type { TransactionSql } from "../../db.ts";
import { findIntentId, findPayment, recordRefund, recordRefundFailure } from "../../webhooks/payments.ts";
import { type AppliedOutcome, EffectWaits } from "../../webhooks/store-then-apply.ts";
import { identifyRefund } from "../../money/provider-refunds.ts";
import type { OrderLookup } from "./events.ts";

const FAILED_REFUND_STATES: Record<string, "failed" | "canceled"> = { failed: "failed", declined: "failed", cancelled: "canceled" };

/** Whether `orderId` is a refund order: Revolut says so, or it is a refund we asked for. */
export async function isRefundOrder(tx: TransactionSql, orderId: string, lookup: OrderLookup | null): Promise<boolean> {
  if (lookup?.ok) return lookup.value.type === "refund";
  const [known] = await tx`select 1 from public.refunds where provider = 'revolut' and provider_refund_id = ${orderId}`;
  return known !== undefined;
}

/**
 * Our payment a refund order belongs to: the refund we stored, else the order it refunds; null
 * when that order is none of our top-ups. A refund of a top-up's order whose payment is not
 * recorded yet (its ORDER_COMPLETED failed or was lost, for a redelivery or revolut-poll to
 * credit) waits (EffectWaits: kept failed, never dead), so that the event is retried, by Revolut
 * and then by revolut-poll after the credit: ignored, it would never be taken from the wallet
 * that the top-up's late credit fills.
 */
async function refundedPaymentId(tx: TransactionSql, refundOrderId: string, relatedOrderId: string | null | undefined) {
  const [stored] = await tx<{ payment_id: string }[]>`
    select payment_id from public.refunds where provider = 'revolut' and provider_refund_id = ${refundOrderId}`;
  if (stored) return stored.payment_id;
  if (!relatedOrderId) return null;
  const payment = await findPayment(tx, "revolut", relatedOrderId);
  if (payment) return payment.id;
  if (await findIntentId(tx, "revolut", relatedOrderId, null)) {
    throw new EffectWaits(`refund order ${refundOrderId} refunds order ${relatedOrderId}, whose top-up payment is not recorded yet`);
  }
  return null;
}

export async function applyRefundOrder(tx: TransactionSql, orderId: string, lookup: OrderLookup | null): Promise<AppliedOutcome> {
  if (!lookup) throw new Error(`refund order ${orderId} was not looked up`);
  if (!lookup.ok) throw lookup.error;
  const order = lookup.value;
  const reference = order.merchant_order_data?.reference;
  if (reference && order.related_order_id) await identifyRefund(tx, "revolut", reference, order, order.related_order_id);
  const paymentId = await refundedPaymentId(tx, order.id, order.related_order_id);
  // A refund of an order that never became one of our payments has nothing to move.
  if (!paymentId) return "ignored";
  if (order.state === "completed") {
    await recordRefund(tx, paymentId, order.amount, order.id, "Revolut completed the refund order");
    return "processed";
  }
  const failed = FAILED_REFUND_STATES[order.state];
  if (!failed) throw new Error(`Revolut reports refund order ${order.id} as ${order.state}, not completed or failed`);
  await recordRefundFailure(tx, paymentId, {
    providerRefundId: order.id,
    amount: order.amount,
    status: failed,
    reason: `Revolut reports the refund order as ${order.state}`,
  });
  return "processed";
}
