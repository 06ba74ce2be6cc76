// A client for the part of MTN MoMo's Collection API the webhook needs: the status of a
// request-to-pay (GET {base}/collection/v1_0/requesttopay/{referenceId}) with an access token
// from POST {base}/collection/token/ (Basic API user:API key), both with the product's
// Ocp-Apim-Subscription-Key; the status call also names X-Target-Environment. The base URL is
// configurable so tests and the sandbox use the same code as production.
import { z } from "zod";
import { env } from "../_shared/env.ts";

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

export interface MomoClientConfig {
  baseUrl: string;
  subscriptionKey: string;
  apiUser: string;
  apiKey: string;
  targetEnvironment: string;
  timeoutMs?: number;
}

/** MoMo answered something other than the status (or did not answer). Safe to store and log. */
export class MomoApiError extends Error {
  constructor(message: string, readonly httpStatus: number | null) {
    super(message);
    this.name = "MomoApiError";
  }
}

export interface MomoClient {
  requestToPayStatus(referenceId: string): Promise<RequestToPay>;
}

export function createMomoClient(config: MomoClientConfig): MomoClient {
  const base = config.baseUrl.replace(/\/+$/, "");
  const timeoutMs = config.timeoutMs ?? 10_000;
  let token: { value: string; expiresAt: number } | null = null;

  async function call(path: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      throw new MomoApiError(`MoMo did not answer ${path.split("/").slice(0, 4).join("/")}: ${(error as Error).name}`, null);
    }
  }

  async function accessToken(): Promise<string> {
    if (token && token.expiresAt > Date.now()) return token.value;
    const response = await call("/collection/token/", {
      method: "POST",
      headers: {
        authorization: `Basic ${btoa(`${config.apiUser}:${config.apiKey}`)}`,
        "ocp-apim-subscription-key": config.subscriptionKey,
      },
    });
    if (!response.ok) throw new MomoApiError(`MoMo refused the access token request (HTTP ${response.status})`, response.status);
    const body = z.object({ access_token: z.string().min(1), expires_in: z.coerce.number().positive() }).safeParse(await response.json().catch(() => null));
    if (!body.success) throw new MomoApiError("MoMo answered the token request with an unexpected body", response.status);
    // Renew a minute early so that a token never expires between check and use.
    token = { value: body.data.access_token, expiresAt: Date.now() + Math.max(body.data.expires_in - 60, 1) * 1000 };
    return token.value;
  }

  async function statusOnce(referenceId: string): Promise<Response> {
    return call(`/collection/v1_0/requesttopay/${encodeURIComponent(referenceId)}`, {
      method: "GET",
      headers: {
        authorization: `Bearer ${await accessToken()}`,
        "x-target-environment": config.targetEnvironment,
        "ocp-apim-subscription-key": config.subscriptionKey,
        accept: "application/json",
      },
    });
  }

  return {
    async requestToPayStatus(referenceId) {
      let response = await statusOnce(referenceId);
      if (response.status === 401) {
        // The cached token was revoked or expired early: fetch a new one once.
        token = null;
        response = await statusOnce(referenceId);
      }
      if (response.status === 404) throw new MomoApiError(`MoMo knows no request-to-pay ${referenceId}`, 404);
      if (!response.ok) throw new MomoApiError(`MoMo answered the status of ${referenceId} with HTTP ${response.status}`, response.status);
      const body = requestToPaySchema.safeParse(await response.json().catch(() => null));
      if (!body.success) {
        const fields = body.error.issues.map((issue) => issue.path.join(".") || "body").join(", ");
        throw new MomoApiError(`MoMo answered the status of ${referenceId} with an unexpected body (${fields})`, response.status);
      }
      return body.data;
    },
  };
}

let fromEnv: MomoClient | undefined;

/** The process's client, configured from MOMO_API_BASE_URL and the MOMO_* credentials. */
export function momoClientFromEnv(): MomoClient {
  if (!fromEnv) {
    const e = env("MOMO_API_BASE_URL", "MOMO_SUBSCRIPTION_KEY", "MOMO_API_USER", "MOMO_API_KEY", "MOMO_TARGET_ENVIRONMENT");
    fromEnv = createMomoClient({
      baseUrl: e.MOMO_API_BASE_URL,
      subscriptionKey: e.MOMO_SUBSCRIPTION_KEY,
      apiUser: e.MOMO_API_USER,
      apiKey: e.MOMO_API_KEY,
      targetEnvironment: e.MOMO_TARGET_ENVIRONMENT,
    });
  }
  return fromEnv;
}
