// Provider outage drill (docs/TESTING.md), top-ups and cash-outs: the MoMo, Stripe and Revolut
// stand-ins hang (past the functions' provider timeout) or answer 500, alternately, while
// MoMo, Stripe and Revolut top-ups and MoMo cash-outs arrive; every one of them is answered 502
// provider_unavailable. Then the providers recover and each client retries with its
// Idempotency-Key; MoMo settles each payment (its callback delivered, or lost and healed by the
// momo-poll job), Stripe sends a signed payment_intent.succeeded and Revolut completes or
// cancels each order and sends its signed webhook twice (Revolut redelivers). Every payment
// must end in its provider's final state, created at the provider once, credited once, with
// no hold left behind.
import type postgres from "postgres";
import { TokenMinter } from "@mfuko/local-stack/tokens";
import { checkLedgerInvariants } from "../../supabase/tests/support/ledger-invariants.ts";
import { shuffle } from "../lib/shuffle.ts";
import { signedSucceededDeliveries } from "../lib/stripe-deliveries.ts";
import type { DrillReport } from "./report.ts";
import { type DrillOptions, type Gateway, type GatewaySupport, withPaymentsGateway } from "./payments-gateway.ts";

const momoTopUps = 60;
const stripeTopUps = 40;
const revolutTopUps = 30;
const cashOuts = 50;
const concurrency = 32;
/** Payments settled FAILED at MoMo: every fifth (so a failure's path is exercised too). */
const failsAtMomo = (i: number) => i % 5 === 4;
/** MoMo callbacks lost (the payment then waits for momo-poll): every other one. */
const callbackLost = (i: number) => i % 2 === 1;
/** Revolut orders the customer abandons (cancelled): every fifth. */
const cancelledAtRevolut = (i: number) => i % 5 === 2;
const POLL_AFTER_SECONDS = 3600;
const MSISDN = "256772123456";
const flipEveryMs = 400;

interface Attempt {
  kind: "momo-topup" | "stripe-topup" | "revolut-topup" | "cashout";
  index: number;
  token: string;
  accountId: string;
  key: string;
  body: Record<string, unknown>;
  /** The intent or cash-out id the 502 named (and the retry must name again). */
  id?: string;
  firstStatus?: number;
  firstCode?: string;
  retryStatus?: number;
}

// Imported once the test environment is set (it reads it on import).
type WebhookRequests = typeof import("../../supabase/tests/support/webhook-requests.ts");

async function runAll<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

export function providerOutageDrill(sql: postgres.Sql, options: DrillOptions): Promise<DrillReport> {
  return withPaymentsGateway(sql, options, { JOBS_MOMO_POLL_AFTER_SECONDS: String(POLL_AFTER_SECONDS) }, async (sql, gateway, support) => {
    const requests: WebhookRequests = await import("../../supabase/tests/support/webhook-requests.ts");
    return await drill(sql, gateway, support, requests);
  });
}

/**
 * Revolut settles the orders of `attempts`: the customer pays (completed) or abandons
 * (cancelled) each, and Revolut sends the order's signed webhook, twice. Returns how many
 * deliveries were sent and how many were not answered 200.
 */
async function settleRevolutOrders(
  sql: postgres.Sql,
  gateway: Gateway,
  attempts: Attempt[],
  { revolutRequest }: WebhookRequests,
): Promise<{ delivered: number; refused: number }> {
  const orders = await sql<{ id: string; provider_ref: string }[]>`
    select id::text, provider_ref from public.payment_intents
     where id = any(${attempts.map((a) => a.id ?? crypto.randomUUID())}::uuid[]) and provider_ref is not null`;
  const orderOf = new Map(orders.map((row) => [row.id, row.provider_ref]));
  let delivered = 0;
  let refused = 0;
  await runAll(attempts.filter((a) => orderOf.has(a.id!)), async (a) => {
    const orderId = orderOf.get(a.id!)!;
    const cancelled = cancelledAtRevolut(a.index);
    if (cancelled) gateway.revolut.records.set(orderId, { ...gateway.revolut.records.get(orderId) as object, state: "cancelled" });
    else gateway.revolut.complete(orderId);
    const event = { event: cancelled ? "ORDER_CANCELLED" : "ORDER_COMPLETED", order_id: orderId, merchant_order_ext_ref: a.id };
    for (let delivery = 0; delivery < 2; delivery++) {
      const response = await fetch(revolutRequest(event, {}, { base: gateway.url }));
      await response.arrayBuffer();
      delivered++;
      if (response.status !== 200) refused++;
    }
  });
  return { delivered, refused };
}

