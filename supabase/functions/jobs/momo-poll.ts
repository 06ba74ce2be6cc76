// momo-poll: MoMo sends its callback once and never retries, so payments still waiting for it
// after JOBS_MOMO_POLL_AFTER_SECONDS are looked up with MoMo's API and what MoMo confirms is
// applied exactly as a callback would apply it (the same event, keyed by reference id and
// confirmed status, so a late callback after a poll, or a poll after a callback, is a
// duplicate). PENDING leaves the payment for a later run; MoMo unreachable counts as an error
// and leaves it too. Each payment is leased to one runner for JOBS_LEASE_SECONDS as its turn
// comes (settleInTurn), which also spaces the questions about it.
//
// A source is one kind of MoMo payment: top-up intents (request-to-pay, GET
// /collection/v1_0/requesttopay/{referenceId}), cash-outs and refunds (transfers, GET
// /disbursement/v1_0/transfer/{referenceId}).
//
// A request-to-pay MoMo answers 404 RESOURCE_NOT_FOUND for was never received (no payer was
// prompted): it is left for the user's retry and, once past JOBS_INTENT_TTL_SECONDS, its intent
// is canceled (expire-intents leaves these intents to this job).
//
// A transfer MoMo answers 404 RESOURCE_NOT_FOUND for (its POST never reached MoMo, e.g. MoMo
// was down when the user or the admin asked) is sent again with the same reference, which MoMo
// answers 409 for if it has it after all; once it is older than
// JOBS_MOMO_TRANSFER_ACCEPT_SECONDS and MoMo still answers RESOURCE_NOT_FOUND, it is failed as
// not_accepted (a cash-out's hold voided, a refund's reservation closed). Re-sending stops a
// quiet period before the window ends (an hour, or half the window if shorter), so the 404 that
// fails it comes at least that long after the last re-send: a re-send MoMo took but whose
// answer was lost has shown up by then. A transfer can also be sent at any time by a retry of
// the request that made it (a user's cash-out, an admin's refund), so every send is recorded
// on its row before its POST, and before the look-up that may fail a transfer past the window,
// its sending is closed (no send after that), which the database refuses while its last send is
// within the quiet period; the verdict needs it closed. Cash-outs and refunds go through the
// same steps (transferSource), each on its own row. Only MoMo's FAILED, or that
// RESOURCE_NOT_FOUND past the window, ends a transfer without payment: MoMo refusing a re-send
// is counted as an error and changes nothing (an earlier send may still be paid), and so is any
// other failed look-up (no answer, no access token, a 404 without RESOURCE_NOT_FOUND). A
// cash-out of a frozen account is not sent again while it is (counted pending).
import { type TransactionSql, withRequestContext } from "../_shared/db.ts";
import { type CashOut, postCashOutTransfer } from "../_shared/money/cashouts.ts";
import { momoRefundTransfer, postMomoRefundTransfer, type Refund } from "../_shared/money/momo-refunds.ts";
import type { TransferSending } from "../_shared/money/momo-transfers.ts";
import { ProviderError } from "../_shared/providers/errors.ts";
import { momoCallbackUrlFromEnv } from "../_shared/providers/momo/callback-url.ts";
import { MomoUnknownReferenceError } from "../_shared/providers/momo/client.ts";
import { sqlstateOf } from "../_shared/sql-errors.ts";
import { momoTransferEvent, momoTransferNotAccepted, momoWebhookEvent, type TransferPurpose } from "../_shared/providers/momo/events.ts";
import type { WebhookEvent } from "../_shared/webhooks/store-then-apply.ts";
import { expireUnpaidIntent } from "./expire-intents.ts";
import type { Job, JobRun } from "./job.ts";
import { applyConfirmed, type LeasedPayment, type PollKind, settleInTurn, shareBatch } from "./poll.ts";

export interface MomoPollSource {
  /** Names the payment kind in logs. */
  kind: string;
  /** What api_private.poll_take leases them as. */
  waiting: PollKind<"momo-poll">;
  /**
   * Asks MoMo about one payment: the event to apply, null while MoMo says PENDING, or "resent"
   * when a transfer MoMo never received was sent again. Throws a ProviderError when MoMo
   * cannot answer, or refuses a transfer sent again.
   */
  confirm(run: JobRun, payment: LeasedPayment): Promise<WebhookEvent | null | "resent">;
}

