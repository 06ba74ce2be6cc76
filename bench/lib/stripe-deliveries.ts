// Stripe top-ups for the webhook benchmark and drills: intents attached to PaymentIntent ids
// (made in bulk through the payment functions), and their payment_intent.succeeded deliveries
// signed with the webhook secret exactly as Stripe signs them.
import type postgres from "postgres";
import Stripe from "stripe";
import { createUserWithAccount } from "../../supabase/tests/support/payments-fixtures.ts";

export interface StripeTopUps {
  account: string;
  paymentIntents: string[];
}

export interface SignedDelivery {
  body: string;
  signature: string;
}

/** Intents created per statement by createStripeTopUps. */
const TOP_UPS_PER_STATEMENT = 2_000;

/** One user account with `count` intents of `amount` each, attached to `pi_<run>x<n>`. */
export async function createStripeTopUps(
  sql: postgres.Sql,
  options: { count: number; amount: number; currency: string; run: string },
): Promise<StripeTopUps> {
  const { accountId: account } = await createUserWithAccount(sql, options.currency);
  const paymentIntents = Array.from({ length: options.count }, (_, i) => `pi_${options.run}x${i}`);
  // In parts, with the table analyzed after the first: the payment functions keep their plans
  // for the session, and plans made while payment_intents was analyzed empty read the whole
  // table for each intent (60,000 intents in one statement took over ten minutes).
  for (let start = 0; start < paymentIntents.length; start += TOP_UPS_PER_STATEMENT) {
    await sql.begin(async (tx) => {
      await tx`set local role service_role`;
      await tx`
        select public.payment_intent_attach(
          (public.payment_intent_create('stripe', ${account}::uuid, ${options.amount}::bigint, ${options.currency}, 'topup-' || pi)).id, pi)
        from unnest(${paymentIntents.slice(start, start + TOP_UPS_PER_STATEMENT)}::text[]) as pi`;
    });
    if (start === 0) await sql`analyze public.payment_intents`;
  }
  return { account, paymentIntents };
}

/** One signed payment_intent.succeeded event per PaymentIntent (event id derived from it). */
export function signedSucceededDeliveries(
  paymentIntents: string[],
  options: { amount: number; currency: string; secret: string },
): SignedDelivery[] {
  return paymentIntents.map((pi) => {
    const body = JSON.stringify({
      id: `evt_${pi.slice(3)}`,
      object: "event",
      type: "payment_intent.succeeded",
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      data: {
        object: {
          id: pi,
          object: "payment_intent",
          amount: options.amount,
          amount_received: options.amount,
          currency: options.currency.toLowerCase(),
          status: "succeeded",
          metadata: {},
        },
      },
    });
    return { body, signature: Stripe.webhooks.generateTestHeaderString({ payload: body, secret: options.secret }) };
  });
}

/** How many payments credited the account (each with its ledger transaction). */
export async function creditedPayments(sql: postgres.Sql, account: string): Promise<number> {
  const [{ credits }] = await sql<{ credits: number }[]>`
    select count(*)::int as credits from public.payments p join public.wallet_transactions t on t.id = p.wallet_transaction_id
    where t.to_account_id = ${account}`;
  return credits;
}
