// A scheduled job's run as the jobs function gives it, for a test that settles its own items
// with a job's code instead of a run over the shared database (which would take other test
// files' rows): the service's request context, a silent logger, and only the provider clients
// the test gives (any other throws when the job asks for it).
import type { Sql } from "../../functions/_shared/db.ts";
import { createLogger } from "../../functions/_shared/logger.ts";
import type { JobRun, JobSettings } from "../../functions/jobs/job.ts";

const SETTINGS: JobSettings = {
  batchSize: 100,
  momoPollAfterSeconds: 3600,
  revolutPollAfterSeconds: 3600,
  stripePollAfterSeconds: 3600,
  leaseSeconds: 60,
  intentTtlSeconds: 7 * 86_400,
  momoTransferAcceptSeconds: 3600,
};

type Clients = Partial<Pick<JobRun, "momo" | "revolut" | "stripe" | "whatsapp">>;

export function testJobRun(sql: Sql, clients: Clients, settings: Partial<JobSettings> = {}): JobRun {
  const none = (provider: string) => () => {
    throw new Error(`this job run has no ${provider} client`);
  };
  return {
    sql,
    context: {
      role: "service_role",
      claims: { role: "service_role" },
      headers: {},
      correlationId: crypto.randomUUID(),
      clientAddress: "127.0.0.1",
    },
    settings: { ...SETTINGS, ...settings },
    logger: createLogger(() => {}),
    momo: none("MoMo"),
    revolut: none("Revolut"),
    stripe: none("Stripe"),
    whatsapp: none("WhatsApp"),
    ...clients,
  };
}
