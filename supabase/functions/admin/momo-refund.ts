// The MoMo side of an admin refund: a Disbursement transfer to the payer, recorded as a pending
// refund under its reference (which reserves the amount and moves nothing) before MoMo is
// called. MoMo's 202 leaves it pending until the callback or momo-poll confirms it; a refusal
// (4xx) undoes the record, so nothing stays reserved; no answer (5xx, timeout) keeps it pending
// with its reference, so the same request retried re-sends the same transfer (MoMo answers 409
// for one it has) and momo-poll can ask MoMo about it.
import type { TransactionSql } from "../_shared/db.ts";
import { momoRefundReference, momoRefundTransfer, type Refund, sendMomoRefund } from "../_shared/money/momo-refunds.ts";
import { ProviderError } from "../_shared/providers/errors.ts";
import { momoCallbackUrlFromEnv } from "../_shared/providers/momo/callback-url.ts";
import type { AdminProviders } from "./types.ts";

/**
 * Records (or finds again) the refund request's pending refund and sends its transfer unless it
 * was settled meanwhile; the refund and its transfer reference. Throws ProviderError when MoMo
 * refused the transfer (nothing kept) or did not answer (the pending refund kept).
 */
export async function refundThroughMomo(
  tx: TransactionSql,
  providers: Pick<AdminProviders, "momo">,
  paymentId: string,
  amount: number,
  reason: string,
  requestId: string,
): Promise<{ refund: Refund; reference: string }> {
  const reference = await momoRefundReference(requestId);
  let unanswered: ProviderError | null = null as ProviderError | null;
  // A savepoint of its own: a refusal rolls the pending refund back, no answer keeps it.
  const refund = await tx.savepoint(async (sp) => {
    const transfer = await momoRefundTransfer(sp, paymentId, amount, reference, reason);
    if (transfer.refund.status !== "pending") return transfer.refund;
    try {
      await sendMomoRefund({ momo: providers.momo(), momoCallbackUrl: momoCallbackUrlFromEnv }, transfer);
    } catch (error) {
      if (!(error instanceof ProviderError) || error.kind !== "unavailable") throw error;
      unanswered = error;
    }
    return transfer.refund;
  });
  if (unanswered) throw unanswered;
  return { refund, reference };
}
