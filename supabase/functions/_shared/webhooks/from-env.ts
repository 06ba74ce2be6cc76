// The deployed webhooks' dependencies: one database client (SUPABASE_DB_URL, prepare: false)
// and one rate limiter per process, shared by the webhook functions a process serves (the
// local gateway serves all four), made on the first request so that loading a function never
// needs the database.
import { onFirstUse } from "../composition.ts";
import { createSql } from "../db.ts";
import { createLogger } from "../logger.ts";
import { rateLimiterFromEnv } from "../rate-limit/config.ts";
import type { WebhookDependencies } from "./app.ts";

const logger = createLogger();

export const webhookDependenciesFromEnv = onFirstUse((): WebhookDependencies => {
  const sql = createSql();
  return { sql, limiter: rateLimiterFromEnv(sql, (event, fields) => logger.warn(event, fields)) };
});
