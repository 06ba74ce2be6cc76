// The HTTP contract of stripe-webhook, in-process against the test database: every signature
// case is 401 and writes nothing, every malformed signed body is 400 and writes nothing, and
// the method, content-type and size limits hold.
import { useTestSql } from "../../tests/support/test-sql.ts";
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { eventsMentioning, storedEvents, uniqueClientAddress } from "../../tests/support/payments-fixtures.ts";
import { expectLimitAt } from "../../tests/support/rate-limit-probe.ts";
import { env, stripeEvent, stripeRequest, stripeSignatureHeader } from "../../tests/support/webhook-requests.ts";
import handler from "./handler.ts";

const sql = useTestSql();

const now = () => Math.floor(Date.now() / 1000);
const unknownIntent = () =>
  stripeEvent("payment_intent.succeeded", {
    id: `pi_${crypto.randomUUID().slice(0, 8)}`,
    object: "payment_intent",
    amount: 500,
    amount_received: 500,
    currency: "usd",
    metadata: {},
  });

async function rowsFor(eventId: string) {
  return (await storedEvents(sql, "stripe", eventId)).length;
}

/** `markers`: the event's id and its object's id, so that a body that lost one is still found. */
async function expectRejected(request: Request, status: number, code: string, ...markers: string[]) {
  const response = await handler.fetch(request);
  const body = await response.json() as { error: { code: string; correlation_id: string } };
  expect(response.status).toBe(status);
  expect(body.error.code).toBe(code);
  expect(body.error.correlation_id).toBe(response.headers.get("x-correlation-id"));
  expect(await eventsMentioning(sql, "stripe", markers)).toBe(0);
  return body;
}

describe("stripe-webhook signatures", () => {
  it("accepts a valid signature, stores the event and answers with rate-limit headers", async () => {
    const event = stripeEvent("customer.created", { id: "cus_1", object: "customer" });
    const response = await handler.fetch(stripeRequest(event));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ received: true, events: [{ event_id: event.id, outcome: "ignored" }] });
    expect(response.headers.get("x-ratelimit-limit")).toBe("50");
    expect(Number(response.headers.get("x-ratelimit-remaining"))).toBeLessThan(50);
    expect(await storedEvents(sql, "stripe", event.id)).toMatchObject([{ type: "customer.created", status: "ignored", attempts: 1 }]);
  });

  it("refuses a signature made with another secret", async () => {
    const event = unknownIntent();
    await expectRejected(stripeRequest(event, { secret: "whsec_someoneElse" }), 401, "invalid_signature", event.id);
  });

  it("refuses a body changed after signing", async () => {
    const event = unknownIntent();
    const header = stripeSignatureHeader(JSON.stringify(event));
    const tampered = { ...event, data: { object: { ...event.data.object, amount_received: 500_000 } } };
    await expectRejected(stripeRequest(tampered, { header }), 401, "invalid_signature", event.id);
  });

  it("refuses a missing and a malformed header", async () => {
    const event = unknownIntent();
    await expectRejected(stripeRequest(event, { header: null }), 401, "invalid_signature", event.id);
    await expectRejected(stripeRequest(event, { header: "t=abc,v1=zz" }), 401, "invalid_signature", event.id);
  });

  it("refuses stale and future timestamps beyond 300 s", async () => {
    const event = unknownIntent();
    const stale = await expectRejected(stripeRequest(event, { timestamp: now() - 301 }), 401, "invalid_signature", event.id);
    expect(stale.error).toMatchObject({ details: { reason: "stale_timestamp" } });
    // A minute past the bound: the request is checked a moment after it is signed, and a
    // slow machine must not bring a future timestamp back within the tolerance.
    const future = await expectRejected(stripeRequest(event, { timestamp: now() + 360 }), 401, "invalid_signature", event.id);
    expect(future.error).toMatchObject({ details: { reason: "future_timestamp" } });
  });

  it("accepts a rotated secret: one of several v1 signatures is valid", async () => {
    const event = stripeEvent("customer.updated", { id: "cus_2", object: "customer" });
    const body = JSON.stringify(event);
    const timestamp = now();
    const oldSecret = Stripe.webhooks.generateTestHeaderString({ payload: body, secret: "whsec_retiredSecret", timestamp });
    const current = stripeSignatureHeader(body, { timestamp });
    const header = `${oldSecret},v1=${current.split("v1=")[1]}`;
    const response = await handler.fetch(stripeRequest(body, { header }));
    expect(response.status).toBe(200);
    expect(await rowsFor(event.id)).toBe(1);
  });

  it("does not leak the secret in the answer", async () => {
    const event = unknownIntent();
    const response = await handler.fetch(stripeRequest(event, { secret: "whsec_someoneElse" }));
    expect(await response.text()).not.toContain(env("STRIPE_WEBHOOK_SECRET"));
  });
});

