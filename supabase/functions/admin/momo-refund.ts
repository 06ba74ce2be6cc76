// The MoMo side of an admin refund: a Disbursement transfer to the payer, recorded as a pending
// refund under its reference (which reserves the amount and moves nothing) in the transaction
// that claims the request's key, committed before MoMo is called (runIdempotentAcross): whatever
// becomes of the request after MoMo took the transfer, MoMo's callback and momo-poll find the
// refund it pays. MoMo's 202 leaves it pending until the callback or momo-poll confirms it; a
// refusal (4xx) of its first sending closes it failed, so nothing stays reserved; no answer (5xx,
// timeout) keeps it pending with its reference, so the same request retried re-sends the same
// transfer (MoMo answers 409 for one it has) and momo-poll can ask MoMo about it. Every send is
// recorded on the refund before its POST, and a retry sends nothing once momo-poll has closed
// the refund's sending past the accept window (it answers the refund as it stands).
import type { TransactionSql } from "../_shared/db.ts";
import { type MomoRefund, momoRefundReference, momoRefundTransfer, postMomoRefundTransfer } from "../_shared/money/momo-refunds.ts";
import { ProviderError } from "../_shared/providers/errors.ts";
import { momoCallbackUrlFromEnv } from "../_shared/providers/momo/callback-url.ts";
import type { AsService } from "../_shared/money/topups.ts";
import type { AdminProviders } from "./types.ts";

/** A refund request's pending refund and the payer's number. */
export interface RecordedMomoRefund extends MomoRefund {
  /** Whether this request recorded it: its transfer was never sent before. */
  fresh: boolean;
}

/**
 * Records (or finds again) the refund request's pending refund: the first step, in the
 * transaction that claims the request's key, so no other request with the key runs it meanwhile.
 */
export async function recordMomoRefund(
  tx: TransactionSql,
  paymentId: string,
  amount: number,
  reason: string,
  requestId: string,
): Promise<RecordedMomoRefund> {
  const reference = await momoRefundReference(requestId);
  const [known] = await tx`select 1 from public.refunds where provider = 'momo' and provider_refund_id = ${reference}`;
  return { ...await momoRefundTransfer(tx, paymentId, amount, reference, reason), fresh: known === undefined };
}

/**
 * Sends the recorded refund's transfer unless it may no longer be sent: settled meanwhile (the
 * callback or momo-poll of an earlier try), or its sending closed by momo-poll past the accept
 * window (postMomoRefundTransfer records the send first). Throws ProviderError when MoMo refused
 * the transfer or did not answer (the refund kept pending). A refusal of its first sending closes
 * the refund failed first, as the service; a refusal of a re-sending closes nothing, since MoMo
 * may hold the first one (momo-poll asks MoMo about it).
 */
export async function sendRecordedMomoRefund(
  providers: Pick<AdminProviders, "momo">,
  asService: AsService,
  recorded: RecordedMomoRefund,
): Promise<void> {
  if (recorded.refund.status !== "pending") return;
  try {
    await postMomoRefundTransfer({ momo: providers.momo(), momoCallbackUrl: momoCallbackUrlFromEnv }, asService, recorded);
  } catch (error) {
    if (recorded.fresh && error instanceof ProviderError && error.kind === "declined") {
      // MoMo refused the only transfer of this refund, so it will never pay it: the refund closes and frees its amount.
      await asService((tx) =>
        tx`
        select public.momo_refund_settle(${recorded.refund.provider_refund_id}::uuid, 'FAILED', ${error.reason ?? error.message})`
      );
    }
    throw error;
  }
}
