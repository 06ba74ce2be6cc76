// The provider side of an admin refund: the one call that asks the payment's provider to give
// money back, idempotent on the admin's refund request (Stripe and Revolut: Idempotency-Key =
// the request id, so a retried request never creates a second refund), and what the provider
// said in one of three words: succeeded (the ledger moves now), pending (it moves when the
// provider's webhook confirms it), declined (nothing moves). Throws ProviderError when the
// provider refused the call itself or did not answer.
//
// MoMo has no refund call: its refund is a transfer to the payer, recorded pending before it is
// sent (_shared/money/momo-refunds.ts, admin/momo-refund.ts).
import type { AdminProviders } from "./types.ts";

export interface RefundTarget {
  /** Our payments.id. */
  paymentId: string;
  provider: "stripe" | "revolut";
  /** The provider's id of the payment: Stripe PaymentIntent or charge, Revolut order. */
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

// Revolut order states: a refund order completes, or is declined/failed/cancelled.
const REVOLUT_OUTCOMES: Record<string, ProviderRefund["outcome"]> = {
  completed: "succeeded",
  pending: "pending",
  processing: "pending",
  authorised: "pending",
  declined: "declined",
  failed: "declined",
  cancelled: "declined",
};

export async function requestProviderRefund(
  providers: Pick<AdminProviders, "stripe" | "revolut">,
  target: RefundTarget,
  amount: number,
  requestId: string,
  reason: string,
): Promise<ProviderRefund> {
  switch (target.provider) {
    case "stripe": {
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
    case "revolut": {
      const refund = await providers.revolut().refund({
        orderId: target.providerPaymentId,
        amount,
        requestId,
        ourPaymentId: target.paymentId,
        description: reason.slice(0, 500),
      });
      return {
        id: refund.id,
        outcome: REVOLUT_OUTCOMES[refund.state] ?? "pending",
        providerStatus: refund.state,
      };
    }
  }
}
