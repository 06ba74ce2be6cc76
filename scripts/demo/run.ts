// `npm run demo`: a narrated walk through mfuko against a running `npm start`, through the real
// endpoints. Webhooks are signed the way each provider signs them; what a frontend does with
// supabase.rpc(...) runs the way PostgREST runs it (role authenticated, the user's claims).
// MoMo's, Stripe's and the WhatsApp Graph APIs are the test stand-ins, started on the ports
// MOMO_API_BASE_URL, STRIPE_API_BASE_URL and WHATSAPP_API_BASE_URL name, so those ports must be free.
//   MFUKO_FUNCTIONS_URL (default http://127.0.0.1:54321/functions/v1), the database from the
//   functions' env file (SUPABASE_DB_URL).
import postgres from "postgres";
import Stripe from "stripe";
import { exitWithError } from "@mfuko/local-stack/cli-output";
import { readEnvFile } from "@mfuko/local-stack/env-file";
import { functionsEnvFile } from "@mfuko/local-stack/functions-server";
import { StackError } from "@mfuko/local-stack/stack-error";
import { TokenMinter } from "@mfuko/local-stack/tokens";
import { startMomoStandIn, startStripeStandIn } from "../../supabase/tests/support/provider-standins.ts";
import { startDemoGraphApi, whatsAppConversation } from "./whatsapp.ts";

const env = { ...readEnvFile(functionsEnvFile()), ...process.env } as Record<string, string>;
const functionsUrl = process.env.MFUKO_FUNCTIONS_URL ?? "http://127.0.0.1:54321/functions/v1";
const run = Date.now().toString(36);
const alice = { id: "11111111-1111-4111-8111-111111111111", email: "alice@mfuko.test" };
const bob = { id: "22222222-2222-4222-8222-222222222222", email: "bob@mfuko.test" };
const admin = { id: "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", email: "admin@mfuko.test", appMetadata: { role: "admin" } };

const say = (text: string) => console.log(`\n${text}`);
const show = (text: string) => console.log(`   ${text}`);
const money = (minor: number | string) => (Number(minor) / 100).toFixed(2);

