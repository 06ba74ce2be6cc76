// The provider side of a top-up: the one call that creates the payment at the provider, made
// idempotent on our intent so that a retried request never creates a second one (Stripe:
// Idempotency-Key = intent id; MoMo: X-Reference-Id = the intent id, a UUID v4, and a
// duplicate is answered 409; Revolut: an intent that already has its order reads that order
// instead of creating another), and the next step the user takes (next_action).
import { toMajorUnits } from "../_shared/providers/momo/amount.ts";
import type { MomoCallbackProduct } from "../_shared/providers/momo/callback-url.ts";
import type { MomoClient } from "../_shared/providers/momo/client.ts";
import type { RevolutClient } from "../_shared/providers/revolut/client.ts";
import { RevolutApiError } from "../_shared/providers/revolut/client.ts";
import type { StripeClient } from "../_shared/providers/stripe/client.ts";

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
      const order = intent.provider_ref
        ? await clients.revolut.order(intent.provider_ref)
        : await clients.revolut.createOrder({
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
