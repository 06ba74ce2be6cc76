// The Stripe side of an admin refund recorded before Stripe is asked (provider-refunds.ts): the
// request id goes to Stripe as the refund's metadata.refund_request_id and its Idempotency-Key,
// so whatever becomes of the request once Stripe may have made the refund, Stripe's refund
// webhooks, stripe-poll and a retry find that refund (among the payment's refunds) and complete
// or close the refund. Stripe's refund status decides: succeeded records the refund, failed or
// canceled closes it, pending and requires_action leave it pending under Stripe's id. A retry,
// or the poll, asks Stripe for a refund again only when none of the payment's refunds carries
// the request id, and then with the same Idempotency-Key and parameters.
import type { CreatedRefund, StripeClient } from "../providers/stripe/client.ts";
import { askProviderForRefund, type RecordedRefund, type RefundAsker, type RefundOutcome } from "./provider-refunds.ts";
import type { AsService } from "./topups.ts";
import type { InTransaction } from "../idempotent-run.ts";

/** Asks Stripe for the recorded refund, every time with the same parameters and Idempotency-Key. */
export function sendStripeRefund(stripe: Pick<StripeClient, "createRefund">, recorded: RecordedRefund): Promise<CreatedRefund> {
  return stripe.createRefund({
    paymentId: recorded.providerPaymentId,
    amount: Number(recorded.refund.amount),
    ourPaymentId: recorded.refund.payment_id,
    requestId: recorded.requestId,
  });
}

/**
 * Stripe as a RefundAsker: a retry first looks among the payment's refunds for the one an
 * earlier try made (Stripe keeps an Idempotency-Key's answer for 24 hours only, and a call after
 * that would make a second refund); the request that recorded the refund asks Stripe at once.
 * The refund found or made refunds the payment it was looked for under.
 */
const stripeAsker = (stripe: Pick<StripeClient, "createRefund" | "refundOfRequest">): RefundAsker => ({
  provider: "stripe",
  label: "Stripe",
  async ask(recorded) {
    const earlier = recorded.fresh ? null : await stripe.refundOfRequest(recorded.providerPaymentId, recorded.requestId);
    const made = earlier ?? await sendStripeRefund(stripe, recorded);
    return { id: made.id, amount: made.amount, status: made.status ?? "pending", refundedPaymentId: recorded.providerPaymentId };
  },
  completed: "succeeded",
  unpaid: { failed: "failed", canceled: "canceled" },
});

/** askProviderForRefund through Stripe. */
export function askStripeForRefund(
  stripe: Pick<StripeClient, "createRefund" | "refundOfRequest">,
  asAdmin: InTransaction,
  asService: AsService,
  recorded: RecordedRefund,
): Promise<RefundOutcome> {
  return askProviderForRefund(stripeAsker(stripe), asAdmin, asService, recorded);
}
