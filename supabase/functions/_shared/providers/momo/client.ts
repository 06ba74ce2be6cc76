// A client for MTN MoMo's Collection API (a request-to-pay: POST
// {base}/collection/v1_0/requesttopay, answered 202, and its status: GET
// {base}/collection/v1_0/requesttopay/{referenceId}) and Disbursement API (a transfer: POST
// {base}/disbursement/v1_0/transfer, answered 202, and its status: GET
// {base}/disbursement/v1_0/transfer/{referenceId}). Each product has its own subscription key
// (Ocp-Apim-Subscription-Key) and its own access token from POST {base}/<product>/token/
// (Basic API user:API key), cached until it expires; the API calls also name
// X-Target-Environment. The base URL is configurable so tests and the sandbox use the same
// code as production.
import { z } from "zod";
import { env, once } from "../../env.ts";
import { alwaysUnavailable, providerError, providerReason } from "../errors.ts";
import { providerCall, type ProviderClientConfig } from "../http.ts";
import { providerConfigFromEnv } from "../from-env.ts";

export const momoReason = z.union([
  z.string(),
  z.looseObject({ code: z.string().optional(), message: z.string().optional() }),
]);

export const requestToPaySchema = z.looseObject({
  amount: z.string().regex(/^\d{1,15}(\.\d{1,6})?$/, "must be a decimal amount"),
  currency: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code"),
  financialTransactionId: z.string().max(255).optional(),
  externalId: z.string().max(255).optional(),
  payer: z.looseObject({ partyIdType: z.string().optional(), partyId: z.string().max(64).optional() }).optional(),
  status: z.enum(["PENDING", "SUCCESSFUL", "FAILED"]),
  reason: momoReason.optional(),
});
export type RequestToPay = z.output<typeof requestToPaySchema>;

export const transferSchema = requestToPaySchema.omit({ payer: true }).extend({
  payee: z.looseObject({ partyIdType: z.string().optional(), partyId: z.string().max(64).optional() }).optional(),
});
export type Transfer = z.output<typeof transferSchema>;

export type MomoProduct = "collection" | "disbursement";

export interface MomoClientConfig extends ProviderClientConfig {
  /** The Collection product's subscription key. */
  subscriptionKey: string;
  /** The Disbursement product's subscription key (only transfers need it). */
  disbursementSubscriptionKey?: string;
  apiUser: string;
  apiKey: string;
  targetEnvironment: string;
}

/** MoMo refused or did not answer (its `kind` says which). Safe to store and log. */
export class MomoApiError extends providerError("momo") {}

/**
 * An answer that says nothing about the payment, whatever its status: MoMo refused us an access
 * token (our credentials, its outage, a route its gateway does not know), or a look-up answered
 * 404 without MoMo's RESOURCE_NOT_FOUND (a gateway's or a wrong base URL's). Unavailable, so no
 * caller takes it for a refusal of the payment (which would release its funds) or for a
 * reference MoMo does not know (which would send it again).
 */
class MomoUnavailableError extends alwaysUnavailable(MomoApiError) {}

/**
 * MoMo's 404 RESOURCE_NOT_FOUND to a status look-up: MoMo's documented answer for a reference id
 * it has no payment under (its POST never reached MoMo).
 */
export class MomoUnknownReferenceError extends MomoApiError {}

/** A request to the payer's phone to approve a payment of `amount` (minor units as MoMo counts them). */
export interface RequestToPayOrder {
  /** X-Reference-Id: a UUID v4 chosen by us, the same on every retry of the same payment. */
  referenceId: string;
  amount: string;
  currency: string;
  /** Our id for the payment (the intent id), echoed in callbacks and statuses. */
  externalId: string;
  /** The payer's MSISDN, digits only with the country code. */
  msisdn: string;
  payerMessage: string;
  payeeNote: string;
  /** Where MoMo sends its one callback (X-Callback-Url). */
  callbackUrl: string;
}

/** A payout to `msisdn` (the payee), with the same fields as a request-to-pay. */
export type TransferOrder = RequestToPayOrder;

export interface MomoClient {
  /**
   * Asks the payer to approve. Resolves once MoMo accepted the request (202), or had already
   * accepted one with this reference id (409 RESOURCE_ALREADY_EXIST: a retry of the same payment).
   */
  requestToPay(order: RequestToPayOrder): Promise<void>;
  /** Throws MomoUnknownReferenceError when MoMo has no request-to-pay under `referenceId`. */
  requestToPayStatus(referenceId: string): Promise<RequestToPay>;
  /**
   * Pays out. Resolves once MoMo accepted the transfer (202), or had already accepted one with
   * this reference id (409 RESOURCE_ALREADY_EXIST: a retry of the same payout).
   */
  transfer(order: TransferOrder): Promise<void>;
  /** Throws MomoUnknownReferenceError when MoMo has no transfer under `referenceId`. */
  transferStatus(referenceId: string): Promise<Transfer>;
}

