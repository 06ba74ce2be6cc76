// What the polling jobs (momo-poll, revolut-poll, stripe-poll) share: leasing the items still waiting for
// a provider's answer (api_private.poll_take, one lease per job and item), applying what
// the provider confirmed through the provider's own webhook event, so that the webhook and the
// job take effect once between them, and (revolut-poll, stripe-poll) settling one provider
// payment: read back, canceled at the provider first when nobody has paid it past its intent's
// TTL, with the provider's failures counted and logged.
import { withRequestContext } from "../_shared/db.ts";
import { ProviderError } from "../_shared/providers/errors.ts";
import type { WebhookEvent, WebhookProvider } from "../_shared/webhooks/store-then-apply.ts";
import { storeThenApplyAs } from "../_shared/webhooks/store-then-apply.ts";
import { expireUnpaidIntent, intentPastItsTtl } from "./expire-intents.ts";
import type { JobRun } from "./job.ts";

/** A payment a runner has leased, and the reference the provider knows it by. */
export interface LeasedPayment {
  id: string;
  referenceId: string;
}

/** A polling job and its kinds of items, as api_private.poll_take accepts them. */
export type PollTake =
  | { job: "momo-poll"; kind: "intents" | "cashouts" | "refunds" }
  | { job: "revolut-poll"; kind: "intents" | "refunds" | "events" }
  | { job: "stripe-poll"; kind: "intents" | "refunds" | "disputes" };

/** Settles up to `limit` items of `what` waiting longer than `afterSeconds` (settleInTurn); how many it took. */
export type SettleEach = (
  what: PollTake,
  afterSeconds: number,
  limit: number,
  settle: (item: LeasedPayment) => Promise<boolean>,
  leaseGrowth?: number,
) => Promise<number>;

/**
 * How one polling run takes its items: oldest first, one at a time, each leased
 * (api_private.poll_take, one transaction as service_role) for the job's lease or, when longer,
 * `leaseGrowth` of the time it has waited (at most an hour, so that an item waiting long is
 * asked about less often) just before `settle` works on it, until none is left, `settle`
 * answers false, or the run has lasted JOBS_LEASE_SECONDS; the rest wait for the next run.
 *
 * A batch leased at once shares one lease, which a slow provider (an item takes a few calls of up
 * to PROVIDER_TIMEOUT_MS) used up before its last items were asked about, while the next run took
 * them too. Leased as its turn comes, an item has the whole lease for its own few calls, which
 * JOBS_LEASE_SECONDS must outlast; taking none once the run is a lease old, a run never comes
 * back to an item whose lease it let run out.
 */
export function settleInTurn(run: JobRun): SettleEach {
  const takeUntil = Date.now() + run.settings.leaseSeconds * 1000;
  return async (what, afterSeconds, limit, settle, leaseGrowth = 0) => {
    let taken = 0;
    while (taken < limit && Date.now() < takeUntil) {
      const [item] = await withRequestContext(run.sql, run.context, (tx) =>
        tx<LeasedPayment[]>`
        select item_id as id, reference_id as "referenceId"
          from api_private.poll_take(${what.job}, ${what.kind}, ${afterSeconds}::int, ${run.settings.leaseSeconds}::int, 1,
                                     ${leaseGrowth}::numeric)`);
      if (item === undefined) break;
      taken += 1;
      if (!await settle(item)) break;
    }
    return taken;
  };
}

/**
 * Applies a confirmed event as the provider's webhook would; the count it adds to (pending: its
 * effect waits for something else to end, and a later run applies it).
 */
export async function applyConfirmed(
  run: JobRun,
  provider: WebhookProvider,
  event: WebhookEvent,
): Promise<"applied" | "already_applied" | "pending" | "errors"> {
  const [result] = await storeThenApplyAs(run.sql, run.context, provider, [event], run.logger);
  if (result!.outcome === "processed" || result!.outcome === "ignored") return "applied";
  if (result!.outcome === "waiting") return "pending";
  return result!.outcome === "duplicate" ? "already_applied" : "errors";
}

/**
 * What became of one polled item: the count it adds to (resent: a request the provider never
 * received was sent to it again, and its answer applied).
 */
export type Verdict = "applied" | "already_applied" | "pending" | "canceled" | "not_found" | "resent" | "errors";

/** A polling run's answer: the items it took, and what became of them. */
export type PollCounts = Record<"taken" | Verdict, number>;

export const noPollCounts = (): PollCounts => ({
  taken: 0,
  applied: 0,
  already_applied: 0,
  pending: 0,
  canceled: 0,
  not_found: 0,
  resent: 0,
  errors: 0,
});

/**
 * How a top-up's payment is canceled at its provider: its customer can pay it there until then.
 * Such a payment is canceled (`cancel`) when nobody has paid it (`unpaid`) and its intent is
 * past its TTL, before anything cancels the intent.
 */
export interface TopUpCancel<T> {
  /** Whether nobody has paid `payment` (a failed attempt included): it is payable until canceled. */
  unpaid(payment: T): boolean;
  /** Cancels the payment at the provider; the payment as the provider has it then. */
  cancel(): Promise<T>;
}

