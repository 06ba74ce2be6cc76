// The webhook benchmark's yardstick: the least a Stripe webhook can do and still credit a
// payment once, served by Deno as the functions are. It checks Stripe-Signature over the raw
// body with the official library, then runs exactly the statement of the database-only rate,
// wallet_deposit keyed by the PaymentIntent id (a repeated delivery credits nothing), on the
// functions' own database client (same pool size, same pooler). It stores no event, records
// no payment, limits no rate, writes no log line and answers no error in detail. Whatever share
// of the database rate it reaches on a machine, no webhook that must do all of that can pass.
// Usage: deno run --allow-net --allow-env --allow-read --config=supabase/functions/deno.json
//        bench/deno/minimal-webhook.ts <port> <account id>   (env: SUPABASE_DB_URL,
//        STRIPE_WEBHOOK_SECRET); prints "listening" once it accepts connections.
import Stripe from "stripe";
import { createSql } from "../../supabase/functions/_shared/db.ts";

const [port, account] = Deno.args;
const secret = Deno.env.get("STRIPE_WEBHOOK_SECRET");
if (!port || !account || !secret) throw new Error("usage: minimal-webhook.ts <port> <account id>, with STRIPE_WEBHOOK_SECRET set");
const sql = createSql();
const cryptoProvider = Stripe.createSubtleCryptoProvider();

Deno.serve({ port: Number(port), hostname: "127.0.0.1", onListen: () => console.log("listening") }, async (request) => {
  const body = new Uint8Array(await request.arrayBuffer());
  let event: Stripe.Event;
  try {
    event = await Stripe.webhooks.constructEventAsync(body, request.headers.get("stripe-signature") ?? "", secret, 300, cryptoProvider);
  } catch {
    return new Response(null, { status: 400 });
  }
  const intent = event.data.object as Stripe.PaymentIntent;
  await sql`select public.wallet_deposit(${account}::uuid, ${intent.amount_received}::bigint, ${intent.currency.toUpperCase()},
                                         'stripe', ${`payment:stripe:${intent.id}`})`;
  return Response.json({ received: true });
});
