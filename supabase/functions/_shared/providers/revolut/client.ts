// A client for the Revolut Merchant API orders: creating one for a top-up (POST
// {base}/api/orders, answered with its id and checkout_url), reading one (GET
// {base}/api/orders/{id}), so that a completed order is credited with the amount Revolut
// holds, not one from a webhook, cancelling one nobody has paid (POST
// {base}/api/orders/{id}/cancel), so that its checkout link can no longer be paid once its
// intent expires, refunding one (POST {base}/api/orders/{id}/refund, answered with a new order
// of type refund that keeps our reference, merchant_order_data.reference), and finding a refund
// order again by that reference (GET {base}/api/orders?merchant_order_data_reference=), when
// Revolut's answer to the refund was lost, and reading a dispute (GET {base}/api/disputes/{id},
// production only), so that an admin records only a chargeback Revolut says was lost.
// Authorization: Bearer <secret key> and Revolut-Api-Version on every call. The base URL is
// configurable (production, sandbox, local stand-in).
import { z } from "zod";
import { once } from "../../env.ts";
import { providerConfigFromEnv } from "../from-env.ts";
import { providerError, providerReason } from "../errors.ts";
import { providerCall, type ProviderClientConfig } from "../http.ts";
import type { RefundRequest } from "../refund-request.ts";

