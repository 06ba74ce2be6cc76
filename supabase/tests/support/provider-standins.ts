// Local HTTP stand-ins for the provider APIs the functions call (Stripe PaymentIntents, refunds and disputes, MTN
// MoMo Collection and Disbursement, Revolut Merchant orders and disputes), on node:http. They check the credentials and
// headers the real APIs require, answer in their documented shapes (errors included), and
// can be told to refuse, fail with a 5xx or never answer, so that tests can play every case.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

/** How a stand-in answers a create call: normally, with this status and body, or never. */
export type Behaviour = "accept" | "hang" | { status: number; body: unknown };

/** Runs `step` while the stand-in's `field` (one of its behaviours) is `behaviour`, then restores what it was. */
export async function whileAnswering<S, K extends keyof S, T>(standIn: S, field: K, behaviour: S[K], step: () => Promise<T>): Promise<T> {
  const before = standIn[field];
  standIn[field] = behaviour;
  try {
    return await step();
  } finally {
    standIn[field] = before;
  }
}

export interface StandIn<T> {
  url: string;
  /** What the API answers per id: a body (200) or an HTTP status. */
  records: Map<string, T | number>;
  /** Requests received, as "METHOD path". */
  requests: string[];
  close(): Promise<void>;
}

/** Where a listening stand-in answers, and how it stops (its open connections dropped). */
interface Served {
  url: string;
  close(): Promise<void>;
}

/** A stand-in on `port` that records every request as "METHOD /path" in `requests`, then lets `handle` answer it. */
async function listen(
  port: number,
  requests: string[],
  handle: (request: IncomingMessage, response: ServerResponse, path: string) => void,
): Promise<Served> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://standin").pathname;
    requests.push(`${request.method} ${path}`);
    handle(request, response, path);
  });
  await new Promise<void>((resolve, reject) => {
    server.once(
      "error",
      (error: NodeJS.ErrnoException) =>
        reject(new Error(`the provider stand-in could not listen on 127.0.0.1:${port} (${error.code ?? error.message})`)),
    );
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(response: ServerResponse, status: number, body?: unknown): void {
  response.writeHead(status, body === undefined ? {} : { "content-type": "application/json" });
  response.end(body === undefined ? undefined : JSON.stringify(body));
}

/** Sends the status, the headers and half of the body, then drops the connection (an answer cut off on the way). */
function sendCutOff(response: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) return send(response, status);
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) });
  response.write(text.slice(0, Math.floor(text.length / 2)), () => response.destroy());
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Answers as `behaviour` says unless it is "accept"; true when it answered (or will never). */
function misbehave(response: ServerResponse, behaviour: Behaviour): boolean {
  if (behaviour === "accept") return false;
  if (behaviour !== "hang") send(response, behaviour.status, behaviour.body);
  return true;
}

export interface MomoStandInOptions {
  /** 0 picks a free port. */
  port?: number;
  /** The Collection product's subscription key. */
  subscriptionKey: string;
  /** The Disbursement product's subscription key. */
  disbursementSubscriptionKey: string;
  apiUser: string;
  apiKey: string;
  targetEnvironment: string;
  /** expires_in of the access tokens it issues (MoMo: 3600). */
  tokenLifetimeSeconds?: number;
}

/** A request-to-pay or transfer MoMo accepted: its body and where MoMo will send the callback. */
export interface MomoRequestToPay {
  body: Record<string, unknown>;
  callbackUrl: string | undefined;
}

export interface MomoStandIn extends StandIn<Record<string, unknown>> {
  /** Forgets every access token issued so far (as MoMo does when they expire). */
  revokeTokens(): void;
  /** How POST /<product>/token/ answers, per product (default: 200 with a new token). */
  tokenBehaviour: Record<MomoProductName, Behaviour>;
  /**
   * How POST /collection/v1_0/requesttopay answers (default: 202 Accepted); "accept-silently"
   * accepts the request-to-pay and never answers (MoMo took it and prompts the payer, its answer
   * was lost).
   */
  requestToPayBehaviour: Behaviour | "accept-silently";
  /**
   * How POST /disbursement/v1_0/transfer answers (default: 202 Accepted), "accept-silently"
   * included; "answers-cut-off" handles the transfer as "accept" does, but the connection drops
   * halfway through the body of its answer (a 409 RESOURCE_ALREADY_EXIST that never fully arrives).
   */
  transferBehaviour: Behaviour | "accept-silently" | "answers-cut-off";
  /** The request-to-pays accepted, by X-Reference-Id. */
  requestsToPay: Map<string, MomoRequestToPay>;
  /** The transfers (disbursements) accepted, by X-Reference-Id. */
  transfers: Map<string, MomoRequestToPay>;
  /**
   * The payer (request-to-pay) or MoMo (transfer) decides: the status becomes `status` and
   * MoMo's one callback goes to the X-Callback-Url (PUT, as MoMo sends it). Resolves with the
   * callback's HTTP status.
   */
  decide(referenceId: string, status: "SUCCESSFUL" | "FAILED", reason?: string, reported?: MomoReported): Promise<number>;
  /** The payer (or MoMo) decides but MoMo's one callback is lost: only the GET of the status tells. Returns the status record. */
  settle(referenceId: string, status: "SUCCESSFUL" | "FAILED", reason?: string, reported?: MomoReported): Record<string, unknown>;
  /** Runs when a GET of a status arrives and is awaited before it is answered: MoMo slow to answer, and what a test checks meanwhile. */
  onStatus: ((referenceId: string) => Promise<void>) | null;
}

