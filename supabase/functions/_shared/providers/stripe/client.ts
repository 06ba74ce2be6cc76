// The Stripe API calls the functions make, through the official `stripe` package with fetch so
// that the same code runs under Deno and Node: creating the PaymentIntent of a top-up, reading
// it back and cancelling it (stripe-poll), refunding a payment (an admin refund), reading a
// refund back by its id or by its request (stripe-poll), reading a dispute back (stripe-poll)
// and reading a charge's refunds (stripe-webhook). The API host comes from STRIPE_API_BASE_URL
// (https://api.stripe.com in production, a stand-in in tests); the SDK's own retries are off
// because the caller retries with the same intent.
import Stripe from "stripe";
import { once } from "../../env.ts";
import { providerConfigFromEnv } from "../from-env.ts";
import { alwaysUnavailable, providerError } from "../errors.ts";
import { callTimeoutMs, type ProviderClientConfig } from "../http.ts";
import type { RefundRequest } from "../refund-request.ts";

export interface StripeClientConfig extends ProviderClientConfig {
  secretKey: string;
}

/** Stripe refused or did not answer (its `kind` says which). Safe to store and log. */
export class StripeApiError extends providerError("stripe") {}

/**
 * Stripe's 409 Conflict: the request conflicts with another one, such as a request with the same
 * Idempotency-Key still running at Stripe (idempotency_key_in_use: ours timed out and the same
 * intent or refund was asked again at once). Nothing was refused: the other request's outcome
 * is the call's, and the same call once it has ended returns it. Unavailable, so that no caller
 * fails the intent or the refund for it.
 */
class StripeConflictError extends alwaysUnavailable(StripeApiError) {}

/**
 * Stripe's 404 resource_missing for the PaymentIntent a call names (param `intent`): Stripe has
 * no PaymentIntent of that id under this key. Any other 404 (a wrong base URL) is a plain
 * StripeApiError.
 */
export class StripeUnknownPaymentIntentError extends StripeApiError {}

/**
 * Stripe's 404 resource_missing for the refund a look-up names: Stripe has no refund of that id
 * under this key. A 404 naming no parameter (a wrong base URL) is a plain StripeApiError.
 */
export class StripeUnknownRefundError extends StripeApiError {}

/** Stripe's 404 resource_missing for the dispute a look-up names: Stripe has no dispute of that id under this key. */
export class StripeUnknownDisputeError extends StripeApiError {}

/** A PaymentIntent as Stripe reports it: the object its payment_intent.* events carry. */
export type StripePaymentIntent = Stripe.PaymentIntent;

/** A Refund as Stripe reports it: the object its refund.* events carry. */
export type StripeRefund = Stripe.Refund;

/** A Dispute as Stripe reports it: the object its charge.dispute.* events carry. */
export type StripeDispute = Stripe.Dispute;

export interface NewPaymentIntent {
  /** Minor units. */
  amount: number;
  currency: string;
  /** Our intent id: the Idempotency-Key and metadata.intent_id, so a retry returns the same PaymentIntent. */
  intentId: string;
}

export interface CreatedPaymentIntent {
  id: string;
  clientSecret: string;
}

export interface NewRefund extends RefundRequest {
  /** The PaymentIntent (pi_...) or charge (ch_...) refunded. */
  paymentId: string;
}

export interface CreatedRefund {
  id: string;
  /** Stripe's refund status: succeeded, pending, requires_action, failed or canceled. */
  status: string;
  amount: number;
}

