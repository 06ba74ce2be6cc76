// The Revolut order client against a local stand-in of the Merchant API.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "@mfuko/local-stack/ports";
import { type RevolutStandIn, startRevolutStandIn, whileAnswering } from "../../../../tests/support/provider-standins.ts";
import {
  createRevolutClient,
  RevolutApiError,
  type RevolutClient,
  RevolutUnknownDisputeError,
  RevolutUnknownOrderError,
} from "./client.ts";

const credentials = { secretKey: "sk_revolut_client_test", apiVersion: "2024-09-01" };
let standIn: RevolutStandIn;
beforeAll(async () => {
  standIn = await startRevolutStandIn(credentials);
});
afterAll(() => standIn.close());

/** A top-up order as POST /api/orders makes it (pending), through `client`. */
const newOrder = (client: RevolutClient, amount: number) =>
  client.createOrder({ amount, currency: "EUR", merchantOrderExtRef: crypto.randomUUID(), description: "top-up" });

const order = (id: string, state = "COMPLETED") => ({
  id,
  token: "tok_public",
  type: "payment",
  state,
  amount: 4200,
  currency: "gbp",
  metadata: { intent_id: "x" },
});

describe("Revolut client", () => {
  it("reads an order with the secret key and API version, normalising state and currency", async () => {
    const id = crypto.randomUUID();
    standIn.records.set(id, order(id));
    const client = createRevolutClient({ baseUrl: `${standIn.url}/`, ...credentials });
    expect(await client.order(id)).toMatchObject({ id, state: "completed", amount: 4200, currency: "GBP", metadata: { intent_id: "x" } });
    expect(standIn.requests.at(-1)).toBe(`GET /api/orders/${id}`);
  });

  it("names the HTTP status for a wrong key, an unknown order and a server error", async () => {
    const id = crypto.randomUUID();
    await expect(createRevolutClient({ baseUrl: standIn.url, ...credentials, secretKey: "sk_wrong" }).order(id))
      .rejects.toMatchObject({ name: "RevolutApiError", httpStatus: 401 });
    const client = createRevolutClient({ baseUrl: standIn.url, ...credentials });
    await expect(client.order(id)).rejects.toMatchObject({ httpStatus: 404 });
    standIn.records.set(id, 502);
    await expect(client.order(id)).rejects.toThrow(/HTTP 502/);
  });

  it("refuses an order body without a usable amount", async () => {
    const id = crypto.randomUUID();
    standIn.records.set(id, { ...order(id), amount: "42.00" });
    await expect(createRevolutClient({ baseUrl: standIn.url, ...credentials }).order(id)).rejects.toThrow(/unexpected body \(amount\)/);
  });

  it("turns an unreachable API into a RevolutApiError without the key", async () => {
    const error = await createRevolutClient({ baseUrl: `http://127.0.0.1:${await freePort()}`, ...credentials }).order("o1").catch((
      e: unknown,
    ) => e);
    expect(error).toBeInstanceOf(RevolutApiError);
    expect((error as Error).message).not.toContain(credentials.secretKey);
  });

  it("creates an order with our reference and reads its checkout_url", async () => {
    const client = createRevolutClient({ baseUrl: standIn.url, ...credentials });
    const ref = crypto.randomUUID();
    const created = await client.createOrder({ amount: 1250, currency: "EUR", merchantOrderExtRef: ref, description: "top-up" });
    expect(created.checkout_url).toMatch(/^https:\/\//);
    expect(standIn.records.get(created.id)).toMatchObject({ amount: 1250, currency: "EUR", merchant_order_ext_ref: ref, state: "pending" });
    expect(await client.order(created.id)).toMatchObject({ id: created.id, checkout_url: created.checkout_url });
  });

  it("gives an order the payer's way back when one is configured: REVOLUT_REDIRECT_URL with our intent id, else none", async () => {
    const redirectUrl = "https://app.mfuko.test/topups/done?from=revolut";
    const ref = crypto.randomUUID();
    const withWayBack = await createRevolutClient({ baseUrl: standIn.url, ...credentials, redirectUrl })
      .createOrder({ amount: 500, currency: "EUR", merchantOrderExtRef: ref, description: "top-up" });
    expect(standIn.records.get(withWayBack.id)).toMatchObject({
      redirect_url: `https://app.mfuko.test/topups/done?from=revolut&intent_id=${ref}`,
    });
    const without = await createRevolutClient({ baseUrl: standIn.url, ...credentials })
      .createOrder({ amount: 500, currency: "EUR", merchantOrderExtRef: crypto.randomUUID(), description: "top-up" });
    expect(standIn.records.get(without.id)).not.toHaveProperty("redirect_url");
  });

  it("tells a refused order (declined, with Revolut's code) from an outage (unavailable)", async () => {
    const client = createRevolutClient({ baseUrl: standIn.url, ...credentials, timeoutMs: 500 });
    const order = { amount: 100, currency: "EUR", merchantOrderExtRef: "ext", description: "top-up" };
    try {
      standIn.createOrderBehaviour = { status: 400, body: { code: "validation_error", message: "Invalid currency" } };
      await expect(client.createOrder(order)).rejects.toMatchObject({ kind: "declined", reason: "validation_error: Invalid currency" });
      standIn.createOrderBehaviour = { status: 503, body: { code: "unavailable", message: "down" } };
      await expect(client.createOrder(order)).rejects.toMatchObject({ kind: "unavailable", httpStatus: 503 });
      standIn.createOrderBehaviour = "hang";
      await expect(client.createOrder(order)).rejects.toMatchObject({ kind: "unavailable", httpStatus: null });
    } finally {
      standIn.createOrderBehaviour = "accept";
    }
  });

  it("refunds a completed order with the request id as Idempotency-Key: a retry returns the same refund order", async () => {
    const client = createRevolutClient({ baseUrl: standIn.url, ...credentials });
    const paid = await newOrder(client, 1000);
    standIn.complete(paid.id);
    const refund = {
      orderId: paid.id,
      amount: 400,
      requestId: `rr_${crypto.randomUUID()}`,
      ourPaymentId: crypto.randomUUID(),
      description: "asked",
    };
    const first = await client.refund(refund);
    expect(await client.refund(refund)).toEqual(first);
    expect(first).toMatchObject({ state: "completed", amount: 400 });
    expect(standIn.refundOrders.filter((r) => r.related_order_id === paid.id)).toMatchObject([
      { id: first.id, type: "refund", amount: 400, metadata: { payment_id: refund.ourPaymentId, refund_request_id: refund.requestId } },
    ]);
    expect(standIn.requests.at(-1)).toBe(`POST /api/orders/${paid.id}/refund`);
  });

  it("finds a refund order again by the request id it carries as merchant_order_data.reference, read in full; none is null", async () => {
    const client = createRevolutClient({ baseUrl: standIn.url, ...credentials });
    const paid = await newOrder(client, 800);
    standIn.complete(paid.id);
    const requestId = `rr_${crypto.randomUUID()}`;
    const made = await client.refund({ orderId: paid.id, amount: 300, requestId, ourPaymentId: "p", description: "d" });
    expect(standIn.refundOrders.find((r) => r.id === made.id)).toMatchObject({ merchant_order_data: { reference: requestId } });

    expect(await client.refundOrderByReference(requestId)).toMatchObject({
      id: made.id,
      type: "refund",
      state: "completed",
      amount: 300,
      related_order_id: paid.id,
      merchant_order_data: { reference: requestId },
    });
    expect(standIn.requests.slice(-2)).toEqual(["GET /api/orders", `GET /api/orders/${made.id}`]);
    expect(await client.refundOrderByReference(`rr_${crypto.randomUUID()}`)).toBeNull();
    // A search whose filter Revolut ignored lists other orders (the payment, other refunds):
    // none of them is taken for the refund of another reference.
    standIn.searchIgnoresReference = true;
    try {
      expect(await client.refundOrderByReference(`rr_${crypto.randomUUID()}`)).toBeNull();
      expect(await client.refundOrderByReference(requestId)).toMatchObject({ id: made.id, merchant_order_data: { reference: requestId } });
    } finally {
      standIn.searchIgnoresReference = false;
    }
    // The list as older API versions document it, a bare array, finds the refund all the same.
    standIn.listsBareArray = true;
    try {
      expect(await client.refundOrderByReference(requestId)).toMatchObject({ id: made.id, merchant_order_data: { reference: requestId } });
    } finally {
      standIn.listsBareArray = false;
    }
    await expect(createRevolutClient({ baseUrl: standIn.url, ...credentials, secretKey: "sk_wrong" }).refundOrderByReference(requestId))
      .rejects.toMatchObject({ name: "RevolutApiError", kind: "unavailable", httpStatus: 401 });
  });

  it("tells a refused refund (declined: more than remains, an order not completed) from an outage", async () => {
    const client = createRevolutClient({ baseUrl: standIn.url, ...credentials, timeoutMs: 500 });
    const paid = await newOrder(client, 300);
    const refund = (amount: number) => ({
      orderId: paid.id,
      amount,
      requestId: `rr_${crypto.randomUUID()}`,
      ourPaymentId: "p",
      description: "d",
    });
    await expect(client.refund(refund(100))).rejects.toMatchObject({
      kind: "declined",
      httpStatus: 400,
      reason: expect.stringContaining("invalid_order_state"),
    });
    standIn.complete(paid.id);
    await expect(client.refund(refund(301))).rejects.toMatchObject({
      kind: "declined",
      reason: expect.stringContaining("invalid_refund_amount"),
    });
    try {
      standIn.refundBehaviour = { status: 503, body: { code: "unavailable", message: "down" } };
      await expect(client.refund(refund(100))).rejects.toMatchObject({ kind: "unavailable", httpStatus: 503 });
      standIn.refundBehaviour = "hang";
      await expect(client.refund(refund(100))).rejects.toMatchObject({ kind: "unavailable", httpStatus: null });
    } finally {
      standIn.refundBehaviour = "accept";
    }
  });

  it("cancels a pending order with the secret key and API version: Revolut answers it cancelled, and it can no longer be paid", async () => {
    const client = createRevolutClient({ baseUrl: standIn.url, ...credentials });
    const created = await newOrder(client, 700);
    await expect(createRevolutClient({ baseUrl: standIn.url, ...credentials, secretKey: "sk_wrong" }).cancelOrder(created.id))
      .rejects.toMatchObject({ kind: "unavailable", httpStatus: 401 });
    expect(standIn.records.get(created.id)).toMatchObject({ state: "pending" });

    expect(await client.cancelOrder(created.id)).toMatchObject({ id: created.id, state: "cancelled", amount: 700, currency: "EUR" });
    expect(standIn.requests.at(-1)).toBe(`POST /api/orders/${created.id}/cancel`);
    expect(() => standIn.complete(created.id)).toThrow(/cancelled: it can no longer be paid/);
  });

  it("a cancel Revolut refuses because the order moved on answers the order as read back; a refusal of an order still pending throws", async () => {
    const client = createRevolutClient({ baseUrl: standIn.url, ...credentials });
    for (const state of ["completed", "processing"]) {
      const movedOn = order(crypto.randomUUID(), state);
      standIn.records.set(movedOn.id, movedOn);
      expect(await client.cancelOrder(movedOn.id)).toMatchObject({ id: movedOn.id, state });
      expect(standIn.requests.slice(-2)).toEqual([`POST /api/orders/${movedOn.id}/cancel`, `GET /api/orders/${movedOn.id}`]);
      expect(standIn.records.get(movedOn.id)).toMatchObject({ state });
    }

    const open = order(crypto.randomUUID(), "pending");
    standIn.records.set(open.id, open);
    const refused = { status: 400, body: { code: "validation_error", message: "Invalid request" } };
    await expect(whileAnswering(standIn, "cancelBehaviour", refused, () => client.cancelOrder(open.id))).rejects.toMatchObject({
      name: "RevolutApiError",
      kind: "declined",
      httpStatus: 400,
      reason: "validation_error: Invalid request",
    });
    // A 404 to the cancel of an order Revolut still reports is a refusal like that one, not Revolut not knowing the order.
    const notFound = { status: 404, body: { code: "not_found", message: "Not found" } };
    const refusal = await whileAnswering(standIn, "cancelBehaviour", notFound, () => client.cancelOrder(open.id)).catch((e) => e);
    expect(refusal).toMatchObject({ name: "RevolutApiError", kind: "declined", httpStatus: 404 });
    expect(refusal).not.toBeInstanceOf(RevolutUnknownOrderError);
    expect(standIn.requests.slice(-2)).toEqual([`POST /api/orders/${open.id}/cancel`, `GET /api/orders/${open.id}`]);
    expect(standIn.records.get(open.id)).toMatchObject({ state: "pending" });
  });

  it("a cancel of an order Revolut does not know is a 404; Revolut down or rate limiting is unavailable, with no read-back", async () => {
    const client = createRevolutClient({ baseUrl: standIn.url, ...credentials, timeoutMs: 500 });
    const unknown = crypto.randomUUID();
    await expect(client.cancelOrder(unknown)).rejects.toMatchObject({ httpStatus: 404, message: `Revolut knows no order ${unknown}` });
    await expect(client.cancelOrder(unknown)).rejects.toBeInstanceOf(RevolutUnknownOrderError);
    const open = order(crypto.randomUUID(), "pending");
    standIn.records.set(open.id, open);
    for (
      const down of [{ status: 503, body: { code: "unavailable", message: "down" } }, { status: 429, body: { code: "too_many_requests" } }]
    ) {
      await expect(whileAnswering(standIn, "cancelBehaviour", down, () => client.cancelOrder(open.id))).rejects.toMatchObject({
        kind: "unavailable",
        httpStatus: down.status,
      });
      expect(standIn.requests.at(-1)).toBe(`POST /api/orders/${open.id}/cancel`);
    }
    await expect(whileAnswering(standIn, "cancelBehaviour", "hang", () => client.cancelOrder(open.id))).rejects.toMatchObject({
      kind: "unavailable",
      httpStatus: null,
    });
    expect(standIn.records.get(open.id)).toMatchObject({ state: "pending" });
  });

  it("reads a dispute's state and substate; an unknown dispute is a 404, Revolut down or an undocumented state unavailable", async () => {
    const client = createRevolutClient({ baseUrl: standIn.url, ...credentials, timeoutMs: 500 });
    const lost = standIn.openDispute("lost", "lost_arbitration");
    expect(await client.dispute(lost)).toEqual({ id: lost, state: "lost", substate: "lost_arbitration" });
    expect(standIn.requests.at(-1)).toBe(`GET /api/disputes/${lost}`);
    const unknown = crypto.randomUUID();
    const missing = await client.dispute(unknown).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(RevolutUnknownDisputeError);
    expect(missing).toMatchObject({ kind: "declined", httpStatus: 404 });
    const down = { status: 503, body: { code: "unavailable", message: "down" } };
    await expect(whileAnswering(standIn, "disputeBehaviour", down, () => client.dispute(lost))).rejects.toMatchObject({
      kind: "unavailable",
      httpStatus: 503,
    });
    await expect(whileAnswering(standIn, "disputeBehaviour", "hang", () => client.dispute(lost))).rejects.toMatchObject({
      kind: "unavailable",
      httpStatus: null,
    });
    standIn.disputes.set(unknown, { id: unknown, state: "settled" as "lost", substate: "new" });
    await expect(client.dispute(unknown)).rejects.toMatchObject({
      kind: "unavailable",
      message: expect.stringMatching(/unexpected body \(state\)/),
    });
  });
});
