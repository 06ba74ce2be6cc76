// The jobs function where SUPABASE_SERVICE_ROLE_KEY is unset (the local stack) or set empty (a
// misconfigured project): the key a request may present as it is must then be no key at all,
// never an empty one that an empty or missing bearer would match. In-process, the app with no
// database (its client points at a closed port) and the deployed handler reading its
// environment; every case here is refused before the database is asked.
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { secretVerifier } from "../_shared/auth.ts";
import { createSql } from "../_shared/db.ts";
import { createLogger } from "../_shared/logger.ts";
import { momoClientFromEnv } from "../_shared/providers/momo/client.ts";
import { revolutClientFromEnv } from "../_shared/providers/revolut/client.ts";
import { stripeClientFromEnv } from "../_shared/providers/stripe/client.ts";
import { whatsAppSendingFromEnv } from "../_shared/providers/whatsapp/outbox-sender.ts";
import { createJobsApp } from "./app.ts";

const SECRET = "jobs-unit-test-secret-with-at-least-32-characters";
const sql = createSql("postgresql://postgres@127.0.0.1:1/postgres", { max: 1, connect_timeout: 1 });
afterAll(() => sql.end());

const jobsAppWithKey = (serviceRoleKey: string | undefined) =>
  createJobsApp({
    logger: createLogger(() => {}),
    dependencies: () => ({
      sql,
      verifyToken: secretVerifier(SECRET),
      serviceRoleKey,
      settings: {
        batchSize: 1,
        momoPollAfterSeconds: 1,
        revolutPollAfterSeconds: 1,
        stripePollAfterSeconds: 1,
        leaseSeconds: 1,
        intentTtlSeconds: 1,
        momoTransferAcceptSeconds: 1,
      },
      momo: momoClientFromEnv,
      revolut: revolutClientFromEnv,
      stripe: stripeClientFromEnv,
      whatsapp: whatsAppSendingFromEnv,
    }),
  });

/** Authorization headers that carry no token: none, an empty one, a scheme with nothing after it. */
const EMPTY_BEARERS: Record<string, Record<string, string>> = {
  "no Authorization header": {},
  "an empty Authorization header": { authorization: "" },
  "a bare Bearer": { authorization: "Bearer" },
  "Bearer and spaces": { authorization: "Bearer   " },
  "an empty quoted token": { authorization: 'Bearer ""' },
};

async function expectRefused(app: { fetch(request: Request): Response | Promise<Response> }, headers: Record<string, string>) {
  const answer = await app.fetch(new Request("http://jobs.local/jobs/expire-intents", { method: "POST", headers }));
  expect(answer.status).toBe(401);
  const body = await answer.json() as { error: { code: string } };
  expect(["missing_token", "invalid_token"]).toContain(body.error.code);
}

describe.each([["unset", undefined], ["empty", ""]])("SUPABASE_SERVICE_ROLE_KEY %s", (_, serviceRoleKey) => {
  const app = jobsAppWithKey(serviceRoleKey);

  it.each(Object.entries(EMPTY_BEARERS))("the app refuses a job asked with %s (401)", async (_, headers) => {
    await expectRefused(app, headers);
  });

  describe("the deployed handler", () => {
    afterEach(() => {
      vi.unstubAllEnvs();
    });

    it.each(Object.entries(EMPTY_BEARERS))("refuses a job asked with %s (401)", async (_, headers) => {
      vi.stubEnv("SUPABASE_SERVICE_ROLE_KEY", serviceRoleKey);
      // A fresh module: the handler reads its environment once, on its first request.
      vi.resetModules();
      const { default: handler } = await import("./handler.ts");
      await expectRefused(handler, headers);
    });
  });
});
