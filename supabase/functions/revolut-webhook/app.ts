// POST /revolut-webhook: Revolut Merchant and Business webhooks, verified with Revolut-Signature
// (v1= HMAC-SHA256 over "v1.<timestamp>.<raw body>", several during secret rotation) and a
// Revolut-Request-Timestamp within 5 minutes, stored and applied once (docs/WEBHOOKS.md).
import type { Hono } from "hono";
import { z } from "zod";
import { parseJsonBody } from "../_shared/body.ts";
import type { AppOptions } from "../_shared/composition.ts";
import { env } from "../_shared/env.ts";
import type { SharedEnv } from "../_shared/middleware.ts";
import type { RevolutClient } from "../_shared/providers/revolut/client.ts";
import { orderToConfirm, revolutWebhookEvent } from "../_shared/providers/revolut/events.ts";
import { REVOLUT_SIGNATURE_HEADER, REVOLUT_TIMESTAMP_HEADER, verifyRevolutSignature } from "../_shared/providers/revolut/signature.ts";
import { settled } from "../_shared/providers/settled.ts";
import { createOneEventWebhookApp, type WebhookDependencies } from "../_shared/webhooks/app.ts";
import { requireValidSignature } from "../_shared/webhooks/signature-check.ts";

export interface RevolutWebhookDependencies extends WebhookDependencies {
  /** The Merchant API client completed orders are confirmed with. */
  revolut(): RevolutClient;
}

export function createRevolutWebhookApp(options: AppOptions<RevolutWebhookDependencies>): Hono<SharedEnv> {
  return createOneEventWebhookApp({ ...options, functionName: "revolut-webhook", provider: "revolut" }, async (c) => {
    const { REVOLUT_WEBHOOK_SECRET } = env("REVOLUT_WEBHOOK_SECRET");
    const rawBody = c.get("rawBody");
    requireValidSignature(
      await verifyRevolutSignature({
        rawBody,
        signatureHeader: c.req.header(REVOLUT_SIGNATURE_HEADER) ?? null,
        timestampHeader: c.req.header(REVOLUT_TIMESTAMP_HEADER) ?? null,
        secret: REVOLUT_WEBHOOK_SECRET,
      }),
    );
    const body = parseJsonBody(rawBody, z.record(z.string(), z.unknown()));
    // The order is looked up before the transaction opens, so no database connection waits on
    // Revolut; a failed look-up is stored as the event's failure.
    const orderId = orderToConfirm(body);
    const lookup = orderId === null ? null : await settled(() => options.dependencies().revolut().order(orderId));
    return await revolutWebhookEvent(body, lookup);
  });
}
