// The deployed jobs function: createJobsApp with the process's database client, token
// verifier, settings, MoMo, Revolut and Stripe clients and WhatsApp sender, made on the first
// request so that loading the function never needs its configuration (a missing variable is a
// 500 configuration_error).
import { verifierFromEnv } from "../_shared/auth.ts";
import { onFirstUse } from "../_shared/composition.ts";
import { createSql } from "../_shared/db.ts";
import { env, readEnv } from "../_shared/env.ts";
import { createLogger } from "../_shared/logger.ts";
import { momoClientFromEnv } from "../_shared/providers/momo/client.ts";
import { revolutClientFromEnv } from "../_shared/providers/revolut/client.ts";
import { stripeClientFromEnv } from "../_shared/providers/stripe/client.ts";
import { whatsAppSendingFromEnv } from "../_shared/providers/whatsapp/outbox-sender.ts";
import { createJobsApp, type JobsDependencies } from "./app.ts";

export default createJobsApp({
  logger: createLogger(),
  dependencies: onFirstUse((): JobsDependencies => {
    const e = env(
      "JOBS_BATCH_SIZE",
      "JOBS_MOMO_POLL_AFTER_SECONDS",
      "JOBS_REVOLUT_POLL_AFTER_SECONDS",
      "JOBS_STRIPE_POLL_AFTER_SECONDS",
      "JOBS_LEASE_SECONDS",
      "JOBS_INTENT_TTL_SECONDS",
      "JOBS_MOMO_TRANSFER_ACCEPT_SECONDS",
    );
    return {
      sql: createSql(),
      verifyToken: verifierFromEnv(),
      serviceRoleKey: readEnv("SUPABASE_SERVICE_ROLE_KEY") || undefined,
      settings: {
        batchSize: e.JOBS_BATCH_SIZE,
        momoPollAfterSeconds: e.JOBS_MOMO_POLL_AFTER_SECONDS,
        revolutPollAfterSeconds: e.JOBS_REVOLUT_POLL_AFTER_SECONDS,
        stripePollAfterSeconds: e.JOBS_STRIPE_POLL_AFTER_SECONDS,
        leaseSeconds: e.JOBS_LEASE_SECONDS,
        intentTtlSeconds: e.JOBS_INTENT_TTL_SECONDS,
        momoTransferAcceptSeconds: e.JOBS_MOMO_TRANSFER_ACCEPT_SECONDS,
      },
      // Read when momo-poll (revolut-poll, stripe-poll) first runs, so the other jobs never
      // need MoMo's (Revolut's, Stripe's) credentials.
      momo: momoClientFromEnv,
      revolut: revolutClientFromEnv,
      stripe: stripeClientFromEnv,
      whatsapp: whatsAppSendingFromEnv,
    };
  }),
});