export interface StripeClient {
  createPaymentIntent(intent: NewPaymentIntent): Promise<CreatedPaymentIntent>;
  /** The PaymentIntent as Stripe has it now. Throws StripeUnknownPaymentIntentError, or StripeApiError. */
  retrievePaymentIntent(id: string): Promise<StripePaymentIntent>;
  /**
   * Cancels the PaymentIntent (cancellation_reason abandoned) and returns it as Stripe has it
   * then: canceled, or, when Stripe refused because it could no longer be canceled (400
   * payment_intent_unexpected_state: it succeeded or is being paid meanwhile), as that refusal
   * reports it. Throws as retrievePaymentIntent does, and for any other refusal.
   */
  cancelPaymentIntent(id: string): Promise<StripePaymentIntent>;
  /**
   * A refund of the request `refund.requestId`, created with that id as the Idempotency-Key and
   * in its metadata: the same call again within Stripe's 24 hours is answered with the first
   * refund. A caller that may have asked before, longer ago, looks for that refund first
   * (refundOfRequest).
   */
  createRefund(refund: NewRefund): Promise<CreatedRefund>;
  /**
   * The refund of the payment (PaymentIntent or charge) `paymentId` whose metadata names the
   * admin's refund request `requestId`, or null when Stripe has none. Throws StripeApiError.
   */
  refundOfRequest(paymentId: string, requestId: string): Promise<StripeRefund | null>;
  /** The refund as Stripe has it now. Throws StripeUnknownRefundError, or StripeApiError. */
  retrieveRefund(id: string): Promise<StripeRefund>;
  /** Every refund of the charge as Stripe has it now (all pages), newest first. Throws StripeApiError. */
  listChargeRefunds(chargeId: string): Promise<StripeRefund[]>;
  /** The dispute as Stripe has it now. Throws StripeUnknownDisputeError, or StripeApiError. */
  retrieveDispute(id: string): Promise<StripeDispute>;
}

/** The SDK pointed at `baseUrl` (e.g. https://api.stripe.com: its host, port and protocol), talking through fetch. */
export function createStripeSdk(config: StripeClientConfig): Stripe {
  const url = new URL(config.baseUrl);
  const protocol = url.protocol === "http:" ? "http" : "https";
  return new Stripe(config.secretKey, {
    httpClient: Stripe.createFetchHttpClient(),
    host: url.hostname,
    port: url.port === "" ? (protocol === "http" ? 80 : 443) : Number(url.port),
    protocol,
    timeout: callTimeoutMs(config),
    maxNetworkRetries: 0,
  });
}

function asStripeApiError(error: unknown, what: string): StripeApiError {
  if (error instanceof Stripe.errors.StripeError) {
    const status = typeof error.statusCode === "number" ? error.statusCode : null;
    const reason = [error.decline_code ?? error.code, error.message].filter(Boolean).join(": ").slice(0, 500) || null;
    const answered = status === null ? `did not answer ${what} (${error.type})` : `answered ${what} with HTTP ${status}`;
    const Failure = status === 409 ? StripeConflictError : StripeApiError;
    return new Failure(`Stripe ${answered}`, status, status === null ? null : reason);
  }
  return new StripeApiError(`Stripe did not answer ${what}: ${(error as Error).name}`, null);
}

/**
 * asStripeApiError, except that Stripe's 404 resource_missing naming one of `params` (the
 * parameter that held the id of the object the call is about) is an `Unknown` error: Stripe does
 * not know that object.
 */
function asObjectError(
  error: unknown,
  what: string,
  params: readonly string[],
  Unknown: typeof StripeApiError,
): StripeApiError {
  const apiError = asStripeApiError(error, what);
  const unknown = error instanceof Stripe.errors.StripeError && error.statusCode === 404 && error.code === "resource_missing" &&
    params.includes(error.param ?? "");
  return unknown ? new Unknown(apiError.message, apiError.httpStatus, apiError.reason) : apiError;
}

/** asStripeApiError, except that Stripe not knowing the PaymentIntent (param intent) is a StripeUnknownPaymentIntentError. */
const asPaymentIntentError = (error: unknown, what: string) => asObjectError(error, what, ["intent"], StripeUnknownPaymentIntentError);

/** The parameter that names a refund's payment: a charge (ch_...) or a PaymentIntent. */
const refundTarget = (paymentId: string) => paymentId.startsWith("ch_") ? { charge: paymentId } : { payment_intent: paymentId };

