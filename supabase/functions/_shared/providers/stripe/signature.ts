// Stripe webhook signatures, through the official `stripe` package with Web Crypto so that the
// same code runs under Deno and Node (the API client is in ../providers/stripe/).
import Stripe from "stripe";
import { HttpError } from "../../errors.ts";
import { signatureFailed, type SignatureFailure } from "../../webhooks/signature-check.ts";

export const STRIPE_SIGNATURE_HEADER = "stripe-signature";
/** Seconds a Stripe-Signature timestamp may differ from now. */
export const STRIPE_TOLERANCE_SECONDS = 300;

const cryptoProvider = Stripe.createSubtleCryptoProvider();

export type StripeEventCheck = { ok: true; event: Stripe.Event } | { ok: false; reason: SignatureFailure };

function failureOf(error: unknown): SignatureFailure {
  const message = error instanceof Error ? error.message : "";
  if (/tolerance/i.test(message)) return "stale_timestamp";
  if (/unable to extract/i.test(message)) return "malformed_header";
  return "mismatch";
}

/**
 * Verifies Stripe-Signature over the raw body bytes (constructEventAsync, tolerance 300 s) and
 * returns the event; a signed body that is not JSON throws HttpError 400. Stripe itself
 * accepts timestamps from the future; we refuse those beyond the tolerance too, as for every
 * other provider.
 */
export async function verifyStripeEvent(
  rawBody: Uint8Array,
  header: string | null,
  webhookSecret: string,
  nowMs: number = Date.now(),
): Promise<StripeEventCheck> {
  if (!header) return signatureFailed("missing_header") as StripeEventCheck;
  // Every t= item counts: Stripe sends one, and the library verifies against the last, so a
  // header that adds an old t= in front of a future one must not pass.
  const timestamps = [...header.matchAll(/(?:^|,)\s*t=(\d+)/g)].map((match) => Number(match[1]));
  if (timestamps.some((timestamp) => timestamp - nowMs / 1000 > STRIPE_TOLERANCE_SECONDS)) {
    return { ok: false, reason: "future_timestamp" };
  }
  try {
    const event = await Stripe.webhooks.constructEventAsync(
      rawBody,
      header,
      webhookSecret,
      STRIPE_TOLERANCE_SECONDS,
      cryptoProvider,
      nowMs,
    );
    return { ok: true, event };
  } catch (error) {
    // The library parses the body after the signature matched: a signed body that is not
    // JSON is the sender's malformed request (400), not a bad signature.
    if (error instanceof SyntaxError) throw new HttpError(400, "invalid_json", "The request body is not valid JSON.");
    return { ok: false, reason: failureOf(error) };
  }
}
