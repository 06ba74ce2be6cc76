// Benchmark 4 (docs/BENCHMARKS.md): signed Stripe payment_intent.succeeded deliveries through the Deno
// functions server with 64 connections (autocannon), through PgBouncer and directly (benchmark
// 8), reported against the database-only wallet_deposit rate measured in the same rounds
// (pgbench); a bare Deno.serve hello-world shows the HTTP ceiling.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import type postgres from "postgres";
import { denoExecutable, startFunctionsServer } from "@mfuko/local-stack/functions-server";
import { freePort } from "@mfuko/local-stack/ports";
import { type PgbenchRun, poolRuns, runPgbench } from "./lib/pgbench.ts";
import { type BenchmarkResult, formatNumber } from "./lib/report.ts";
import { createStripeTopUps, creditedPayments, type SignedDelivery, signedSucceededDeliveries } from "./lib/stripe-deliveries.ts";

const connections = 64;
// Stripe delivers from a published pool of about a dozen addresses; the rate-limit key is the
// provider plus the address, so the deliveries spread over that many keys, as in production.
const stripeAddresses = Array.from({ length: 12 }, (_, i) => `203.0.113.${i + 10}`);
const amount = 1_000;
const currency = "USD";
/** The cases alternate in this many rounds. */
const ROUNDS = 2;

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
  const child = spawn(denoExecutable(), [
    "eval",
    `Deno.serve({ port: ${port}, hostname: "127.0.0.1", onListen() { console.log("listening") } }, () => new Response("ok"))`,
  ], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve) => child.stdout!.once("data", () => resolve()));
  try {
    return await load({ url: `http://127.0.0.1:${port}/`, duration: seconds });
  } finally {
    child.kill("SIGTERM");
  }
}

/** The webhook's case: deliveries to one gateway for `seconds`, each a distinct creditable event. */
async function webhookLoad(functionsUrl: string, deliveries: SignedDelivery[], sent: { next: number }, seconds: number): Promise<Load> {
  return await load({
    url: `${functionsUrl}/stripe-webhook`,
    duration: seconds,
    requests: [{
      setupRequest: (request) => {
        const delivery = deliveries[sent.next++ % deliveries.length];
        const from = stripeAddresses[sent.next % stripeAddresses.length];
        return {
          ...request,
          method: "POST",
          body: delivery.body,
          headers: { "content-type": "application/json", "stripe-signature": delivery.signature, "x-forwarded-for": from },
        };
      },
    }],
  });
}

/** Loads of equal length as one: mean rate, summed counts, the worse of their percentiles. */
function poolLoads(loads: Load[]): Load {
  return {
    requestsPerSecond: loads.reduce((sum, l) => sum + l.requestsPerSecond, 0) / loads.length,
    p50Ms: Math.max(...loads.map((l) => l.p50Ms)),
    p99Ms: Math.max(...loads.map((l) => l.p99Ms)),
    requests: loads.reduce((sum, l) => sum + l.requests, 0),
    non2xx: loads.reduce((sum, l) => sum + l.non2xx, 0),
  };
}

