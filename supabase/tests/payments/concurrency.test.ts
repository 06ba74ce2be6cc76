// Concurrent deliveries against the real payment functions: the same provider payment
// recorded by several webhook deliveries at once credits once, concurrent refunds never add
// up to more than the payment, an account is never closed under a refund being asked of its
// provider, and concurrent deliveries of one webhook event apply it once.
import { randomUUID } from "node:crypto";
import type { ReservedSql, Sql, TransactionSql } from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, createFundedParties, type Party, scratchCurrency, sqlState, testDatabaseUrl } from "../ledger/ledger-client.ts";

const CLIENTS = 8;

let sql: Sql;
let currency: string;
let party: Party;
const run = randomUUID().slice(0, 8);

/** One transaction as service_role, the way the webhook handlers run. */
function asService<T>(fn: (tx: TransactionSql) => Promise<T>): Promise<T> {
  return sql.begin(async (tx) => {
    await tx`select set_config('role', 'service_role', true), set_config('request.jwt.claims', '{"role":"service_role"}', true)`;
    return fn(tx);
  }) as Promise<T>;
}

async function createIntent(amount: number, accountId = party.accountId): Promise<string> {
  const [intent] = await asService(
    (tx) =>
      tx<{ id: string }[]>`
      select id from public.payment_intent_create('stripe', ${accountId}::uuid, ${amount}::bigint, ${currency}, ${`intent-${randomUUID()}`})`,
  );
  return intent!.id;
}

async function balance(): Promise<bigint> {
  const [row] = await sql<{ balance: string }[]>`
    select balance from public.wallet_account_balances where account_id = ${party.accountId}`;
  return BigInt(row!.balance);
}

beforeAll(async () => {
  sql = connect(testDatabaseUrl(), CLIENTS + 2);
  currency = scratchCurrency();
  [party] = await createFundedParties(sql, currency, 1, 0n);
});

afterAll(async () => {
  await sql?.end({ timeout: 5 });
});

describe("payment_record_success under concurrent deliveries", () => {
  it("leaves no credit without its payment when a delivery without the intent stores the payment first", async () => {
    const intent = await createIntent(1_200);
    const before = await balance();
    const paymentId = `pi_race_${run}`;
    // Hold the account row, so that the delivery that found the intent stops inside its
    // credit, after it has looked for an existing payment and before it stores its own (the
    // account has no balance shards yet, so its credit waits for the row).
    const blocker = await sql.reserve();
    await blocker`begin`;
    await blocker`select 1 from public.wallet_accounts where id = ${party.accountId} for update`;
    const withIntent = asService((tx) =>
      tx`select id from public.payment_record_success('stripe', ${paymentId}, ${intent}::uuid, 1200, ${currency})`
    )
      .then(() => null, (error: unknown) => sqlState(error));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const [stored] = await asService((tx) =>
      tx<{ status: string; review_reason: string }[]>`
      select status, review_reason from public.payment_record_success('stripe', ${paymentId}, null, 1200, ${currency})`
    );
    await blocker`rollback`;
    blocker.release();

    expect(stored).toMatchObject({ status: "needs_review", review_reason: "unknown_intent" });
    // The credit it had made is rolled back with a retryable error, not left without a payment.
    expect(await withIntent).toBe("40001");
    expect(await balance()).toBe(before);
    const [{ credits }] = await sql<{ credits: number }[]>`
      select count(*)::int as credits from public.wallet_transactions where idempotency_key = ${`payment:stripe:${paymentId}`}`;
    expect(credits).toBe(0);
  });

  it("stores one payment and credits once", async () => {
    const intent = await createIntent(2_500);
    const before = await balance();
    const paymentId = `pi_conc_${run}`;
    const results = await Promise.all(
      Array.from({ length: CLIENTS }, () =>
        asService(
          (tx) =>
            tx<{ id: string; status: string; wallet_transaction_id: string }[]>`
            select id, status, wallet_transaction_id
              from public.payment_record_success('stripe', ${paymentId}, ${intent}::uuid, 2500, ${currency})`,
        )),
    );
    const ids = new Set(results.map(([row]) => row!.id));
    const credits = new Set(results.map(([row]) => row!.wallet_transaction_id));
    expect(ids.size).toBe(1);
    expect(credits.size).toBe(1);
    expect(results[0]![0]!.status).toBe("succeeded");
    expect(await balance()).toBe(before + 2_500n);
    const [count] = await sql<{ n: number }[]>`
      select count(*)::int as n from public.wallet_transactions where to_account_id = ${party.accountId} and kind = 'deposit'
         and metadata ->> 'payment_intent_id' = ${intent}`;
    expect(count!.n).toBe(1);
  });

  it("keeps one row for a payment without a known intent", async () => {
    const paymentId = `ord_conc_${run}`;
    const results = await Promise.all(
      Array.from({ length: CLIENTS }, () =>
        asService(
          (tx) =>
            tx<{ id: string; status: string }[]>`
            select id, status from public.payment_record_success('revolut', ${paymentId}, null, 700, ${currency})`,
        )),
    );
    expect(new Set(results.map(([row]) => row!.id)).size).toBe(1);
    expect(results.every(([row]) => row!.status === "needs_review")).toBe(true);
  });
});

