// Refund outage drill (docs/TESTING.md), Revolut refunds: an admin refunds credited Revolut
// top-ups while Revolut hangs (past the functions' provider timeout), answers 500, or makes the
// refund order and loses its answer, a third of the refunds each. Every refund is answered 502
// provider_unavailable and stays pending, its amount reserved, and the admin never retries.
// Revolut recovers, and revolut-poll finds the refund orders Revolut made and sends the
// requests it never received again, with their keys. Every refund must end succeeded, every
// wallet debited once, and Revolut must hold one refund order per refund.
import type postgres from "postgres";
import { adminRequest, answerOf, createStaff } from "../../supabase/tests/support/admin-fixtures.ts";
import { checkLedgerInvariants } from "../../supabase/tests/support/ledger-invariants.ts";
import type { Behaviour } from "../../supabase/tests/support/provider-standins.ts";
import type { DrillReport } from "./report.ts";
import { type DrillOptions, type Gateway, type GatewaySupport, withPaymentsGateway } from "./payments-gateway.ts";

const perOutage = 10;
const TOP_UP = 800;
const REFUND = 500;
const POLL_AFTER_SECONDS = 3600;

/** How Revolut fails an admin's refund request during the outage. */
const outages: { name: string; behaviour: Behaviour | "accept-silently" }[] = [
  { name: "no answer", behaviour: "hang" },
  { name: "500", behaviour: { status: 500, body: { code: "internal_error", message: "stand-in outage" } } },
  { name: "refund made, answer lost", behaviour: "accept-silently" },
];

// Imported once the test environment is set (it reads it on import).
type WebhookRequests = typeof import("../../supabase/tests/support/webhook-requests.ts");

interface Refunded {
  outage: string;
  paymentId: string;
  status?: number;
  code?: string;
}

export function refundOutageDrill(sql: postgres.Sql, options: DrillOptions): Promise<DrillReport> {
  return withPaymentsGateway(
    sql,
    options,
    { JOBS_REVOLUT_POLL_AFTER_SECONDS: String(POLL_AFTER_SECONDS) },
    async (sql, gateway, support) => {
      const requests: WebhookRequests = await import("../../supabase/tests/support/webhook-requests.ts");
      return await drill(sql, gateway, support, requests);
    },
  );
}

/** A Revolut top-up the customer paid, credited through Revolut's signed webhook: our payment's id. */
async function creditedTopUp(sql: postgres.Sql, gateway: Gateway, { waitingTopUp }: GatewaySupport, { revolutRequest }: WebhookRequests) {
  const topUp = await waitingTopUp(sql, gateway, "revolut", "EUR", TOP_UP);
  gateway.revolut.complete(topUp.providerRef);
  const delivered = await fetch(revolutRequest({ event: "ORDER_COMPLETED", order_id: topUp.providerRef }, {}, { base: gateway.url }));
  await delivered.arrayBuffer();
  if (delivered.status !== 200) throw new Error(`Revolut's ORDER_COMPLETED answered ${delivered.status}`);
  const [payment] = await sql<{ id: string }[]>`
    select id from public.payments where provider = 'revolut' and provider_payment_id = ${topUp.providerRef}`;
  return { paymentId: payment!.id };
}

async function drill(sql: postgres.Sql, gateway: Gateway, support: GatewaySupport, requests: WebhookRequests): Promise<DrillReport> {
  const { admin } = await createStaff(sql, process.env.SUPABASE_JWT_SECRET!);
  const refunds: Refunded[] = [];
  for (const outage of outages) {
    for (let i = 0; i < perOutage; i++) refunds.push({ outage: outage.name, ...await creditedTopUp(sql, gateway, support, requests) });
  }

  // The outage: each kind of failure for its third of the refunds, those refunds asked at once.
  for (const outage of outages) {
    gateway.revolut.refundBehaviour = outage.behaviour;
    await Promise.all(
      refunds.filter((r) => r.outage === outage.name).map(async (refund) => {
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
  gateway.revolut.refundBehaviour = "accept";

  // Recovery, with no retry by the admin: revolut-poll takes the refunds once they wait past its mark.
  const paymentIds = refunds.map((r) => r.paymentId);
  await sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    const aged = `${POLL_AFTER_SECONDS + 60} seconds`;
    await tx`update public.refunds set created_at = now() - ${aged}::interval, updated_at = now() - ${aged}::interval
              where payment_id = any(${paymentIds}::uuid[])`;
  });
  const polled = { runs: 0, applied: 0, resent: 0, errors: 0 };
  for (let taken = -1; taken !== 0 && polled.runs < 5; polled.runs++) {
    const { status, body } = await gateway.runJob("revolut-poll");
    taken = status === 200 ? body.taken : 0;
    polled.applied += body.applied ?? 0;
    polled.resent += body.resent ?? 0;
    polled.errors += body.errors ?? 0;
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
  const ordersPerReference = new Map<string, number>();
  for (const order of gateway.revolut.refundOrders) {
    const reference = (order.merchant_order_data as { reference?: string } | undefined)?.reference ?? "none";
    ordersPerReference.set(reference, (ordersPerReference.get(reference) ?? 0) + 1);
  }
  count("refund requests Revolut made more than one refund order of", [...ordersPerReference.values()].filter((n) => n > 1).length);
  if (gateway.revolut.refundOrders.length !== refunds.length) {
    failures.push(`${gateway.revolut.refundOrders.length} Revolut refund orders for ${refunds.length} refunds`);
  }
  const violations = await checkLedgerInvariants(sql);
  for (const v of violations) failures.push(`ledger invariant ${v.invariant}: ${v.detail}`);
  return {
    name: `Refund outage (${refunds.length} Revolut refunds: Revolut hangs, answers 500 or loses its answer; no admin retries)`,
    figures: {
      "refunds answered 502 provider_unavailable": refunds.filter((r) => r.status === 502 && r.code === "provider_unavailable").length,
      "revolut-poll runs": polled.runs,
      "refund orders found and applied": polled.applied,
      "refund requests sent again": polled.resent,
      "poll errors": polled.errors,
      "refunds succeeded": rows.filter((r) => r.succeeded === 1).length,
      "Revolut refund orders": gateway.revolut.refundOrders.length,
      "ledger invariant violations": violations.length,
    },
    failures,
  };
}
