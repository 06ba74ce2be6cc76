// The Revolut side of an admin refund recorded before Revolut is asked (provider-refunds.ts):
// the request id goes to Revolut as the refund order's merchant_order_data.reference (and as its
// Idempotency-Key), so whatever becomes of the request once Revolut may have made the refund,
// the refund order's webhooks, revolut-poll and a retry find that order (GET
// /api/orders?merchant_order_data_reference=) and complete or close the refund. Revolut's refund
// order decides: completed records the refund, failed, declined or cancelled closes it, any
// other state leaves it pending under the order's id. A retry, or the poll, asks Revolut for a
// refund again only when no refund order carries the reference, and then with the same
// Idempotency-Key and body, so one request never makes two refunds.
import type { RefundOrder, RevolutClient } from "../providers/revolut/client.ts";
import { askProviderForRefund, type RecordedRefund, type RefundAsker, type RefundOutcome } from "./provider-refunds.ts";
import type { AsService } from "./topups.ts";
import type { InTransaction } from "../idempotent-run.ts";

/**
 * Asks Revolut for the recorded refund, every time with the same body: the Idempotency-Key
 * answers a request Revolut has seen with its first refund only if nothing else changed. The
 * description is the admin's reason, within what Revolut takes.
 */
export function sendRevolutRefund(revolut: RevolutClient, recorded: RecordedRefund): Promise<RefundOrder> {
  const { refund } = recorded;
  return revolut.refund({
    orderId: recorded.providerPaymentId,
    amount: Number(refund.amount),
    requestId: recorded.requestId,
    ourPaymentId: refund.payment_id,
    description: (refund.reason ?? "").slice(0, 500),
  });
}

/**
 * Revolut as a RefundAsker: a retry first looks for a refund order carrying the request's
 * reference (an earlier try reached Revolut: that order is the answer, checked against the order
 * it says it refunds); Revolut's answer to this request's own call refunds the order it was
 * asked for.
 */
const revolutAsker = (revolut: RevolutClient): RefundAsker => ({
  provider: "revolut",
  label: "Revolut",
  async ask(recorded) {
    const earlier = recorded.fresh ? null : await revolut.refundOrderByReference(recorded.requestId);
    const order = earlier ?? await sendRevolutRefund(revolut, recorded);
    const refundedPaymentId = earlier ? earlier.related_order_id ?? null : recorded.providerPaymentId;
    return { id: order.id, amount: order.amount, status: order.state, refundedPaymentId };
  },
  completed: "completed",
  unpaid: { failed: "failed", declined: "failed", cancelled: "canceled" },
});

/** askProviderForRefund through Revolut. */
export function askRevolutForRefund(
  revolut: RevolutClient,
  asAdmin: InTransaction,
  asService: AsService,
  recorded: RecordedRefund,
): Promise<RefundOutcome> {
  return askProviderForRefund(revolutAsker(revolut), asAdmin, asService, recorded);
}
