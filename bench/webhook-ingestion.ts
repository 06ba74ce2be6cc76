// Benchmark 4 (docs/BENCHMARKS.md): signed Stripe payment_intent.succeeded deliveries through the Deno
// functions server with 64 connections (autocannon), against two ceilings measured in the same
// run: a bare Deno.serve hello-world (HTTP) and wallet_deposit driven by pgbench (database).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import type postgres from "postgres";
import { denoExecutable } from "@mfuko/local-stack/functions-server";
import { freePort } from "@mfuko/local-stack/ports";
import { runPgbench } from "./lib/pgbench.ts";
import { createStripeTopUps, creditedPayments, signedSucceededDeliveries } from "./lib/stripe-deliveries.ts";
import type { BenchmarkResult } from "./lib/report.ts";

const connections = 64;
// Stripe delivers from a published pool of about a dozen addresses; the rate-limit key is the
// provider plus the address, so the deliveries spread over that many keys, as in production.
const stripeAddresses = Array.from({ length: 12 }, (_, i) => `203.0.113.${i + 10}`);
const amount = 1_000;
const currency = "USD";

export interface WebhookBenchOptions {
  sql: postgres.Sql;
  dbUrl: string;
  functionsUrl: string;
  env: Record<string, string>;
  seconds: number;
}

interface Load {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
}

async function load(options: autocannon.Options): Promise<Load> {
  const result = await autocannon({ connections, duration: 10, ...options });
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx + result.errors + result.timeouts,
  };
}

/** The HTTP ceiling: Deno.serve answering "ok", on the same machine and runtime. */
async function helloWorldCeiling(seconds: number): Promise<Load> {
  const port = await freePort();
  const child = spawn(denoExecutable(), ["eval", `Deno.serve({ port: ${port}, hostname: "127.0.0.1", onListen() { console.log("listening") } }, () => new Response("ok"))`], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve) => child.stdout!.once("data", () => resolve()));
  try {
    return await load({ url: `http://127.0.0.1:${port}/`, duration: seconds });
  } finally {
    child.kill("SIGTERM");
  }
}

export async function runWebhookIngestion(options: WebhookBenchOptions): Promise<BenchmarkResult> {
  const run = Date.now().toString(36);
  // More intents than the run can use, so that every delivery is a distinct, creditable event.
  const { account, paymentIntents } = await createStripeTopUps(options.sql, { count: 40_000, amount, currency, run });
  const deliveries = signedSucceededDeliveries(paymentIntents, { amount, currency, secret: options.env.STRIPE_WEBHOOK_SECRET });
  let next = 0;
  const webhook = await load({
    url: `${options.functionsUrl}/stripe-webhook`,
    duration: options.seconds,
    requests: [{
      setupRequest: (request) => {
        const delivery = deliveries[next++ % deliveries.length];
        const from = stripeAddresses[next % stripeAddresses.length];
        return {
          ...request,
          method: "POST",
          body: delivery.body,
          headers: { "content-type": "application/json", "stripe-signature": delivery.signature, "x-forwarded-for": from },
        };
      },
    }],
  });
  if (next > deliveries.length) throw new Error(`the webhook run needed more than ${deliveries.length} prepared deliveries; raise the count`);
  const credits = await creditedPayments(options.sql, account);
  if (webhook.non2xx > 0) throw new Error(`${webhook.non2xx} of ${webhook.requests} webhook deliveries were not answered 2xx`);
  // autocannon stops at the deadline with deliveries still in flight: those may be credited
  // without being counted as answered. So every answered delivery is credited, and no more
  // credits exist than distinct deliveries sent.
  if (credits < webhook.requests) throw new Error(`${webhook.requests} deliveries answered 2xx but only ${credits} credits were made`);
  if (credits > next) throw new Error(`${credits} credits for ${next} distinct deliveries: a delivery was credited twice`);

  const http = await helloWorldCeiling(options.seconds);
  const workDir = mkdtempSync(join(tmpdir(), "mfuko-webhook-bench-"));
  let database;
  try {
    const script = join(workDir, "deposit.sql");
    writeFileSync(script, `select public.wallet_deposit('${account}'::uuid, 1, '${currency}', 'stripe', 'bench-deposit-' || gen_random_uuid()::text);\n`);
    database = await runPgbench({ dbUrl: options.dbUrl, role: "service_role", clients: 8, seconds: options.seconds, script, workDir });
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  return {
    title: "4. Webhook ingestion: signed Stripe payment_intent.succeeded",
    figures: [
      { name: `webhook requests/s (${connections} connections)`, value: webhook.requestsPerSecond, unit: "1/s" },
      { name: "webhook p50", value: webhook.p50Ms, unit: "ms" },
      { name: "webhook p99", value: webhook.p99Ms, unit: "ms" },
      { name: "webhook deliveries, all credited once", value: webhook.requests, unit: "" },
      { name: `HTTP ceiling: Deno.serve hello-world requests/s (${connections} connections)`, value: http.requestsPerSecond, unit: "1/s" },
      { name: "database ceiling: wallet_deposit/s (pgbench, 8 clients)", value: database.tps, unit: "1/s" },
    ],
    ratios: [],
    notes: [
      `Webhook / HTTP ceiling: ${(webhook.requestsPerSecond / http.requestsPerSecond).toFixed(3)}; webhook / database ceiling: ${(webhook.requestsPerSecond / database.tps).toFixed(3)}. These ratios show where the time goes.`,
      `Each delivery: rate-limit call (Postgres limiter, keyed by provider and address, ${stripeAddresses.length} addresses as Stripe's pool), Stripe signature check, store-then-apply transaction (event row, payment row, wallet credit, audit rows).`,
    ],
  };
}