describe("stripe-webhook malformed signed bodies", () => {
  it("answers 400 invalid_json for a signed body that is not JSON", async () => {
    const response = await handler.fetch(stripeRequest("{not json"));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("invalid_json");
  });

  const cases: Array<[string, (e: ReturnType<typeof unknownIntent>) => unknown, string]> = [
    ["an event id that is not evt_", (e) => ({ ...e, id: "nope" }), "id"],
    ["a missing type", (e) => ({ ...e, type: undefined }), "type"],
    ["no data.object", (e) => ({ ...e, data: {} }), "data.object"],
    ["an amount that is a string", (e) => ({ ...e, data: { object: { ...e.data.object, amount: "500" } } }), "data.object.amount"],
    ["a fractional amount", (e) => ({ ...e, data: { object: { ...e.data.object, amount_received: 5.5 } } }), "data.object.amount_received"],
    ["a zero amount", (e) => ({ ...e, data: { object: { ...e.data.object, amount: 0 } } }), "data.object.amount"],
    ["an amount beyond safe integers", (e) => ({ ...e, data: { object: { ...e.data.object, amount: 2 ** 60 } } }), "data.object.amount"],
    ["a bad currency", (e) => ({ ...e, data: { object: { ...e.data.object, currency: "dollars" } } }), "data.object.currency"],
    ["a PaymentIntent id of the wrong kind", (e) => ({ ...e, data: { object: { ...e.data.object, id: "ch_1" } } }), "data.object.id"],
  ];
  it.each(cases)("answers 400 with the failing field for %s, writing nothing", async (_name, mutate, field) => {
    const event = unknownIntent();
    const body = await expectRejected(stripeRequest(mutate(event)), 400, "validation_failed", event.id, event.data.object.id as string);
    expect((body.error as unknown as { details: { fields: { path: string }[] } }).details.fields.map((f) => f.path)).toContain(field);
  });

  it("checks the shape of refunds, disputes and mirrors too", async () => {
    const refund = stripeEvent("charge.refunded", { id: "ch_1", amount: 100, amount_refunded: -1, currency: "usd" });
    await expectRejected(stripeRequest(refund), 400, "validation_failed", refund.id);
    const dispute = stripeEvent("charge.dispute.created", { id: "dp_1", amount: 100, currency: "usd" });
    await expectRejected(stripeRequest(dispute), 400, "validation_failed", dispute.id);
    const sub = stripeEvent("customer.subscription.updated", { id: "sub_1", customer: "cus_1", status: "weird" });
    await expectRejected(stripeRequest(sub), 400, "validation_failed", sub.id);
  });
});

describe("stripe-webhook request limits", () => {
  it("answers 405 with Allow for other methods", async () => {
    const response = await handler.fetch(
      new Request("http://functions.local/stripe-webhook", { method: "GET", headers: { "x-forwarded-for": "198.51.100.7" } }),
    );
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("POST");
  });

  it("answers 413 for a body over 1 MiB and 415 for another content type", async () => {
    const big = stripeRequest(JSON.stringify({ padding: "x".repeat(1024 * 1024) }));
    expect((await handler.fetch(big)).status).toBe(413);
    const form = stripeRequest(unknownIntent(), {}, { headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect((await handler.fetch(form)).status).toBe(415);
  });

  it("answers 404 for unknown routes", async () => {
    expect((await handler.fetch(stripeRequest(unknownIntent(), {}, { base: "http://functions.local/stripe-webhook/extra" }))).status).toBe(
      404,
    );
  });

  it("lets a client's 50th request of a minute through and answers the 51st 429, before checking signatures", async () => {
    const address = uniqueClientAddress();
    await expectLimitAt(50, () => handler.fetch(stripeRequest(unknownIntent(), { header: "t=1,v1=00" }, { address })), 401);
  });
});
