// Refund outage drill (docs/TESTING.md), Revolut and Stripe refunds: an admin refunds credited
// top-ups while their provider hangs (past the functions' provider timeout), answers 500, or
// makes the refund and loses its answer, a third of each provider's refunds each. Every refund
// is answered 502 provider_unavailable and stays pending, its amount reserved, and the admin
// never retries. The providers recover, and revolut-poll and stripe-poll find the refunds the
// providers made and send the requests they never received again, with their keys. Every refund
// must end succeeded, every wallet debited once, and each provider must hold one refund per
// refund request.
import type postgres from "postgres";
import { adminRequest, answerOf, createStaff } from "../../supabase/tests/support/admin-fixtures.ts";
import { checkLedgerInvariants } from "../../supabase/tests/support/ledger-invariants.ts";
import { type Behaviour, stripeError } from "../../supabase/tests/support/provider-standins.ts";
import type { DrillReport } from "./report.ts";
import { type DrillOptions, type Gateway, type GatewaySupport, withPaymentsGateway } from "./payments-gateway.ts";

const perOutage = 10;
const TOP_UP = 800;
const REFUND = 500;
const POLL_AFTER_SECONDS = 3600;

// Imported once the test environment is set (it reads it on import).
type WebhookRequests = typeof import("../../supabase/tests/support/webhook-requests.ts");

/** One provider as the drill uses it. */
interface RefundProvider {
  name: "revolut" | "stripe";
  /** How the provider fails an admin's refund request during the outage, a third of the refunds each. */
  outages: { name: string; behaviour: Behaviour | "accept-silently" }[];
  /** A top-up the customer paid, credited through the provider's signed webhook: our payment's id. */
  creditedTopUp(): Promise<string>;
  /** Sets how the provider answers a refund request. */
  answerRefunds(behaviour: Behaviour | "accept-silently"): void;
  /** The refund request id of every refund the provider made. */
  refundRequests(): (string | undefined)[];
}

interface Refunded {
  provider: RefundProvider["name"];
  outage: string;
  paymentId: string;
  status?: number;
  code?: string;
}

export function refundOutageDrill(sql: postgres.Sql, options: DrillOptions): Promise<DrillReport> {
  const pollAfter = String(POLL_AFTER_SECONDS);
  return withPaymentsGateway(
    sql,
    options,
    { JOBS_REVOLUT_POLL_AFTER_SECONDS: pollAfter, JOBS_STRIPE_POLL_AFTER_SECONDS: pollAfter },
    async (sql, gateway, support) => {
      const requests: WebhookRequests = await import("../../supabase/tests/support/webhook-requests.ts");
      return await drill(sql, gateway, [revolut(sql, gateway, support, requests), stripe(sql, gateway, support, requests)]);
    },
  );
}

/** Delivers a provider's signed webhook to the gateway; throws unless it is answered 200. */
async function deliver(request: Request): Promise<void> {
  const response = await fetch(request);
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`a signed webhook answered ${response.status}`);
}

async function paymentOf(sql: postgres.Sql, provider: string, providerPaymentId: string): Promise<string> {
  const [payment] = await sql<{ id: string }[]>`
    select id from public.payments where provider = ${provider} and provider_payment_id = ${providerPaymentId}`;
  return payment!.id;
}

function revolut(
  sql: postgres.Sql,
  gateway: Gateway,
  { waitingTopUp }: GatewaySupport,
  { revolutRequest }: WebhookRequests,
): RefundProvider {
  return {
    name: "revolut",
    outages: [
      { name: "no answer", behaviour: "hang" },
      { name: "500", behaviour: { status: 500, body: { code: "internal_error", message: "stand-in outage" } } },
      { name: "refund made, answer lost", behaviour: "accept-silently" },
    ],
    async creditedTopUp() {
      const topUp = await waitingTopUp(sql, gateway, "revolut", "EUR", TOP_UP);
      gateway.revolut.complete(topUp.providerRef);
      await deliver(revolutRequest({ event: "ORDER_COMPLETED", order_id: topUp.providerRef }, {}, { base: gateway.url }));
      return await paymentOf(sql, "revolut", topUp.providerRef);
    },
    answerRefunds: (behaviour) => gateway.revolut.refundBehaviour = behaviour,
    refundRequests: () =>
      gateway.revolut.refundOrders.map((order) => (order.merchant_order_data as { reference?: string } | undefined)?.reference),
  };
}

function stripe(
  sql: postgres.Sql,
  gateway: Gateway,
  { waitingTopUp }: GatewaySupport,
  { stripePaymentSucceeded, stripeRequest }: WebhookRequests,
): RefundProvider {
  return {
    name: "stripe",
    outages: [
      { name: "no answer", behaviour: "hang" },
      { name: "500", behaviour: { status: 500, body: stripeError("api_error", undefined, "stand-in outage") } },
      { name: "refund made, answer lost", behaviour: "accept-silently" },
    ],
    async creditedTopUp() {
      const topUp = await waitingTopUp(sql, gateway, "stripe", "USD", TOP_UP);
      gateway.stripe.confirm(topUp.providerRef);
      const succeeded = stripePaymentSucceeded(topUp.providerRef, TOP_UP, { metadata: { intent_id: topUp.intentId } });
      await deliver(stripeRequest(succeeded, {}, { base: gateway.url }));
      return await paymentOf(sql, "stripe", topUp.providerRef);
    },
    answerRefunds: (behaviour) => gateway.stripe.refundBehaviour = behaviour,
    refundRequests: () =>
      [...gateway.stripe.refunds.values()].map((refund) =>
        (refund.metadata as { refund_request_id?: string } | undefined)?.refund_request_id
      ),
  };
}

