// The Stripe client (the official SDK pointed at a base URL) against the Stripe stand-in.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "@mfuko/local-stack/ports";
import { startStripeStandIn, stripeCardDeclined, stripeError, type StripeStandIn } from "../../../../tests/support/provider-standins.ts";
import { createStripeClient } from "./client.ts";

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

  it("tells a refusal (declined, with Stripe's code) from an outage (unavailable), never naming the key", async () => {
    const client = createStripeClient({ secretKey, baseUrl: standIn.url, timeoutMs: 500 });
    const intent = () => ({ amount: 500, currency: "EUR", intentId: crypto.randomUUID() });
    try {
      standIn.createBehaviour = stripeCardDeclined;
      await expect(client.createPaymentIntent(intent()))
        .rejects.toMatchObject({
          kind: "declined",
          httpStatus: 402,
          reason: "generic_decline: Your card was declined.",
          provider: "stripe",
        });
      standIn.createBehaviour = { status: 500, body: stripeError("api_error", undefined, "Something went wrong.") };
      await expect(client.createPaymentIntent(intent())).rejects.toMatchObject({ kind: "unavailable", httpStatus: 500 });
      standIn.createBehaviour = "hang";
      await expect(client.createPaymentIntent(intent())).rejects.toMatchObject({ kind: "unavailable", httpStatus: null });
    } finally {
      standIn.createBehaviour = "accept";
    }
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

  it("tells a refused refund (declined) from an outage (unavailable)", async () => {
    const client = createStripeClient({ secretKey, baseUrl: standIn.url, timeoutMs: 500 });
    const refund = () => ({ paymentId: "pi_refundtest", amount: 100, ourPaymentId: "p", requestId: `rr_${crypto.randomUUID()}` });
    try {
      standIn.refundBehaviour = {
        status: 400,
        body: stripeError("invalid_request_error", "charge_already_refunded", "Charge has already been refunded."),
      };
      await expect(client.createRefund(refund()))
        .rejects.toMatchObject({ kind: "declined", httpStatus: 400, reason: "charge_already_refunded: Charge has already been refunded." });
      standIn.refundBehaviour = { status: 500, body: stripeError("api_error", undefined, "Something went wrong.") };
      await expect(client.createRefund(refund())).rejects.toMatchObject({ kind: "unavailable", httpStatus: 500 });
      standIn.refundBehaviour = "hang";
      await expect(client.createRefund(refund())).rejects.toMatchObject({ kind: "unavailable", httpStatus: null });
    } finally {
      standIn.refundBehaviour = "accept";
    }
  });
});
