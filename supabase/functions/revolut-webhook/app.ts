// POST /revolut-webhook: Revolut Merchant and Business webhooks, verified with Revolut-Signature
// (v1= HMAC-SHA256 over "v1.<timestamp>.<raw body>", several during secret rotation) and a
// Revolut-Request-Timestamp within 5 minutes, stored and applied once (docs/WEBHOOKS.md).
import { z } from "zod";
import { parseJsonBody } from "../_shared/body.ts";
import { env } from "../_shared/env.ts";
import { requireValidSignature } from "../_shared/webhooks/signature-check.ts";
import { REVOLUT_SIGNATURE_HEADER, REVOLUT_TIMESTAMP_HEADER, verifyRevolutSignature } from "../_shared/providers/revolut/signature.ts";
import { createWebhookApp, webhookLogger, webhookSql } from "../_shared/webhooks/app.ts";
import { storeThenApply, webhookResponse } from "../_shared/webhooks/store-then-apply.ts";
import { type OrderLookup, orderToConfirm, revolutWebhookEvent } from "../_shared/providers/revolut/events.ts";
import { revolutClientFromEnv } from "../_shared/providers/revolut/client.ts";

const app = createWebhookApp({ functionName: "revolut-webhook", provider: "revolut", methods: ["POST"] });

async function lookUp(orderId: string | null): Promise<OrderLookup | null> {
  if (!orderId) return null;
  try {
    return { ok: true, value: await revolutClientFromEnv().order(orderId) };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
  }
}

app.post("/", async (c) => {
  const { REVOLUT_WEBHOOK_SECRET } = env("REVOLUT_WEBHOOK_SECRET");
  const rawBody = c.get("rawBody");
  requireValidSignature(await verifyRevolutSignature({
    rawBody,
    signatureHeader: c.req.header(REVOLUT_SIGNATURE_HEADER) ?? null,
    timestampHeader: c.req.header(REVOLUT_TIMESTAMP_HEADER) ?? null,
    secret: REVOLUT_WEBHOOK_SECRET,
  }));
  const body = parseJsonBody(rawBody, z.record(z.string(), z.unknown()));
  // The order is looked up before the transaction opens, so no database connection waits on
  // Revolut; a failed look-up is stored as the event's failure.
  const event = await revolutWebhookEvent(body, await lookUp(orderToConfirm(body)));
  return webhookResponse(c, await storeThenApply(webhookSql(), c, "revolut", [event], webhookLogger()));
});

export default app;
