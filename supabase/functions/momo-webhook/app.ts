// PUT|POST /momo-webhook/callback/<referenceId>?token=<hex HMAC-SHA256(referenceId, MOMO_CALLBACK_SECRET)>:
// MTN MoMo request-to-pay callbacks; /momo-webhook/disbursement/<referenceId>?token=...: transfer
// (cash-out) callbacks, /momo-webhook/refund/<referenceId>?token=...: refund transfer callbacks,
// with the same token. MoMo does not sign them: the token proves the URL is one
// we issued for this reference id, and the status is confirmed with MoMo's API before anything
// is applied (docs/WEBHOOKS.md).
import type { Context, Hono } from "hono";
import { parseJsonBody } from "../_shared/body.ts";
import type { AppOptions } from "../_shared/composition.ts";
import { env } from "../_shared/env.ts";
import { HttpError } from "../_shared/errors.ts";
import type { SharedEnv } from "../_shared/middleware.ts";
import { verifyMomoCallbackToken } from "../_shared/providers/momo/callback-token.ts";
import type { MomoClient } from "../_shared/providers/momo/client.ts";
import {
  type Callback,
  callbackSchema,
  momoTransferEvent,
  momoWebhookEvent,
  type TransferPurpose,
} from "../_shared/providers/momo/events.ts";
import { settled } from "../_shared/providers/settled.ts";
import { createWebhookApp, type WebhookDependencies } from "../_shared/webhooks/app.ts";
import { requireValidSignature } from "../_shared/webhooks/signature-check.ts";
import type { WebhookEvent } from "../_shared/webhooks/store-then-apply.ts";

export interface MomoWebhookDependencies extends WebhookDependencies {
  /** The client a callback's status is confirmed with. */
  momo(): MomoClient;
}

// X-Reference-Id as we create it: a lower-case UUID version 4.
const REFERENCE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function createMomoWebhookApp(options: AppOptions<MomoWebhookDependencies>): Hono<SharedEnv> {
  const { app, deliver } = createWebhookApp({ ...options, functionName: "momo-webhook", provider: "momo", methods: ["PUT", "POST"] });
  const momo = () => options.dependencies().momo();

  /** A callback route: the token and reference checked, MoMo asked, the event stored and applied. */
  const callbackRoute =
    (toEvent: (referenceId: string, body: Callback) => Promise<WebhookEvent>) => async (c: Context<SharedEnv>): Promise<Response> => {
      const referenceId = c.req.param("referenceId") ?? "";
      const { MOMO_CALLBACK_SECRET } = env("MOMO_CALLBACK_SECRET");
      requireValidSignature(await verifyMomoCallbackToken(referenceId, c.req.query("token") ?? null, MOMO_CALLBACK_SECRET));
      if (!REFERENCE_ID.test(referenceId)) {
        throw new HttpError(400, "invalid_reference", "The reference id is not a lower-case UUID v4.");
      }
      const body = parseJsonBody(c.get("rawBody"), callbackSchema);
      // MoMo is asked before the transaction opens, so no database connection waits on it; a
      // failed look-up is stored as the event's failure.
      return deliver(c, [await toEvent(referenceId, body)]);
    };

  const requestToPayCallback = callbackRoute(async (referenceId, body) =>
    momoWebhookEvent(referenceId, body, await settled(() => momo().requestToPayStatus(referenceId)))
  );
  const transferCallback = (purpose: TransferPurpose) =>
    callbackRoute(async (referenceId, body) =>
      momoTransferEvent(referenceId, body, await settled(() => momo().transferStatus(referenceId)), purpose)
    );

  app.put("/callback/:referenceId", requestToPayCallback);
  app.post("/callback/:referenceId", requestToPayCallback);
  for (const [route, purpose] of [["disbursement", "cashout"], ["refund", "refund"]] as const) {
    app.put(`/${route}/:referenceId`, transferCallback(purpose));
    app.post(`/${route}/:referenceId`, transferCallback(purpose));
  }
  return app;
}
