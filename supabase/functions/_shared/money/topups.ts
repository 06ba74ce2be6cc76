// The provider side of a top-up: the one call that creates the payment at the provider, made
// idempotent on our intent so that a retried request never creates a second one (Stripe:
// Idempotency-Key = intent id; MoMo: X-Reference-Id = the intent id, a UUID v4, and a
// duplicate is answered 409; Revolut: an intent that already has its order reads that order
// instead of creating another), and the next step the user takes (next_action). startTopUp is
// the whole step after the intent exists, shared by the payments API and the WhatsApp
// conversation. The provider is asked only for an intent that can still be paid, so that a
// request resumed after its intent ended never prompts a payer for money nothing would credit.
import type { TransactionSql } from "../db.ts";
import type { Logger } from "../logger.ts";
import { ProviderError } from "../providers/errors.ts";
import { toMajorUnits } from "../providers/momo/amount.ts";
import type { MomoCallbackProduct } from "../providers/momo/callback-url.ts";
import type { MomoClient } from "../providers/momo/client.ts";
import type { RevolutClient } from "../providers/revolut/client.ts";
import { RevolutApiError } from "../providers/revolut/client.ts";
import type { StripeClient } from "../providers/stripe/client.ts";

export type Provider = "stripe" | "momo" | "revolut";

export interface ProviderClients {
  stripe: StripeClient;
  momo: MomoClient;
  revolut: RevolutClient;
  /** The X-Callback-Url for a MoMo reference id (momo-webhook with its token). */
  momoCallbackUrl(referenceId: string, product?: MomoCallbackProduct): Promise<string>;
}

/** A payment_intents row as the function reads it. */
export interface Intent {
  id: string;
  provider: Provider;
  provider_ref: string | null;
  account_id: string;
  amount: string | number;
  currency: string;
  status: string;
  failure_reason: string | null;
}

export type NextAction =
  | { type: "stripe_client_secret"; client_secret: string }
  | { type: "approve_on_phone"; msisdn: string }
  | { type: "redirect"; url: string };

export interface ProviderPayment {
  /** The provider's id for the payment, stored with payment_intent_attach. */
  providerRef: string;
  nextAction: NextAction;
}

/** Creates (or finds again) the provider's payment for `intent`. Throws ProviderError. */
export async function startProviderPayment(
  clients: ProviderClients,
  intent: Intent,
  options: { msisdn?: string },
): Promise<ProviderPayment> {
  const amount = Number(intent.amount);
  switch (intent.provider) {
    case "stripe": {
      const created = await clients.stripe.createPaymentIntent({ amount, currency: intent.currency, intentId: intent.id });
      return { providerRef: created.id, nextAction: { type: "stripe_client_secret", client_secret: created.clientSecret } };
    }
    case "momo": {
      const msisdn = options.msisdn!;
      await clients.momo.requestToPay({
        referenceId: intent.id,
        amount: toMajorUnits(amount, intent.currency),
        currency: intent.currency,
        externalId: intent.id,
        msisdn,
        payerMessage: "mfuko wallet top-up",
        payeeNote: `top-up ${intent.id}`,
        callbackUrl: await clients.momoCallbackUrl(intent.id),
      });
      return { providerRef: intent.id, nextAction: { type: "approve_on_phone", msisdn } };
    }
    case "revolut": {
      // Revolut orders take no idempotency key: an intent attached to its order reads it back.
      const order = intent.provider_ref ? await clients.revolut.order(intent.provider_ref) : await clients.revolut.createOrder({
        amount,
        currency: intent.currency,
        merchantOrderExtRef: intent.id,
        description: "mfuko wallet top-up",
      });
      if (!order.checkout_url) throw new RevolutApiError(`Revolut order ${order.id} has no checkout_url`, 502);
      return { providerRef: order.id, nextAction: { type: "redirect", url: order.checkout_url } };
    }
  }
}

/** Runs `fn` in one transaction as service_role (with the request's context). */
export type AsService = <T>(fn: (tx: TransactionSql) => Promise<T>) => Promise<T>;

/** The statuses in which an intent still takes a payment (any other is final, or failed). */
const PAYABLE_STATUSES = new Set(["requires_payment", "processing"]);

/** startTopUp was given an intent that no longer takes a payment (succeeded, failed, canceled): no provider was asked. */
export class IntentNotPayableError extends Error {
  constructor(readonly intent: Intent) {
    super(`Top-up ${intent.id} is ${intent.status}: it takes no more payment.`);
    this.name = "IntentNotPayableError";
  }
}

export type TopUpStart =
  | { outcome: "started"; intent: Intent; nextAction: NextAction }
  | { outcome: "declined"; intent: Intent; reason: string };

/**
 * The provider's payment for `intent`, attached to it; or, when the provider refuses, the
 * intent failed with the provider's reason. Throws IntentNotPayableError, before any provider
 * call, when the intent no longer takes a payment; ProviderError when the provider is
 * unavailable, or refuses a MoMo request-to-pay sent again (the intent stays payable, so that
 * a retry finishes the job).
 */
export async function startTopUp(
  clients: ProviderClients,
  asService: AsService,
  logger: Logger,
  intent: Intent,
  options: { msisdn?: string },
): Promise<TopUpStart> {
  if (!PAYABLE_STATUSES.has(intent.status)) throw new IntentNotPayableError(intent);
  const attach = async (providerRef: string) => {
    const [attached] = await asService((tx) =>
      tx<Intent[]>`
      select * from public.payment_intent_attach(${intent.id}::uuid, ${providerRef})`
    );
    return attached!;
  };
  // MoMo prompts the payer as soon as it takes the request-to-pay, even when its answer to us is
  // lost, and its reference is the intent id, known before the call: recorded first, so that
  // momo-poll asks MoMo about every request MoMo may have taken. (A Stripe PaymentIntent or a
  // Revolut order whose answer is lost cannot be paid: the payer never got its secret or URL.)
  const current = intent.provider === "momo" ? await attach(intent.id) : intent;
  let payment: ProviderPayment;
  try {
    payment = await startProviderPayment(clients, current, options);
  } catch (error) {
    if (!(error instanceof ProviderError) || error.kind !== "declined") throw error;
    // A refusal of a request-to-pay sent again says nothing of the earlier one, whose answer was
    // lost and which MoMo may hold and the payer approve: failing the intent then would leave
    // that payment uncredited, since momo-poll asks only about payable intents. It stays
    // processing (502) until a retry, the callback or momo-poll learns the earlier request's fate.
    if (intent.provider === "momo" && intent.provider_ref !== null) throw error;
    const reason = error.reason ?? error.message;
    const [failed] = await asService((tx) =>
      tx<Intent[]>`
      select * from public.payment_record_failure(${intent.id}::uuid, ${`${intent.provider}: ${reason}`.slice(0, 500)})`
    );
    logger.warn("provider_declined", { provider: intent.provider, intent_id: intent.id, http_status: error.httpStatus, reason });
    return { outcome: "declined", intent: failed!, reason };
  }
  const attached = current.provider_ref === payment.providerRef ? current : await attach(payment.providerRef);
  return { outcome: "started", intent: attached, nextAction: payment.nextAction };
}
