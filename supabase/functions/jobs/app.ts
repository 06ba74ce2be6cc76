// The scheduled jobs as a hono app (POST /jobs/<job>), built from its dependencies so that
// tests can give it their own; handler.ts builds the deployed one from the environment.
// Only the project's service_role key may run a job: Supabase Cron (pg_net) in production,
// the local stack's scheduler, or an operator. Each run answers its counts and logs them as
// one JSON line (event job_finished).
import { Hono } from "hono";
import { authenticateService, type TokenVerifier } from "../_shared/auth.ts";
import { clientAddress } from "../_shared/client-address.ts";
import type { AppOptions } from "../_shared/composition.ts";
import type { Sql } from "../_shared/db.ts";
import { HttpError } from "../_shared/errors.ts";
import { applySharedLayer, type SharedEnv } from "../_shared/middleware.ts";
import type { MomoClient } from "../_shared/providers/momo/client.ts";
import type { RevolutClient } from "../_shared/providers/revolut/client.ts";
import type { StripeClient } from "../_shared/providers/stripe/client.ts";
import type { WhatsAppSending } from "../_shared/providers/whatsapp/outbox-sender.ts";
import { mapSqlErrors } from "../_shared/sql-errors.ts";
import { expireHolds } from "./expire-holds.ts";
import { expireIntents } from "./expire-intents.ts";
import type { Job, JobSettings } from "./job.ts";
import { momoPoll, momoPollSources } from "./momo-poll.ts";
import { reconcile } from "./reconcile.ts";
import { revolutPoll } from "./revolut-poll.ts";
import { stripePoll } from "./stripe-poll.ts";
import { whatsAppSend } from "./whatsapp-send.ts";

export interface JobsDependencies {
  sql: Sql;
  verifyToken: TokenVerifier;
  /** The platform's service_role key (SUPABASE_SERVICE_ROLE_KEY), accepted as it is; unset locally in tests. */
  serviceRoleKey?: string;
  settings: JobSettings;
  momo(): MomoClient;
  revolut(): RevolutClient;
  stripe(): StripeClient;
  whatsapp(): WhatsAppSending;
}

const jobs: Record<string, Job> = {
  "momo-poll": momoPoll(momoPollSources),
  "revolut-poll": revolutPoll,
  "stripe-poll": stripePoll,
  "expire-intents": expireIntents,
  "expire-holds": expireHolds,
  "reconcile": reconcile,
  "whatsapp-send": whatsAppSend,
};

// Headers that carry credentials never reach request.headers (and so never the audit trail).
const UNFORWARDED_HEADERS = ["authorization", "apikey", "cookie"];

export function createJobsApp(options: AppOptions<JobsDependencies>): Hono<SharedEnv> {
  const { logger } = options;
  const app = new Hono<SharedEnv>().basePath("/jobs");
  applySharedLayer(app, { functionName: "jobs", logger, rateLimit: null, methods: ["POST"] });

  app.use("*", async (c, next) => {
    const deps = options.dependencies();
    const refused = await authenticateService(c.req.raw.headers, deps.verifyToken, "A scheduled job", deps.serviceRoleKey);
    if (refused) throw refused;
    await next();
  });

  app.post("/:job", async (c) => {
    const name = c.req.param("job");
    const job = Object.hasOwn(jobs, name) ? jobs[name] : undefined;
    if (!job) throw new HttpError(404, "not_found", `No job ${name}.`);
    const deps = options.dependencies();
    const headers = new Headers(c.req.raw.headers);
    for (const header of UNFORWARDED_HEADERS) headers.delete(header);
    const startedAt = performance.now();
    const counts = await mapSqlErrors(() =>
      job({
        sql: deps.sql,
        context: {
          role: "service_role",
          claims: { role: "service_role" },
          headers,
          correlationId: c.get("correlationId"),
          clientAddress: clientAddress(c.req.raw.headers, c.env),
        },
        settings: deps.settings,
        logger,
        momo: deps.momo,
        revolut: deps.revolut,
        stripe: deps.stripe,
        whatsapp: deps.whatsapp,
      })
    );
    logger.info("job_finished", {
      correlation_id: c.get("correlationId"),
      job: name,
      duration_ms: Math.round(performance.now() - startedAt),
      ...counts,
    });
    return c.json({ job: name, ...counts });
  });
  return app;
}