/** Fields of a status record that MoMo reports otherwise than they were requested (a faulty MoMo). */
export type MomoReported = Partial<Record<"amount" | "currency", string>>;

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** MoMo's two products as the stand-in serves them: where they live and whom they name. */
const momoProducts = {
  collection: { create: "/collection/v1_0/requesttopay", party: "payer" },
  disbursement: { create: "/disbursement/v1_0/transfer", party: "payee" },
} as const;
type MomoProductName = keyof typeof momoProducts;

/**
 * MTN MoMo Collection and Disbursement, each with its own subscription key and tokens:
 * POST /<product>/token/, POST /collection/v1_0/requesttopay and POST
 * /disbursement/v1_0/transfer (202; 409 RESOURCE_ALREADY_EXIST for a reference id seen
 * before), GET of each by reference id (PENDING, SUCCESSFUL or FAILED with a reason; 404
 * RESOURCE_NOT_FOUND for a reference it never accepted). Errors are {code, message} as MoMo
 * writes them.
 */
export async function startMomoStandIn(options: MomoStandInOptions): Promise<MomoStandIn> {
  const records = new Map<string, Record<string, unknown> | number>();
  const requests: string[] = [];
  const issuedTokens = new Map<string, { product: MomoProductName; expiresAt: number }>();
  const accepted: Record<MomoProductName, Map<string, MomoRequestToPay>> = { collection: new Map(), disbursement: new Map() };
  const basic = `Basic ${Buffer.from(`${options.apiUser}:${options.apiKey}`).toString("base64")}`;
  const lifetime = options.tokenLifetimeSeconds ?? 3600;
  const subscriptionKeys: Record<MomoProductName, string> = {
    collection: options.subscriptionKey,
    disbursement: options.disbursementSubscriptionKey,
  };
  const standIn = {
    requestToPayBehaviour: "accept" as Behaviour | "accept-silently",
    transferBehaviour: "accept" as MomoStandIn["transferBehaviour"],
    tokenBehaviour: { collection: "accept", disbursement: "accept" } as Record<MomoProductName, Behaviour>,
    onStatus: null as ((referenceId: string) => Promise<void>) | null,
  };
  const behaviour = (product: MomoProductName) => product === "collection" ? standIn.requestToPayBehaviour : standIn.transferBehaviour;
  const authorized = (request: IncomingMessage, product: MomoProductName): boolean => {
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? "")?.[1];
    const token = bearer === undefined ? undefined : issuedTokens.get(bearer);
    return token !== undefined && token.product === product && token.expiresAt > Date.now();
  };
  const served = await listen(options.port ?? 0, requests, async (request, response, path) => {
    const product = path.split("/")[1] as MomoProductName;
    if (!(product in momoProducts)) return send(response, 404, { message: "no such route" });
    if (request.headers["ocp-apim-subscription-key"] !== subscriptionKeys[product]) {
      return send(response, 401, { message: "bad subscription key" });
    }
    if (request.method === "POST" && path === `/${product}/token/`) {
      if (misbehave(response, standIn.tokenBehaviour[product])) return;
      if (request.headers.authorization !== basic) return send(response, 401, { message: "bad api user or key" });
      const token = `momo-token-${crypto.randomUUID()}`;
      issuedTokens.set(token, { product, expiresAt: Date.now() + lifetime * 1000 });
      return send(response, 200, { access_token: token, token_type: "access_token", expires_in: lifetime });
    }
    const { create, party } = momoProducts[product];
    if (request.method === "POST" && path === create) {
      const text = await readBody(request);
      if (!authorized(request, product)) {
        return send(response, 401, { code: "UNAUTHORIZED", message: "Access token is missing or invalid" });
      }
      if (request.headers["x-target-environment"] !== options.targetEnvironment) {
        return send(response, 400, { code: "INVALID_TARGET_ENVIRONMENT", message: "bad environment" });
      }
      const answer = behaviour(product);
      if (answer !== "accept-silently" && answer !== "answers-cut-off" && misbehave(response, answer)) return;
      const reply = answer === "answers-cut-off" ? sendCutOff : send;
      const referenceId = String(request.headers["x-reference-id"] ?? "");
      if (!UUID_V4.test(referenceId)) {
        return reply(response, 400, { code: "INVALID_REFERENCE_ID", message: "X-Reference-Id must be a UUID v4" });
      }
      if (accepted[product].has(referenceId)) {
        return reply(response, 409, { code: "RESOURCE_ALREADY_EXIST", message: "Duplicated reference id. Creation of resource failed." });
      }
      const body = JSON.parse(text) as Record<string, unknown>;
      const named = body[party] as { partyIdType?: unknown; partyId?: unknown } | undefined;
      if (
        typeof body.amount !== "string" || typeof body.currency !== "string" || named?.partyIdType !== "MSISDN" ||
        typeof named.partyId !== "string"
      ) {
        return reply(response, 400, { code: "INVALID_PARAMETERS", message: `amount, currency and ${party} are required` });
      }
      const callbackUrl = request.headers["x-callback-url"] as string | undefined;
      accepted[product].set(referenceId, { body, callbackUrl });
      records.set(referenceId, { ...body, status: "PENDING" });
      if (answer !== "accept-silently") reply(response, 202);
      return;
    }
    const referenceId = path.startsWith(`${create}/`) ? decodeURIComponent(path.slice(create.length + 1)) : null;
    if (request.method === "GET" && referenceId !== null && !referenceId.includes("/")) {
      if (!authorized(request, product)) return send(response, 401, { message: "bad token" });
      if (request.headers["x-target-environment"] !== options.targetEnvironment) return send(response, 400, { message: "bad environment" });
      await standIn.onStatus?.(referenceId);
      const record = records.get(referenceId);
      if (record === undefined) return send(response, 404, { code: "RESOURCE_NOT_FOUND", message: "Requested resource was not found." });
      return typeof record === "number" ? send(response, record, { message: "stand-in failure" }) : send(response, 200, record);
    }
    send(response, 404, { message: "no such route" });
  });
  const settle = (referenceId: string, status: "SUCCESSFUL" | "FAILED", reason?: string, reported: MomoReported = {}) => {
    const found = accepted.collection.get(referenceId) ?? accepted.disbursement.get(referenceId);
    if (!found) throw new Error(`the MoMo stand-in has no request-to-pay or transfer ${referenceId}`);
    const result = {
      ...found.body,
      ...(status === "SUCCESSFUL"
        ? { financialTransactionId: String(Math.floor(Math.random() * 1e9)) }
        : { reason: reason ?? (accepted.collection.has(referenceId) ? "APPROVAL_REJECTED" : "PAYEE_NOT_FOUND") }),
      ...reported,
      status,
    };
    records.set(referenceId, result);
    return result;
  };
  return Object.assign(standIn, {
    ...served,
    records,
    requests,
    requestsToPay: accepted.collection,
    transfers: accepted.disbursement,
    revokeTokens: () => issuedTokens.clear(),
    settle,
    async decide(referenceId: string, status: "SUCCESSFUL" | "FAILED", reason?: string, reported?: MomoReported) {
      const found = accepted.collection.get(referenceId) ?? accepted.disbursement.get(referenceId);
      if (!found?.callbackUrl) throw new Error(`the MoMo stand-in has no request-to-pay or transfer ${referenceId} with a callback URL`);
      const result = settle(referenceId, status, reason, reported);
      const callback = await fetch(found.callbackUrl, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(result),
      });
      await callback.body?.cancel();
      return callback.status;
    },
  });
}

