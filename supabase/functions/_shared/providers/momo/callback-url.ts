// The X-Callback-Url given to MoMo with a request-to-pay: the momo-webhook route of this
// reference id on PUBLIC_FUNCTIONS_URL, with the token that momo-webhook verifies.
import { env } from "../../env.ts";
import { momoCallbackToken } from "../../signatures/momo-callback-token.ts";

export async function momoCallbackUrl(
  referenceId: string,
  config: { publicFunctionsUrl: string; callbackSecret: string },
): Promise<string> {
  const base = config.publicFunctionsUrl.replace(/\/+$/, "");
  const token = await momoCallbackToken(referenceId, config.callbackSecret);
  return `${base}/momo-webhook/callback/${encodeURIComponent(referenceId)}?token=${token}`;
}

/** momoCallbackUrl with PUBLIC_FUNCTIONS_URL and MOMO_CALLBACK_SECRET. */
export function momoCallbackUrlFromEnv(referenceId: string): Promise<string> {
  const e = env("PUBLIC_FUNCTIONS_URL", "MOMO_CALLBACK_SECRET");
  return momoCallbackUrl(referenceId, { publicFunctionsUrl: e.PUBLIC_FUNCTIONS_URL, callbackSecret: e.MOMO_CALLBACK_SECRET });
}
