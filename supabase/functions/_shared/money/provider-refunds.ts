// An admin's refund through Revolut or Stripe, recorded before the provider is asked, whatever
// the provider: the part shared by the admin API (the first request and its retries) and the
// polls (the request sent again when the provider never received it). The refund is recorded
// as a pending refund under the admin's refund request id (which reserves its amount and moves
// nothing), in the transaction that claims the request's key, committed before the provider is
// called (runIdempotentAcross): no lock is held while the provider answers. The request id goes
// to the provider with the refund (Revolut: the refund order's reference; Stripe: the refund's
// metadata.refund_request_id; both: the Idempotency-Key), so that the provider's webhooks, the
// polls and a retry find the provider's refund and give it to the pending refund
// (api_private.refund_identify). The provider's answer decides: completed records the refund
// (the ledger moves once), still under way leaves it pending under the provider's id, a refusal
// of the request's first call (or a refund the provider reports failed or cancelled) closes it
// failed, reserving nothing; no answer keeps it pending for the polls and a retry. The
// provider-specific side is a RefundAsker (revolut-refunds.ts, stripe-refunds.ts).
import type { TransactionSql } from "../db.ts";
import type { InTransaction } from "../idempotent-run.ts";
import { ProviderError } from "../providers/errors.ts";
import { isRefundRequestId } from "../providers/refund-request.ts";
import type { Refund } from "./momo-refunds.ts";
import type { AsService } from "./topups.ts";

/** The providers whose refunds are recorded by request (MoMo has its own: momo-refunds.ts). */
export type RefundProvider = "revolut" | "stripe";

/** A refund request's pending refund and the provider's id of the payment it refunds. */
export interface RecordedRefund {
  refund: Refund;
  /** The provider's id of the payment: Revolut's order, Stripe's PaymentIntent. */
  providerPaymentId: string;
  /** Whether this request recorded it: the provider was never asked for it before. */
  fresh: boolean;
  requestId: string;
}

/** The provider's refund of a request, as its answer, a search or a look-up reports it. */
export interface ProviderRefund {
  id: string;
  amount: number;
  /** The provider's own status word (Revolut's order state, Stripe's refund status). */
  status: string;
  /** The provider's id of the payment it refunds; null when it names none. */
  refundedPaymentId: string | null;
}

/** How one provider is asked for a recorded refund, and what its status words mean. */
export interface RefundAsker {
  provider: RefundProvider;
  /** The provider's name in what the refund records. */
  label: string;
  /** The provider's refund of the request: one an earlier try made, else a new one. Throws ProviderError. */
  ask(recorded: RecordedRefund): Promise<ProviderRefund>;
  /** The status of a refund the provider has paid. */
  completed: string;
  /** The statuses of a refund the provider will never pay, and how the refund closes. */
  unpaid: Readonly<Record<string, "failed" | "canceled">>;
}

/** What the provider made of the refund. */
export interface RefundOutcome {
  refund: Refund;
  /** The provider's status word, or the refund's status when the provider was not asked. */
  providerStatus: string;
}

/**
 * How long after an admin's refund was recorded a poll sends a request the provider never
 * received again: Stripe keeps an Idempotency-Key for 24 hours, and Revolut does not say how long
 * it keeps one. The key is what makes a request sent again harmless should the search by the
 * request id have missed the refund it made.
 */
export const REFUND_RESEND_WITHIN_SECONDS = 86_400;

/**
 * Records (or finds again) the refund request's pending refund: the first step, in the
 * transaction that claims the request's key, so no other request with the key runs it meanwhile.
 */
export async function recordRefundRequest(
  tx: TransactionSql,
  provider: RefundProvider,
  paymentId: string,
  amount: number,
  reason: string,
  requestId: string,
): Promise<RecordedRefund> {
  const [known] = await tx`select 1 from public.refunds where provider = ${provider} and refund_request_id = ${requestId}`;
  const [row] = await tx<{ refund: Refund; provider_payment_id: string }[]>`
    select to_jsonb(r) as refund, p.provider_payment_id
      from api_private.refund_begin(${provider}, ${paymentId}::uuid, ${amount}::bigint, ${requestId}, ${reason}) r
      join public.payments p on p.id = r.payment_id`;
  return { refund: row!.refund, providerPaymentId: row!.provider_payment_id, fresh: known === undefined, requestId };
}