describe("refund_record under concurrent refunds", () => {
  it("never refunds more than the payment, and reverses exactly what it records", async () => {
    const intent = await createIntent(1_000);
    const [payment] = await asService(
      (tx) =>
        tx<{ id: string }[]>`
        select id from public.payment_record_success('stripe', ${`pi_refunds_${run}`}, ${intent}::uuid, 1000, ${currency})`,
    );
    const before = await balance();
    const outcomes = await Promise.all(
      Array.from(
        { length: CLIENTS },
        (_, i) =>
          asService((tx) => tx`select id from public.refund_record(${payment!.id}::uuid, 300, ${`re_${run}_${i}`})`).then(
            () => "ok",
            (error: unknown) => sqlState(error),
          ),
      ),
    );
    expect(outcomes.filter((o) => o === "ok")).toHaveLength(3);
    expect(outcomes.filter((o) => o !== "ok").every((o) => o === "WL008")).toBe(true);
    const [row] = await sql<{ amount_refunded: string; status: string }[]>`
      select amount_refunded, status from public.payments where id = ${payment!.id}`;
    expect(row).toEqual({ amount_refunded: "900", status: "partially_refunded" });
    expect(await balance()).toBe(before - 900n);
  });

  it("one provider refund id recorded for two payments at once: one is recorded, the other is WL005, not a unique violation", async () => {
    const payments = await Promise.all([1, 2].map(async (n) => {
      const intent = await createIntent(1_000);
      const [payment] = await asService(
        (tx) =>
          tx<{ id: string }[]>`
          select id from public.payment_record_success('stripe', ${`pi_same_refund_${run}_${n}`}, ${intent}::uuid, 1000, ${currency})`,
      );
      return payment!.id;
    }));
    const before = await balance();
    const refundId = `re_same_${run}`;
    // The first recording holds its transaction open, so that the second runs while it is uncommitted.
    const first = await sql.reserve();
    try {
      await first`begin`;
      await first`select set_config('role', 'service_role', true), set_config('request.jwt.claims', '{"role":"service_role"}', true)`;
      await first`select id from public.refund_record(${payments[0]!}::uuid, 400, ${refundId})`;
      const second = asService((tx) => tx`select id from public.refund_record(${payments[1]!}::uuid, 400, ${refundId})`).then(
        () => "ok",
        (error: unknown) => sqlState(error),
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      await first`commit`;
      expect(await second).toBe("WL005");
    } finally {
      first.release();
    }
    const rows = await sql<{ payment_id: string }[]>`select payment_id from public.refunds where provider_refund_id = ${refundId}`;
    expect(rows).toEqual([{ payment_id: payments[0] }]);
    expect(await balance()).toBe(before - 400n);
  });
});

describe("closing an account while a refund of its payment is recorded", () => {
  /** A new account credited by a Stripe payment of 1000 that its owner has spent: closable. */
  async function spentPayment(): Promise<{ paymentId: string; paymentIntentId: string; accountId: string }> {
    const accountId = (await createFundedParties(sql, currency, 1, 0n))[0]!.accountId;
    const intent = await createIntent(1_000, accountId);
    const paymentIntentId = `pi_close_${randomUUID()}`;
    const [payment] = await asService(
      (tx) =>
        tx<{ id: string }[]>`
        select id from public.payment_record_success('stripe', ${paymentIntentId}, ${intent}::uuid, 1000, ${currency})`,
    );
    const spend = `spend-${randomUUID()}`;
    await asService((tx) =>
      tx`select 1 from public.wallet_transfer(${accountId}::uuid, ${party.accountId}::uuid, 1000, ${currency}, ${spend})`
    );
    return { paymentId: payment!.id, paymentIntentId, accountId };
  }

  /** An admin's transaction, left open for the test to commit. */
  async function adminTransaction() {
    const admin = await sql.reserve();
    await admin`begin`;
    // An admin as Supabase Auth stores one: the token's role is honoured while auth.users gives it.
    const adminId = randomUUID();
    await sql`insert into auth.users (id, email, raw_app_meta_data) values (${adminId}, ${`${adminId}@mfuko.test`}, '{"role": "admin"}')`;
    const claims = { sub: adminId, role: "authenticated", app_metadata: { role: "admin" } };
    await admin`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
    return admin;
  }

  const closeAccount = (accountId: string) =>
    asService((tx) => tx`select 1 from public.wallet_set_status(${accountId}::uuid, 'closed', 'customer left')`).then(
      () => "closed",
      (error: unknown) => sqlState(error),
    );
  /** What `outcome` settled to within 300 ms, or "waiting". */
  const within300ms = (outcome: Promise<string>) =>
    Promise.race([outcome, new Promise<string>((resolve) => setTimeout(() => resolve("waiting"), 300))]);

  /**
   * Closes a spent account while an admin's transaction `record`s a refund of its payment; the
   * transaction then commits. Whether the close was still waiting 300 ms after it began, its
   * outcome, and the account's status and balance after it.
   */
  async function closeWhileRecording(accountId: string, record: (admin: ReservedSql) => Promise<unknown>) {
    const admin = await adminTransaction();
    try {
      await record(admin);
      const close = closeAccount(accountId);
      const waited = (await within300ms(close)) === "waiting";
      await admin`commit`;
      const [row] = await sql<{ status: string; balance: string }[]>`
        select a.status, b.balance from public.wallet_accounts a join public.wallet_account_balances b on b.account_id = a.id
         where a.id = ${accountId}`;
      return { waited, close: await close, ...row };
    } finally {
      admin.release();
    }
  }

  /** The admin's refund of 400 of the payment under request `requestId`, recorded pending before Stripe is asked. */
  const beginRefund = (admin: ReservedSql, paymentId: string, requestId: string) =>
    admin`select 1 from api_private.refund_begin('stripe', ${paymentId}::uuid, 400, ${requestId}, 'asked')`;

  it("a close waits for a refund being recorded, and is refused once it is pending", async () => {
    const { paymentId, accountId } = await spentPayment();
    const outcome = await closeWhileRecording(accountId, (admin) => beginRefund(admin, paymentId, `rr_close_${run}`));
    expect(outcome).toEqual({ waited: true, close: "WL008", status: "active", balance: "0" });
  });

  it("Stripe's completion of a pending refund, recorded during a close, debits the account and the close is refused", async () => {
    const { paymentId, paymentIntentId, accountId } = await spentPayment();
    const requestId = `rr_close_now_${run}`;
    const begun = await adminTransaction();
    await beginRefund(begun, paymentId, requestId);
    await begun`commit`;
    begun.release();
    // What the admin's request records once Stripe answers succeeded: the refund takes Stripe's id,
    // then refund_record debits the account. The close, refused while the refund is pending, may
    // not even wait for it: either way it must not close an account the refund is debiting.
    const outcome = await closeWhileRecording(accountId, async (admin) => {
      await admin`select 1 from api_private.refund_identify('stripe', ${requestId}, ${`re_close_now_${run}`}, ${paymentIntentId}, 400)`;
      await admin`select 1 from public.refund_record(${paymentId}::uuid, 400, ${`re_close_now_${run}`}, 'asked')`;
    });
    expect(outcome).toMatchObject({ close: "WL008", status: "active", balance: "-400" }); // the account owes the refund
  });

  it("a refund asked while a close is under way waits for it and is refused: the account is closed", async () => {
    const { paymentId, accountId } = await spentPayment();
    const closing = await sql.reserve();
    await closing`begin`;
    await closing`select set_config('role', 'service_role', true), set_config('request.jwt.claims', '{"role":"service_role"}', true)`;
    await closing`select 1 from public.wallet_set_status(${accountId}::uuid, 'closed', 'customer left')`;
    const admin = await adminTransaction();
    const refund = beginRefund(admin, paymentId, `rr_closing_${run}`).then(
      () => "recorded",
      (error: unknown) => sqlState(error),
    );
    expect(await within300ms(refund)).toBe("waiting");
    await closing`commit`;
    closing.release();
    expect(await refund).toBe("WL004");
    await admin`rollback`;
    admin.release();
  });
});

describe("webhook_event_begin under concurrent deliveries", () => {
  it("lets one delivery apply the event and the others see it as a duplicate", async () => {
    const eventId = `evt_conc_${run}`;
    const outcomes = await Promise.all(
      Array.from({ length: CLIENTS }, () =>
        asService(async (tx) => {
          const [begun] = await tx<{ id: string; outcome: string }[]>`
            select id, outcome from public.webhook_event_begin('stripe', ${eventId}, 'payment_intent.succeeded', '{}'::jsonb)`;
          if (begun!.outcome === "new" || begun!.outcome === "retry") {
            // Hold the transaction open while "applying", so the others must wait for it.
            await tx`select pg_sleep(0.2)`;
            await tx`select 1 from public.webhook_event_finish(${begun!.id}::uuid, 'processed')`;
          }
          return begun!.outcome;
        })),
    );
    expect(outcomes.filter((o) => o === "new")).toHaveLength(1);
    expect(outcomes.filter((o) => o === "duplicate")).toHaveLength(CLIENTS - 1);
    const [event] = await sql<{ status: string; attempts: number }[]>`
      select status, attempts from public.webhook_events where provider = 'stripe' and event_id = ${eventId}`;
    expect(event).toEqual({ status: "processed", attempts: 1 });
  });
});