async function drill(sql: postgres.Sql, gateway: Gateway, providers: RefundProvider[]): Promise<DrillReport> {
  const { admin } = await createStaff(sql, process.env.SUPABASE_JWT_SECRET!);
  const refunds: Refunded[] = [];
  for (const provider of providers) {
    for (const outage of provider.outages) {
      for (let i = 0; i < perOutage; i++) {
        refunds.push({ provider: provider.name, outage: outage.name, paymentId: await provider.creditedTopUp() });
      }
    }
  }

  // The outage: each kind of failure for its third of a provider's refunds, those refunds asked at once.
  for (const provider of providers) {
    for (const outage of provider.outages) {
      provider.answerRefunds(outage.behaviour);
      await Promise.all(
        refunds.filter((r) => r.provider === provider.name && r.outage === outage.name).map(async (refund) => {
          const answer = await answerOf(
            await fetch(adminRequest(gateway.url, "POST", `/admin/payments/${refund.paymentId}/refund`, {
              token: admin.token,
              idempotencyKey: crypto.randomUUID(),
              body: { amount: REFUND, reason: "refund outage drill" },
            })),
          );
          refund.status = answer.status;
          refund.code = answer.body?.error?.code;
        }),
      );
    }
    provider.answerRefunds("accept");
  }

  // Recovery, with no retry by the admin: the polls take the refunds once they wait past their mark.
  const paymentIds = refunds.map((r) => r.paymentId);
  await sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    const aged = `${POLL_AFTER_SECONDS + 60} seconds`;
    await tx`update public.refunds set created_at = now() - ${aged}::interval, updated_at = now() - ${aged}::interval
              where payment_id = any(${paymentIds}::uuid[])`;
  });
  const polled = { runs: 0, applied: 0, resent: 0, errors: 0 };
  for (const provider of providers) {
    for (let taken = -1, runs = 0; taken !== 0 && runs < 5; runs++, polled.runs++) {
      const { status, body } = await gateway.runJob(`${provider.name}-poll`);
      taken = status === 200 ? body.taken : 0;
      polled.applied += body.applied ?? 0;
      polled.resent += body.resent ?? 0;
      polled.errors += body.errors ?? 0;
    }
  }

  // What must hold.
  const failures: string[] = [];
  const count = (what: string, n: number) => n > 0 && failures.push(`${n} ${what}`);
  count(
    "refunds not answered 502 provider_unavailable during the outage",
    refunds.filter((r) => r.status !== 502 || r.code !== "provider_unavailable").length,
  );
  const rows = await sql<{ refunds: number; succeeded: number; refunded: number; balance: number }[]>`
    select (select count(*)::int from public.refunds f where f.payment_id = p.id) as refunds,
           (select count(*)::int from public.refunds f where f.payment_id = p.id and f.status = 'succeeded') as succeeded,
           p.amount_refunded::int as refunded,
           public.wallet_balance(t.to_account_id)::int as balance
      from public.payments p join public.wallet_transactions t on t.id = p.wallet_transaction_id
     where p.id = any(${paymentIds}::uuid[])`;
  count("payments without exactly one refund, succeeded", rows.filter((r) => r.refunds !== 1 || r.succeeded !== 1).length);
  count("payments whose refunded amount is not the refund's", rows.filter((r) => r.refunded !== REFUND).length);
  count("wallets not debited exactly once", rows.filter((r) => r.balance !== TOP_UP - REFUND).length);
  const made: Record<string, number> = {};
  for (const provider of providers) {
    const requests = provider.refundRequests();
    made[provider.name] = requests.length;
    count(`${provider.name} refunds without the admin's refund request`, requests.filter((id) => id === undefined).length);
    count(`${provider.name} refund requests made into more than one refund`, requests.length - new Set(requests).size);
    const asked = refunds.filter((r) => r.provider === provider.name).length;
    if (requests.length !== asked) failures.push(`${requests.length} ${provider.name} refunds for ${asked} refund requests`);
  }
  const violations = await checkLedgerInvariants(sql);
  for (const v of violations) failures.push(`ledger invariant ${v.invariant}: ${v.detail}`);
  return {
    name:
      `Refund outage (${refunds.length} refunds, Revolut's and Stripe's: the provider hangs, answers 500 or loses its answer; no admin retries)`,
    figures: {
      "refunds answered 502 provider_unavailable": refunds.filter((r) => r.status === 502 && r.code === "provider_unavailable").length,
      "poll runs": polled.runs,
      "refunds found and applied": polled.applied,
      "refund requests sent again": polled.resent,
      "poll errors": polled.errors,
      "refunds succeeded": rows.filter((r) => r.succeeded === 1).length,
      "Revolut refund orders": made.revolut ?? 0,
      "Stripe refunds": made.stripe ?? 0,
      "ledger invariant violations": violations.length,
    },
    failures,
  };
}
