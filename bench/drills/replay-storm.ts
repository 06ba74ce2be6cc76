// Replay storm drill (docs/TESTING.md): 1,000 Stripe events, each delivered 5 times, all at once
// and shuffled (so later copies often arrive before earlier ones finish). Exactly 1,000 ledger
// credits may result, and no delivery may be answered 5xx.
import type postgres from "postgres";
import { shuffle } from "../lib/shuffle.ts";
import { createStripeTopUps, creditedPayments, signedSucceededDeliveries } from "../lib/stripe-deliveries.ts";
import type { DrillReport } from "./report.ts";

const events = 1_000;
const copies = 5;
const concurrency = 48;
const amount = 500;
const currency = "USD";

export async function replayStormDrill(sql: postgres.Sql, options: { functionsUrl: string; webhookSecret: string }): Promise<DrillReport> {
  const run = crypto.randomUUID().slice(0, 8);
  const { account, paymentIntents } = await createStripeTopUps(sql, { count: events, amount, currency, run });
  const deliveries = shuffle(
    signedSucceededDeliveries(paymentIntents, { amount, currency, secret: options.webhookSecret }).flatMap((d) => Array(copies).fill(d)),
  );
  const statuses = new Map<number, number>();
  let next = 0;
  const sender = async () => {
    while (next < deliveries.length) {
      const delivery = deliveries[next++];
      const response = await fetch(`${options.functionsUrl}/stripe-webhook`, {
        method: "POST",
        headers: { "content-type": "application/json", "stripe-signature": delivery.signature },
        body: delivery.body,
      });
      await response.arrayBuffer();
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, sender));

  const credits = await creditedPayments(sql, account);
  // The account row plus its balance shards: a busy account's credits land in shards.
  const [{ balance }] = await sql<{ balance: string }[]>`select balance from public.wallet_account_balances where account_id = ${account}`;
  const fiveHundreds = [...statuses].filter(([status]) => status >= 500).reduce((sum, [, count]) => sum + count, 0);
  const failures: string[] = [];
  if (credits !== events) failures.push(`${credits} credits for ${events} events (${credits > events ? "duplicates" : "lost credits"})`);
  if (Number(balance) !== events * amount) failures.push(`balance ${balance}, expected ${events * amount}`);
  if (fiveHundreds > 0) failures.push(`${fiveHundreds} deliveries answered 5xx`);
  const others = [...statuses].filter(([status]) => status !== 200 && status < 500);
  for (const [status, count] of others) failures.push(`${count} deliveries answered ${status}`);
  return {
    name: "Replay storm (1,000 Stripe events x 5, concurrent and shuffled)",
    figures: {
      "requests sent": deliveries.length,
      "answered 200": statuses.get(200) ?? 0,
      "5xx": fiveHundreds,
      "ledger credits (effects)": credits,
      "expected effects": events,
    },
    failures,
  };
}
