// The Stripe client (the official SDK pointed at a base URL) against the Stripe stand-in.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "@mfuko/local-stack/ports";
import {
  startStripeStandIn,
  stripeCardDeclined,
  stripeError,
  stripeIdempotencyKeyInUse,
  type StripeStandIn,
  whileAnswering,
} from "../../../../tests/support/provider-standins.ts";
import { createStripeClient, type StripeClient, StripeUnknownPaymentIntentError, StripeUnknownRefundError } from "./client.ts";

const secretKey = "sk_test_stripeClientTest";
let standIn: StripeStandIn;
beforeAll(async () => {
  standIn = await startStripeStandIn({ secretKey });
});
afterAll(() => standIn.close());

describe("Stripe client", () => {
  it("creates a PaymentIntent with the intent as Idempotency-Key, so a retry returns the same one", async () => {
    const client = createStripeClient({ secretKey, baseUrl: standIn.url });
    const intentId = crypto.randomUUID();
    const first = await client.createPaymentIntent({ amount: 1999, currency: "USD", intentId });
    const again = await client.createPaymentIntent({ amount: 1999, currency: "USD", intentId });
    expect(again).toEqual(first);
    expect(standIn.paymentIntents.get(first.id)).toMatchObject({
      amount: 1999,
      currency: "usd",
      metadata: { intent_id: intentId },
      client_secret: first.clientSecret,
    });
    expect([...standIn.paymentIntents.values()].filter((pi) => (pi.metadata as { intent_id: string }).intent_id === intentId)).toHaveLength(
      1,
    );
  });

  const serverError = { status: 500, body: stripeError("api_error", undefined, "Something went wrong.") };
  const calls = [
    {
      call: "a PaymentIntent creation",
      behaviour: "createBehaviour",
      make: (client: StripeClient) => client.createPaymentIntent({ amount: 500, currency: "EUR", intentId: crypto.randomUUID() }),
      refusal: stripeCardDeclined,
      declined: { httpStatus: 402, reason: "generic_decline: Your card was declined." },
    },
    {
      call: "a refund",
      behaviour: "refundBehaviour",
      make: (client: StripeClient) =>
        client.createRefund({ paymentId: "pi_refundtest", amount: 100, ourPaymentId: "p", requestId: `rr_${crypto.randomUUID()}` }),
      refusal: { status: 400, body: stripeError("invalid_request_error", "charge_already_refunded", "Charge has already been refunded.") },
      declined: { httpStatus: 400, reason: "charge_already_refunded: Charge has already been refunded." },
    },
  ] as const;

  it.each(calls)("tells a refusal of $call (declined, with Stripe's code) from an outage (unavailable)", async (c) => {
    const client = createStripeClient({ secretKey, baseUrl: standIn.url, timeoutMs: 500 });
    try {
      standIn[c.behaviour] = c.refusal;
      await expect(c.make(client)).rejects.toMatchObject({ kind: "declined", provider: "stripe", ...c.declined });
      standIn[c.behaviour] = serverError;
      await expect(c.make(client)).rejects.toMatchObject({ kind: "unavailable", httpStatus: 500 });
      standIn[c.behaviour] = "hang";
      await expect(c.make(client)).rejects.toMatchObject({ kind: "unavailable", httpStatus: null });
    } finally {
      standIn[c.behaviour] = "accept";
    }
  });

  it.each(calls)("takes a 409 to $call (its Idempotency-Key in use by a request still running at Stripe) as unavailable", async (c) => {
    const client = createStripeClient({ secretKey, baseUrl: standIn.url });
    try {
      standIn[c.behaviour] = stripeIdempotencyKeyInUse;
      await expect(c.make(client)).rejects.toMatchObject({ kind: "unavailable", provider: "stripe", httpStatus: 409 });
    } finally {
      standIn[c.behaviour] = "accept";
    }
  });

  it("never names the key when it is wrong (unavailable, 401) or Stripe is unreachable", async () => {
    const intent = () => ({ amount: 500, currency: "EUR", intentId: crypto.randomUUID() });
    const wrongKey = await createStripeClient({ secretKey: "sk_test_wrong", baseUrl: standIn.url }).createPaymentIntent(intent()).catch((
      e: unknown,
    ) => e);
    expect(wrongKey).toMatchObject({ kind: "unavailable", httpStatus: 401 });
    const unreachable = await createStripeClient({ secretKey, baseUrl: `http://127.0.0.1:${await freePort()}` })
      .createPaymentIntent(intent()).catch((e: unknown) => e);
    expect(unreachable).toMatchObject({ kind: "unavailable", httpStatus: null });
    for (const error of [wrongKey, unreachable]) expect((error as Error).message).not.toContain("sk_test_");
  });

  it("refunds a PaymentIntent or a charge with the request id as Idempotency-Key: a retry returns the same refund", async () => {
    const client = createStripeClient({ secretKey, baseUrl: standIn.url });
    const refund = { paymentId: "pi_refundtest", amount: 700, ourPaymentId: crypto.randomUUID(), requestId: `rr_${crypto.randomUUID()}` };
    const first = await client.createRefund(refund);
    // The retry is Stripe's idempotent replay of the first answer.
    expect(await client.createRefund(refund)).toEqual(first);
    expect(first).toMatchObject({ status: "succeeded", amount: 700 });
    expect(standIn.refunds.get(first.id)).toMatchObject({
      payment_intent: "pi_refundtest",
      amount: 700,
      metadata: { payment_id: refund.ourPaymentId, refund_request_id: refund.requestId },
    });
    expect(
      [...standIn.refunds.values()].filter((r) => (r.metadata as { refund_request_id: string }).refund_request_id === refund.requestId),
    ).toHaveLength(1);
    const byCharge = await client.createRefund({ ...refund, paymentId: "ch_refundtest", requestId: `rr_${crypto.randomUUID()}` });
    expect(standIn.refunds.get(byCharge.id)).toMatchObject({ charge: "ch_refundtest", payment_intent: null });
  });

  it("lists every refund of a charge, newest first, across Stripe's pages; Stripe down is unavailable", async () => {
    const client = createStripeClient({ secretKey, baseUrl: standIn.url, timeoutMs: 500 });
    const made = Array.from({ length: 103 }, (_, i) => standIn.dashboardRefund("pi_listtest", i + 1));
    standIn.dashboardRefund("pi_otherlisttest", 5);
    const before = standIn.requests.length;
    const listed = await client.listChargeRefunds("ch_listtest");
    expect(listed.map((r) => r.id)).toEqual(made.map((r) => r.id).reverse());
    expect(standIn.requests.slice(before)).toEqual(["GET /v1/refunds", "GET /v1/refunds"]);
    expect(await client.listChargeRefunds("ch_nosuchcharge")).toEqual([]);
    await whileAnswering(standIn, "listBehaviour", serverError, async () => {
      await expect(client.listChargeRefunds("ch_listtest")).rejects.toMatchObject({ kind: "unavailable", httpStatus: 500 });
    });
  });

  it("reads a refund back; one Stripe does not know is StripeUnknownRefundError (404 resource_missing), Stripe down is unavailable", async () => {
    const client = createStripeClient({ secretKey, baseUrl: standIn.url, timeoutMs: 500 });
    const created = await client.createRefund({
      paymentId: "pi_readback",
      amount: 300,
      ourPaymentId: crypto.randomUUID(),
      requestId: `rr_${crypto.randomUUID()}`,
    });
    standIn.settleRefund(created.id, "failed", "expired_or_canceled_card");
    expect(await client.retrieveRefund(created.id)).toMatchObject({
      id: created.id,
      status: "failed",
      failure_reason: "expired_or_canceled_card",
      amount: 300,
      payment_intent: "pi_readback",
    });
    const unknown = await client.retrieveRefund("re_nosuchrefund").catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(StripeUnknownRefundError);
    expect(unknown).toMatchObject({ kind: "declined", httpStatus: 404 });
    const lookUp = `GET /v1/refunds/${created.id}`;
    try {
      standIn.objectBehaviour.set(lookUp, serverError);
      await expect(client.retrieveRefund(created.id)).rejects.toMatchObject({ kind: "unavailable", httpStatus: 500 });
      standIn.objectBehaviour.set(lookUp, "hang");
      await expect(client.retrieveRefund(created.id)).rejects.toMatchObject({ kind: "unavailable", httpStatus: null });
      // A 404 naming no parameter (e.g. an unrecognized URL) says nothing about the refund.
      standIn.objectBehaviour.set(lookUp, {
        status: 404,
        body: stripeError("invalid_request_error", "resource_missing", "Unrecognized request URL."),
      });
      const notAboutIt = await client.retrieveRefund(created.id).catch((e: unknown) => e);
      expect(notAboutIt).toMatchObject({ kind: "declined", httpStatus: 404 });
      expect(notAboutIt).not.toBeInstanceOf(StripeUnknownRefundError);
    } finally {
      standIn.objectBehaviour.clear();
    }
  });

  /** A PaymentIntent created through the stand-in, waiting for the customer. */
  async function paymentIntent(client: StripeClient): Promise<string> {
    return (await client.createPaymentIntent({ amount: 800, currency: "USD", intentId: crypto.randomUUID() })).id;
  }

  it("reads a PaymentIntent back; one Stripe does not know is StripeUnknownPaymentIntentError (404 resource_missing)", async () => {
    const client = createStripeClient({ secretKey, baseUrl: standIn.url });
    const id = await paymentIntent(client);
    standIn.confirm(id);
    expect(await client.retrievePaymentIntent(id)).toMatchObject({ id, status: "succeeded", amount_received: 800 });
    const unknown = await client.retrievePaymentIntent("pi_nosuchintent").catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(StripeUnknownPaymentIntentError);
    expect(unknown).toMatchObject({
      kind: "declined",
      httpStatus: 404,
      reason: "resource_missing: No such payment_intent: 'pi_nosuchintent'",
    });
  });

  it("cancels an unpaid PaymentIntent as abandoned; one that moved on is answered as Stripe's refusal reports it", async () => {
    const client = createStripeClient({ secretKey, baseUrl: standIn.url });
    const unpaid = await paymentIntent(client);
    expect(await client.cancelPaymentIntent(unpaid)).toMatchObject({ id: unpaid, status: "canceled", cancellation_reason: "abandoned" });
    expect(standIn.paymentIntents.get(unpaid)).toMatchObject({ status: "canceled" });
    // Canceled already, or paid: Stripe answers 400 payment_intent_unexpected_state with the PaymentIntent.
    expect(await client.cancelPaymentIntent(unpaid)).toMatchObject({ id: unpaid, status: "canceled" });
    const paid = await paymentIntent(client);
    standIn.confirm(paid);
    expect(await client.cancelPaymentIntent(paid)).toMatchObject({ id: paid, status: "succeeded" });
    expect(standIn.paymentIntents.get(paid)).toMatchObject({ status: "succeeded" });
    await expect(client.cancelPaymentIntent("pi_nosuchintent")).rejects.toBeInstanceOf(StripeUnknownPaymentIntentError);
  });

  it("tells a look-up or cancel Stripe could not answer (unavailable) from a refusal, and a 404 that is not about the PaymentIntent from one that is", async () => {
    const client = createStripeClient({ secretKey, baseUrl: standIn.url, timeoutMs: 500 });
    const id = await paymentIntent(client);
    const lookUp = `GET /v1/payment_intents/${id}`;
    const cancel = `POST /v1/payment_intents/${id}/cancel`;
    try {
      standIn.objectBehaviour.set(lookUp, serverError);
      await expect(client.retrievePaymentIntent(id)).rejects.toMatchObject({ kind: "unavailable", httpStatus: 500 });
      standIn.objectBehaviour.set(cancel, {
        status: 429,
        body: stripeError("invalid_request_error", "rate_limit", "Too many requests."),
      });
      await expect(client.cancelPaymentIntent(id)).rejects.toMatchObject({ kind: "unavailable", httpStatus: 429 });
      standIn.objectBehaviour.set(lookUp, "hang");
      await expect(client.retrievePaymentIntent(id)).rejects.toMatchObject({ kind: "unavailable", httpStatus: null });
      // A 400 of another code is a refusal, not a PaymentIntent that moved on.
      standIn.objectBehaviour.set(cancel, {
        status: 400,
        body: stripeError("invalid_request_error", "parameter_invalid_empty", "Bad."),
      });
      await expect(client.cancelPaymentIntent(id)).rejects.toMatchObject({ kind: "declined", httpStatus: 400 });
      // A 404 without param intent (e.g. an unrecognized URL) says nothing about the PaymentIntent.
      const elsewhere = { status: 404, body: stripeError("invalid_request_error", "resource_missing", "Unrecognized request URL.") };
      standIn.objectBehaviour.set(lookUp, elsewhere);
      const notAboutIt = await client.retrievePaymentIntent(id).catch((e: unknown) => e);
      expect(notAboutIt).toMatchObject({ kind: "declined", httpStatus: 404 });
      expect(notAboutIt).not.toBeInstanceOf(StripeUnknownPaymentIntentError);
    } finally {
      standIn.objectBehaviour.clear();
    }
    expect(standIn.paymentIntents.get(id)).toMatchObject({ status: "requires_payment_method" });
  });
});