export interface RevolutStandInOptions {
  port?: number;
  secretKey: string;
  apiVersion: string;
}

export interface RevolutStandIn extends StandIn<Record<string, unknown>> {
  /** How POST /api/orders answers (default: 201 with the new order). */
  createOrderBehaviour: Behaviour;
  /** The ids of the orders created, in order. */
  createdOrders: string[];
  /**
   * The customer paid: the order's state becomes completed (what ORDER_COMPLETED announces).
   * Throws for an order that can no longer be paid (cancelled, failed or completed already).
   */
  complete(orderId: string): Record<string, unknown>;
  /**
   * How POST /api/orders/{id}/refund answers a new Idempotency-Key (default: 201 with the refund
   * order); "accept-silently" makes the refund order and never answers (Revolut acted, its answer
   * was lost): the same key again is answered with it.
   */
  refundBehaviour: Behaviour | "accept-silently";
  /**
   * The state of the refund orders it creates (Revolut: pending until processed, then completed;
   * declined when the payment method refuses it, answered with the refund order by API versions
   * from 2026-09-22 for Revolut Pay).
   */
  refundState: "completed" | "pending" | "declined";
  /** The refund orders created, in order. */
  refundOrders: Record<string, unknown>[];
  /**
   * Revolut processed a refund order: its state becomes `state` (what the ORDER_COMPLETED or
   * ORDER_CANCELLED of the refund order announces). A refund that did not complete no longer
   * counts against what remains of its order.
   */
  settleRefund(refundId: string, state: "completed" | "failed" | "cancelled"): Record<string, unknown>;
  /** How POST /api/orders/{id}/cancel answers instead of as Revolut does (default: "accept", as Revolut does). */
  cancelBehaviour: Behaviour;
  /** Runs when a cancel request arrives, before it is answered: the customer acting between a look-up and the cancel. */
  onCancel: ((orderId: string) => void) | null;
  /** Runs when a refund order has been made, before the refund call is answered: what happens at Revolut next. */
  onRefund: ((refundId: string) => void) | null;
  /** GET /api/orders answers every order, as a search whose filter the API ignored would (default false). */
  searchIgnoresReference: boolean;
  /** GET /api/orders answers no order, as a list that does not show a new order yet would (default false). */
  searchLags: boolean;
  /** GET /api/orders answers a bare array, as older API versions document the list, not {orders: [...]} (default false). */
  listsBareArray: boolean;
  /** The disputes GET /api/disputes/{id} answers (Revolut: production only), by id: the dispute, or a status to fail with. */
  disputes: Map<string, RevolutDispute | number>;
  /** How GET /api/disputes/{id} answers instead of with the dispute (default: "accept"). */
  disputeBehaviour: Behaviour;
  /** A dispute Revolut has opened on a payment, in `state` (and `substate`, by default the first of the state's); its id. */
  openDispute(state: RevolutDispute["state"], substate?: string): string;
}

/** A dispute as Revolut's Retrieve a dispute answers it: no amount, currency, order or payment is documented. */
export interface RevolutDispute {
  id: string;
  state: "needs_response" | "under_review" | "won" | "lost";
  substate: string;
}

/** A substate Revolut documents for each state of a dispute. */
const DISPUTE_SUBSTATE: Record<RevolutDispute["state"], string> = {
  needs_response: "new",
  under_review: "representment",
  won: "won_representment",
  lost: "lost_accepted",
};

/** The states in which Revolut cancels an order: nobody has paid it (pending), or its payment awaits a manual capture (authorised). */
const REVOLUT_CANCELLABLE = ["pending", "authorised"];
/** The states of an order its customer can still pay (or whose payment is underway). */
const REVOLUT_PAYABLE = [...REVOLUT_CANCELLABLE, "processing"];

