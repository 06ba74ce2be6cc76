// momo-poll: MoMo sends its callback once and never retries, so payments still waiting for it
// after JOBS_MOMO_POLL_AFTER_SECONDS are looked up with MoMo's API and what MoMo confirms is
// applied exactly as a callback would apply it (the same event, keyed by reference id and
// confirmed status, so a late callback after a poll, or a poll after a callback, is a
// duplicate). PENDING leaves the payment for a later run; MoMo unreachable counts as an error
// and leaves it too. Each payment is leased to one runner for JOBS_LEASE_SECONDS, which also
// spaces the questions about it.
//
// A source is one kind of MoMo payment: top-up intents (request-to-pay, GET
// /collection/v1_0/requesttopay/{referenceId}), cash-outs and refunds (transfers, GET
// /disbursement/v1_0/transfer/{referenceId}).
//
// A transfer MoMo answers 404 for (RESOURCE_NOT_FOUND: its POST never reached MoMo, e.g. MoMo
// was down when the user or the admin asked) is sent again with the same reference, which MoMo
// answers 409 for if it has it after all; once it is older than
// JOBS_MOMO_TRANSFER_ACCEPT_SECONDS and MoMo still answers 404, it is failed as not_accepted
// (a cash-out's hold voided, a refund's reservation closed). Re-sending stops a quiet period
// before the window ends (an hour, or half the window if shorter), so the 404 that fails it
// comes at least that long after the last re-send: a re-send MoMo took but whose answer was
// lost has shown up by then. Only that confirmed 404 or MoMo's FAILED ends a transfer without
// payment: a transfer MoMo may have paid keeps its hold.
import { type TransactionSql, withRequestContext } from "../_shared/db.ts";
import { type CashOut, sendCashOut } from "../_shared/money/cashouts.ts";
import { type MomoRefund, type Refund, sendMomoRefund } from "../_shared/money/momo-refunds.ts";
import { ProviderError } from "../_shared/providers/errors.ts";
import { momoCallbackUrlFromEnv } from "../_shared/providers/momo/callback-url.ts";
import { momoTransferEvent, momoTransferNotAccepted, momoWebhookEvent, type TransferPurpose } from "../_shared/providers/momo/events.ts";
import type { WebhookEvent } from "../_shared/webhooks/store-then-apply.ts";
import type { Job, JobRun } from "./job.ts";
import { applyConfirmed, type LeasedPayment, takeWaiting } from "./poll.ts";

export interface MomoPollSource {
  /** Names the payment kind in logs. */
  kind: string;
  /** Leases up to `batch` payments waiting for their callback (one transaction as service_role). */
  take(tx: TransactionSql, run: JobRun, batch: number): Promise<LeasedPayment[]>;
  /**
   * Asks MoMo about one payment: the event to apply, null while MoMo says PENDING, or "resent"
   * when a transfer MoMo never received was sent again. Throws a ProviderError when MoMo
   * cannot answer.
   */
  confirm(run: JobRun, payment: LeasedPayment): Promise<WebhookEvent | null | "resent">;
}

/** Leases up to `batch` MoMo payments of one kind waiting longer than JOBS_MOMO_POLL_AFTER_SECONDS. */
const takeMomo = (kind: "intents" | "cashouts" | "refunds") => (tx: TransactionSql, run: JobRun, batch: number) =>
  takeWaiting(tx, run, { job: "momo-poll", kind }, run.settings.momoPollAfterSeconds, batch);

export const topUpIntents: MomoPollSource = {
  kind: "intent",
  take: takeMomo("intents"),
  async confirm(run, payment) {
    const status = await run.momo().requestToPayStatus(payment.referenceId);
    return status.status === "PENDING" ? null : momoWebhookEvent(payment.referenceId, null, { ok: true, value: status });
  },
};

/** A leased transfer's row; whether it is in the quiet period before the window ends, or past it. */
type Aged<T> = T & { quiet: boolean; expired: boolean };

const asService = <T>(run: JobRun, fn: (tx: TransactionSql) => Promise<T>) => withRequestContext(run.sql, run.context, fn);
const transferClients = (run: JobRun) => ({ momo: run.momo(), momoCallbackUrl: momoCallbackUrlFromEnv });

