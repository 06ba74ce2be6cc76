// What every scheduled job is given and gives back. A job runs its steps as service_role in
// the request's context (so the audit trail records the run's correlation id), is bounded by
// the batch size, and answers with its counts.
import type { RequestContext, Sql } from "../_shared/db.ts";
import type { Logger } from "../_shared/logger.ts";
import type { MomoClient } from "../_shared/providers/momo/client.ts";
import type { RevolutClient } from "../_shared/providers/revolut/client.ts";
import type { StripeClient } from "../_shared/providers/stripe/client.ts";
import type { WhatsAppSending } from "../_shared/providers/whatsapp/outbox-sender.ts";

export interface JobSettings {
  /** Items one run handles at most (JOBS_BATCH_SIZE). */
  batchSize: number;
  /** How long a MoMo payment waits for its callback before momo-poll asks (JOBS_MOMO_POLL_AFTER_SECONDS). */
  momoPollAfterSeconds: number;
  /** How long a Revolut top-up or refund waits for its webhook before revolut-poll asks (JOBS_REVOLUT_POLL_AFTER_SECONDS). */
  revolutPollAfterSeconds: number;
  /** How long a Stripe top-up waits for its webhook before stripe-poll asks (JOBS_STRIPE_POLL_AFTER_SECONDS). */
  stripePollAfterSeconds: number;
  /** How long a polled item stays leased to one runner (JOBS_LEASE_SECONDS). */
  leaseSeconds: number;
  /** How long an unpaid intent lives (JOBS_INTENT_TTL_SECONDS). */
  intentTtlSeconds: number;
  /**
   * How long momo-poll re-sends a transfer MoMo answers 404 for (it never received it) before
   * failing it as not_accepted (JOBS_MOMO_TRANSFER_ACCEPT_SECONDS).
   */
  momoTransferAcceptSeconds: number;
}

export interface JobRun {
  sql: Sql;
  context: RequestContext & { role: "service_role" };
  settings: JobSettings;
  logger: Logger;
  momo(): MomoClient;
  revolut(): RevolutClient;
  stripe(): StripeClient;
  whatsapp(): WhatsAppSending;
}

/** A job's counts, the body of its answer and of its log line. */
export type JobCounts = Record<string, number | string>;

export type Job = (run: JobRun) => Promise<JobCounts>;
