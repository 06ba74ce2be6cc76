import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { STRIPE_TOLERANCE_SECONDS, verifyStripeEvent } from "./signature.ts";

const secret = "whsec_mfukoLocalTestSecret0123456789abcdef";
const payload = JSON.stringify({
  id: "evt_test_1",
  object: "event",
  type: "payment_intent.succeeded",
  data: { object: { id: "pi_test_1", object: "payment_intent", amount: 5000, currency: "usd" } },
});
const rawBody = new TextEncoder().encode(payload);
const nowMs = 1_800_000_000_000;
const nowSeconds = nowMs / 1000;

const header = (opts: { timestamp?: number; secret?: string; payload?: string } = {}) =>
  Stripe.webhooks.generateTestHeaderString({
    payload: opts.payload ?? payload,
    secret: opts.secret ?? secret,
    timestamp: opts.timestamp ?? nowSeconds,
  });

describe("Stripe-Signature", () => {
  it("accepts a valid signature and returns the event", async () => {
    const check = await verifyStripeEvent(rawBody, header(), secret, nowMs);
    expect(check.ok && check.event.id).toBe("evt_test_1");
    expect(check.ok && check.event.type).toBe("payment_intent.succeeded");
  });

  it("answers a correctly signed body that is not JSON with 400 invalid_json, not as a bad signature", async () => {
    const notJson = "{not json";
    await expect(verifyStripeEvent(new TextEncoder().encode(notJson), header({ payload: notJson }), secret, nowMs))
      .rejects.toMatchObject({ status: 400, code: "invalid_json" });
  });

  it("accepts a header with several v1 signatures of which one is valid", async () => {
    const valid = header();
    const other = header({ secret: "whsec_other" });
    const combined = `${valid},v1=${other.split("v1=")[1]}`;
    expect((await verifyStripeEvent(rawBody, combined, secret, nowMs)).ok).toBe(true);
  });

  it("refuses a wrong secret and a tampered body", async () => {
    expect(await verifyStripeEvent(rawBody, header({ secret: "whsec_wrong" }), secret, nowMs)).toEqual({ ok: false, reason: "mismatch" });
    const tampered = new TextEncoder().encode(payload.replace("5000", "500000"));
    expect(await verifyStripeEvent(tampered, header(), secret, nowMs)).toEqual({ ok: false, reason: "mismatch" });
  });

  it("refuses stale and future timestamps beyond 300 s", async () => {
    expect((await verifyStripeEvent(rawBody, header({ timestamp: nowSeconds - STRIPE_TOLERANCE_SECONDS }), secret, nowMs)).ok).toBe(true);
    expect(await verifyStripeEvent(rawBody, header({ timestamp: nowSeconds - STRIPE_TOLERANCE_SECONDS - 1 }), secret, nowMs))
      .toEqual({ ok: false, reason: "stale_timestamp" });
    expect((await verifyStripeEvent(rawBody, header({ timestamp: nowSeconds + STRIPE_TOLERANCE_SECONDS }), secret, nowMs)).ok).toBe(true);
    expect(await verifyStripeEvent(rawBody, header({ timestamp: nowSeconds + STRIPE_TOLERANCE_SECONDS + 1 }), secret, nowMs))
      .toEqual({ ok: false, reason: "future_timestamp" });
  });

  it("refuses a future timestamp behind an earlier t= item (the library checks the last one)", async () => {
    const future = header({ timestamp: nowSeconds + 30 * 24 * 3600 });
    expect(await verifyStripeEvent(rawBody, `t=1,${future}`, secret, nowMs)).toEqual({ ok: false, reason: "future_timestamp" });
  });

  it("refuses a missing or malformed header", async () => {
    expect(await verifyStripeEvent(rawBody, null, secret, nowMs)).toEqual({ ok: false, reason: "missing_header" });
    expect(await verifyStripeEvent(rawBody, "garbage", secret, nowMs)).toEqual({ ok: false, reason: "malformed_header" });
  });
});