/** The transfers of one purpose: how they are taken, and how one MoMo never received is sent again. */
function transferSource(
  purpose: TransferPurpose,
  waiting: "cashouts" | "refunds",
  resend: (run: JobRun, payment: LeasedPayment) => Promise<"expired" | "quiet" | "resent" | "settled">,
): MomoPollSource {
  return {
    kind: purpose,
    take: takeMomo(waiting),
    async confirm(run, payment) {
      let status;
      try {
        status = await run.momo().transferStatus(payment.referenceId);
      } catch (error) {
        if (!(error instanceof ProviderError) || error.httpStatus !== 404) throw error;
        const outcome = await resend(run, payment);
        if (outcome === "expired") return momoTransferNotAccepted(payment.referenceId, purpose);
        // "settled": MoMo refused the re-send (settled failed by the send), or a callback came
        // meanwhile; "quiet": no more re-sends, the window's end decides.
        return outcome === "resent" ? "resent" : null;
      }
      return status.status === "PENDING" ? null : momoTransferEvent(payment.referenceId, null, { ok: true, value: status }, purpose);
    },
  };
}

/** Whether the row is in the quiet period before the accept window ends, and past it (SQL). */
const agedFragment = (tx: TransactionSql, run: JobRun) => {
  const window = run.settings.momoTransferAcceptSeconds;
  const quietFrom = window - Math.min(3600, Math.floor(window / 2));
  return tx`created_at < now() - make_interval(secs => ${quietFrom}::int) as quiet,
            created_at < now() - make_interval(secs => ${window}::int) as expired`;
};

/** What a transfer MoMo answered 404 for gets: failed past the window, left alone in its quiet period. */
const agedOutcome = (row: { quiet: boolean; expired: boolean }) => row.expired ? "expired" : row.quiet ? "quiet" : null;

export const cashOuts: MomoPollSource = transferSource("cashout", "cashouts", async (run, payment) => {
  const [cashOut] = await asService(run, (tx) =>
    tx<Aged<CashOut>[]>`
    select *, ${agedFragment(tx, run)} from public.cashouts where id = ${payment.id}::uuid`);
  // Settled since it was taken (a callback came): nothing to send, nothing to fail.
  if (cashOut!.status !== "pending") return "settled";
  const aged = agedOutcome(cashOut!);
  if (aged) return aged;
  const sent = await sendCashOut(transferClients(run), (fn) => asService(run, fn), run.logger, cashOut!);
  return sent.outcome === "sent" ? "resent" : "settled";
});

export const momoRefunds: MomoPollSource = transferSource("refund", "refunds", async (run, payment) => {
  const [row] = await asService(run, (tx) =>
    tx<Aged<{ refund: Refund; payee_msisdn: string }>[]>`
    select t.refund, t.payee_msisdn, ${agedFragment(tx, run)}
      from public.refunds r,
           lateral api_private.momo_refund_transfer(r.payment_id, r.amount, r.provider_refund_id::uuid, r.reason) t
     where r.id = ${payment.id}::uuid`);
  if (row!.refund.status !== "pending") return "settled";
  const aged = agedOutcome(row!);
  if (aged) return aged;
  const transfer: MomoRefund = { refund: row!.refund, payeeMsisdn: row!.payee_msisdn };
  try {
    await sendMomoRefund(transferClients(run), transfer);
  } catch (error) {
    if (!(error instanceof ProviderError) || error.kind !== "declined") throw error;
    // MoMo refused the transfer, so it will never pay it: the reservation is released.
    await asService(run, (tx) =>
      tx`
      select public.momo_refund_settle(${payment.referenceId}::uuid, 'FAILED', ${(error.reason ?? error.message).slice(0, 500)})`);
    return "settled";
  }
  return "resent";
});

export const momoPollSources: readonly MomoPollSource[] = [topUpIntents, cashOuts, momoRefunds];

interface Counts {
  taken: number;
  applied: number;
  already_applied: number;
  pending: number;
  resent: number;
  errors: number;
  deferred: number;
}

/** Runs the poll over `sources`, sharing one batch between them. */
export function momoPoll(sources: readonly MomoPollSource[]): Job {
  return async (run) => {
    const counts: Counts = { taken: 0, applied: 0, already_applied: 0, pending: 0, resent: 0, errors: 0, deferred: 0 };
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
        let event: WebhookEvent | null | "resent";
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
        if (event === null || event === "resent") {
          counts[event === null ? "pending" : "resent"] += 1;
          continue;
        }
        counts[await applyConfirmed(run, "momo", event)] += 1;
      }
    }
    return { ...counts };
  };
}
