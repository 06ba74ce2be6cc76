// Replaying a failed or dead webhook event: the event is decoded from its stored payload and
// applied by the same effect code its webhook function runs (the provider's events module),
// as the service, exactly as the webhook would have applied it (same idempotency scope and
// keys, so a replay can never credit twice). A MoMo or Revolut event, and Stripe's
// charge.refunded, asks the provider's API again while the event is locked (at most the
// client's timeout). The outcome is recorded with webhook_event_finish in the same
// transaction, and the event row stays locked until then, so a concurrent provider retry
// waits and then sees the result.
import { z } from "zod";
import type { TransactionSql } from "../_shared/db.ts";
import { HttpError, parseOrThrow } from "../_shared/errors.ts";
import { describeFailure, failedStatus, type WebhookEvent } from "../_shared/webhooks/store-then-apply.ts";
import {
  callbackSchema,
  type Confirmation,
  momoTransferEvent,
  momoTransferNotAccepted,
  momoWebhookEvent,
} from "../_shared/providers/momo/events.ts";
import type { MomoClient } from "../_shared/providers/momo/client.ts";
import { orderToConfirm, type RevolutBody, revolutWebhookEvent } from "../_shared/providers/revolut/events.ts";
import type { RevolutClient } from "../_shared/providers/revolut/client.ts";
import { settled } from "../_shared/providers/settled.ts";
import { stripeEventWithRefunds } from "../_shared/providers/stripe/events.ts";
import { whatsAppStoredEvent } from "../_shared/providers/whatsapp/events.ts";
import type { AdminProviders, Row } from "./types.ts";

/** Rebuilds a provider's event, effect bound, from what webhook_events.payload stored. */
export type StoredEventDecoder = (payload: unknown) => WebhookEvent | Promise<WebhookEvent>;

// callback is null for a status momo-poll found.
const storedMomoCallback = z.object({
  reference_id: z.string(),
  product: z.literal("disbursement").optional(),
  purpose: z.enum(["cashout", "refund"]).default("cashout"),
  not_accepted: z.literal(true).optional(),
  callback: callbackSchema.nullable(),
});

/**
 * MoMo callbacks are only hints: as on first delivery, the status applied is the one MoMo's
 * API confirms now for the reference id (a failed look-up is the attempt's failure): the
 * Collection API for a request-to-pay, the Disbursement API for a transfer (cash-out or
 * refund). momo-poll's not_accepted verdict is applied again as it was decided.
 */
export function momoStoredEventDecoder(client: () => MomoClient): StoredEventDecoder {
  return async (payload) => {
    const { reference_id: referenceId, product, purpose, not_accepted, callback } = parseOrThrow(storedMomoCallback, payload);
    if (not_accepted) return momoTransferNotAccepted(referenceId, purpose);
    if (product === "disbursement") {
      return momoTransferEvent(referenceId, callback, await settled(() => client().transferStatus(referenceId)), purpose);
    }
    const confirmation: Confirmation = await settled(() => client().requestToPayStatus(referenceId));
    return momoWebhookEvent(referenceId, callback, confirmation);
  };
}

const storedRevolutBody = z.record(z.string(), z.unknown());

/** A Revolut order event that can end an order (a refund order's too) looks the order up again, as on first delivery. */
export function revolutStoredEventDecoder(client: () => RevolutClient): StoredEventDecoder {
  return async (payload) => {
    const body: RevolutBody = parseOrThrow(storedRevolutBody, payload);
    const orderId = orderToConfirm(body);
    return revolutWebhookEvent(body, orderId === null ? null : await settled(() => client().order(orderId)));
  };
}

/** The decoder of every provider, with the clients the look-ups go through. */
export function storedEventDecoders(
  providers: Pick<AdminProviders, "momo" | "revolut" | "stripe">,
): Readonly<Record<string, StoredEventDecoder>> {
  return {
    // A charge.refunded reads the charge's refunds from Stripe again, as on first delivery.
    stripe: (payload) => stripeEventWithRefunds(payload, providers.stripe),
    momo: momoStoredEventDecoder(providers.momo),
    revolut: revolutStoredEventDecoder(providers.revolut),
    whatsapp: whatsAppStoredEvent,
  };
}

export interface ReplayResult {
  event: Row;
  outcome: "processed" | "ignored" | "failed" | "dead";
  error: string | null;
}

/** Replays event `id` inside `tx` (running as the admin); returns the event as it is afterwards. */
export async function replayWebhookEvent(
  tx: TransactionSql,
  id: string,
  decoders: Readonly<Record<string, StoredEventDecoder>>,
): Promise<ReplayResult> {
  const [stored] = await tx<{ provider: string; payload: unknown }[]>`
    select e.provider, e.payload from api_private.webhook_event_for_replay(${id}::uuid) e`;
  const decode = decoders[stored!.provider];
  if (!decode) {
    throw new HttpError(
      409,
      "replay_unavailable",
      `Events of provider ${stored!.provider} cannot be replayed yet: its webhook function has no stored-event decoder.`,
    );
  }

  // The admin is checked and the event locked; the effect and the outcome (webhook_event_finish,
  // which only the service may call) run as the service, with the admin's claims still in
  // request.jwt.claims, so the audit trail names the admin for both.
  await tx`set local role service_role`;
  let outcome: "processed" | "ignored" | "failed" | "waiting";
  let error: string | null = null;
  try {
    const event = await decode(stored!.payload);
    outcome = await tx.savepoint((sp) => event.apply(sp));
  } catch (failure) {
    outcome = failedStatus(failure);
    error = describeFailure(failure);
  }
  const [finished] = await tx<{ event: Row; status: ReplayResult["outcome"] }[]>`
    select to_jsonb(e) - 'payload' as event, e.status
      from public.webhook_event_finish(${id}::uuid, ${outcome}, ${error}) e`;
  await tx`set local role authenticated`;
  return { event: finished!.event, outcome: finished!.status, error };
}