async function main(): Promise<void> {
  const health = await fetch(`${functionsUrl}/health/ready`).catch(() => null);
  if (!health?.ok) throw new StackError(`no healthy stack at ${functionsUrl}: start it with \`npm start\` and run the demo again.`);
  const sql = postgres(env.SUPABASE_DB_URL, { max: 2, onnotice: () => {} });
  const momo = await startMomoStandIn({
    port: Number(new URL(env.MOMO_API_BASE_URL).port),
    subscriptionKey: env.MOMO_SUBSCRIPTION_KEY,
    disbursementSubscriptionKey: env.MOMO_DISBURSEMENT_SUBSCRIPTION_KEY,
    apiUser: env.MOMO_API_USER,
    apiKey: env.MOMO_API_KEY,
    targetEnvironment: env.MOMO_TARGET_ENVIRONMENT,
  });
  // The card top-up and its refund go to Stripe's API at STRIPE_API_BASE_URL, the port the stack's env names.
  const stripe = await startStripeStandIn({ port: Number(new URL(env.STRIPE_API_BASE_URL).port), secretKey: env.STRIPE_SECRET_KEY })
    .catch(async (error) => {
      await momo.close();
      throw error;
    });
  // WhatsApp messages go to the Graph API at WHATSAPP_API_BASE_URL, the port the stack's env names.
  const graph = await startDemoGraphApi(env).catch(async (error) => {
    await Promise.all([momo.close(), stripe.close()]);
    throw error;
  });
  const tokens = new TokenMinter(env.SUPABASE_JWT_SECRET);
  const adminToken = await tokens.user(admin);
  try {
    // What supabase-js does for a signed-in user: PostgREST runs the call as `authenticated`
    // with the user's JWT claims, so the function sees auth.uid() and RLS applies.
    const asUser = <T>(user: { id: string; email: string }, query: (tx: postgres.TransactionSql) => Promise<T>) =>
      sql.begin(async (tx) => {
        await tx`set local role authenticated`;
        await tx`select set_config('request.jwt.claims', ${
          JSON.stringify({ sub: user.id, email: user.email, role: "authenticated" })
        }, true)`;
        return query(tx);
      }) as Promise<T>;
    // Each request of the demo is a new one: its own Idempotency-Key.
    let requests = 0;
    const call = async (token: string, path: string, payload?: unknown) => {
      const response = await fetch(
        `${functionsUrl}${path}`,
        payload === undefined ? { headers: { authorization: `Bearer ${token}` } } : {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "idempotency-key": `demo-${run}-${++requests}` },
          body: JSON.stringify(payload),
        },
      );
      const body = await response.json();
      if (!response.ok) throw new Error(`${path} answered ${response.status}: ${JSON.stringify(body)}`);
      return body;
    };
    const account = (id: string) => call(adminToken, `/admin/accounts/${id}`);
    const balance = async (id: string) => (await account(id)).balance;
    const adminPost = (path: string, payload: unknown) => call(adminToken, `/admin${path}`, payload);
    // What the user's app does: the payments function with her access token.
    const userPost = async (user: typeof alice, path: string, payload: unknown) =>
      call(await tokens.user(user), `/payments${path}`, payload);
    const userGet = async (user: typeof alice, path: string) => call(await tokens.user(user), `/payments${path}`);

    say("1. Alice and Bob open USD wallets (supabase.rpc('wallet_open_account'), as each of them).");
    const [aliceAccount] = await asUser(alice, (tx) => tx<{ id: string }[]>`select id from public.wallet_open_account('USD')`);
    const [bobAccount] = await asUser(bob, (tx) => tx<{ id: string }[]>`select id from public.wallet_open_account('USD')`);
    show(`Alice ${aliceAccount.id}: ${money(await balance(aliceAccount.id))} USD`);
    show(`Bob   ${bobAccount.id}: ${money(await balance(bobAccount.id))} USD`);

    say(
      "2. Alice tops up 50.00 USD with a card (POST /payments/topups): Stripe creates the PaymentIntent, her card is charged, Stripe's webhook credits her.",
    );
    const cardTopUp = await userPost(alice, "/topups", { provider: "stripe", account_id: aliceAccount.id, amount: 5000, currency: "USD" });
    const [created] = [...stripe.paymentIntents.values()].filter((pi) =>
      (pi.metadata as Record<string, string>).intent_id === cardTopUp.intent.id
    );
    const paymentIntent = created!.id as string;
    show(
      `POST /payments/topups -> intent ${cardTopUp.intent.id} ${cardTopUp.intent.status}, Stripe ${paymentIntent}, next: ${cardTopUp.next_action.type}`,
    );
    // Her app confirms the card payment with the client_secret (Stripe.js); Stripe charges it.
    const event = JSON.stringify({
      id: `evt_demo${run}`,
      object: "event",
      type: "payment_intent.succeeded",
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      data: { object: stripe.confirm(paymentIntent) },
    });
    const deliver = () =>
      fetch(`${functionsUrl}/stripe-webhook`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "stripe-signature": Stripe.webhooks.generateTestHeaderString({ payload: event, secret: env.STRIPE_WEBHOOK_SECRET }),
        },
        body: event,
      });
    show(`POST /stripe-webhook payment_intent.succeeded -> ${(await deliver()).status}`);
    show(`Alice: ${money(await balance(aliceAccount.id))} USD`);

    say("3. Stripe delivers the same event again (it retries): answered 200, nothing changes.");
    show(`POST /stripe-webhook (duplicate) -> ${(await deliver()).status}`);
    show(`Alice: ${money(await balance(aliceAccount.id))} USD`);

    say("4. Alice pays Bob 12.50 USD (supabase.rpc('wallet_transfer'), as Alice: only from her own account).");
    await asUser(
      alice,
      (tx) =>
        tx`select 1 from public.wallet_transfer(${aliceAccount.id}::uuid, ${bobAccount.id}::uuid, 1250, 'USD', ${`demo-${run}-pay-bob`}, 'Lunch')`,
    );
    show(`Alice: ${money(await balance(aliceAccount.id))} USD, Bob: ${money(await balance(bobAccount.id))} USD`);

    say("5. Alice tops up 20.00 USD with MTN MoMo (POST /payments/topups); she approves on her phone, MoMo calls back.");
    const momoTopUp = await userPost(alice, "/topups", {
      provider: "momo",
      account_id: aliceAccount.id,
      amount: 2000,
      currency: "USD",
      msisdn: "256772123456",
    });
    show(`POST /payments/topups -> intent ${momoTopUp.intent.id} ${momoTopUp.intent.status}, next: ${momoTopUp.next_action.type}`);
    // The intent id is MoMo's X-Reference-Id; mfuko confirms the callback's status with MoMo's API.
    show(`MoMo callback -> ${await momo.decide(momoTopUp.intent.id, "SUCCESSFUL")}`);
    show(`Alice: ${money(await balance(aliceAccount.id))} USD`);

    say("6. Alice cashes out 15.00 USD to her MoMo number (POST /payments/cashouts): held, then paid when MoMo confirms.");
    const { cashout } = await userPost(alice, "/cashouts", {
      account_id: aliceAccount.id,
      amount: 1500,
      currency: "USD",
      msisdn: "256772123456",
    });
    show(`POST /payments/cashouts -> cash-out ${cashout.id} ${cashout.status}`);
    const held = await account(aliceAccount.id);
    show(`Alice: ${money(held.balance)} USD, of which available ${money(held.available)} (${money(held.held)} held)`);
    const [transfer] = momo.transfers.keys();
    show(
      `MoMo callback -> ${await momo.decide(transfer!, "SUCCESSFUL")}; cash-out ${
        (await userGet(alice, `/cashouts/${cashout.id}`)).cashout.status
      }`,
    );
    show(`Alice: ${money(await balance(aliceAccount.id))} USD`);

    say("7. Two people who never used mfuko write to it on WhatsApp (signed webhooks; the replies as the Graph API received them).");
    await whatsAppConversation(graph, { env, functionsUrl, sql, momo, serviceKey: await tokens.apiKey("service_role"), show });

    say("8. An admin refunds 10.00 USD of Alice's card top-up through Stripe (POST /admin/payments/:id/refund).");
    const [card] = await sql<{ id: string }[]>`
      select id from public.payments where provider = 'stripe' and provider_payment_id = ${paymentIntent}`;
    const { refund, provider } = await adminPost(`/payments/${card!.id}/refund`, {
      amount: 1000,
      reason: "customer asked for a partial refund",
    });
    show(
      `refund ${refund.id} ${refund.status} (Stripe ${provider.refund_id} ${provider.status}), reversal ${refund.wallet_transaction_id}`,
    );
    const { entries } = await account(aliceAccount.id);
    const reversal = entries.find((entry: { transaction_id: string }) => entry.transaction_id === refund.wallet_transaction_id);
    show(`Alice's ledger: ${reversal.kind} ${money(reversal.amount)} USD (${reversal.description})`);
    show(`Alice: ${money(await balance(aliceAccount.id))} USD, Bob: ${money(await balance(bobAccount.id))} USD`);

    say("9. The audit trail of the refund, as the admin API shows it (who, as what role, from which request).");
    const audit = await fetch(`${functionsUrl}/admin/audit?table=wallet_transactions&record_id=${refund.wallet_transaction_id}`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    const trail = await audit.json();
    for (const row of trail.data) {
      show(
        `${row.occurred_at}  ${row.operation} ${row.table_name} ${row.record_id}  actor ${row.actor_id} (${row.actor_role})  correlation ${row.correlation_id}`,
      );
    }
  } finally {
    await momo.close();
    await stripe.close();
    await graph.close();
    await sql.end();
  }
  say("Done.");
}

main().catch((error) => exitWithError("demo", error));
