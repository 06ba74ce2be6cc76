// The Stripe side of an admin refund: the one call that asks Stripe to give money back,
// idempotent on the admin's refund request (Idempotency-Key = the request id, and a refund
// carrying it in its metadata is found again, so a retried request never creates a second
// refund), and what Stripe said in one of three words: succeeded (the ledger moves now),
// pending (it moves when Stripe's webhook confirms it), declined (nothing moves). Throws
// ProviderError when Stripe refused the call itself or did not answer.
//
// MoMo and Revolut refunds are recorded pending before their provider is asked
// (admin/momo-refund.ts, _shared/money/revolut-refunds.ts).
import type { AdminProviders } from "./types.ts";

export interface RefundTarget {
  /** Our payments.id. */
  paymentId: string;
  provider: "stripe";
  /** Stripe's id of the payment: PaymentIntent or charge. */
  providerPaymentId: string;
}

export interface ProviderRefund {
  id: string;
  outcome: "succeeded" | "pending" | "declined";
  /** The provider's own status word, for the answer and the logs. */
  providerStatus: string;
}

const STRIPE_OUTCOMES: Record<string, ProviderRefund["outcome"]> = {
  succeeded: "succeeded",
  pending: "pending",
  requires_action: "pending",
  failed: "declined",
  canceled: "declined",
};

export async function requestProviderRefund(
  providers: Pick<AdminProviders, "stripe">,
  target: RefundTarget,
  amount: number,
  requestId: string,
): Promise<ProviderRefund> {
  const refund = await providers.stripe().createRefund({
    paymentId: target.providerPaymentId,
    amount,
    ourPaymentId: target.paymentId,
    requestId,
  });
  return {
    id: refund.id,
    outcome: STRIPE_OUTCOMES[refund.status] ?? "pending",
    providerStatus: refund.status,
  };
}
