// What a refund asked of any provider carries, whatever the provider calls the payment.
export interface RefundRequest {
  /** Minor units. */
  amount: number;
  /** Our payment's id, in the refund's metadata (payment_id). */
  ourPaymentId: string;
  /** The admin's refund request: the Idempotency-Key and metadata.refund_request_id, so a retry returns the same refund. */
  requestId: string;
}

/**
 * The prefix of the admin's refund request ids (rr_ and 40 hex digits, admin/routes): a Revolut
 * or Stripe refund recorded before its provider named its refund is stored under its request id,
 * which no provider id starts with.
 */
export const REFUND_REQUEST_PREFIX = "rr_";

/** Whether a refund's stored id is still its request id: the provider's own id is not known yet. */
export const isRefundRequestId = (id: string): boolean => id.startsWith(REFUND_REQUEST_PREFIX);
