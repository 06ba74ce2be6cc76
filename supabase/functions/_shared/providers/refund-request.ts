// What a refund asked of any provider carries, whatever the provider calls the payment.
export interface RefundRequest {
  /** Minor units. */
  amount: number;
  /** Our payment's id, in the refund's metadata (payment_id). */
  ourPaymentId: string;
  /** The admin's refund request: the Idempotency-Key and metadata.refund_request_id, so a retry returns the same refund. */
  requestId: string;
}