/**
 * Revolut Merchant API with Bearer secret key and Revolut-Api-Version: POST /api/orders
 * (201 {id, token, state: pending, amount, currency, merchant_order_ext_ref, checkout_url}),
 * GET /api/orders/{id}, GET /api/orders?merchant_order_data_reference= (200 {orders: [...]}, or a
 * bare array as older API versions document it, the orders whose merchant_order_data.reference it
 * is, simplified), POST /api/orders/{id}/refund (a
 * completed order only, refunds never above its amount; 201 with the new order of type refund,
 * related_order_id and the request's merchant_order_data, which GET /api/orders/{id} reads like
 * any order; an Idempotency-Key seen before answers the first refund again) and POST /api/orders/{id}/cancel (a pending or authorised order only: 200 with
 * the order, now cancelled, which can no longer be paid; any other state is refused with 400
 * invalid_order_state), and GET /api/disputes/{id} (200 {id, state, substate}; 404 not_found for an
 * id it does not know). Errors are {code, message}.
 */
export async function startRevolutStandIn(options: RevolutStandInOptions): Promise<RevolutStandIn> {
  const records = new Map<string, Record<string, unknown> | number>();
  const requests: string[] = [];
  const createdOrders: string[] = [];
  const refundOrders: Record<string, unknown>[] = [];
  const refundsByKey = new Map<string, { status: number; body: unknown }>();
  const disputes = new Map<string, RevolutDispute | number>();
  const standIn = {
    disputeBehaviour: "accept" as Behaviour,
    createOrderBehaviour: "accept" as Behaviour,
    refundBehaviour: "accept" as Behaviour | "accept-silently",
    refundState: "completed" as "completed" | "pending" | "declined",
    cancelBehaviour: "accept" as Behaviour,
    onCancel: null as ((orderId: string) => void) | null,
    onRefund: null as ((refundId: string) => void) | null,
    searchIgnoresReference: false,
    searchLags: false,
    listsBareArray: false,
  };
  const served = await listen(options.port ?? 0, requests, async (request, response, path) => {
    const text = await readBody(request);
    if (request.headers.authorization !== `Bearer ${options.secretKey}`) return send(response, 401, { code: "unauthenticated" });
    if (request.headers["revolut-api-version"] !== options.apiVersion) return send(response, 400, { code: "invalid_api_version" });
    if (request.method === "POST" && path === "/api/orders") {
      if (misbehave(response, standIn.createOrderBehaviour)) return;
      const body = JSON.parse(text || "{}") as Record<string, unknown>;
      if (!Number.isInteger(body.amount) || (body.amount as number) <= 0 || typeof body.currency !== "string") {
        return send(response, 400, { code: "validation_error", message: "amount and currency are required" });
      }
      const id = crypto.randomUUID();
      const token = crypto.randomUUID();
      const order = {
        id,
        token,
        type: "payment",
        state: "pending",
        created_at: new Date().toISOString(),
        amount: body.amount,
        currency: body.currency,
        outstanding_amount: body.amount,
        merchant_order_ext_ref: body.merchant_order_ext_ref,
        description: body.description,
        ...(body.redirect_url === undefined ? {} : { redirect_url: body.redirect_url }),
        checkout_url: `https://checkout.revolut.test/payment-link/${token}`,
      };
      records.set(id, order);
      createdOrders.push(id);
      return send(response, 201, order);
    }
    const refundOf = /^\/api\/orders\/([^/]+)\/refund$/.exec(path);
    if (request.method === "POST" && refundOf) {
      const key = request.headers["idempotency-key"] as string | undefined;
      const earlier = key === undefined ? undefined : refundsByKey.get(key);
      if (earlier) return send(response, earlier.status, earlier.body);
      const silently = standIn.refundBehaviour === "accept-silently";
      if (standIn.refundBehaviour !== "accept-silently" && misbehave(response, standIn.refundBehaviour)) return;
      const answer = (status: number, body: unknown) => {
        if (key !== undefined) refundsByKey.set(key, { status, body });
        if (!silently) send(response, status, body);
      };
      const order = records.get(decodeURIComponent(refundOf[1]!));
      if (typeof order !== "object") return answer(404, { code: "order_not_found", message: "Order not found" });
      if (order.state !== "completed") {
        return answer(400, { code: "invalid_order_state", message: "Only completed orders can be refunded" });
      }
      const body = JSON.parse(text || "{}") as Record<string, unknown>;
      const refunded = refundOrders.filter((r) => r.related_order_id === order.id && refundCounts(r))
        .reduce((sum, r) => sum + (r.amount as number), 0);
      if (!Number.isInteger(body.amount) || (body.amount as number) <= 0 || refunded + (body.amount as number) > (order.amount as number)) {
        return answer(400, { code: "invalid_refund_amount", message: "Refund amount exceeds what remains of the order" });
      }
      const refund = {
        id: crypto.randomUUID(),
        type: "refund",
        state: standIn.refundState,
        created_at: new Date().toISOString(),
        amount: body.amount,
        currency: order.currency,
        related_order_id: order.id,
        description: body.description,
        merchant_order_data: body.merchant_order_data,
        metadata: body.metadata,
      };
      refundOrders.push(refund);
      records.set(refund.id, refund);
      standIn.onRefund?.(refund.id);
      return answer(201, refund);
    }
    const cancelOf = /^\/api\/orders\/([^/]+)\/cancel$/.exec(path);
    if (request.method === "POST" && cancelOf) {
      if (misbehave(response, standIn.cancelBehaviour)) return;
      const orderId = decodeURIComponent(cancelOf[1]!);
      standIn.onCancel?.(orderId);
      const order = records.get(orderId);
      if (order === undefined) return send(response, 404, { code: "order_not_found", message: "Order not found" });
      if (typeof order === "number") return send(response, order, { code: "stand_in_failure" });
      if (!REVOLUT_CANCELLABLE.includes(order.state as string)) {
        return send(response, 400, { code: "invalid_order_state", message: `An order in state ${order.state} cannot be cancelled` });
      }
      const cancelled = { ...order, state: "cancelled", updated_at: new Date().toISOString() };
      records.set(orderId, cancelled);
      return send(response, 200, cancelled);
    }
    if (request.method === "GET" && path === "/api/orders") {
      const reference = new URL(request.url ?? "/", "http://standin").searchParams.get("merchant_order_data_reference");
      const orders = [...records.values()].filter((order): order is Record<string, unknown> =>
        typeof order === "object" && !standIn.searchLags &&
        (standIn.searchIgnoresReference || (order.merchant_order_data as { reference?: string } | undefined)?.reference === reference)
      );
      const simplified = orders.map(({ id, type, state, created_at }) => ({ id, type, state, created_at }));
      return send(response, 200, standIn.listsBareArray ? simplified : { orders: simplified });
    }
    const disputeOf = /^\/api\/disputes\/([^/]+)$/.exec(path);
    if (request.method === "GET" && disputeOf) {
      if (misbehave(response, standIn.disputeBehaviour)) return;
      const dispute = disputes.get(decodeURIComponent(disputeOf[1]!));
      if (dispute === undefined) return send(response, 404, { code: "not_found", message: "Dispute not found" });
      return typeof dispute === "number" ? send(response, dispute, { code: "stand_in_failure" }) : send(response, 200, dispute);
    }
    const match = /^\/api\/orders\/([^/]+)$/.exec(path);
    if (request.method !== "GET" || !match) return send(response, 404, { code: "not_found" });
    const record = records.get(decodeURIComponent(match[1]!));
    if (record === undefined) return send(response, 404, { code: "order_not_found" });
    return typeof record === "number" ? send(response, record, { code: "stand_in_failure" }) : send(response, 200, record);
  });
  return Object.assign(standIn, {
    ...served,
    records,
    requests,
    createdOrders,
    refundOrders,
    disputes,
    openDispute(state: RevolutDispute["state"], substate = DISPUTE_SUBSTATE[state]) {
      const id = crypto.randomUUID();
      disputes.set(id, { id, state, substate });
      return id;
    },
    complete(orderId: string) {
      const order = records.get(orderId);
      if (typeof order !== "object") throw new Error(`the Revolut stand-in has no order ${orderId}`);
      if (!REVOLUT_PAYABLE.includes(order.state as string)) throw new Error(`order ${orderId} is ${order.state}: it can no longer be paid`);
      const completed = { ...order, state: "completed", outstanding_amount: 0 };
      records.set(orderId, completed);
      return completed;
    },
    settleRefund(refundId: string, state: "completed" | "failed" | "cancelled") {
      const index = refundOrders.findIndex((r) => r.id === refundId);
      if (index < 0) throw new Error(`the Revolut stand-in has no refund order ${refundId}`);
      const settled = { ...refundOrders[index], state, updated_at: new Date().toISOString() };
      refundOrders[index] = settled;
      records.set(refundId, settled);
      return settled;
    },
  });
}

