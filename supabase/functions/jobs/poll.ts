// What the polling jobs (momo-poll, revolut-poll, stripe-poll) share: leasing the items still waiting for
// a provider's answer (api_private.poll_take, one lease per job and item), and applying what
// the provider confirmed through the provider's own webhook event, so that the webhook and the
// job take effect once between them.
import type { TransactionSql } from "../_shared/db.ts";
import type { WebhookEvent, WebhookProvider } from "../_shared/webhooks/store-then-apply.ts";
import { storeThenApplyAs } from "../_shared/webhooks/store-then-apply.ts";
import type { JobRun } from "./job.ts";

/** A payment a runner has leased, and the reference the provider knows it by. */
export interface LeasedPayment {
  id: string;
  referenceId: string;
}

/** A polling job and its kinds of items, as api_private.poll_take accepts them. */
export type PollTake =
  | { job: "momo-poll"; kind: "intents" | "cashouts" | "refunds" }
  | { job: "revolut-poll"; kind: "intents" | "refunds" }
  | { job: "stripe-poll"; kind: "intents" };

/**
 * Leases up to `batch` items of `what` waiting longer than `afterSeconds` (one transaction as
 * service_role), each for the job's lease or, when longer, `leaseGrowth` of the time it has
 * waited (at most an hour), so that an item waiting long is asked about less often.
 */
export const takeWaiting = (
  tx: TransactionSql,
  run: JobRun,
  what: PollTake,
  afterSeconds: number,
  batch: number,
  leaseGrowth = 0,
) =>
  tx<LeasedPayment[]>`
  select item_id as id, reference_id as "referenceId"
    from api_private.poll_take(${what.job}, ${what.kind}, ${afterSeconds}::int, ${run.settings.leaseSeconds}::int, ${batch}::int,
                               ${leaseGrowth}::numeric)`;

/** Applies a confirmed event as the provider's webhook would; the count it adds to. */
export async function applyConfirmed(
  run: JobRun,
  provider: WebhookProvider,
  event: WebhookEvent,
): Promise<"applied" | "already_applied" | "errors"> {
  const [result] = await storeThenApplyAs(run.sql, run.context, provider, [event], run.logger);
  if (result!.outcome === "processed" || result!.outcome === "ignored") return "applied";
  return result!.outcome === "duplicate" ? "already_applied" : "errors";
}
