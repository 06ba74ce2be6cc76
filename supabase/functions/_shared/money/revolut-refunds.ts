// The Revolut side of an admin refund, shared by the admin API (the first request and its
// retries) and revolut-poll (the request sent again when Revolut never received it). It is
// recorded before Revolut is asked, as a MoMo refund is: a pending refund under the admin's
// refund request id (which reserves its amount and moves nothing), in the transaction that
// claims the request's key, committed before Revolut is called (runIdempotentAcross). The
// request id goes to Revolut as the refund order's merchant_order_data.reference (and as its
// Idempotency-Key), so whatever becomes of the request once Revolut may have made the refund,
// the refund order's webhooks, revolut-poll and a retry find that order (GET
// /api/orders?merchant_order_data_reference=) and complete or close the refund. Revolut's answer
// decides: completed records the refund (the ledger moves once), pending leaves it pending under
// the order's id, a refusal of the request's first call (or a refund order reported failed,
// declined or cancelled) closes it failed, reserving nothing; no answer keeps it pending for
// revolut-poll and a retry. A retry, or the poll, asks Revolut for a refund again only when no
// refund order carries the reference, and then with the same Idempotency-Key and body, so one
// request never makes two refunds.
import type { TransactionSql } from "../db.ts";
import { ProviderError } from "../providers/errors.ts";
import { isRefundRequestId } from "../providers/refund-request.ts";
import type { RefundOrder, RevolutClient } from "../providers/revolut/client.ts";
import { identifyRevolutRefund } from "../providers/revolut/refund-orders.ts";
import type { Refund } from "./momo-refunds.ts";
import type { AsService } from "./topups.ts";
import type { InTransaction } from "../idempotent-run.ts";

/** A refund request's pending Revolut refund and the order it refunds. */
export interface RecordedRevolutRefund {
  refund: Refund;
  /** The Revolut order of the payment. */
  orderId: string;
  /** Whether this request recorded it: Revolut was never asked for it before. */
  fresh: boolean;
  requestId: string;
}

/** What Revolut made of the refund: its refund order's id and state, when it named one. */
export interface RevolutRefundOutcome {
  refund: Refund;
  /** Revolut's refund order state, or the refund's status when Revolut was not asked. */
  providerStatus: string;
}

/** Revolut order states of a refund order that will never pay: the refund closes failed or canceled. */
const UNPAID_REFUND_STATES: Record<string, "failed" | "canceled"> = { failed: "failed", declined: "failed", cancelled: "canceled" };

/**
 * Records (or finds again) the refund request's pending refund: the first step, in the
 * transaction that claims the request's key, so no other request with the key runs it meanwhile.
 */
export async function recordRevolutRefund(
  tx: TransactionSql,
  paymentId: string,
  amount: number,
  reason: string,
  requestId: string,
): Promise<RecordedRevolutRefund> {
  const [known] = await tx`select 1 from public.refunds where provider = 'revolut' and refund_request_id = ${requestId}`;
  const [row] = await tx<{ refund: Refund; order_id: string }[]>`
    select to_jsonb(r) as refund, p.provider_payment_id as order_id
      from api_private.revolut_refund_begin(${paymentId}::uuid, ${amount}::bigint, ${requestId}, ${reason}) r
      join public.payments p on p.id = r.payment_id`;
  return { refund: row!.refund, orderId: row!.order_id, fresh: known === undefined, requestId };
}

/**
 * Asks Revolut for the recorded refund, every time with the same body: the Idempotency-Key
 * answers a request Revolut has seen with its first refund only if nothing else changed. The
 * description is the admin's reason, within what Revolut takes.
 */
export function sendRevolutRefund(revolut: RevolutClient, recorded: RecordedRevolutRefund): Promise<RefundOrder> {
  const { refund } = recorded;
  return revolut.refund({
    orderId: recorded.orderId,
    amount: Number(refund.amount),
    requestId: recorded.requestId,
    ourPaymentId: refund.payment_id,
    description: (refund.reason ?? "").slice(0, 500),
  });
}

