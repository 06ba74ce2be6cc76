// momo-poll: MoMo sends its callback once and never retries, so payments still waiting for it
// after JOBS_MOMO_POLL_AFTER_SECONDS are looked up with MoMo's API and what MoMo confirms is
// applied exactly as a callback would apply it (the same event, keyed by reference id and
// confirmed status, so a late callback after a poll, or a poll after a callback, is a
// duplicate). PENDING leaves the payment for a later run; MoMo unreachable counts as an error
// and leaves it too. Each payment is leased to one runner for JOBS_LEASE_SECONDS, which also
// spaces the questions about it.
//
// A source is one kind of MoMo payment: top-up intents (request-to-pay, GET
// /collection/v1_0/requesttopay/{referenceId}) and cash-outs (transfer, GET
// /disbursement/v1_0/transfer/{referenceId}).
import { type TransactionSql, withRequestContext } from "../_shared/db.ts";
import { ProviderError } from "../_shared/providers/errors.ts";
import { momoTransferEvent, momoWebhookEvent } from "../_shared/providers/momo/events.ts";
import type { WebhookEvent } from "../_shared/webhooks/store-then-apply.ts";
import { storeThenApplyAs } from "../_shared/webhooks/store-then-apply.ts";
import type { Job, JobRun } from "./job.ts";

/** A MoMo payment a runner has leased. */
export interface LeasedPayment {
  id: string;
  referenceId: string;
}

export interface MomoPollSource {
  /** Names the payment kind in logs. */
  kind: string;
  /** Leases up to `batch` payments waiting for their callback (one transaction as service_role). */
  take(tx: TransactionSql, run: JobRun, batch: number): Promise<LeasedPayment[]>;
  /**
   * Asks MoMo about one payment: the event to apply, or null while MoMo says PENDING. Throws
   * a ProviderError when MoMo cannot answer.
   */
  confirm(run: JobRun, payment: LeasedPayment): Promise<WebhookEvent | null>;
}

export const topUpIntents: MomoPollSource = {
  kind: "intent",
  take: (tx, run, batch) =>
    tx<LeasedPayment[]>`
    select intent_id as id, reference_id as "referenceId"
      from api_private.momo_poll_take_intents(${run.settings.momoPollAfterSeconds}::int, ${run.settings.leaseSeconds}::int,
                                           ${batch}::int)`,
  async confirm(run, payment) {
    const status = await run.momo().requestToPayStatus(payment.referenceId);
    return status.status === "PENDING" ? null : momoWebhookEvent(payment.referenceId, null, { ok: true, value: status });
  },
};

export const cashOuts: MomoPollSource = {
  kind: "cashout",
  take: (tx, run, batch) =>
    tx<LeasedPayment[]>`
    select cashout_id as id, reference_id as "referenceId"
      from api_private.momo_poll_take_cashouts(${run.settings.momoPollAfterSeconds}::int, ${run.settings.leaseSeconds}::int,
                                            ${batch}::int)`,
  async confirm(run, payment) {
    const status = await run.momo().transferStatus(payment.referenceId);
    return status.status === "PENDING" ? null : momoTransferEvent(payment.referenceId, null, { ok: true, value: status });
  },
};

export const momoPollSources: readonly MomoPollSource[] = [topUpIntents, cashOuts];

interface Counts {
  taken: number;
  applied: number;
  already_applied: number;
  pending: number;
  errors: number;
  deferred: number;
}

/** Runs the poll over `sources`, sharing one batch between them. */
export function momoPoll(sources: readonly MomoPollSource[]): Job {
  return async (run) => {
    const counts: Counts = { taken: 0, applied: 0, already_applied: 0, pending: 0, errors: 0, deferred: 0 };
    let unreachable = false;
    for (const source of sources) {
      const batch = run.settings.batchSize - counts.taken;
      if (batch <= 0 || unreachable) break;
      const payments = await withRequestContext(run.sql, run.context, (tx) => source.take(tx, run, batch));
      counts.taken += payments.length;
      for (const payment of payments) {
        // MoMo down: the rest keep their leases and wait for the next run instead of each
        // waiting out the timeout now.
        if (unreachable) {
          counts.deferred += 1;
          continue;
        }
        let event: WebhookEvent | null;
        try {
          event = await source.confirm(run, payment);
        } catch (error) {
          if (!(error instanceof ProviderError)) throw error;
          counts.errors += 1;
          unreachable = error.kind === "unavailable";
          run.logger.warn("momo_poll_unconfirmed", {
            correlation_id: run.context.correlationId,
            kind: source.kind,
            id: payment.id,
            http_status: error.httpStatus,
            error: error.message,
          });
          continue;
        }
        if (event === null) {
          counts.pending += 1;
          continue;
        }
        const [result] = await storeThenApplyAs(run.sql, run.context, "momo", [event], run.logger);
        if (result!.outcome === "processed" || result!.outcome === "ignored") counts.applied += 1;
        else if (result!.outcome === "duplicate") counts.already_applied += 1;
        else counts.errors += 1;
      }
    }
    return { ...counts };
  };
}