/** A refund order still counts against its order unless Revolut declined, failed or cancelled it. */
const refundCounts = (refund: Record<string, unknown>) => !["declined", "failed", "cancelled"].includes(refund.state as string);

export interface StripeStandInOptions {
  port?: number;
  secretKey: string;
}

export interface StripeStandIn {
  url: string;
  /** How POST /v1/payment_intents answers a new Idempotency-Key (default: 200 with the PaymentIntent). */
  createBehaviour: Behaviour;
  /** PaymentIntents created, by id (delete one and Stripe answers 404 resource_missing for it). */
  paymentIntents: Map<string, Record<string, unknown>>;
  /**
   * How a call on one object (GET /v1/payment_intents/:id, POST /v1/payment_intents/:id/cancel,
   * GET /v1/refunds/:id, GET /v1/disputes/:id) answers instead of as Stripe does, by the call as `requests` lists it
   * (e.g. a 500 for "GET /v1/payment_intents/pi_1").
   */
  objectBehaviour: Map<string, Behaviour>;
  /** How GET /v1/refunds (a list of refunds) answers instead of as Stripe does (e.g. a 500: Stripe down). */
  listBehaviour: Behaviour;
  /** Runs when a cancel request arrives, before it is answered: the customer acting between a look-up and the cancel. */
  onCancel: ((paymentIntentId: string) => void) | null;
  /**
   * How POST /v1/refunds answers a new Idempotency-Key (default: 200 with the Refund);
   * "accept-silently" creates the refund and never answers (Stripe refunded, its answer was
   * lost): the same key again is answered with it.
   */
  refundBehaviour: Behaviour | "accept-silently";
  /** The status of the refunds it creates (Stripe: succeeded for most cards, pending for some). */
  refundStatus: "succeeded" | "pending";
  /** The Idempotency-Key of every POST /v1/refunds, in order (undefined: none sent). */
  refundKeys: (string | undefined)[];
  /** Refunds created, by id (delete one and Stripe answers 404 resource_missing for it). */
  refunds: Map<string, Record<string, unknown>>;
  /** Disputes opened (openDispute), by id; any other id is 404 resource_missing. */
  disputes: Map<string, Record<string, unknown>>;
  /** Requests received, as "METHOD path". */
  requests: string[];
  /** The customer's card was charged: the PaymentIntent succeeds (what payment_intent.succeeded carries). */
  confirm(paymentIntentId: string): Record<string, unknown>;
  /** The PaymentIntent changed as Stripe would change it (e.g. {status: "processing"}); returns it. */
  update(paymentIntentId: string, changes: Record<string, unknown>): Record<string, unknown>;
  /** A refund made in Stripe's dashboard (not through the API) of the PaymentIntent's charge; returns it. */
  dashboardRefund(paymentIntentId: string, amount: number, status?: "succeeded" | "pending"): Record<string, unknown>;
  /** A pending refund reaches its end at Stripe: succeeded, or failed or canceled (with Stripe's failure_reason). */
  settleRefund(refundId: string, status: "succeeded" | "failed" | "canceled", failureReason?: string): Record<string, unknown>;
  /** The cardholder disputes `amount` of the PaymentIntent's charge: a dispute needing our response (what charge.dispute.created carries). */
  openDispute(paymentIntentId: string, amount: number): Record<string, unknown>;
  /** The dispute moves on at Stripe (won, lost, warning_closed: closed; what charge.dispute.closed carries); returns it. */
  settleDispute(disputeId: string, status: "won" | "lost" | "warning_closed" | "under_review"): Record<string, unknown>;
  /** Stripe keeps an Idempotency-Key's answer for 24 hours: forgets every key, as a day later. */
  forgetIdempotencyKeys(): void;
  close(): Promise<void>;
}

