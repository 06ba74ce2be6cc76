// What the polling jobs (momo-poll, revolut-poll, stripe-poll) share: leasing the items still waiting for
// a provider's answer (api_private.poll_take, one lease per job and item), applying what
// the provider confirmed through the provider's own webhook event, so that the webhook and the
// job take effect once between them, and (revolut-poll, stripe-poll) settling one provider
// payment: read back, canceled at the provider first when nobody has paid it past its intent's
// TTL, with the provider's failures counted and logged.
import type { TransactionSql } from "../_shared/db.ts";
import { ProviderError } from "../_shared/providers/errors.ts";
import type { WebhookEvent, WebhookProvider } from "../_shared/webhooks/store-then-apply.ts";
import { storeThenApplyAs } from "../_shared/webhooks/store-then-apply.ts";
import { expireUnpaidIntent, pastItsTtl } from "./expire-intents.ts";
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

/** What became of one polled item: the count it adds to. */
export type Verdict = "applied" | "already_applied" | "pending" | "canceled" | "not_found" | "errors";

/** A polling run's answer: the items it took, and what became of them. */
export type PollCounts = Record<"taken" | Verdict, number>;

export const noPollCounts = (): PollCounts => ({
  taken: 0,
  applied: 0,
  already_applied: 0,
  pending: 0,
  canceled: 0,
  not_found: 0,
  errors: 0,
});

/** How a poll asks its provider about one leased payment. Every call throws ProviderError when the provider refuses or does not answer. */
export interface ProviderPayment<T> {
  /** The log lines' prefix (e.g. stripe_poll) and the item's ids in them. */
  log: { prefix: string; ids: Record<string, unknown> };
  /** The payment as the provider has it now. */
  readBack(): Promise<T>;
  /**
   * Whether `payment` is a top-up's that nobody has paid: its customer can pay it until it is
   * canceled at the provider. Such a payment is canceled there (`cancel`) once its intent is past
   * its TTL, before anything cancels the intent.
   */
  unpaid(payment: T): boolean;
  /** Cancels the payment at the provider; the payment as the provider has it then. */
  cancel(): Promise<T>;
  /** The payment's state, for the log line of the provider's answer to a cancel. */
  state(payment: T): string;
  /** Whether the provider's failure says it does not know the payment. */
  unknown(error: ProviderError): boolean;
  /** Applies the payment as the provider reported it (`canceled`: as it answered the cancel). */
  apply(payment: T, canceled: boolean): Promise<Verdict>;
}

/**
 * Settles one leased payment with its provider: reads it back, cancels it at the provider first
 * when nobody has paid it and its intent is past its TTL, and applies what the provider reports.
 * A provider failure is counted and logged (`<prefix>_not_found` or `<prefix>_unconfirmed`) and
 * leaves the item, except that a top-up's payment the provider does not know (nothing there can
 * be paid) cancels its intent once past its TTL (`intent`: the item is a top-up intent).
 */
export async function settleWithProvider<T>(
  run: JobRun,
  item: LeasedPayment,
  intent: boolean,
  payment: ProviderPayment<T>,
): Promise<Verdict> {
  const logged = { correlation_id: run.context.correlationId, ...payment.log.ids };
  try {
    let now = await payment.readBack();
    const canceling = intent && payment.unpaid(now) && await pastItsTtl(run, item.id);
    if (canceling) {
      now = await payment.cancel();
      run.logger.info(`${payment.log.prefix}_cancel_answered`, { ...logged, state: payment.state(now) });
    }
    return await payment.apply(now, canceling);
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    const notFound = payment.unknown(error);
    run.logger.warn(`${payment.log.prefix}_${notFound ? "not_found" : "unconfirmed"}`, {
      ...logged,
      http_status: error.httpStatus,
      error: error.message,
    });
    if (!notFound) return "errors";
    if (intent) await expireUnpaidIntent(run, item.id);
    return "not_found";
  }
}