export function createStripeClient(config: StripeClientConfig): StripeClient {
  const stripe = createStripeSdk(config);
  const refundOfRequest: StripeClient["refundOfRequest"] = async (paymentId, requestId) => {
    try {
      for await (const listed of stripe.refunds.list({ ...refundTarget(paymentId), limit: 100 })) {
        if (listed.metadata?.refund_request_id === requestId) return listed;
      }
      return null;
    } catch (error) {
      throw asStripeApiError(error, `the look-up of the refunds of ${paymentId}`);
    }
  };
  return {
    async createPaymentIntent(intent) {
      let created: Stripe.PaymentIntent;
      try {
        created = await stripe.paymentIntents.create(
          { amount: intent.amount, currency: intent.currency.toLowerCase(), metadata: { intent_id: intent.intentId } },
          { idempotencyKey: intent.intentId },
        );
      } catch (error) {
        throw asStripeApiError(error, `the PaymentIntent creation for ${intent.intentId}`);
      }
      if (!created.client_secret) {
        throw new StripeApiError(`Stripe answered the PaymentIntent creation for ${intent.intentId} without a client_secret`, 502);
      }
      return { id: created.id, clientSecret: created.client_secret };
    },

    async retrievePaymentIntent(id) {
      try {
        return await stripe.paymentIntents.retrieve(id);
      } catch (error) {
        throw asPaymentIntentError(error, `the look-up of PaymentIntent ${id}`);
      }
    },

    async cancelPaymentIntent(id) {
      try {
        return await stripe.paymentIntents.cancel(id, { cancellation_reason: "abandoned" });
      } catch (error) {
        const movedOn = error instanceof Stripe.errors.StripeInvalidRequestError && error.code === "payment_intent_unexpected_state" &&
          error.payment_intent?.id === id;
        if (movedOn) return error.payment_intent!;
        throw asPaymentIntentError(error, `the cancellation of PaymentIntent ${id}`);
      }
    },

    async createRefund(refund) {
      let created: Stripe.Refund;
      try {
        created = await stripe.refunds.create(
          {
            ...refundTarget(refund.paymentId),
            amount: refund.amount,
            metadata: { payment_id: refund.ourPaymentId, refund_request_id: refund.requestId },
          },
          { idempotencyKey: refund.requestId },
        );
      } catch (error) {
        throw asStripeApiError(error, `the refund of ${refund.paymentId}`);
      }
      return { id: created.id, status: created.status ?? "pending", amount: created.amount };
    },

    refundOfRequest,

    async retrieveRefund(id) {
      try {
        return await stripe.refunds.retrieve(id);
      } catch (error) {
        // Stripe names the refund's path parameter (id, or refund as its API reference calls it).
        throw asObjectError(error, `the look-up of refund ${id}`, ["id", "refund"], StripeUnknownRefundError);
      }
    },

    async listChargeRefunds(chargeId) {
      try {
        const refunds: Stripe.Refund[] = [];
        for await (const refund of stripe.refunds.list({ charge: chargeId, limit: 100 })) refunds.push(refund);
        return refunds;
      } catch (error) {
        throw asStripeApiError(error, `the look-up of the refunds of ${chargeId}`);
      }
    },

    async retrieveDispute(id) {
      try {
        return await stripe.disputes.retrieve(id);
      } catch (error) {
        // Stripe names the dispute's path parameter (id, or dispute as its API reference calls it).
        throw asObjectError(error, `the look-up of dispute ${id}`, ["id", "dispute"], StripeUnknownDisputeError);
      }
    },
  };
}

/** The process's client, configured from STRIPE_SECRET_KEY and STRIPE_API_BASE_URL. */
export const stripeClientFromEnv: () => StripeClient = once(() =>
  createStripeClient(providerConfigFromEnv({ secretKey: "STRIPE_SECRET_KEY", baseUrl: "STRIPE_API_BASE_URL" }))
);