/** Stripe's error body: {error: {type, code, message, ...}}. */
export function stripeError(type: string, code: string | undefined, message: string, extra: Record<string, unknown> = {}) {
  return { error: { type, ...(code && { code }), message, ...extra } };
}

/** A card refusal as Stripe answers it (HTTP 402). */
export const stripeCardDeclined: Behaviour = {
  status: 402,
  body: stripeError("card_error", "card_declined", "Your card was declined.", { decline_code: "generic_decline" }),
};

/**
 * Stripe's answer to a create whose Idempotency-Key an earlier request is still using (HTTP 409):
 * that request's outcome is not known yet, and the same call once it ends is answered with it.
 */
export const stripeIdempotencyKeyInUse: Behaviour = {
  status: 409,
  body: stripeError(
    "invalid_request_error",
    "idempotency_key_in_use",
    "There is currently another in-progress request using this Idempotent Key. Please try again later.",
  ),
};

/** Stripe's metadata[...] form fields as an object. */
function formMetadata(params: URLSearchParams): Record<string, string> {
  return Object.fromEntries(
    [...params].filter(([name]) => name.startsWith("metadata[")).map(([name, value]) => [name.slice(9, -1), value]),
  );
}

/** A PaymentIntent's one charge, named as the tests name it in the events they send. */
const chargeOf = (paymentIntentId: string) => `ch_${paymentIntentId.slice(3)}`;

const stripeId = (prefix: string) => `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`;

/** The statuses in which Stripe cancels a PaymentIntent (also processing "in rare cases", which the stand-in does not play). */
const CANCELABLE = ["requires_payment_method", "requires_capture", "requires_confirmation", "requires_action"];

/** The PaymentIntent id and whether it is a cancel, for GET /v1/payment_intents/:id and POST /v1/payment_intents/:id/cancel; else null. */
function paymentIntentCall(method: string | undefined, path: string): { id: string; cancel: boolean } | null {
  const match = /^\/v1\/payment_intents\/([^/]+)(\/cancel)?$/.exec(path);
  if (!match || method !== (match[2] ? "POST" : "GET")) return null;
  return { id: decodeURIComponent(match[1]!), cancel: match[2] !== undefined };
}

/** The object and id of GET /v1/refunds/:id or GET /v1/disputes/:id; else null. */
function objectLookup(method: string | undefined, path: string): { collection: "refunds" | "disputes"; id: string } | null {
  const match = /^\/v1\/(refunds|disputes)\/([^/]+)$/.exec(path);
  return match && method === "GET" ? { collection: match[1] as "refunds" | "disputes", id: decodeURIComponent(match[2]!) } : null;
}

/** Stripe's 404 for an object id it does not have under this key: resource_missing, naming the parameter (`param`) that held the id. */
const noSuchObject = (object: string, id: string, param: string) => ({
  status: 404,
  body: stripeError("invalid_request_error", "resource_missing", `No such ${object}: '${id}'`, {
    param,
    doc_url: "https://stripe.com/docs/error-codes/resource-missing",
  }),
});

/**
 * Answers GET /v1/refunds?payment_intent=... (or charge=...) as Stripe does: the refunds of that
 * PaymentIntent or charge, newest first, a page of `limit` (1 to 100, default 10) after the
 * refund `starting_after` names, with has_more when more follow.
 */
function listRefunds(refunds: Map<string, Record<string, unknown>>, query: URLSearchParams): { status: number; body: unknown } {
  const [field, id] = query.has("payment_intent") ? ["payment_intent", query.get("payment_intent")] : ["charge", query.get("charge")];
  const all = [...refunds.values()].filter((refund) => refund[field] === id).reverse();
  const after = query.get("starting_after");
  const start = after === null ? 0 : all.findIndex((refund) => refund.id === after) + 1;
  const limit = Number(query.get("limit") ?? 10);
  const data = all.slice(start, start + limit);
  return { status: 200, body: { object: "list", data, has_more: start + limit < all.length, url: "/v1/refunds" } };
}

/**
 * Answers GET /v1/refunds/:id or GET /v1/disputes/:id as Stripe does: the Refund or Dispute, or
 * 404 resource_missing (param id) for an id it does not have.
 */
