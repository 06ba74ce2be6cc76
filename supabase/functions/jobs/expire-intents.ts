// expire-intents: intents still waiting for a payment after their TTL become canceled
// (api_private.expire_intents), except those a poll asks its provider about (MoMo, Revolut and
// Stripe intents with their reference): a payment made shortly before the TTL whose callback or
// webhooks were lost is found only by the poll, and a Revolut order or a Stripe PaymentIntent
// stays payable until it is canceled at its provider. Past the TTL the poll cancels such an
// intent (expireUnpaidIntent) once its provider answered that no payment for it is underway
// and none can be made any more. A provider payment that arrives after the cancellation goes to
// review.
import { withRequestContext } from "../_shared/db.ts";
import type { Job, JobRun } from "./job.ts";

export const expireIntents: Job = async (run) => {
  const [row] = await withRequestContext(run.sql, run.context, (tx) =>
    tx<{ canceled: number }[]>`
    select api_private.expire_intents(${run.settings.intentTtlSeconds}::int, ${run.settings.batchSize}::int) as canceled`);
  return { canceled: row!.canceled };
};

/**
 * A poll's verdict on intent `intentId` after its provider answered that no payment for it is
 * underway: canceled if it is past its TTL and still open (waiting, or a Stripe intent failed
 * with its PaymentIntent), logged; left otherwise. Whether it was canceled.
 */
export async function expireUnpaidIntent(run: JobRun, intentId: string): Promise<boolean> {
  const [row] = await withRequestContext(run.sql, run.context, (tx) =>
    tx<{ canceled: number }[]>`
    select api_private.expire_intents(${run.settings.intentTtlSeconds}::int, 1, ${intentId}::uuid) as canceled`);
  if (row!.canceled === 0) return false;
  run.logger.info("intent_expired_unpaid", { correlation_id: run.context.correlationId, intent_id: intentId });
  return true;
}

/**
 * Whether intent `intentId` is past its TTL and still open to its poll's verdict (what
 * expireUnpaidIntent would cancel now), as api_private.intent_past_ttl decides it: a poll asks
 * before it cancels the provider's payment, which must stay payable until then.
 */
export async function intentPastItsTtl(run: JobRun, intentId: string): Promise<boolean> {
  const [row] = await withRequestContext(run.sql, run.context, (tx) =>
    tx<{ past: boolean }[]>`
    select api_private.intent_past_ttl(${run.settings.intentTtlSeconds}::int, ${intentId}::uuid) as past`);
  return row!.past;
}
