// PUT|POST /momo-webhook/callback/<referenceId>?token=<hex HMAC-SHA256(referenceId, MOMO_CALLBACK_SECRET)>:
// MTN MoMo request-to-pay callbacks. MoMo does not sign them: the token proves the URL is one
// we issued for this reference id, and the status is confirmed with MoMo's API before anything
// is applied (docs/WEBHOOKS.md).
import type { Context } from "hono";
import { parseJsonBody } from "../_shared/body.ts";
import { env } from "../_shared/env.ts";
import { HttpError } from "../_shared/errors.ts";
import type { SharedEnv } from "../_shared/middleware.ts";
import { requireValidSignature } from "../_shared/signatures/check.ts";
import { verifyMomoCallbackToken } from "../_shared/signatures/momo-callback-token.ts";
import { createWebhookApp, webhookLogger, webhookSql } from "../_shared/webhooks/app.ts";
import { storeThenApply, webhookResponse } from "../_shared/webhooks/store-then-apply.ts";
import { callbackSchema, type Confirmation, momoWebhookEvent } from "../_shared/providers/momo/requesttopay-event.ts";
import { momoClientFromEnv } from "../_shared/providers/momo/client.ts";

const app = createWebhookApp({ functionName: "momo-webhook", provider: "momo", methods: ["PUT", "POST"] });

// X-Reference-Id as we create it: a lower-case UUID version 4.
const REFERENCE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

async function confirm(referenceId: string): Promise<Confirmation> {
  try {
    return { ok: true, value: await momoClientFromEnv().requestToPayStatus(referenceId) };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
  }
}

async function callback(c: Context<SharedEnv>): Promise<Response> {
  const referenceId = c.req.param("referenceId") ?? "";
  const { MOMO_CALLBACK_SECRET } = env("MOMO_CALLBACK_SECRET");
  requireValidSignature(await verifyMomoCallbackToken(referenceId, c.req.query("token") ?? null, MOMO_CALLBACK_SECRET));
  if (!REFERENCE_ID.test(referenceId)) {
    throw new HttpError(400, "invalid_reference", "The reference id is not a lower-case UUID v4.");
  }
  const body = parseJsonBody(c.get("rawBody"), callbackSchema);
  // Asked before the transaction opens, so no database connection waits on MoMo; a failed
  // look-up is stored as the event's failure.
  const event = momoWebhookEvent(referenceId, body, await confirm(referenceId));
  return webhookResponse(c, await storeThenApply(webhookSql(), c, "momo", [event], webhookLogger()));
}

app.put("/callback/:referenceId", callback);
app.post("/callback/:referenceId", callback);

export default app;
