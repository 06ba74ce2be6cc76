// A polled refund still under the admin's refund request id (the provider's answer to it was
// lost, or the provider never got the request), for revolut-poll and stripe-poll alike: the
// provider's refund that carries the request id is looked for; when there is none, the request
// never reached the provider, and within REFUND_RESEND_WITHIN_SECONDS of the refund it is sent
// again, with the admin's Idempotency-Key and the same parameters, and the refund it makes is
// read back. Otherwise, or when the refund has moved on meanwhile, the provider does not know the
// refund (the poll counts it not_found and leaves it pending for an admin).
import { withRequestContext } from "../_shared/db.ts";
import { type RefundProvider, type UnansweredRefund, unansweredRefund } from "../_shared/money/provider-refunds.ts";
import type { JobRun } from "./job.ts";
import type { LeasedPayment } from "./poll.ts";

/** How one provider's refund of a request is found, sent again and read back. */
export interface RefundOfRequest<T> {
  provider: RefundProvider;
  /** The provider's refund that carries the request id, or null. */
  find(unanswered: UnansweredRefund): Promise<T | null>;
  /** Sends the request again: the provider's refund it made, and its status. */
  sendAgain(unanswered: UnansweredRefund): Promise<{ id: string; status: string }>;
  /** The provider's refund of that id, as the provider has it now. */
  read(id: string): Promise<T>;
  /** The provider's error for a refund it does not know (the poll counts it not_found). */
  unknown(message: string): Error;
}

/** The item's refund, found by its request id or made by the request sent again (`resent()` is told then). */
export async function findOrSendAgain<T>(
  run: JobRun,
  item: LeasedPayment,
  provider: RefundOfRequest<T>,
  resent: () => void,
): Promise<T> {
  const unanswered = await withRequestContext(
    run.sql,
    run.context,
    (tx) => unansweredRefund(tx, provider.provider, item.id, item.referenceId),
  );
  const unknown = () => provider.unknown(`${provider.provider} knows no refund of request ${item.referenceId}`);
  if (unanswered === null) throw unknown();
  const found = await provider.find(unanswered);
  if (found !== null) return found;
  if (!unanswered.resendable) throw unknown();
  const made = await provider.sendAgain(unanswered);
  resent();
  run.logger.info(`${provider.provider}_poll_refund_resent`, {
    correlation_id: run.context.correlationId,
    id: item.id,
    provider_refund_id: made.id,
    status: made.status,
  });
  return await provider.read(made.id);
}