export const topUpIntents: MomoPollSource = {
  kind: "intent",
  waiting: "intents",
  async confirm(run, payment) {
    let status;
    try {
      status = await run.momo().requestToPayStatus(payment.referenceId);
    } catch (error) {
      if (!(error instanceof MomoUnknownReferenceError)) throw error;
      // MoMo never received the request-to-pay (its reference is recorded before MoMo is asked),
      // so nobody was prompted and nothing is paid: the intent stays open for the user's retry,
      // which sends it with the same reference, and is canceled once past its TTL. It is never
      // sent again from here: only the user starts a prompt on the payer's phone.
      await expireUnpaidIntent(run, payment.id);
      return null;
    }
    // PENDING: MoMo still asks the payer and ends every request-to-pay, so the intent waits, past its TTL too.
    return status.status === "PENDING" ? null : momoWebhookEvent(payment.referenceId, null, { ok: true, value: status });
  },
};

/** How momo-poll finds, closes and sends again the transfers of one purpose. */
interface TransferKind<Row extends TransferSending> {
  purpose: TransferPurpose;
  /** What api_private.poll_take leases them as. */
  waiting: "cashouts" | "refunds";
  /** The table of their rows. */
  table: "public.cashouts" | "public.refunds";
  /** Closes its sending unless a send is within `quietSeconds` (api_private.*_close_sending); its row. */
  closeSending(tx: TransactionSql, referenceId: string, quietSeconds: number): Promise<TransferSending[]>;
  /** Sends it again with the same reference; false when it may no longer be sent. Throws ProviderError. */
  resend(run: JobRun, row: Row): Promise<boolean>;
}

const asService = <T>(run: JobRun, fn: (tx: TransactionSql) => Promise<T>) => withRequestContext(run.sql, run.context, fn);
const transferClients = (run: JobRun) => ({ momo: run.momo(), momoCallbackUrl: momoCallbackUrlFromEnv });

/** The transfers of one purpose as a source: asked about, sent again, and failed not_accepted, by the same steps. */
function transferSource<Row extends TransferSending>(kind: TransferKind<Row>): MomoPollSource {
  return {
    kind: kind.purpose,
    waiting: kind.waiting,
    async confirm(run, payment) {
      const [row] = await asService(run, (tx) =>
        tx<Aged<Row>[]>`
        select *, ${agedFragment(tx, run)} from ${tx(kind.table)} where id = ${payment.id}::uuid`);
      // Past the window, its sending is closed before MoMo is asked: then no send can reach MoMo
      // after the look-up whose RESOURCE_NOT_FOUND fails it. Not while its last send is within
      // the quiet period (MoMo may not show that one yet): it waits for a later run.
      const closed = row!.expired && await closeSending(run, kind, payment.referenceId);
      let status;
      try {
        status = await run.momo().transferStatus(payment.referenceId);
      } catch (error) {
        if (!(error instanceof MomoUnknownReferenceError)) throw error;
        // Settled since it was taken (a callback came): nothing to send, nothing to fail.
        if (row!.status !== "pending") return null;
        if (closed) return momoTransferNotAccepted(payment.referenceId, kind.purpose);
        // In the quiet period the window's end decides. A refusal of the re-send is thrown and
        // counted, never applied: an earlier send of the same reference may still be paid.
        if (row!.quiet) return null;
        return await kind.resend(run, row!) ? "resent" : null;
      }
      return status.status === "PENDING" ? null : momoTransferEvent(payment.referenceId, null, { ok: true, value: status }, kind.purpose);
    },
  };
}

/** The quiet period before the accept window ends: an hour, or half the window if shorter. */
const quietSeconds = (run: JobRun) => Math.min(3600, Math.floor(run.settings.momoTransferAcceptSeconds / 2));

/** Whether the row is in the quiet period before the accept window ends, and past it (SQL). */
const agedFragment = (tx: TransactionSql, run: JobRun) => {
  const window = run.settings.momoTransferAcceptSeconds;
  return tx`created_at < now() - make_interval(secs => ${window - quietSeconds(run)}::int) as quiet,
            created_at < now() - make_interval(secs => ${window}::int) as expired`;
};

type Aged<T> = T & { quiet: boolean; expired: boolean };

