// A client for the Revolut Merchant API call the webhook needs: the order itself
// (GET {base}/api/orders/{id}, Authorization: Bearer <secret key>, Revolut-Api-Version), so
// that a completed order is credited with the amount Revolut holds, not one from a webhook.
// The base URL is configurable (production, sandbox, local stand-in).
import { z } from "zod";
import { env } from "../_shared/env.ts";

export const orderSchema = z.looseObject({
  id: z.string().min(1).max(255),
  state: z.string().min(1).max(32).transform((state) => state.toLowerCase()),
  amount: z.int().positive(),
  currency: z.string().regex(/^[A-Za-z]{3}$/, "must be an ISO 4217 code").transform((c) => c.toUpperCase()),
  merchant_order_ext_ref: z.string().max(255).nullish(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
});
export type RevolutOrder = z.output<typeof orderSchema>;

export interface RevolutClientConfig {
  baseUrl: string;
  secretKey: string;
  apiVersion: string;
  timeoutMs?: number;
}

/** Revolut answered something other than the order (or did not answer). Safe to store and log. */
export class RevolutApiError extends Error {
  constructor(message: string, readonly httpStatus: number | null) {
    super(message);
    this.name = "RevolutApiError";
  }
}

export interface RevolutClient {
  order(orderId: string): Promise<RevolutOrder>;
}

export function createRevolutClient(config: RevolutClientConfig): RevolutClient {
  const base = config.baseUrl.replace(/\/+$/, "");
  return {
    async order(orderId) {
      let response: Response;
      try {
        response = await fetch(`${base}/api/orders/${encodeURIComponent(orderId)}`, {
          headers: { authorization: `Bearer ${config.secretKey}`, "revolut-api-version": config.apiVersion, accept: "application/json" },
          signal: AbortSignal.timeout(config.timeoutMs ?? 10_000),
        });
      } catch (error) {
        throw new RevolutApiError(`Revolut did not answer for order ${orderId}: ${(error as Error).name}`, null);
      }
      if (response.status === 404) throw new RevolutApiError(`Revolut knows no order ${orderId}`, 404);
      if (!response.ok) throw new RevolutApiError(`Revolut answered order ${orderId} with HTTP ${response.status}`, response.status);
      const body = orderSchema.safeParse(await response.json().catch(() => null));
      if (!body.success) {
        const fields = body.error.issues.map((issue) => issue.path.join(".") || "body").join(", ");
        throw new RevolutApiError(`Revolut answered order ${orderId} with an unexpected body (${fields})`, response.status);
      }
      return body.data;
    },
  };
}

let fromEnv: RevolutClient | undefined;

/** The process's client, configured from REVOLUT_API_BASE_URL, REVOLUT_SECRET_KEY and REVOLUT_API_VERSION. */
export function revolutClientFromEnv(): RevolutClient {
  if (!fromEnv) {
    const e = env("REVOLUT_API_BASE_URL", "REVOLUT_SECRET_KEY", "REVOLUT_API_VERSION");
    fromEnv = createRevolutClient({ baseUrl: e.REVOLUT_API_BASE_URL, secretKey: e.REVOLUT_SECRET_KEY, apiVersion: e.REVOLUT_API_VERSION });
  }
  return fromEnv;
}