/**
 * Asks Revolut for the recorded refund, unless Revolut has named its refund order already (the
 * refund is then answered as it stands) or a refund order carries the request's reference (an
 * earlier try reached Revolut: that order is the answer), and records Revolut's answer as the
 * admin (`asAdmin`). Throws ProviderError when Revolut refused the refund or did not answer; a
 * refusal of the request's first call closes the refund failed first, as the service.
 */
export async function askRevolutForRefund(
  revolut: RevolutClient,
  asAdmin: InTransaction,
  asService: AsService,
  recorded: RecordedRevolutRefund,
): Promise<RevolutRefundOutcome> {
  const { refund, requestId } = recorded;
  if (refund.status !== "pending" || !isRefundRequestId(refund.provider_refund_id)) {
    return { refund, providerStatus: refund.status };
  }
  const amount = Number(refund.amount);
  const earlier = recorded.fresh ? null : await revolut.refundOrderByReference(requestId);
  let order: { id: string; state: string; amount: number };
  try {
    order = earlier ?? await sendRevolutRefund(revolut, recorded);
  } catch (error) {
    if (recorded.fresh && error instanceof ProviderError && error.kind === "declined") {
      // Revolut refused the only request for this refund: it will never pay it, and nothing stays reserved.
      await asService((tx) =>
        tx`select public.refund_record_failure(${refund.payment_id}::uuid, ${requestId}, ${amount}::bigint, 'failed',
                                                ${`Revolut refused the refund: ${error.reason ?? error.message}`.slice(0, 1000)})`
      );
    }
    throw error;
  }
  const unpaid = UNPAID_REFUND_STATES[order.state];
  const settled = await (unpaid ? asService : asAdmin)(async (tx) => {
    // The order an earlier try made is checked against the order it says it refunds; Revolut's
    // answer to this request's own call refunds the order it was asked for.
    const refunded = earlier ? earlier.related_order_id ?? null : recorded.orderId;
    const identified = await identifyRevolutRefund(tx, requestId, order, refunded);
    if (order.state === "completed") {
      const [row] = await tx<{ refund: Refund }[]>`
        select to_jsonb(r) as refund
          from public.refund_record(${refund.payment_id}::uuid, ${amount}::bigint, ${order.id}, ${refund.reason}) r`;
      return row!.refund;
    }
    if (!unpaid) return identified!;
    const [row] = await tx<{ refund: Refund }[]>`
      select to_jsonb(r) as refund
        from public.refund_record_failure(${refund.payment_id}::uuid, ${order.id}, ${amount}::bigint, ${unpaid},
                                          ${`Revolut reports the refund order as ${order.state}`}) r`;
    return row!.refund;
  });
  return { refund: settled, providerStatus: order.state };
}

/**
 * Revolut refund `refundId`, still pending under its request id `requestId` (Revolut has not
 * named its refund order), as it was recorded, for revolut-poll to ask for again; null when it
 * has moved on meanwhile, or was recorded more than `withinSeconds` ago.
 */
export async function unansweredRevolutRefund(
  tx: TransactionSql,
  refundId: string,
  requestId: string,
  withinSeconds: number,
): Promise<RecordedRevolutRefund | null> {
  const [row] = await tx<{ refund: Refund; order_id: string }[]>`
    select to_jsonb(r) as refund, p.provider_payment_id as order_id
      from public.refunds r
      join public.payments p on p.id = r.payment_id
     where r.id = ${refundId}::uuid and r.provider = 'revolut' and r.status = 'pending'
       and r.provider_refund_id = ${requestId} and r.refund_request_id = ${requestId}
       and r.created_at > now() - make_interval(secs => ${withinSeconds}::int)`;
  return row ? { refund: row.refund, orderId: row.order_id, fresh: false, requestId } : null;
}