async function drill(
  sql: postgres.Sql,
  gateway: Gateway,
  { callPayments, topUpUser }: GatewaySupport,
  requests: WebhookRequests,
): Promise<DrillReport> {
  const attempts: Attempt[] = [];
  const user = (currency: string) => topUpUser(sql, currency);
  /** `count` top-ups of one provider, each by a user of its own. */
  const addTopUps = async (
    kind: Attempt["kind"],
    count: number,
    payment: { provider: string; amount: number; currency: string; msisdn?: string },
  ) => {
    for (let i = 0; i < count; i++) {
      const u = await user(payment.currency);
      attempts.push({
        kind,
        index: i,
        token: u.token,
        accountId: u.accountId,
        key: crypto.randomUUID(),
        body: { ...payment, account_id: u.accountId },
      });
    }
  };
  await addTopUps("momo-topup", momoTopUps, { provider: "momo", amount: 7000, currency: "UGX", msisdn: MSISDN });
  await addTopUps("stripe-topup", stripeTopUps, { provider: "stripe", amount: 500, currency: "USD" });
  await addTopUps("revolut-topup", revolutTopUps, { provider: "revolut", amount: 800, currency: "EUR" });
  for (let i = 0; i < cashOuts; i++) {
    const u = await user("UGX");
    await sql.begin(async (tx) => {
      await tx`set local role service_role`;
      await tx`select public.wallet_deposit(${u.accountId}::uuid, 10000::bigint, 'UGX', 'momo', ${crypto.randomUUID()})`;
    });
    attempts.push({
      kind: "cashout",
      index: i,
      token: u.token,
      accountId: u.accountId,
      key: crypto.randomUUID(),
      body: { account_id: u.accountId, amount: 6000, currency: "UGX", msisdn: MSISDN },
    });
  }
  const path = (a: Attempt) => (a.kind === "cashout" ? "/cashouts" : "/topups");
  const send = (a: Attempt) => callPayments(gateway.url, "POST", path(a), { token: a.token, idempotencyKey: a.key, body: a.body });

  // The outage: hangs and 500s, flipping while the first attempts are in flight.
  const serverError = { status: 500, body: { code: "INTERNAL_PROCESSING_ERROR", message: "stand-in outage" } };
  let hanging = true;
  const flip = () => {
    hanging = !hanging;
    gateway.momo.requestToPayBehaviour = hanging ? "hang" : serverError;
    gateway.momo.transferBehaviour = hanging ? "hang" : serverError;
    gateway.stripe.createBehaviour = hanging ? "hang" : { status: 500, body: { error: { type: "api_error", message: "stand-in outage" } } };
    gateway.revolut.createOrderBehaviour = hanging ? "hang" : { status: 500, body: { code: "internal_error", message: "stand-in outage" } };
  };
  flip();
  const flipper = setInterval(flip, flipEveryMs);
  const outageStarted = Date.now();
  try {
    await runAll(shuffle([...attempts]), async (a) => {
      const answer = await send(a);
      a.firstStatus = answer.status;
      a.firstCode = answer.body?.error?.code;
      a.id = answer.body?.error?.details?.intent?.id ?? answer.body?.error?.details?.cashout?.id;
    });
  } finally {
    clearInterval(flipper);
  }
  const outageMs = Date.now() - outageStarted;
  gateway.momo.requestToPayBehaviour = "accept";
  gateway.momo.transferBehaviour = "accept";
  gateway.stripe.createBehaviour = "accept";
  gateway.revolut.createOrderBehaviour = "accept";

  // Recovery: every client retries with the same key.
  await runAll(shuffle([...attempts]), async (a) => {
    const answer = await send(a);
    a.retryStatus = answer.status;
    const named = answer.body?.intent?.id ?? answer.body?.cashout?.id;
    if (named !== a.id) a.id = `mismatch:${String(named)}`;
  });

  // Settlement by the providers.
  const references = new Map<string, string>();
  const cashOutIds = attempts.filter((a) => a.kind === "cashout").map((a) => a.id!);
  for (
    const row of await sql<{ id: string; reference_id: string }[]>`
    select id, reference_id::text from public.cashouts where id = any(${cashOutIds}::uuid[])`
  ) references.set(row.id, row.reference_id);
  const momoReference = (a: Attempt) => (a.kind === "cashout" ? references.get(a.id!) : a.id)!;
  const momoAttempts = attempts.filter((a) => (a.kind === "momo-topup" || a.kind === "cashout") && a.retryStatus === 201);
  let callbacksRefused = 0;
  await runAll(momoAttempts.filter((a) => !callbackLost(a.index)), async (a) => {
    const status = await gateway.momo.decide(momoReference(a), failsAtMomo(a.index) ? "FAILED" : "SUCCESSFUL");
    if (status !== 200) callbacksRefused++;
  });
  const lost = momoAttempts.filter((a) => callbackLost(a.index));
  for (const a of lost) gateway.momo.settle(momoReference(a), failsAtMomo(a.index) ? "FAILED" : "SUCCESSFUL");
  await sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    const aged = `${POLL_AFTER_SECONDS + 60} seconds`;
    await tx`update public.payment_intents set created_at = now() - ${aged}::interval, updated_at = now() - ${aged}::interval
              where id = any(${lost.filter((a) => a.kind === "momo-topup").map((a) => a.id!)}::uuid[])`;
    await tx`update public.cashouts set created_at = now() - ${aged}::interval
              where id = any(${lost.filter((a) => a.kind === "cashout").map((a) => a.id!)}::uuid[])`;
  });
  const serviceKey = await new TokenMinter(process.env.SUPABASE_JWT_SECRET!).apiKey("service_role");
  let pollRuns = 0;
  let polled = 0;
  for (let taken = -1; taken !== 0 && pollRuns < 20; pollRuns++) {
    const response = await fetch(`${gateway.url}/jobs/momo-poll`, { method: "POST", headers: { authorization: `Bearer ${serviceKey}` } });
    const body = await response.json() as { taken?: number; applied?: number };
    taken = response.status === 200 ? body.taken ?? 0 : 0;
    polled += body.applied ?? 0;
  }
  const stripeAttempts = attempts.filter((a) => a.kind === "stripe-topup");
  const stripeRefs = await sql<{ provider_ref: string }[]>`
    select provider_ref from public.payment_intents where id = any(${stripeAttempts.map((a) => a.id ?? crypto.randomUUID())}::uuid[])
       and provider_ref is not null`;
  const deliveries = signedSucceededDeliveries(stripeRefs.map((r) => r.provider_ref), {
    amount: 500,
    currency: "USD",
    secret: process.env.STRIPE_WEBHOOK_SECRET!,
  });
  let webhooksRefused = 0;
  await runAll(deliveries, async (d) => {
    const response = await fetch(`${gateway.url}/stripe-webhook`, {
      method: "POST",
      headers: { "content-type": "application/json", "stripe-signature": d.signature },
      body: d.body,
    });
    await response.arrayBuffer();
    if (response.status !== 200) webhooksRefused++;
  });

  const revolut = await settleRevolutOrders(sql, gateway, attempts.filter((a) => a.kind === "revolut-topup"), requests);

  // What must hold.
  const failures: string[] = [];
  const count = (what: string, n: number) => n > 0 && failures.push(`${n} ${what}`);
  count(
    "first attempts not answered 502 provider_unavailable",
    attempts.filter((a) => a.firstStatus !== 502 || a.firstCode !== "provider_unavailable").length,
  );
  count(
    "retries not answered 201 with the same intent or cash-out",
    attempts.filter((a) => a.retryStatus !== 201 || a.id?.startsWith("mismatch:")).length,
  );
  count("MoMo callbacks refused", callbacksRefused);
  count("Stripe webhooks refused", webhooksRefused);
  count("Revolut webhooks refused", revolut.refused);
  const expected = (a: Attempt) => {
    if (a.kind === "stripe-topup") return "succeeded";
    if (a.kind === "revolut-topup") return cancelledAtRevolut(a.index) ? "failed" : "succeeded";
    return failsAtMomo(a.index) ? "failed" : a.kind === "cashout" ? "paid" : "succeeded";
  };
  const ids = attempts.map((a) => (a.id?.startsWith("mismatch:") ? crypto.randomUUID() : a.id ?? crypto.randomUUID()));
  const rows = await sql<{ id: string; status: string; credits: number; pending_holds: number }[]>`
    select x.id::text, coalesce(i.status::text, c.status::text) as status,
           (select count(*)::int from public.wallet_transactions t where t.to_account_id = coalesce(i.account_id, c.account_id) and t.kind = 'deposit') as credits,
           (select count(*)::int from public.wallet_transactions t where t.from_account_id = coalesce(i.account_id, c.account_id) and t.status = 'pending') as pending_holds
      from unnest(${ids}::uuid[]) as x(id)
      left join public.payment_intents i on i.id = x.id
      left join public.cashouts c on c.id = x.id`;
  const byId = new Map(rows.map((r) => [r.id, r]));
  let notFinal = 0;
  let wrongCredits = 0;
  let holdsLeft = 0;
  attempts.forEach((a, i) => {
    const row = byId.get(ids[i]!);
    if (row?.status !== expected(a)) notFinal++;
    // A cash-out's account was funded by one deposit; a top-up's account by its own credit only.
    const credits = a.kind === "cashout" ? 1 : expected(a) === "succeeded" ? 1 : 0;
    if (row?.credits !== credits) wrongCredits++;
    if ((row?.pending_holds ?? 1) !== 0) holdsLeft++;
  });
  count("payments not in their provider's final state", notFinal);
  count("wallets not credited exactly once", wrongCredits);
  count("holds left pending", holdsLeft);
  const created = {
    momoRequestsToPay: gateway.momo.requestsToPay.size,
    momoTransfers: gateway.momo.transfers.size,
    stripePaymentIntents: gateway.stripe.paymentIntents.size,
    revolutOrders: gateway.revolut.createdOrders.length,
  };
  if (created.momoRequestsToPay !== momoTopUps) {
    failures.push(`${created.momoRequestsToPay} MoMo request-to-pays for ${momoTopUps} top-ups`);
  }
  if (created.momoTransfers !== cashOuts) failures.push(`${created.momoTransfers} MoMo transfers for ${cashOuts} cash-outs`);
  if (created.stripePaymentIntents !== stripeTopUps) {
    failures.push(`${created.stripePaymentIntents} Stripe PaymentIntents for ${stripeTopUps} top-ups`);
  }
  if (created.revolutOrders !== revolutTopUps) failures.push(`${created.revolutOrders} Revolut orders for ${revolutTopUps} top-ups`);
  const violations = await checkLedgerInvariants(sql);
  for (const v of violations) failures.push(`ledger invariant ${v.invariant}: ${v.detail}`);
  return {
    name:
      `Provider outage (${momoTopUps} MoMo + ${stripeTopUps} Stripe + ${revolutTopUps} Revolut top-ups, ${cashOuts} cash-outs; stand-ins hang or 500, then recover)`,
    figures: {
      "outage (ms)": outageMs,
      "first attempts answered 502 provider_unavailable":
        attempts.filter((a) => a.firstStatus === 502 && a.firstCode === "provider_unavailable").length,
      "retries answered 201": attempts.filter((a) => a.retryStatus === 201).length,
      "MoMo callbacks delivered": momoAttempts.length - lost.length,
      "MoMo callbacks lost, healed by momo-poll": polled,
      "momo-poll runs": pollRuns,
      "Stripe webhooks delivered": deliveries.length,
      "Revolut webhooks delivered (each twice)": revolut.delivered,
      "MoMo request-to-pays created": created.momoRequestsToPay,
      "MoMo transfers created": created.momoTransfers,
      "Stripe PaymentIntents created": created.stripePaymentIntents,
      "Revolut orders created": created.revolutOrders,
      "payments in their final state": attempts.length - notFinal,
      "holds left pending": holdsLeft,
      "ledger invariant violations": violations.length,
    },
    failures,
  };
}
