// What a Stripe delivery costs the database connection it holds (store-then-apply): a payment
// success is one statement (webhook_ingest_payment_success, its own transaction); any other
// event still goes through the step-by-step transaction. Against the test database through its
// pooler.
import { functionsDatabaseUrl, testDatabaseUrl } from "../../tests/support/functions-env.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { balanceOf, createTopUp, storedEvents, testSql } from "../../tests/support/payments-fixtures.ts";
import { stripeEvent, stripePaymentSucceeded, stripeRequest } from "../../tests/support/webhook-requests.ts";
import { createStripeWebhookApp } from "./app.ts";
import { createSql } from "../_shared/db.ts";
import { createLogger } from "../_shared/logger.ts";
import type { RateLimiter } from "../_shared/rate-limit/limiter.ts";

const sql = testSql(testDatabaseUrl);
// Every statement the webhook's client sends, as postgres.js hands it to the server. One
// connection, opened before the tests, so that its first use (postgres.js reads the array
// types then) is not counted.
const statements: string[] = [];
const parameters: unknown[] = [];
const webhookSql = createSql(functionsDatabaseUrl, {
  max: 1,
  debug: (_connection, query, values) => {
    statements.push(query.trim());
    parameters.push(...values);
  },
});
beforeAll(() => webhookSql`select 1`);
afterAll(() => Promise.all([sql.end({ timeout: 1 }), webhookSql.end({ timeout: 1 })]));

// The limiter has its own tests; here it must not add statements to the webhook's client.
const unlimited: RateLimiter = {
  store: "test",
  limit: (_key, limit) => Promise.resolve({ success: true, limit, remaining: limit, reset: Date.now(), failedOpen: false }),
  ping: () => Promise.resolve(),
};
// Neither event here is a charge.refunded, the one that reads from Stripe.
const noStripe = () => {
  throw new Error("no Stripe call expected");
};
const app = createStripeWebhookApp({
  logger: createLogger(),
  dependencies: () => ({ sql: webhookSql, limiter: unlimited, stripe: noStripe }),
});

const piId = () => `pi_${crypto.randomUUID().replaceAll("-", "")}`;

async function deliver(event: unknown): Promise<string[]> {
  statements.length = 0;
  parameters.length = 0;
  const response = await app.fetch(stripeRequest(event));
  expect(response.status).toBe(200);
  return [...statements];
}

describe("store-then-apply", () => {
  it("stores, applies and finishes a payment success in one statement, its own transaction", async () => {
    const ref = piId();
    const topUp = await createTopUp(sql, { provider: "stripe", amount: 1500, currency: "USD", providerRef: ref });
    const event = stripePaymentSucceeded(ref, 1500);
    const sent = await deliver(event);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(/^select outcome, attempts, last_error\s+from public\.webhook_ingest_payment_success\(/);
    expect(await storedEvents(sql, "stripe", event.id)).toMatchObject([{ status: "processed", attempts: 1 }]);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 1500, available: 1500 });
    expect(await deliver(event)).toHaveLength(1);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 1500, available: 1500 });
  });

  it("sends the database no client_secret: the payload and the payment leave the function without it", async () => {
    const ref = piId();
    const topUp = await createTopUp(sql, { provider: "stripe", amount: 700, currency: "USD", providerRef: ref });
    const secret = `${ref}_secret_${crypto.randomUUID().slice(0, 8)}`;
    const sent = await deliver(stripePaymentSucceeded(ref, 700, { client_secret: secret, next_action: { Client_Secret: secret } }));
    expect(sent).toHaveLength(1);
    expect(parameters.length).toBeGreaterThan(0);
    expect(JSON.stringify(parameters)).not.toContain(secret);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 700, available: 700 });
  });

  it("runs any other event in a transaction with the request context and savepoints", async () => {
    const event = stripeEvent("customer.created", { id: `cus_${crypto.randomUUID().slice(0, 8)}`, object: "customer" });
    const sent = await deliver(event);
    expect(sent[0]).toBe("begin");
    expect(sent[1]).toMatch(/set_config\('app\.correlation_id'/);
    expect(sent.at(-1)).toBe("commit");
    expect(await storedEvents(sql, "stripe", event.id)).toMatchObject([{ status: "ignored" }]);
  });
});
