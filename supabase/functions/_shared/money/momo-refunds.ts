// The MoMo side of an admin refund, shared by the admin API (the first request and its
// retries) and momo-poll (the re-send of a transfer MoMo never received): MoMo has no refund
// call, so the money goes back as a Disbursement transfer to the payer's number. Its
// X-Reference-Id is derived from the admin's refund request, so every retry of one request,
// even one whose pending refund was never stored, names the same transfer, and MoMo answers
// 409 for one it already has: the payer is never paid twice. It is sent as every MoMo transfer
// is (momo-transfers.ts: each send recorded on the refund before its POST, none once momo-poll
// has closed its sending).
import type { TransactionSql } from "../db.ts";
import { sha256Hex } from "../idempotency.ts";
import { postMomoTransfer, type TransferSending } from "./momo-transfers.ts";
import type { AsService, ProviderClients } from "./topups.ts";

/** A public.refunds row as the function reads it. */
export interface Refund {
  id: string;
  payment_id: string;
  provider_refund_id: string;
  amount: string | number;
  currency: string;
  status: "pending" | "succeeded" | "failed" | "canceled";
  reason: string | null;
}

/** A MoMo refund and the number MoMo named as the payment's payer. */
export interface MomoRefund {
  refund: Refund;
  payeeMsisdn: string;
}

/** The transfer's X-Reference-Id of refund request `requestId`: a UUID v4 (MoMo requires one) from its hash. */
export async function momoRefundReference(requestId: string): Promise<string> {
  const hex = (await sha256Hex(`momo-refund:${requestId}`)).slice(0, 32).split("");
  hex[12] = "4";
  hex[16] = "89ab"[parseInt(hex[16]!, 16) % 4]!;
  const h = hex.join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * The pending refund of `amount` of MoMo payment `paymentId` under `reference`, recorded once
 * (api_private.momo_refund_transfer: refused like every admin refund beyond what remains),
 * and the payer's number.
 */
export async function momoRefundTransfer(
  tx: TransactionSql,
  paymentId: string,
  amount: number,
  reference: string,
  reason: string | null,
): Promise<MomoRefund> {
  const [row] = await tx<{ refund: Refund; payee_msisdn: string }[]>`
    select refund, payee_msisdn
      from api_private.momo_refund_transfer(${paymentId}::uuid, ${amount}::bigint, ${reference}::uuid, ${reason})`;
  return { refund: row!.refund, payeeMsisdn: row!.payee_msisdn };
}

/**
 * MoMo's transfer of the refund to the payer, unless it may no longer be sent (postMomoTransfer,
 * the send recorded by api_private.momo_refund_send_begin): whether it was posted. Resolves once
 * MoMo accepted it (202, or 409 for the reference it already has); throws ProviderError when
 * MoMo refused it (declined) or did not answer (unavailable).
 */
export async function postMomoRefundTransfer(
  providers: Pick<ProviderClients, "momo" | "momoCallbackUrl">,
  asService: AsService,
  transfer: MomoRefund,
): Promise<boolean> {
  const { posted } = await postMomoTransfer(
    providers,
    asService,
    (tx) =>
      tx<(Refund & TransferSending)[]>`
      select * from api_private.momo_refund_send_begin(${transfer.refund.provider_refund_id}::uuid)`,
    (refund) => ({
      referenceId: refund.provider_refund_id,
      amount: Number(refund.amount),
      currency: refund.currency,
      externalId: refund.id,
      msisdn: transfer.payeeMsisdn,
      payerMessage: "mfuko refund",
      payeeNote: `refund of payment ${refund.payment_id}`,
      callback: "refund",
    }),
  );
  return posted;
}