/** Closes the sending of a transfer past its window; whether it is closed. */
async function closeSending<Row extends TransferSending>(run: JobRun, kind: TransferKind<Row>, referenceId: string): Promise<boolean> {
  const [row] = await asService(run, (tx) => kind.closeSending(tx, referenceId, quietSeconds(run)));
  return row!.sending_closed_at !== null;
}

export const cashOuts: MomoPollSource = transferSource<CashOut>({
  purpose: "cashout",
  waiting: "cashouts",
  table: "public.cashouts",
  closeSending: (tx, referenceId, quiet) =>
    tx<CashOut[]>`select * from api_private.cashout_close_sending(${referenceId}::uuid, ${quiet}::int)`,
  async resend(run, cashOut) {
    try {
      return (await postCashOutTransfer(transferClients(run), (fn) => asService(run, fn), cashOut)).posted;
    } catch (error) {
      // Its account is frozen (api_private.cashout_send_begin): not sent while it is; it waits
      // for a later run, or the window's end.
      if (sqlstateOf(error) === "WL004") return false;
      throw error;
    }
  },
});

export const momoRefunds: MomoPollSource = transferSource<Refund & TransferSending>({
  purpose: "refund",
  waiting: "refunds",
  table: "public.refunds",
  closeSending: (tx, referenceId, quiet) =>
    tx<TransferSending[]>`select * from api_private.momo_refund_close_sending(${referenceId}::uuid, ${quiet}::int)`,
  async resend(run, refund) {
    // The payer's number, and the refund found again as the admin's request recorded it.
    const transfer = await asService(
      run,
      (tx) => momoRefundTransfer(tx, refund.payment_id, Number(refund.amount), refund.provider_refund_id, refund.reason),
    );
    return await postMomoRefundTransfer(transferClients(run), (fn) => asService(run, fn), transfer);
  },
});

export const momoPollSources: readonly MomoPollSource[] = [topUpIntents, cashOuts, momoRefunds];

interface Counts {
  taken: number;
  applied: number;
  already_applied: number;
  pending: number;
  resent: number;
  errors: number;
}

/**
 * What asking MoMo about one payment added to the run's counts, or "unreachable": MoMo did not
 * answer (an error), and the run asks about no more.
 */
type Asked = Exclude<keyof Counts, "taken"> | "unreachable";

/** One payment of `source` asked about and settled as a run settles it: tests use it to settle their own items. */
export async function settleMomoItem(run: JobRun, source: MomoPollSource, payment: LeasedPayment): Promise<Asked> {
  let event: WebhookEvent | null | "resent";
  try {
    event = await source.confirm(run, payment);
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    run.logger.warn("momo_poll_unconfirmed", {
      correlation_id: run.context.correlationId,
      kind: source.kind,
      id: payment.id,
      http_status: error.httpStatus,
      error: error.message,
    });
    // MoMo down: the rest wait for the next run instead of each waiting out the timeout now.
    return error.kind === "unavailable" ? "unreachable" : "errors";
  }
  if (event === null || event === "resent") return event === null ? "pending" : "resent";
  return await applyConfirmed(run, "momo", event);
}

/**
 * Runs the poll over `sources`, sharing one batch between them (shareBatch): a backlog of top-ups
 * MoMo never received, asked about every run until their TTL, never keeps a cash-out or a refund
 * from being settled or sent again.
 */
export function momoPoll(sources: readonly MomoPollSource[]): Job {
  return async (run) => {
    const counts: Counts = { taken: 0, applied: 0, already_applied: 0, pending: 0, resent: 0, errors: 0 };
    const settleEach = settleInTurn(run);
    let unreachable = false;

    /** Asks MoMo about one payment and applies its answer; whether the run goes on. */
    async function ask(source: MomoPollSource, payment: LeasedPayment): Promise<boolean> {
      const asked = await settleMomoItem(run, source, payment);
      counts[asked === "unreachable" ? "errors" : asked] += 1;
      unreachable = asked === "unreachable";
      return !unreachable;
    }

    /** Takes up to `limit` of `source`'s payments one at a time and asks MoMo about them; how many it took. */
    async function poll(source: MomoPollSource, limit: number): Promise<number> {
      if (unreachable) return 0;
      const what = { job: "momo-poll", kind: source.waiting } as const;
      const taken = await settleEach(what, run.settings.momoPollAfterSeconds, limit, (payment) => ask(source, payment));
      counts.taken += taken;
      return taken;
    }

    await shareBatch(run.settings.batchSize, sources, poll);
    return { ...counts };
  };
}
