// The X-Callback-Url given to MoMo with a request-to-pay (route `callback`), a cash-out's
// transfer (route `disbursement`) or a refund's transfer (route `refund`): the momo-webhook
// route of this reference id on PUBLIC_FUNCTIONS_URL, with the token that momo-webhook verifies.
import { env } from "../../env.ts";
import { momoCallbackToken } from "./callback-token.ts";

/**
 * What a callback is about: a request-to-pay (collection), a cash-out's transfer
 * (disbursement) or a refund's transfer (refund).
 */
export type MomoCallbackProduct = "collection" | "disbursement" | "refund";

const routes: Record<MomoCallbackProduct, string> = { collection: "callback", disbursement: "disbursement", refund: "refund" };

export async function momoCallbackUrl(
  referenceId: string,
  config: { publicFunctionsUrl: string; callbackSecret: string },
  product: MomoCallbackProduct = "collection",
): Promise<string> {
  const base = config.publicFunctionsUrl.replace(/\/+$/, "");
  const token = await momoCallbackToken(referenceId, config.callbackSecret);
  return `${base}/momo-webhook/${routes[product]}/${encodeURIComponent(referenceId)}?token=${token}`;
}

/** momoCallbackUrl with PUBLIC_FUNCTIONS_URL and MOMO_CALLBACK_SECRET. */
export function momoCallbackUrlFromEnv(referenceId: string, product: MomoCallbackProduct = "collection"): Promise<string> {
  const e = env("PUBLIC_FUNCTIONS_URL", "MOMO_CALLBACK_SECRET");
  return momoCallbackUrl(referenceId, { publicFunctionsUrl: e.PUBLIC_FUNCTIONS_URL, callbackSecret: e.MOMO_CALLBACK_SECRET }, product);
}