/** The kinds of items of polling job `J`. */
export type PollKind<J extends PollTake["job"]> = Extract<PollTake, { job: J }>["kind"];

/**
 * How much of the time an item has waited its lease lasts (at least the job's lease, at most an
 * hour) in revolut-poll and stripe-poll: an item still undecided is asked about again after a
 * quarter of the time it has waited, so that an abandoned checkout costs some 30 look-ups in the
 * day before it is canceled, not one a run.
 */
const LEASE_GROWTH = 0.25;

/**
 * Shares a run's batch of `batchSize` items between a job's `sources`: each first takes up to an
 * equal share of what is left (what one leaves of its share goes to those after it), then those
 * that filled theirs take what is left, in order. `poll(source, limit)`
 * takes at most `limit` items and returns how many it took. A source with more waiting than the
 * batch (top-ups a provider never received, asked about until their TTL) would otherwise take
 * every run's whole batch and leave the sources after it unasked: a cash-out's hold reserved, a
 * refund whose webhooks were lost never recorded.
 */
export async function shareBatch<S>(
  batchSize: number,
  sources: readonly S[],
  poll: (source: S, limit: number) => Promise<number>,
): Promise<void> {
  let left = batchSize;
  const filled: S[] = [];
  for (const [index, source] of sources.entries()) {
    const limit = Math.ceil(left / (sources.length - index));
    if (limit <= 0) break;
    const taken = await poll(source, limit);
    left -= taken;
    if (taken === limit) filled.push(source);
  }
  for (const source of filled) {
    if (left <= 0) break;
    left -= await poll(source, left);
  }
}

/**
 * One run of a polling job over its `kinds`, within the run's batch size shared between them
 * (shareBatch): each kind's items waiting longer than `afterSeconds` leased and settled one by
 * one (settleInTurn, with growing leases; `settle`); the run's counts.
 */
export async function pollKinds<J extends PollTake["job"]>(
  run: JobRun,
  job: J,
  kinds: readonly PollKind<J>[],
  afterSeconds: number,
  settle: (kind: PollKind<J>, item: LeasedPayment) => Promise<Verdict>,
): Promise<PollCounts> {
  const counts = noPollCounts();
  const settleEach = settleInTurn(run);
  await shareBatch(run.settings.batchSize, kinds, async (kind, limit) => {
    const taken = await settleEach({ job, kind } as PollTake, afterSeconds, limit, async (item) => {
      counts[await settle(kind, item)] += 1;
      return true;
    }, LEASE_GROWTH);
    counts.taken += taken;
    return taken;
  });
  return counts;
}

/** How a poll asks its provider about one leased payment. Every call throws ProviderError when the provider refuses or does not answer. */
export interface ProviderPayment<T> {
  /** The log lines' prefix (e.g. stripe_poll) and the item's ids in them. */
  log: { prefix: string; ids: Record<string, unknown> };
  /**
   * The payment as the provider has it now; `resent()` is told when reading it meant sending
   * the provider a request it never received again (a refund's, refund-resend.ts).
   */
  readBack(resent: () => void): Promise<T>;
  /** A top-up intent's payment: how it is canceled at the provider. Null for a refund. */
  topUp: TopUpCancel<T> | null;
  /** The payment's state, for the log line of the provider's answer to a cancel. */
  state(payment: T): string;
  /** Whether the provider's failure says it does not know the payment. */
  unknown(error: ProviderError): boolean;
  /** Applies the payment as the provider reported it (`canceled`: as it answered the cancel). */
  apply(payment: T, canceled: boolean): Promise<Verdict>;
}

/**
 * Settles one leased payment with its provider: reads it back, cancels a top-up's at the
 * provider first when nobody has paid it and its intent is past its TTL (the database decides:
 * intentPastItsTtl), and applies what the provider reports. A provider failure is counted and
 * logged (`<prefix>_not_found` or `<prefix>_unconfirmed`) and leaves the item, except that a
 * top-up's payment the provider does not know (nothing there can be paid) cancels its intent
 * once past its TTL. A payment whose request was sent again counts resent, whatever the provider
 * answered, unless applying it failed or the provider failed.
 */
export async function settleWithProvider<T>(run: JobRun, item: LeasedPayment, payment: ProviderPayment<T>): Promise<Verdict> {
  const logged = { correlation_id: run.context.correlationId, ...payment.log.ids };
  const topUp = payment.topUp;
  let resent = false;
  try {
    let now = await payment.readBack(() => resent = true);
    const canceling = topUp !== null && topUp.unpaid(now) && await intentPastItsTtl(run, item.id);
    if (canceling) {
      now = await topUp.cancel();
      run.logger.info(`${payment.log.prefix}_cancel_answered`, { ...logged, state: payment.state(now) });
    }
    const verdict = await payment.apply(now, canceling);
    return resent && verdict !== "errors" ? "resent" : verdict;
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    const notFound = payment.unknown(error);
    run.logger.warn(`${payment.log.prefix}_${notFound ? "not_found" : "unconfirmed"}`, {
      ...logged,
      http_status: error.httpStatus,
      error: error.message,
    });
    if (!notFound) return "errors";
    if (topUp !== null) await expireUnpaidIntent(run, item.id);
    return resent ? "resent" : "not_found";
  }
}
