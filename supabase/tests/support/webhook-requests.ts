// Signed webhook requests as each provider sends them, for handler and gateway tests. The
// HMACs are computed here with node:crypto, independently of the code under test; Stripe's
// header comes from the official library's generateTestHeaderString.
import { createHmac } from "node:crypto";
import Stripe from "stripe";
import { uniqueClientAddress } from "./payments-fixtures.ts";

/** In-process handlers see the path the gateway forwards: /<function-name>/... */
export const IN_PROCESS_ORIGIN = "http://functions.local";

export interface RequestOptions {
  /** Where the function is served: IN_PROCESS_ORIGIN or MFUKO_TEST_FUNCTIONS_URL. */
  base?: string;
  /** The client address (x-forwarded-for), so that each test has its own rate-limit bucket. */
  address?: string;
  method?: string;
  headers?: Record<string, string>;
}

function request(path: string, body: string | null, options: RequestOptions, headers: Record<string, string>): Request {
  const method = options.method ?? "POST";
  return new Request(`${options.base ?? IN_PROCESS_ORIGIN}${path}`, {
    method,
    headers: {
      "content-type": "application/json",
      "x-forwarded-for": options.address ?? uniqueClientAddress(),
      ...headers,
      ...options.headers,
    },
    body: method === "GET" || method === "HEAD" ? null : body,
  });
}

const hmacHex = (secret: string, data: string | Uint8Array) => createHmac("sha256", secret).update(data).digest("hex");
const asText = (body: unknown) => (typeof body === "string" ? body : JSON.stringify(body));

export const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (import supabase/tests/support/functions-env.ts first)`);
  return value;
};

// --- Stripe ---------------------------------------------------------------------------

export interface StripeSigning {
  secret?: string;
  /** Epoch seconds. */
  timestamp?: number;
  /** A complete Stripe-Signature value, or null for none. */
  header?: string | null;
}

export function stripeSignatureHeader(payload: string, signing: StripeSigning = {}): string {
  return Stripe.webhooks.generateTestHeaderString({
    payload,
    secret: signing.secret ?? env("STRIPE_WEBHOOK_SECRET"),
    timestamp: signing.timestamp ?? Math.floor(Date.now() / 1000),
  });
}

/** A Stripe event envelope around `object`. */
export function stripeEvent(type: string, object: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
  return {
    id: `evt_${crypto.randomUUID().replaceAll("-", "")}`,
    object: "event",
    api_version: "2025-09-30",
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    type,
    data: { object },
    ...overrides,
  };
}

/** A payment_intent.succeeded event for the PaymentIntent `id` of `amount` US cents, fully received. */
export function stripePaymentSucceeded(id: string, amount: number, extra: Record<string, unknown> = {}) {
  return stripeEvent("payment_intent.succeeded", {
    id,
    object: "payment_intent",
    amount,
    amount_received: amount,
    currency: "usd",
    metadata: {},
    ...extra,
  });
}

/**
 * The charge.refunded of current API versions for the charge of PaymentIntent `paymentIntent`
 * (`amount` US cents): no refunds list, only the charge's refunded total; `extra` adds to the
 * charge, `overrides` to the event.
 */
export function stripeChargeRefunded(
  paymentIntent: string,
  amount: number,
  amountRefunded: number,
  extra: Record<string, unknown> = {},
  overrides: Record<string, unknown> = {},
) {
  return stripeEvent("charge.refunded", {
    id: `ch_${paymentIntent.slice(3)}`,
    object: "charge",
    payment_intent: paymentIntent,
    amount,
    amount_refunded: amountRefunded,
    currency: "usd",
    ...extra,
  }, overrides);
}

export function stripeRequest(event: unknown, signing: StripeSigning = {}, options: RequestOptions = {}): Request {
  const body = asText(event);
  const header = signing.header === undefined ? stripeSignatureHeader(body, signing) : signing.header;
  return request("/stripe-webhook", body, options, header === null ? {} : { "stripe-signature": header });
}

// --- WhatsApp -------------------------------------------------------------------------

export function whatsAppSignature(body: string | Uint8Array, secret: string = env("WHATSAPP_APP_SECRET")): string {
  return `sha256=${hmacHex(secret, body)}`;
}

export function whatsAppRequest(
  payload: unknown,
  signing: { secret?: string; header?: string | null } = {},
  options: RequestOptions = {},
): Request {
  const body = asText(payload);
  const header = signing.header === undefined ? whatsAppSignature(body, signing.secret) : signing.header;
  return request("/whatsapp-webhook", body, options, header === null ? {} : { "x-hub-signature-256": header });
}

// --- Revolut --------------------------------------------------------------------------

export function revolutSignature(body: string, timestampMs: number, secret: string = env("REVOLUT_WEBHOOK_SECRET")): string {
  return `v1=${hmacHex(secret, `v1.${timestampMs}.${body}`)}`;
}

export interface RevolutSigning {
  secret?: string;
  /** Epoch milliseconds. */
  timestamp?: number;
  /** A complete Revolut-Signature value, or null for none. */
  header?: string | null;
}

export function revolutRequest(payload: unknown, signing: RevolutSigning = {}, options: RequestOptions = {}): Request {
  const body = asText(payload);
  const timestamp = signing.timestamp ?? Date.now();
  const header = signing.header === undefined ? revolutSignature(body, timestamp, signing.secret) : signing.header;
  return request("/revolut-webhook", body, options, {
    "revolut-request-timestamp": String(timestamp),
    ...(header === null ? {} : { "revolut-signature": header }),
  });
}

// --- MTN MoMo -------------------------------------------------------------------------

export function momoCallbackToken(referenceId: string, secret: string = env("MOMO_CALLBACK_SECRET")): string {
  return hmacHex(secret, referenceId);
}

/**
 * The callback MoMo makes to the URL we gave it: /momo-webhook/callback/<ref>?token=<hmac> for
 * a request-to-pay, /momo-webhook/disbursement/<ref>?token=<hmac> for a transfer.
 */
export function momoCallbackRequest(
  referenceId: string,
  payload: unknown,
  signing: { token?: string | null; secret?: string } = {},
  options: RequestOptions = {},
  route: "callback" | "disbursement" | "refund" = "callback",
): Request {
  const token = signing.token === undefined ? momoCallbackToken(referenceId, signing.secret) : signing.token;
  const query = token === null ? "" : `?token=${token}`;
  return request(`/momo-webhook/${route}/${referenceId}${query}`, asText(payload), { method: "PUT", ...options }, {});
}
