// A functions gateway of its own for the top-up journeys: the three provider stand-ins and the
// Graph API stand-in (WhatsApp messages the jobs send) on free ports and a Deno gateway (the same serve-functions.ts as the test stack, on the test
// database) whose provider base URLs point at them. The functions learn nothing else: they
// read the URLs from their environment as in production.
import { openSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FunctionsServer, startFunctionsServer } from "@mfuko/local-stack/functions-server";
import { freePort } from "@mfuko/local-stack/ports";
import { suiteWebhookLimits } from "@mfuko/local-stack/throwaway-stack";
import { TokenMinter } from "@mfuko/local-stack/tokens";
import { type AdminAnswer, answerOf } from "./admin-fixtures.ts";
import { functionsDatabaseUrl } from "./functions-env.ts";
import { type GraphApiStandIn, startGraphApiStandIn } from "./graph-api-standin.ts";
import { createUserWithAccount, type Sql } from "./payments-fixtures.ts";
import {
  type MomoStandIn,
  momoStandInOptionsFromEnv,
  type RevolutStandIn,
  revolutStandInOptionsFromEnv,
  startMomoStandIn,
  startRevolutStandIn,
  startStripeStandIn,
  type StripeStandIn,
} from "./provider-standins.ts";

export interface PaymentsGateway {
  /** …/functions/v1 of this gateway. */
  url: string;
  /** Where the gateway's functions write their logs. */
  logFile: string;
  stripe: StripeStandIn;
  momo: MomoStandIn;
  revolut: RevolutStandIn;
  whatsapp: GraphApiStandIn;
  /** POST /jobs/<job> as the scheduler calls it: with the service_role key, another `token`, or (null) none. */
  runJob(job: string, token?: string | null): Promise<AdminAnswer>;
  stop(): Promise<void>;
}

export const PROVIDER_TIMEOUT_MS = 1_500;
export const MOMO_TOKEN_LIFETIME_SECONDS = 62;

/** `env` adds to (or overrides) the functions' environment, e.g. the jobs' settings. */
export async function startPaymentsGateway(env: Record<string, string> = {}): Promise<PaymentsGateway> {
  const stripe = await startStripeStandIn({ secretKey: process.env.STRIPE_SECRET_KEY! });
  // MoMo's client renews a token a minute before it expires: 62 s tokens are reused for 2 s.
  const momo = await startMomoStandIn({ ...momoStandInOptionsFromEnv(), tokenLifetimeSeconds: MOMO_TOKEN_LIFETIME_SECONDS });
  const revolut = await startRevolutStandIn(revolutStandInOptionsFromEnv());
  const whatsapp = await startGraphApiStandIn();
  const port = await freePort();
  const logFile = join(tmpdir(), `mfuko-payments-gateway-${port}.log`);
  let server: FunctionsServer;
  try {
    server = await startFunctionsServer({
      port,
      env: {
        SUPABASE_DB_URL: functionsDatabaseUrl,
        STRIPE_API_BASE_URL: stripe.url,
        MOMO_API_BASE_URL: momo.url,
        REVOLUT_API_BASE_URL: revolut.url,
        WHATSAPP_API_BASE_URL: whatsapp.url,
        PUBLIC_FUNCTIONS_URL: `http://127.0.0.1:${port}/functions/v1`,
        PROVIDER_TIMEOUT_MS: String(PROVIDER_TIMEOUT_MS),
        ...suiteWebhookLimits,
        ...env,
      },
      output: openSync(logFile, "a"),
    });
  } catch (error) {
    await Promise.all([stripe.close(), momo.close(), revolut.close(), whatsapp.close()]);
    throw error;
  }
  return {
    url: server.url,
    logFile,
    stripe,
    momo,
    revolut,
    whatsapp,
    runJob: async (job, token) => {
      const key = token === undefined ? await new TokenMinter(process.env.SUPABASE_JWT_SECRET!).apiKey("service_role") : token;
      const headers: Record<string, string> = key === null ? {} : { authorization: `Bearer ${key}` };
      return answerOf(await fetch(`${server.url}/jobs/${job}`, { method: "POST", headers }));
    },
    stop: async () => {
      await server.stop();
      await Promise.all([stripe.close(), momo.close(), revolut.close(), whatsapp.close()]);
    },
  };
}

export interface TopUpUser {
  userId: string;
  accountId: string;
  token: string;
}

/** A new user with an account in `currency` and an access token. */
export async function topUpUser(sql: Sql, currency: string): Promise<TopUpUser> {
  const { userId, accountId } = await createUserWithAccount(sql, currency);
  const token = await new TokenMinter(process.env.SUPABASE_JWT_SECRET!).user({ id: userId, email: `${userId}@mfuko.test` });
  return { userId, accountId, token };
}

/** A call to the payments function through the gateway. */
export async function callPayments(
  base: string,
  method: string,
  path: string,
  call: { token?: string | null; body?: unknown; idempotencyKey?: string } = {},
): Promise<AdminAnswer> {
  const headers: Record<string, string> = {};
  if (call.token) headers.authorization = `Bearer ${call.token}`;
  if (call.idempotencyKey) headers["idempotency-key"] = call.idempotencyKey;
  if (call.body !== undefined) headers["content-type"] = "application/json";
  return answerOf(
    await fetch(`${base}/payments${path}`, {
      method,
      headers,
      body: call.body === undefined ? undefined : typeof call.body === "string" ? call.body : JSON.stringify(call.body),
    }),
  );
}

/**
 * A top-up of `amount` through POST /payments/topups by a new user with an account in
 * `currency`, its provider payment waiting for the payer: the user, the intent and the
 * provider's reference (Stripe PaymentIntent, Revolut order).
 */
export async function waitingTopUp(sql: Sql, gateway: PaymentsGateway, provider: "stripe" | "revolut", currency: string, amount: number) {
  const user = await topUpUser(sql, currency);
  const answer = await callPayments(gateway.url, "POST", "/topups", {
    token: user.token,
    idempotencyKey: crypto.randomUUID(),
    body: { provider, account_id: user.accountId, amount, currency },
  });
  if (answer.status !== 201) throw new Error(`the ${provider} top-up answered ${answer.status}`);
  const intentId = answer.body.intent.id as string;
  const [intent] = await sql<{ provider_ref: string }[]>`select provider_ref from public.payment_intents where id = ${intentId}::uuid`;
  return { ...user, intentId, providerRef: intent!.provider_ref };
}

/** The payer's number of the MoMo top-ups paidMomoTopUp makes. */
export const MOMO_PAYER = "256772123456";

/**
 * A MoMo top-up of `amount` UGX through POST /payments/topups that the payer approves (MoMo's
 * callback credits it): the user, the intent and our payment's id.
 */
export async function paidMomoTopUp(sql: Sql, gateway: PaymentsGateway, amount: number) {
  const user = await topUpUser(sql, "UGX");
  const answer = await callPayments(gateway.url, "POST", "/topups", {
    token: user.token,
    idempotencyKey: crypto.randomUUID(),
    body: { provider: "momo", account_id: user.accountId, amount, currency: "UGX", msisdn: MOMO_PAYER },
  });
  if (answer.status !== 201) throw new Error(`the MoMo top-up answered ${answer.status}`);
  const intentId = answer.body.intent.id as string;
  if ((await gateway.momo.decide(intentId, "SUCCESSFUL")) !== 200) throw new Error("MoMo's callback was not taken");
  const [payment] = await sql<
    { id: string }[]
  >`select id from public.payments where provider = 'momo' and provider_payment_id = ${intentId}`;
  return { ...user, intentId, paymentId: payment!.id };
}