export async function runWebhookIngestion(options: WebhookBenchOptions): Promise<BenchmarkResult> {
  const run = Date.now().toString(36);
  // More intents than the runs can use, so that every delivery is a distinct, creditable event.
  const { account, paymentIntents } = await createStripeTopUps(options.sql, { count: 40_000, amount, currency, run });
  const deliveries = signedSucceededDeliveries(paymentIntents, { amount, currency, secret: options.env.STRIPE_WEBHOOK_SECRET });
  const sent = { next: 0 };
  // The stack's gateway reaches the database through PgBouncer; a second one, otherwise the
  // same, connects to it directly.
  const direct = await startFunctionsServer({
    port: await freePort(),
    env: { ...options.env, SUPABASE_DB_URL: options.dbUrl },
    output: "ignore",
  });
  const workDir = mkdtempSync(join(tmpdir(), "mfuko-webhook-bench-"));
  const pooledLoads: Load[] = [];
  const directLoads: Load[] = [];
  const databaseRuns: PgbenchRun[] = [];
  const roundSeconds = Math.max(1, Math.round(options.seconds / ROUNDS));
  try {
    const script = join(workDir, "deposit.sql");
    writeFileSync(
      script,
      `select public.wallet_deposit('${account}'::uuid, 1, '${currency}', 'stripe', 'bench-deposit-' || gen_random_uuid()::text);\n`,
    );
    // The three cases alternate, so that the machine's drift falls on each alike.
    for (let round = 0; round < ROUNDS; round++) {
      pooledLoads.push(await webhookLoad(options.functionsUrl, deliveries, sent, roundSeconds));
      directLoads.push(await webhookLoad(`${direct.url}`, deliveries, sent, roundSeconds));
      databaseRuns.push(
        await runPgbench({ dbUrl: options.dbUrl, role: "service_role", clients: 8, seconds: roundSeconds, script, workDir }),
      );
    }
  } finally {
    await direct.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
  if (sent.next > deliveries.length) {
    throw new Error(`the webhook runs needed more than ${deliveries.length} prepared deliveries; raise the count`);
  }
  const webhook = poolLoads(pooledLoads);
  const webhookDirect = poolLoads(directLoads);
  const database = poolRuns(databaseRuns);
  const answered = webhook.requests + webhookDirect.requests;
  const failed = webhook.non2xx + webhookDirect.non2xx;
  if (failed > 0) throw new Error(`${failed} of ${answered} webhook deliveries were not answered 2xx`);
  // autocannon stops at the deadline with deliveries still in flight: those may be credited
  // without being counted as answered. So every answered delivery is credited, and no more
  // credits exist than distinct deliveries sent.
  const credits = await creditedPayments(options.sql, account);
  if (credits < answered) throw new Error(`${answered} deliveries answered 2xx but only ${credits} credits were made`);
  if (credits > sent.next) throw new Error(`${credits} credits for ${sent.next} distinct deliveries: a delivery was credited twice`);

  const http = await helloWorldCeiling(options.seconds);
  const rate = (value: number) => `${formatNumber(value)}/s`;
  const limitedBy =
    "A payment success is one statement (webhook_ingest_payment_success, its own transaction) on one of the gateway's DB_POOL_MAX connections, and the Postgres limiter's hit one more (hosted, the limiter is Upstash, outside the database); each is two round trips (postgres.js describes an unnamed statement's parameters before binding them, and prepared statements are not available behind a transaction pooler). Sampling pg_stat_activity under this load, the deliveries' statements mostly wait for the WAL flush of their commits (LWLock:WALWrite, IO:WALSync), run on the CPU, or wait for the function to bind them after the describe (Client:ClientRead); row-lock waits are rare. Called in turn on one connection, a delivery's statement costs the server about 3 times a wallet_deposit's CPU and writes about 4 times its WAL: beyond the deposit it writes the event row (once, with its outcome), the payment row and the intent's update, each with an audit.log row (the three together about a third of the WAL; the intent's holds its old and new images) and their indexes. A pool of 20 or 32 connections instead of 10 gave no more deliveries per second: the statements would share the same CPU and WAL flushes. The next direction, by these figures: fewer and smaller audit images per delivery (the event row and the intent's status change), and the function's CPU per request (the signature's HMAC, the log line).";
  return {
    title: "4. Webhook ingestion: signed Stripe payment_intent.succeeded",
    figures: [
      { name: `webhook through PgBouncer requests/s (${connections} connections)`, value: webhook.requestsPerSecond, unit: "1/s" },
      { name: "webhook through PgBouncer p50", value: webhook.p50Ms, unit: "ms" },
      { name: "webhook through PgBouncer p99", value: webhook.p99Ms, unit: "ms" },
      { name: `webhook direct requests/s (${connections} connections)`, value: webhookDirect.requestsPerSecond, unit: "1/s" },
      { name: "webhook direct p50", value: webhookDirect.p50Ms, unit: "ms" },
      { name: "webhook direct p99", value: webhookDirect.p99Ms, unit: "ms" },
      { name: "webhook deliveries, all credited once", value: answered, unit: "" },
      { name: "database-only rate: wallet_deposit/s (pgbench, 8 clients)", value: database.tps, unit: "1/s" },
      { name: `HTTP ceiling: Deno.serve hello-world requests/s (${connections} connections)`, value: http.requestsPerSecond, unit: "1/s" },
    ],
    ratios: [
      {
        name: "webhook (through PgBouncer) / database-only wallet_deposit rate",
        value: webhook.requestsPerSecond / database.tps,
        target: 0.6,
        measured: rate(webhook.requestsPerSecond),
        baseline: `wallet_deposit: ${rate(database.tps)}`,
        limitedBy,
      },
      {
        name: "webhook p99 (ms, through PgBouncer)",
        value: webhook.p99Ms,
        target: 250,
        atMost: true,
        measured: `${formatNumber(webhook.p99Ms)} ms`,
        limitedBy,
      },
      {
        name: "webhook through PgBouncer / direct",
        value: webhook.requestsPerSecond / webhookDirect.requestsPerSecond,
        measured: rate(webhook.requestsPerSecond),
        baseline: `direct: ${rate(webhookDirect.requestsPerSecond)}`,
      },
    ],
    notes: [
      `The gateway of the test stack reaches the database through PgBouncer in transaction mode, as the functions reach Supavisor in production; a second gateway, otherwise the same, connects directly. The two webhook cases and the database-only wallet_deposit run (pgbench, 8 clients, as service_role) alternate in ${ROUNDS} rounds of ${roundSeconds} s and are pooled per case (mean rate; the worst round's percentiles). Webhook / HTTP ceiling: ${
        (webhook.requestsPerSecond / http.requestsPerSecond).toFixed(3)
      }.`,
      `Each delivery: rate-limit call (Postgres limiter, one statement on an unlogged table, keyed by provider and address, ${stripeAddresses.length} addresses as Stripe's pool), Stripe signature check, webhook_ingest_payment_success (one statement: payment row, wallet credit, the event row stored with its outcome, audit rows).`,
    ],
  };
}
