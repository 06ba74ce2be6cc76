// What the payment webhooks (Stripe, MoMo, Revolut) do to intents and payments, through the
// payment_* functions of docs/PAYMENTS.md. Every call runs inside the webhook's transaction.
import type { TransactionSql } from "../db.ts";
import { jsonb } from "./jsonb.ts";
import type { AppliedOutcome, WebhookEvent } from "./store-then-apply.ts";

export type PaymentProvider = "stripe" | "momo" | "revolut";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The intent a provider event is about: by the provider's reference (Stripe PaymentIntent id,
 * MoMo reference id, Revolut order id), else by the intent id we gave the provider
 * (metadata.intent_id, MoMo externalId), which must belong to the same provider. Null when
 * neither names an intent we know. `unattachedOnly`: by the intent id only an intent with no
 * provider reference yet, for an event that ends or fails the provider's object (a Stripe
 * PaymentIntent failed or canceled): another object naming the intent (a duplicate
 * PaymentIntent) is not the one its payer is paying, and failing the intent for it would tell
 * the person their top-up failed, or canceling it turn that payment into one for a canceled
 * top-up.
 */
export async function findIntentId(
  tx: TransactionSql,
  provider: PaymentProvider,
  providerRef: string | null,
  fallbackIntentId: string | null | undefined,
  { unattachedOnly = false } = {},
): Promise<string | null> {
  if (providerRef) {
    const [byRef] = await tx<{ id: string }[]>`
      select id from public.payment_intents where provider = ${provider} and provider_ref = ${providerRef}`;
    if (byRef) return byRef.id;
  }
  if (fallbackIntentId && UUID.test(fallbackIntentId)) {
    const [byId] = await tx<{ id: string }[]>`
      select id from public.payment_intents
       where id = ${fallbackIntentId} and provider = ${provider} and (not ${unattachedOnly} or provider_ref is null)`;
    if (byId) return byId.id;
  }
  return null;
}

export interface ConfirmedPayment {
  provider: PaymentProvider;
  providerPaymentId: string;
  intentId: string | null;
  /** Minor units, as the provider confirmed them. */
  amount: number;
  currency: string;
  raw: unknown;
}

/**
 * Stores the payment and credits the intent's account (payment_record_success); a payment that
 * does not match its intent, or has none, is stored as needs_review without a credit. The fee
 * is 0: provider fees are not in these events (reconciliation reads them from the provider).
 */
export async function recordPaymentSuccess(tx: TransactionSql, payment: ConfirmedPayment): Promise<void> {
  await tx`
    select 1 from public.payment_record_success(${payment.provider}, ${payment.providerPaymentId}, ${payment.intentId}::uuid,
                                         ${payment.amount}::bigint, ${payment.currency}, 0,
                                         ${jsonb(tx, payment.raw)})`;
}

/** A payment the provider reports as succeeded, as its event carries it. */
export interface PaymentSuccess {
  provider: PaymentProvider;
  providerPaymentId: string;
  /** The intent id we gave the provider (e.g. Stripe metadata.intent_id), if the event carries one. */
  intentHint: string | null;
  /** Minor units. */
  amount: number;
  currency: string;
  raw: unknown;
}

/** An event's effect that is `payment`'s success: store-then-apply can do it in one call. */
export function paymentSuccessEffect(payment: PaymentSuccess): Pick<WebhookEvent, "apply" | "paymentSuccess"> {
  return { paymentSuccess: payment, apply: (tx) => applyPaymentSuccess(tx, payment) };
}

/**
 * Stores the payment and credits its intent's account once (payment_success_apply: the intent
 * found as findIntentId finds it, a payment already recorded is 'ignored').
 */
export async function applyPaymentSuccess(tx: TransactionSql, payment: PaymentSuccess): Promise<AppliedOutcome> {
  const [row] = await tx<{ outcome: AppliedOutcome }[]>`
    select public.payment_success_apply(${payment.provider}, ${payment.providerPaymentId}, ${payment.intentHint},
                                        ${payment.amount}::bigint, ${payment.currency}, ${jsonb(tx, payment.raw)}) as outcome`;
  return row!.outcome;
}

/** The longest reason payment_record_failure accepts (private.input_limit('reason')). */
const MAX_FAILURE_REASON = 1000;

/**
 * Fails the intent with the provider's reason; a succeeded intent is left as it is. A longer
 * reason is cut to fit: the failure is a fact to record, not an input to refuse.
 */
export async function recordPaymentFailure(tx: TransactionSql, intentId: string, reason: string): Promise<void> {
  await tx`select 1 from public.payment_record_failure(${intentId}::uuid, ${reason.slice(0, MAX_FAILURE_REASON)})`;
}

/** A payments row as the webhooks read it (bigint columns arrive as strings). */
export interface PaymentRow {
  id: string;
  intent_id: string | null;
  amount: string;
  amount_refunded: string;
  wallet_transaction_id: string | null;
}

/**
 * The recorded payment of a provider payment id, or null. `locked` reads it under the row lock
 * the refund functions take (api_private.payment_lock), so that what the caller works out from
 * it (what a refund report adds to the refunds recorded) waits for a refund being recorded and
 * counts it once committed.
 */
export async function findPayment(
  tx: TransactionSql,
  provider: PaymentProvider,
  providerPaymentId: string,
  locked = false,
): Promise<PaymentRow | null> {
  const columns = tx`id, intent_id, amount, amount_refunded, wallet_transaction_id`;
  const [row] = locked
    ? await tx<PaymentRow[]>`select ${columns} from api_private.payment_lock(${provider}, ${providerPaymentId})`
    : await tx<
      PaymentRow[]
    >`select ${columns} from public.payments where provider = ${provider} and provider_payment_id = ${providerPaymentId}`;
  return row ?? null;
}

/** Records a refund and reverses its part of the credit (forced when the money was spent). */
export async function recordRefund(
  tx: TransactionSql,
  paymentId: string,
  amount: number,
  providerRefundId: string,
  reason: string | null,
): Promise<void> {
  await tx`select 1 from public.refund_record(${paymentId}::uuid, ${amount}::bigint, ${providerRefundId}, ${reason})`;
}

/**
 * Records a refund the provider accepted and has not completed: it reserves its amount and
 * moves no money until refund_record completes it or refund_record_failure closes it.
 */
export async function recordPendingRefund(
  tx: TransactionSql,
  paymentId: string,
  amount: number,
  providerRefundId: string,
  reason: string,
): Promise<void> {
  await tx`select 1 from api_private.refund_record_pending(${paymentId}::uuid, ${amount}::bigint, ${providerRefundId}, ${reason})`;
}

/**
 * Records that a refund failed or was canceled (refund_record_failure): a succeeded one gives
 * the wallet its amount back and lowers the payment's refunded amount, a pending one is closed,
 * one never recorded is kept failed with no ledger effect.
 */
export async function recordRefundFailure(
  tx: TransactionSql,
  paymentId: string,
  refund: { providerRefundId: string; amount: number; status: "failed" | "canceled"; reason: string },
): Promise<void> {
  await tx`
    select 1 from public.refund_record_failure(${paymentId}::uuid, ${refund.providerRefundId}, ${refund.amount}::bigint,
                                               ${refund.status}, ${refund.reason})`;
}