function answerObject(objects: Map<string, Record<string, unknown>>, object: string, id: string): { status: number; body: unknown } {
  const found = objects.get(id);
  return found ? { status: 200, body: found } : noSuchObject(object, id, "id");
}

/** Stores `changes` to the object `id` of `objects` (a `what` the stand-in must have); returns it changed. */
function changeObject(objects: Map<string, Record<string, unknown>>, what: string, id: string, changes: Record<string, unknown>) {
  const found = objects.get(id);
  if (!found) throw new Error(`the Stripe stand-in has no ${what} ${id}`);
  const changed = { ...found, ...changes };
  objects.set(id, changed);
  return changed;
}

/**
 * Answers a look-up or cancel of one PaymentIntent as Stripe does: the PaymentIntent; 404
 * resource_missing (param intent) for an id it does not have; a cancel moves a cancelable one
 * to canceled (canceled_at, cancellation_reason) and refuses any other with 400
 * payment_intent_unexpected_state carrying the PaymentIntent as it is.
 */
function answerPaymentIntent(
  paymentIntents: Map<string, Record<string, unknown>>,
  { id, cancel }: { id: string; cancel: boolean },
  params: URLSearchParams,
): { status: number; body: unknown } {
  const intent = paymentIntents.get(id);
  if (!intent) return noSuchObject("payment_intent", id, "intent");
  if (!cancel) return { status: 200, body: intent };
  if (!CANCELABLE.includes(intent.status as string)) {
    return {
      status: 400,
      body: stripeError(
        "invalid_request_error",
        "payment_intent_unexpected_state",
        `You cannot cancel this PaymentIntent because it has a status of ${intent.status}. Only a PaymentIntent with one of the ` +
          `following statuses may be canceled: ${[...CANCELABLE, "processing"].join(", ")}.`,
        { payment_intent: intent, doc_url: "https://stripe.com/docs/error-codes/payment-intent-unexpected-state" },
      ),
    };
  }
  const canceled = {
    ...intent,
    status: "canceled",
    canceled_at: Math.floor(Date.now() / 1000),
    cancellation_reason: params.get("cancellation_reason"),
  };
  paymentIntents.set(id, canceled);
  return { status: 200, body: canceled };
}

/**
 * Stripe: POST /v1/payment_intents, GET /v1/payment_intents/:id, POST
 * /v1/payment_intents/:id/cancel, POST /v1/refunds, GET /v1/refunds/:id and GET
 * /v1/disputes/:id (form-encoded, Bearer secret key). An
 * Idempotency-Key seen before answers the first response of a create again (a different body
 * with it is 400 idempotency_error), as Stripe does for 24 hours. A refund needs payment_intent
 * or charge and a positive amount; it is answered with the status `refundStatus` says.
 */