export function createMomoClient(config: MomoClientConfig): MomoClient {
  const tokens = new Map<MomoProduct, { value: string; expiresAt: number }>();
  const subscriptionKey = (product: MomoProduct): string => {
    if (product === "collection") return config.subscriptionKey;
    if (!config.disbursementSubscriptionKey) throw new MomoApiError("MoMo Disbursements have no subscription key configured", null);
    return config.disbursementSubscriptionKey;
  };

  const momoCall = providerCall("momo", config, MomoApiError);
  // A call is named by its product and API (e.g. /collection/v1_0/requesttopay), without the reference id after them.
  const call = (path: string, init: RequestInit): Promise<Response> => momoCall(path.split("/").slice(0, 4).join("/"), path, init);

  async function accessToken(product: MomoProduct): Promise<string> {
    const token = tokens.get(product);
    if (token && token.expiresAt > Date.now()) return token.value;
    const response = await call(`/${product}/token/`, {
      method: "POST",
      headers: {
        authorization: `Basic ${btoa(`${config.apiUser}:${config.apiKey}`)}`,
        "ocp-apim-subscription-key": subscriptionKey(product),
      },
    });
    if (!response.ok) {
      throw new MomoUnavailableError(`MoMo refused the access token request (HTTP ${response.status})`, response.status);
    }
    const body = z.object({ access_token: z.string().min(1), expires_in: z.coerce.number().positive() }).safeParse(
      await response.json().catch(() => null),
    );
    if (!body.success) throw new MomoUnavailableError("MoMo answered the token request with an unexpected body", response.status);
    // Renew a minute early so that a token never expires between check and use.
    tokens.set(product, { value: body.data.access_token, expiresAt: Date.now() + Math.max(body.data.expires_in - 60, 1) * 1000 });
    return body.data.access_token;
  }

  /** An API call with the cached token; a 401 (token revoked or expired early) renews it once. */
  async function authorized(path: string, init: { method: string; headers?: Record<string, string>; body?: string }): Promise<Response> {
    const product = path.split("/")[1] as MomoProduct;
    const once = async () =>
      call(path, {
        ...init,
        headers: {
          authorization: `Bearer ${await accessToken(product)}`,
          "x-target-environment": config.targetEnvironment,
          "ocp-apim-subscription-key": subscriptionKey(product),
          accept: "application/json",
          ...init.headers,
        },
      });
    const response = await once();
    if (response.status !== 401) return response;
    tokens.delete(product);
    return once();
  }

  /** POST of a payment MoMo answers 202, or 409 (RESOURCE_ALREADY_EXIST) for a reference id it has. */
  async function create(path: string, what: string, order: RequestToPayOrder, party: "payer" | "payee"): Promise<void> {
    const response = await authorized(path, {
      method: "POST",
      headers: { "content-type": "application/json", "x-reference-id": order.referenceId, "x-callback-url": order.callbackUrl },
      body: JSON.stringify({
        amount: order.amount,
        currency: order.currency,
        externalId: order.externalId,
        [party]: { partyIdType: "MSISDN", partyId: order.msisdn },
        payerMessage: order.payerMessage,
        payeeNote: order.payeeNote,
      }),
    });
    if (response.status === 202) return;
    // MoMo documents one 409 for these POSTs, RESOURCE_ALREADY_EXIST ("Duplicated Reference
    // ID"): it already holds a payment under our reference, so it goes ahead as a 202 would,
    // and only its confirmed status settles it. Its body is not read: a body cut off or slower
    // than the timeout must not turn "MoMo has it" into a refusal that releases the funds.
    if (response.status === 409) {
      await response.body?.cancel().catch(() => undefined);
      return;
    }
    const reason = await providerReason(response);
    throw new MomoApiError(`MoMo answered the ${what} ${order.referenceId} with HTTP ${response.status}`, response.status, reason);
  }

  /** GET of a payment's status, parsed with `schema`. */
  async function status<T>(path: string, referenceId: string, what: string, schema: z.ZodType<T>): Promise<T> {
    const response = await authorized(`${path}/${encodeURIComponent(referenceId)}`, { method: "GET" });
    if (response.status === 404) {
      const reason = await providerReason(response);
      if (reason === "RESOURCE_NOT_FOUND" || reason?.startsWith("RESOURCE_NOT_FOUND: ")) {
        throw new MomoUnknownReferenceError(`MoMo knows no ${what} ${referenceId}`, 404, reason);
      }
      throw new MomoUnavailableError(`MoMo answered the status of ${referenceId} with HTTP 404 but not RESOURCE_NOT_FOUND`, 404, reason);
    }
    if (!response.ok) throw new MomoApiError(`MoMo answered the status of ${referenceId} with HTTP ${response.status}`, response.status);
    const body = schema.safeParse(await response.json().catch(() => null));
    if (!body.success) {
      const fields = body.error.issues.map((issue) => issue.path.join(".") || "body").join(", ");
      throw new MomoApiError(`MoMo answered the status of ${referenceId} with an unexpected body (${fields})`, response.status);
    }
    return body.data;
  }

  return {
    requestToPay: (order) => create("/collection/v1_0/requesttopay", "request-to-pay", order, "payer"),
    requestToPayStatus: (referenceId) => status("/collection/v1_0/requesttopay", referenceId, "request-to-pay", requestToPaySchema),
    transfer: (order) => create("/disbursement/v1_0/transfer", "transfer", order, "payee"),
    transferStatus: (referenceId) => status("/disbursement/v1_0/transfer", referenceId, "transfer", transferSchema),
  };
}

/** The process's client, configured from MOMO_API_BASE_URL and the MOMO_* credentials. */
export const momoClientFromEnv: () => MomoClient = once(() =>
  createMomoClient({
    ...providerConfigFromEnv({
      baseUrl: "MOMO_API_BASE_URL",
      subscriptionKey: "MOMO_SUBSCRIPTION_KEY",
      apiUser: "MOMO_API_USER",
      apiKey: "MOMO_API_KEY",
      targetEnvironment: "MOMO_TARGET_ENVIRONMENT",
    }),
    // Optional here so that top-ups never need it; a transfer without it is unavailable.
    disbursementSubscriptionKey: env("MOMO_DISBURSEMENT_SUBSCRIPTION_KEY").MOMO_DISBURSEMENT_SUBSCRIPTION_KEY,
  })
);
