// The X-Callback-Url given to MoMo with a request-to-pay (route `callback`) or a transfer
// (route `disbursement`): the momo-webhook route of this reference id on PUBLIC_FUNCTIONS_URL,
// with the token that momo-webhook verifies.
import { env } from "../../env.ts";
import { momoCallbackToken } from "./callback-token.ts";

/** The MoMo product a callback is about: a request-to-pay (collection) or a transfer (disbursement). */
export type MomoCallbackProduct = "collection" | "disbursement";

const routes: Record<MomoCallbackProduct, string> = { collection: "callback", disbursement: "disbursement" };

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
