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

/**
 * One signed payment_intent.succeeded event per PaymentIntent (event id derived from it), with
 * every field of Stripe's documented PaymentIntent object and event envelope, as Stripe sends
 * them: the payload's size, and its client_secret, which the function drops (storablePayload)
 * and the database would scrub from what it stores, are part of what a delivery costs.
 */
export function signedSucceededDeliveries(
  paymentIntents: string[],
  options: { amount: number; currency: string; secret: string },
): SignedDelivery[] {
  const created = Math.floor(Date.now() / 1000);
  return paymentIntents.map((pi, n) => {
    const body = JSON.stringify({
      id: `evt_${pi.slice(3)}`,
      object: "event",
      api_version: "2025-03-31.basil",
      created,
      data: { object: succeededPaymentIntent(pi, n, created, options) },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: `topup-${pi}` },
      type: "payment_intent.succeeded",
    });
    return { body, signature: Stripe.webhooks.generateTestHeaderString({ payload: body, secret: options.secret }) };
  });
}

/** A succeeded card PaymentIntent as Stripe's API reference shows the object, every field present. */
function succeededPaymentIntent(pi: string, n: number, created: number, options: { amount: number; currency: string }) {
  return {
    id: pi,
    object: "payment_intent",
    amount: options.amount,
    amount_capturable: 0,
    amount_details: { tip: {} },
    amount_received: options.amount,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: { allow_redirects: "never", enabled: true },
    canceled_at: null,
    cancellation_reason: null,
    capture_method: "automatic_async",
    client_secret: `${pi}_secret_${n.toString(36).padStart(25, "q")}`,
    confirmation_method: "automatic",
    created,
    currency: options.currency.toLowerCase(),
    customer: null,
    description: null,
    invoice: null,
    last_payment_error: null,
    latest_charge: `ch_${pi.slice(3)}`,
    livemode: false,
    metadata: {},
    next_action: null,
    on_behalf_of: null,
    payment_method: `pm_${pi.slice(3)}`,
    payment_method_configuration_details: { id: "pmc_1MfukoBenchConfiguration", parent: null },
    payment_method_options: {
      card: { installments: null, mandate_options: null, network: null, request_three_d_secure: "automatic" },
      link: { persistent_token: null },
    },
    payment_method_types: ["card", "link"],
    processing: null,
    receipt_email: null,
    review: null,
    setup_future_usage: null,
    shipping: null,
    source: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: "succeeded",
    transfer_data: null,
    transfer_group: null,
  };
}

/** How many payments credited the account (each with its ledger transaction). */
export async function creditedPayments(sql: postgres.Sql, account: string): Promise<number> {
  const [{ credits }] = await sql<{ credits: number }[]>`
    select count(*)::int as credits from public.payments p join public.wallet_transactions t on t.id = p.wallet_transaction_id
    where t.to_account_id = ${account}`;
  return credits;
}