export const orderSchema = z.looseObject({
  id: z.string().min(1).max(255),
  state: z.string().min(1).max(32).transform((state) => state.toLowerCase()),
  amount: z.int().positive(),
  currency: z.string().regex(/^[A-Za-z]{3}$/, "must be an ISO 4217 code").transform((c) => c.toUpperCase()),
  merchant_order_ext_ref: z.string().max(255).nullish(),
  checkout_url: z.string().max(2048).nullish(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
  /** payment, or refund for the order a refund created. */
  type: z.string().max(32).nullish().transform((type) => type?.toLowerCase() ?? null),
  /** The order a refund order refunds. */
  related_order_id: z.string().max(255).nullish(),
  /** Our reference of the order (a refund's: the admin's refund request id). */
  merchant_order_data: z.looseObject({ reference: z.string().max(255).nullish() }).nullish(),
});
export type RevolutOrder = z.output<typeof orderSchema>;

export interface RevolutClientConfig extends ProviderClientConfig {
  secretKey: string;
  apiVersion: string;
  /** REVOLUT_REDIRECT_URL: where the hosted checkout sends the payer, given each order with its intent_id. */
  redirectUrl?: string;
}

export const createdOrderSchema = z.looseObject({
  id: z.string().min(1).max(255),
  checkout_url: z.url({ protocol: /^https?$/ }),
});
export type CreatedOrder = z.output<typeof createdOrderSchema>;

/** Revolut refused or did not answer (its `kind` says which). Safe to store and log. */
export class RevolutApiError extends providerError("revolut") {}

/**
 * Revolut's 404 to a look-up of an order (GET /api/orders/{id}): Revolut has no order of that
 * id, so nothing there can be paid. A 404 to any other call (a cancel of an order Revolut has
 * just reported) is a plain RevolutApiError: it proves nothing about the order.
 */
export class RevolutUnknownOrderError extends RevolutApiError {}

/** Revolut's 404 to a look-up of a dispute (GET /api/disputes/{id}): Revolut has no dispute of that id. */
export class RevolutUnknownDisputeError extends RevolutApiError {}

/**
 * A dispute as Retrieve a dispute answers it: its id, its state and the stage within it. Revolut
 * documents no amount, currency, order or payment in the answer.
 */
export const disputeSchema = z.looseObject({
  id: z.string().min(1).max(255).nullish(),
  state: z.enum(["needs_response", "under_review", "won", "lost"]),
  substate: z.string().max(64).nullish(),
});
export type RevolutDispute = z.output<typeof disputeSchema>;

export interface NewOrder {
  /** Minor units. */
  amount: number;
  currency: string;
  /** Our id for the payment (the intent id), found again in the order and its webhooks. */
  merchantOrderExtRef: string;
  description: string;
}

export const refundOrderSchema = z.looseObject({
  id: z.string().min(1).max(255),
  state: z.string().min(1).max(32).transform((state) => state.toLowerCase()),
  amount: z.int().positive(),
});
export type RefundOrder = z.output<typeof refundOrderSchema>;

/**
 * Retrieve an order list: the orders, simplified (their ids), wrapped in `orders` as the current
 * API versions answer, or as the bare array older versions document; either is read as the list.
 */
const listedOrders = z.array(z.looseObject({ id: z.string().min(1).max(255), type: z.string().max(32).nullish() }));
const orderListSchema = z.union([z.looseObject({ orders: listedOrders }).transform((list) => list.orders), listedOrders]);

export interface NewRefund extends RefundRequest {
  orderId: string;
  description: string;
}

export interface RevolutClient {
  createOrder(order: NewOrder): Promise<CreatedOrder>;
  /** The order as Revolut has it now. Throws RevolutUnknownOrderError (HTTP 404) when Revolut knows no such order, else RevolutApiError. */
  order(orderId: string): Promise<RevolutOrder>;
  /**
   * Cancels the order and returns it as Revolut has it then: cancelled, or, when Revolut refused
   * because the order can no longer be cancelled (a declined answer: it was paid, is being paid,
   * or ended meanwhile), as it is read back after the refusal. Throws as order() does, and with
   * the refusal when the order read back is still pending (nobody paid it: refused for another
   * reason, a 404 to the cancel included, which says nothing of an order Revolut still reports).
   */
  cancelOrder(orderId: string): Promise<RevolutOrder>;
  refund(refund: NewRefund): Promise<RefundOrder>;
  /**
   * The refund order that carries `reference` in merchant_order_data.reference (a refund we asked
   * for under that reference), read in full; null when Revolut has none. Throws RevolutApiError.
   */
  refundOrderByReference(reference: string): Promise<RevolutOrder | null>;
  /** The dispute as Revolut has it now. Throws RevolutUnknownDisputeError (HTTP 404) when Revolut knows no such dispute, else RevolutApiError. */
  dispute(disputeId: string): Promise<RevolutDispute>;
}

/**
 * The state of an order nobody has paid: its checkout link can be paid until it is cancelled at
 * Revolut (revolut-poll cancels it there past its intent's TTL), and a cancel refused while the
 * order is still in it was refused for another reason than the state.
 */
export const UNPAID_STATE = "pending";

function unexpectedBody(error: z.ZodError): string {
  return error.issues.map((issue) => issue.path.join(".") || "body").join(", ");
}

/**
 * The body of Revolut's successful answer to `what`, checked with `schema`: a RevolutApiError
 * with Revolut's reason for a refusal, and an unavailable one (502) for a body we cannot read.
 */
async function answerBody<S extends z.ZodType>(response: Response, schema: S, what: string): Promise<z.output<S>> {
  if (!response.ok) {
    throw new RevolutApiError(`Revolut answered ${what} with HTTP ${response.status}`, response.status, await providerReason(response));
  }
  const body = schema.safeParse(await response.json().catch(() => null));
  if (!body.success) throw new RevolutApiError(`Revolut answered ${what} with an unexpected body (${unexpectedBody(body.error)})`, 502);
  return body.data;
}

/** The page the payer returns to: `base` with our id of the payment as intent_id, so that the app can follow it. */
function redirectFor(base: string, merchantOrderExtRef: string): string {
  const url = new URL(base);
  url.searchParams.set("intent_id", merchantOrderExtRef);
  return url.toString();
}

export function createRevolutClient(config: RevolutClientConfig): RevolutClient {
  const headers = { authorization: `Bearer ${config.secretKey}`, "revolut-api-version": config.apiVersion, accept: "application/json" };
  const call = providerCall("revolut", config, RevolutApiError);
  /** The order a successful answer carries; a 404 to a look-up is Revolut not knowing the order. */
  const orderOf = async (response: Response, orderId: string, what: string): Promise<RevolutOrder> => {
    if (response.status === 404) throw new RevolutUnknownOrderError(`Revolut knows no order ${orderId}`, 404);
    if (!response.ok) throw new RevolutApiError(`Revolut answered ${what} with HTTP ${response.status}`, response.status);
    const body = orderSchema.safeParse(await response.json().catch(() => null));
    if (!body.success) {
      throw new RevolutApiError(`Revolut answered ${what} with an unexpected body (${unexpectedBody(body.error)})`, response.status);
    }
    return body.data;
  };
  const readOrder = async (orderId: string): Promise<RevolutOrder> => {
    const what = `order ${orderId}`;
    return await orderOf(await call(`for ${what}`, `/api/orders/${encodeURIComponent(orderId)}`, { headers }), orderId, what);
  };
  return {
    async createOrder(order) {
      const response = await call("the order creation", "/api/orders", {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify({
          amount: order.amount,
          currency: order.currency,
          merchant_order_ext_ref: order.merchantOrderExtRef,
          description: order.description,
          redirect_url: config.redirectUrl && redirectFor(config.redirectUrl, order.merchantOrderExtRef),
        }),
      });
      if (!response.ok) {
        throw new RevolutApiError(
          `Revolut answered the order creation for ${order.merchantOrderExtRef} with HTTP ${response.status}`,
          response.status,
          await providerReason(response),
        );
      }
      const body = createdOrderSchema.safeParse(await response.json().catch(() => null));
      if (!body.success) {
        throw new RevolutApiError(`Revolut answered the order creation with an unexpected body (${unexpectedBody(body.error)})`, 502);
      }
      return body.data;
    },

    order: readOrder,

    async cancelOrder(orderId) {
      const what = `the cancellation of order ${orderId}`;
      const response = await call(what, `/api/orders/${encodeURIComponent(orderId)}/cancel`, { method: "POST", headers });
      if (response.ok) return await orderOf(response, orderId, what);
      // A refusal, a 404 included, is judged by the order as read back: only that look-up tells
      // an order Revolut does not know (then nothing there can be paid) from one it still has.
      const refusal = new RevolutApiError(
        `Revolut answered ${what} with HTTP ${response.status}`,
        response.status,
        await providerReason(response),
      );
      if (refusal.kind !== "declined") throw refusal;
      const now = await readOrder(orderId);
      if (now.state === UNPAID_STATE) throw refusal;
      return now;
    },

    async refund(refund) {
      const what = `the refund of order ${refund.orderId}`;
      const response = await call(what, `/api/orders/${encodeURIComponent(refund.orderId)}/refund`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json", "idempotency-key": refund.requestId },
        body: JSON.stringify({
          amount: refund.amount,
          description: refund.description,
          merchant_order_data: { reference: refund.requestId },
          metadata: { payment_id: refund.ourPaymentId, refund_request_id: refund.requestId },
        }),
      });
      return await answerBody(response, refundOrderSchema, what);
    },

    async refundOrderByReference(reference) {
      const what = `the orders of reference ${reference}`;
      const query = new URLSearchParams({ merchant_order_data_reference: reference });
      const response = await call(`for ${what}`, `/api/orders?${query}`, { headers });
      if (!response.ok) throw new RevolutApiError(`Revolut answered ${what} with HTTP ${response.status}`, response.status);
      const body = orderListSchema.safeParse(await response.json().catch(() => null));
      if (!body.success) {
        throw new RevolutApiError(`Revolut answered ${what} with an unexpected body (${unexpectedBody(body.error)})`, response.status);
      }
      // Only a refund order that carries our reference is ours: a search answered loosely (a
      // filter Revolut ignored) must never name another order, which would be recorded as the
      // refund and debit the wallet for money never returned.
      for (const listed of body.data) {
        if (listed.type && listed.type.toLowerCase() !== "refund") continue;
        const order = await readOrder(listed.id);
        if (order.type === "refund" && order.merchant_order_data?.reference === reference) return order;
      }
      return null;
    },

    async dispute(disputeId) {
      const what = `dispute ${disputeId}`;
      const response = await call(`for ${what}`, `/api/disputes/${encodeURIComponent(disputeId)}`, { headers });
      if (response.status === 404) throw new RevolutUnknownDisputeError(`Revolut knows no ${what}`, 404);
      return await answerBody(response, disputeSchema, what);
    },
  };
}

/** The process's client, configured from REVOLUT_API_BASE_URL, REVOLUT_API_KEY, REVOLUT_API_VERSION and REVOLUT_REDIRECT_URL. */
export const revolutClientFromEnv: () => RevolutClient = once(() =>
  createRevolutClient(
    providerConfigFromEnv({
      baseUrl: "REVOLUT_API_BASE_URL",
      secretKey: "REVOLUT_API_KEY",
      apiVersion: "REVOLUT_API_VERSION",
      redirectUrl: "REVOLUT_REDIRECT_URL",
    }),
  )
);