/**
 * The refund recorded under the admin's refund request `requestId` takes the id of the
 * provider's refund `made` (api_private.refund_identify, once): the refund, or null when none
 * was recorded under it. Throws (WL005) for a provider refund that is not that refund's.
 */
export async function identifyRefund(
  tx: TransactionSql,
  provider: RefundProvider,
  requestId: string,
  made: { id: string; amount: number },
  refundedPaymentId: string | null,
): Promise<Refund | null> {
  const [row] = await tx<{ refund: Refund }[]>`
    select to_jsonb(r) as refund
      from api_private.refund_identify(${provider}, ${requestId}, ${made.id}, ${refundedPaymentId}, ${made.amount}::bigint) r`;
  return row?.refund ?? null;
}

/**
 * Asks the provider for the recorded refund, unless the provider has named its refund already
 * (the refund is then answered as it stands), and records the provider's answer as the admin
 * (`asAdmin`). Throws ProviderError when the provider refused the refund or did not answer; a
 * refusal of the request's first call closes the refund failed first, as the service.
 */
export async function askProviderForRefund(
  asker: RefundAsker,
  asAdmin: InTransaction,
  asService: AsService,
  recorded: RecordedRefund,
): Promise<RefundOutcome> {
  const { refund, requestId } = recorded;
  if (refund.status !== "pending" || !isRefundRequestId(refund.provider_refund_id)) {
    return { refund, providerStatus: refund.status };
  }
  const amount = Number(refund.amount);
  let made: ProviderRefund;
  try {
    made = await asker.ask(recorded);
  } catch (error) {
    if (recorded.fresh && error instanceof ProviderError && error.kind === "declined") {
      // The provider refused the only request for this refund: it will never pay it, and nothing stays reserved.
      await asService((tx) =>
        tx`select public.refund_record_failure(${refund.payment_id}::uuid, ${requestId}, ${amount}::bigint, 'failed',
                                                ${`${asker.label} refused the refund: ${error.reason ?? error.message}`.slice(0, 1000)})`
      );
    }
    throw error;
  }
  const unpaid = asker.unpaid[made.status];
  const settled = await (unpaid ? asService : asAdmin)(async (tx) => {
    const identified = await identifyRefund(tx, asker.provider, requestId, made, made.refundedPaymentId);
    if (made.status === asker.completed) {
      const [row] = await tx<{ refund: Refund }[]>`
        select to_jsonb(r) as refund
          from public.refund_record(${refund.payment_id}::uuid, ${amount}::bigint, ${made.id}, ${refund.reason}) r`;
      return row!.refund;
    }
    if (!unpaid) return identified!;
    const [row] = await tx<{ refund: Refund }[]>`
      select to_jsonb(r) as refund
        from public.refund_record_failure(${refund.payment_id}::uuid, ${made.id}, ${amount}::bigint, ${unpaid},
                                          ${`${asker.label} reports the refund as ${made.status}`}) r`;
    return row!.refund;
  });
  return { refund: settled, providerStatus: made.status };
}

/** A refund still pending under its request id, as it was recorded, and whether a poll may send it again. */
export interface UnansweredRefund extends RecordedRefund {
  /** Recorded less than REFUND_RESEND_WITHIN_SECONDS ago: the provider still keeps its Idempotency-Key. */
  resendable: boolean;
}

/**
 * `provider`'s refund `refundId`, still pending under its request id `requestId` (the provider
 * has not named its refund), as it was recorded, for a poll to look for and ask for again; null
 * when it has moved on meanwhile.
 */
export async function unansweredRefund(
  tx: TransactionSql,
  provider: RefundProvider,
  refundId: string,
  requestId: string,
): Promise<UnansweredRefund | null> {
  const [row] = await tx<{ refund: Refund; provider_payment_id: string; resendable: boolean }[]>`
    select to_jsonb(r) as refund, p.provider_payment_id,
           r.created_at > now() - make_interval(secs => ${REFUND_RESEND_WITHIN_SECONDS}::int) as resendable
      from public.refunds r
      join public.payments p on p.id = r.payment_id
     where r.id = ${refundId}::uuid and r.provider = ${provider} and r.status = 'pending'
       and r.provider_refund_id = ${requestId} and r.refund_request_id = ${requestId}`;
  if (!row) return null;
  return { refund: row.refund, providerPaymentId: row.provider_payment_id, fresh: false, requestId, resendable: row.resendable };
}
