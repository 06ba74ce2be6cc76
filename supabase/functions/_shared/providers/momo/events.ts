// A MoMo request-to-pay or transfer status as a webhook event, whoever noticed it: the
// momo-webhook callback, the jobs function's momo-poll (no callback: MoMo's was lost), or an
// admin replay. MoMo does not sign callbacks, so a body is only a hint to look: the status,
// amount and currency applied are the ones MoMo's API confirms for the reference id
// (client.ts). Dedupe key: reference id plus the CONFIRMED status (a refund's transfer with
// "refund" between them: transferEventId), so a callback that claims more than MoMo confirms is
// no failed attempt: it is the confirmed status's event (processed once, a duplicate after),
// and whoever holds a callback URL cannot push the real outcome's event to dead. When MoMo
// cannot be asked, the key is reference id plus "unconfirmed": that event fails (and may die)
// on its own.
import { z } from "zod";
import type { TransactionSql } from "../../db.ts";
import { jsonb } from "../../webhooks/jsonb.ts";
import { storableReason } from "../errors.ts";
import { findIntentId, recordPaymentFailure, recordPaymentSuccess } from "../../webhooks/payments.ts";
import type { AppliedOutcome, WebhookEvent } from "../../webhooks/store-then-apply.ts";
import { toMinorUnits } from "./amount.ts";
import { momoReason, type RequestToPay, type Transfer } from "./client.ts";
import type { Settled } from "../settled.ts";

export const callbackSchema = z.looseObject({
  financialTransactionId: z.string().max(255).optional(),
  externalId: z.string().max(255).optional(),
  amount: z.string().max(32).optional(),
  currency: z.string().max(3).optional(),
  status: z.enum(["PENDING", "SUCCESSFUL", "FAILED"]),
  reason: momoReason.optional(),
});
export type Callback = z.output<typeof callbackSchema>;

/** What MoMo's API said about the reference id, or why it could not be asked. */
export type Confirmation<T = RequestToPay> = Settled<T>;

/**
 * MoMo's reason, a string or {code, message}, as one line cut to what a payment's row keeps: MoMo
 * bounds neither, and a longer one would be refused (22023) with the confirmed status it explains.
 */
export function reasonText(reason: z.output<typeof momoReason> | undefined): string | null {
  if (reason === undefined) return null;
  const text = typeof reason === "string" ? reason : [reason.code, reason.message].filter(Boolean).join(": ");
  return text === "" ? null : storableReason(text);
}

async function mirror(
  tx: TransactionSql,
  referenceId: string,
  intentId: string | null,
  callback: Callback | null,
  confirmed: RequestToPay,
  amount: number,
) {
  const payer = confirmed.payer?.partyIdType === "MSISDN" ? confirmed.payer.partyId ?? null : null;
  await tx`
    insert into public.momo_transactions as m (reference_id, intent_id, external_id, financial_transaction_id, payer_msisdn,
                                               amount, currency, status, reason, raw_callback)
    values (${referenceId}::uuid, ${intentId}::uuid, ${confirmed.externalId ?? null}, ${confirmed.financialTransactionId ?? null},
            ${payer}, ${amount}::bigint, ${confirmed.currency}, ${confirmed.status}, ${reasonText(confirmed.reason)},
            ${jsonb(tx, { callback, confirmed })})
    on conflict (reference_id) do update
       set external_id = coalesce(excluded.external_id, m.external_id),
           financial_transaction_id = coalesce(excluded.financial_transaction_id, m.financial_transaction_id),
           payer_msisdn = coalesce(excluded.payer_msisdn, m.payer_msisdn),
           amount = excluded.amount, currency = excluded.currency, status = excluded.status,
           reason = coalesce(excluded.reason, m.reason), raw_callback = excluded.raw_callback
     where private.status_transition_allowed('momo_transactions', m.status, excluded.status)`;
}

/** The status an event is keyed and typed by: MoMo's confirmed one, or "unconfirmed". */
function confirmedStatus(confirmation: Confirmation<{ status: string }>): string {
  return confirmation.ok ? confirmation.value.status : "unconfirmed";
}

/** The event of `referenceId`'s confirmed status; `callback` is null when a poll found it. */
export function momoWebhookEvent(referenceId: string, callback: Callback | null, confirmation: Confirmation): WebhookEvent {
  const status = confirmedStatus(confirmation);
  return {
    eventId: `${referenceId}:${status}`,
    type: `requesttopay.${status.toLowerCase()}`,
    payload: { reference_id: referenceId, callback },
    apply: async (tx): Promise<AppliedOutcome> => {
      if (!confirmation.ok) throw confirmation.error;
      const confirmed = confirmation.value;
      const amount = toMinorUnits(confirmed.amount, confirmed.currency);
      const intentId = await findIntentId(tx, "momo", referenceId, confirmed.externalId);
      await mirror(tx, referenceId, intentId, callback, confirmed, amount);
      if (confirmed.status === "SUCCESSFUL") {
        await recordPaymentSuccess(tx, {
          provider: "momo",
          providerPaymentId: referenceId,
          intentId,
          amount,
          currency: confirmed.currency,
          raw: confirmed,
        });
      } else if (confirmed.status === "FAILED" && intentId) {
        await recordPaymentFailure(tx, intentId, reasonText(confirmed.reason) ?? "FAILED");
      }
      return "processed";
    },
  };
}