export async function startStripeStandIn(options: StripeStandInOptions): Promise<StripeStandIn> {
  const paymentIntents = new Map<string, Record<string, unknown>>();
  const requests: string[] = [];
  const answered = new Map<string, { params: string; status: number; body: unknown }>();
  const refunds = new Map<string, Record<string, unknown>>();
  const refundKeys: (string | undefined)[] = [];
  const disputes = new Map<string, Record<string, unknown>>();
  const standIn = {
    createBehaviour: "accept" as Behaviour,
    refundBehaviour: "accept" as Behaviour | "accept-silently",
    refundStatus: "succeeded" as "succeeded" | "pending",
    objectBehaviour: new Map<string, Behaviour>(),
    listBehaviour: "accept" as Behaviour,
    onCancel: null as ((paymentIntentId: string) => void) | null,
  };
  const served = await listen(options.port ?? 0, requests, async (request, response, path) => {
    const text = await readBody(request);
    if (request.headers.authorization !== `Bearer ${options.secretKey}`) {
      return send(response, 401, stripeError("invalid_request_error", undefined, "Invalid API Key provided."));
    }
    const call = paymentIntentCall(request.method, path);
    const lookup = objectLookup(request.method, path);
    if (call || lookup) {
      if (misbehave(response, standIn.objectBehaviour.get(`${request.method} ${path}`) ?? "accept")) return;
      if (call?.cancel) standIn.onCancel?.(call.id);
      const answer = call
        ? answerPaymentIntent(paymentIntents, call, new URLSearchParams(text))
        : lookup!.collection === "refunds"
        ? answerObject(refunds, "refund", lookup!.id)
        : answerObject(disputes, "dispute", lookup!.id);
      return send(response, answer.status, answer.body);
    }
    if (request.method === "GET" && path === "/v1/refunds") {
      if (misbehave(response, standIn.listBehaviour)) return;
      const answer = listRefunds(refunds, new URL(request.url ?? "/", "http://standin").searchParams);
      return send(response, answer.status, answer.body);
    }
    if (request.method !== "POST" || (path !== "/v1/payment_intents" && path !== "/v1/refunds")) {
      return send(
        response,
        404,
        stripeError("invalid_request_error", "resource_missing", `Unrecognized request URL (${request.method}: ${path}).`),
      );
    }
    const key = request.headers["idempotency-key"] as string | undefined;
    if (path === "/v1/refunds") refundKeys.push(key);
    const earlier = key === undefined ? undefined : answered.get(key);
    if (earlier) {
      if (earlier.params !== text) {
        return send(
          response,
          400,
          stripeError(
            "idempotency_error",
            undefined,
            "Keys for idempotent requests can only be used with the same parameters they were first used with.",
          ),
        );
      }
      response.setHeader("idempotent-replayed", "true");
      return send(response, earlier.status, earlier.body);
    }
    const behaviour = path === "/v1/refunds" ? standIn.refundBehaviour : standIn.createBehaviour;
    if (behaviour === "hang") return;
    // Stripe stores the answer of a request it processed, refusals included, but not a 500, nor
    // a 409 (the key was in use by another request: this one never ran).
    const remember = (status: number, body: unknown) => {
      if (key !== undefined && status < 500 && status !== 409) answered.set(key, { params: text, status, body });
      if (behaviour !== "accept-silently") send(response, status, body);
    };
    if (behaviour !== "accept" && behaviour !== "accept-silently") return remember(behaviour.status, behaviour.body);
    const params = new URLSearchParams(text);
    if (path === "/v1/refunds") {
      const refundAmount = Number(params.get("amount"));
      const target = params.get("payment_intent") ?? params.get("charge");
      if (!target || !Number.isInteger(refundAmount) || refundAmount < 1) {
        return remember(
          400,
          stripeError("invalid_request_error", "parameter_missing", "Missing required param: payment_intent or charge, amount."),
        );
      }
      const refund = newRefund(
        params.get("payment_intent"),
        params.get("charge"),
        refundAmount,
        standIn.refundStatus,
        formMetadata(params),
      );
      return remember(200, refund);
    }
    const amount = Number(params.get("amount"));
    const currency = params.get("currency");
    if (!Number.isInteger(amount) || amount < 1 || !currency) {
      return remember(400, stripeError("invalid_request_error", "parameter_missing", "Missing required param: amount or currency."));
    }
    const id = stripeId("pi");
    const metadata = formMetadata(params);
    const intent = {
      id,
      object: "payment_intent",
      amount,
      amount_received: 0,
      currency,
      status: "requires_payment_method",
      client_secret: `${id}_secret_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`,
      metadata,
      created: Math.floor(Date.now() / 1000),
      livemode: false,
    };
    paymentIntents.set(id, intent);
    remember(200, intent);
  });
  const newRefund = (
    paymentIntentId: string | null,
    chargeId: string | null,
    amount: number,
    status: string,
    metadata: Record<string, string>,
  ) => {
    const refund = {
      id: stripeId("re"),
      object: "refund",
      amount,
      currency: "usd",
      charge: chargeId ?? chargeOf(paymentIntentId!),
      payment_intent: paymentIntentId,
      status,
      metadata,
      created: Math.floor(Date.now() / 1000),
    };
    refunds.set(refund.id, refund);
    return refund;
  };
  const update = (paymentIntentId: string, changes: Record<string, unknown>) =>
    changeObject(paymentIntents, "PaymentIntent", paymentIntentId, changes);
  const confirm = (paymentIntentId: string) =>
    update(paymentIntentId, { status: "succeeded", amount_received: paymentIntents.get(paymentIntentId)?.amount });
  const settleRefund = (refundId: string, status: "succeeded" | "failed" | "canceled", failureReason?: string) =>
    changeObject(refunds, "refund", refundId, { status, ...(failureReason && { failure_reason: failureReason }) });
  const openDispute = (paymentIntentId: string, amount: number) => {
    const dispute = {
      id: stripeId("dp"),
      object: "dispute",
      amount,
      currency: "usd",
      charge: chargeOf(paymentIntentId),
      payment_intent: paymentIntentId,
      reason: "fraudulent",
      status: "needs_response",
      created: Math.floor(Date.now() / 1000),
      livemode: false,
    };
    disputes.set(dispute.id, dispute);
    return dispute;
  };
  return Object.assign(standIn, {
    ...served,
    paymentIntents,
    refunds,
    disputes,
    refundKeys,
    requests,
    confirm,
    update,
    settleRefund,
    openDispute,
    settleDispute: (disputeId: string, status: string) => changeObject(disputes, "dispute", disputeId, { status }),
    dashboardRefund: (paymentIntentId: string, amount: number, status: "succeeded" | "pending" = "succeeded") =>
      newRefund(paymentIntentId, null, amount, status, {}),
    forgetIdempotencyKeys: () => answered.clear(),
  });
}

/** The stand-in options matching the functions' environment (.env.example values in tests). */
export function momoStandInOptionsFromEnv(port = 0): MomoStandInOptions {
  const read = (name: string) => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set (import supabase/tests/support/functions-env.ts first)`);
    return value;
  };
  return {
    port,
    subscriptionKey: read("MOMO_SUBSCRIPTION_KEY"),
    disbursementSubscriptionKey: read("MOMO_DISBURSEMENT_SUBSCRIPTION_KEY"),
    apiUser: read("MOMO_API_USER"),
    apiKey: read("MOMO_API_KEY"),
    targetEnvironment: read("MOMO_TARGET_ENVIRONMENT"),
  };
}

/** A POST to the Revolut stand-in as the merchant makes it (the secret key and API version of the environment). */
export function postToRevolut(standIn: { url: string }, path: string, body: unknown): Promise<Response> {
  return fetch(`${standIn.url}${path}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${process.env.REVOLUT_API_KEY}`,
      "revolut-api-version": process.env.REVOLUT_API_VERSION!,
      "content-type": "application/json",
    },
    body: JSON.stringify(body),
  });
}

export function revolutStandInOptionsFromEnv(port = 0): RevolutStandInOptions {
  const secretKey = process.env.REVOLUT_API_KEY;
  const apiVersion = process.env.REVOLUT_API_VERSION;
  if (!secretKey || !apiVersion) throw new Error("REVOLUT_API_KEY and REVOLUT_API_VERSION must be set (import functions-env.ts first)");
  return { port, secretKey, apiVersion };
}