/** What a MoMo transfer pays out: a user's cash-out or an admin's refund to the payer. */
export type TransferPurpose = "cashout" | "refund";

/**
 * The event id of a transfer's `outcome` (its confirmed status, "unconfirmed" or
 * "not_accepted"): `<ref>:<outcome>` for a cash-out, `<ref>:refund:<outcome>` for a refund.
 * Both are Disbursement transfers, confirmed by the same API, and the callback token is the
 * reference's whatever the route: keyed alike, a refund's callback URL sent to the cash-out
 * route (or a cash-out's to the refund route) would store MoMo's confirmed status under the
 * real event's key, fail it (no such cash-out, WL007) until it is dead, and MoMo's own
 * callback and momo-poll would then find it dead and never settle the transfer MoMo paid.
 */
export function transferEventId(referenceId: string, purpose: TransferPurpose, outcome: string): string {
  return purpose === "cashout" ? `${referenceId}:${outcome}` : `${referenceId}:${purpose}:${outcome}`;
}

/** A transfer's status as MoMo's API confirms it, and for SUCCESSFUL the sum it moved (minor units). */
interface ConfirmedTransfer {
  status: string;
  reason: string | null;
  amount: number | null;
  currency: string;
}

/**
 * The event type's prefix of each purpose, the function that applies a status to it, and the one
 * that fails it not_accepted: refused (WL008) unless momo-poll closed the transfer's sending
 * before its look-up, since a retry of the request that made it may send it at any time.
 */
const transferPurposes: Record<TransferPurpose, {
  type: string;
  settle(tx: TransactionSql, referenceId: string, confirmed: ConfirmedTransfer): Promise<unknown>;
  notAccepted(tx: TransactionSql, referenceId: string): Promise<unknown>;
}> = {
  cashout: {
    type: "transfer",
    settle: (tx, referenceId, { status, reason, amount, currency }) =>
      tx`select public.cashout_settle(${referenceId}::uuid, ${status}, ${reason}, ${amount}::bigint, ${currency})`,
    notAccepted: (tx, referenceId) => tx`select api_private.cashout_not_accepted(${referenceId}::uuid)`,
  },
  refund: {
    type: "refund",
    settle: (tx, referenceId, { status, reason, amount, currency }) =>
      tx`select public.momo_refund_settle(${referenceId}::uuid, ${status}, ${reason}, ${amount}::bigint, ${currency})`,
    notAccepted: (tx, referenceId) => tx`select api_private.momo_refund_not_accepted(${referenceId}::uuid)`,
  },
};

/**
 * A MoMo transfer callback (a cash-out's or a refund's) as a webhook event, keyed like
 * request-to-pays on the reference id and the status MoMo's API confirms, and apart for each
 * purpose (transferEventId): SUCCESSFUL (for the sum
 * sent; another is refused, and the event fails) captures the cash-out's hold or records the
 * refund, FAILED voids the hold or closes the refund
 * (cashout_settle, momo_refund_settle), PENDING changes nothing.
 */
export function momoTransferEvent(
  referenceId: string,
  callback: Callback | null,
  confirmation: Confirmation<Transfer>,
  purpose: TransferPurpose = "cashout",
): WebhookEvent {
  const status = confirmedStatus(confirmation);
  const { type, settle } = transferPurposes[purpose];
  return {
    eventId: transferEventId(referenceId, purpose, status),
    type: `${type}.${status.toLowerCase()}`,
    // `product` tells the admin replay to ask the Disbursement API again.
    payload: { reference_id: referenceId, product: "disbursement", purpose, callback },
    apply: async (tx): Promise<AppliedOutcome> => {
      if (!confirmation.ok) throw confirmation.error;
      const confirmed = confirmation.value;
      await settle(tx, referenceId, {
        status: confirmed.status,
        reason: reasonText(confirmed.reason),
        // Only a SUCCESSFUL moved money; a FAILED one's amount must not keep its hold.
        amount: confirmed.status === "SUCCESSFUL" ? toMinorUnits(confirmed.amount, confirmed.currency) : null,
        currency: confirmed.currency,
      });
      return "processed";
    },
  };
}

/**
 * momo-poll's verdict on a transfer MoMo still answers 404 RESOURCE_NOT_FOUND for (it never
 * received it) once the accept window has passed: failed with reason not_accepted (a cash-out's
 * hold voided, a refund closed). Keyed apart from MoMo's statuses, so a SUCCESSFUL reported
 * later is its own event, which the settled transfer refuses (WL008).
 */
export function momoTransferNotAccepted(referenceId: string, purpose: TransferPurpose): WebhookEvent {
  const { type, notAccepted } = transferPurposes[purpose];
  return {
    eventId: transferEventId(referenceId, purpose, "not_accepted"),
    type: `${type}.not_accepted`,
    payload: { reference_id: referenceId, product: "disbursement", purpose, not_accepted: true, callback: null },
    apply: async (tx): Promise<AppliedOutcome> => {
      await notAccepted(tx, referenceId);
      return "processed";
    },
  };
}
