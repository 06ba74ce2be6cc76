// Concurrent deliveries against the real payment functions: the same provider payment
// recorded by several webhook deliveries at once credits once, concurrent refunds never add
// up to more than the payment, an account is never closed under a refund being asked of its
// provider, and concurrent deliveries of one webhook event apply it once. And an admin's
// action racing the provider's own report of the same money (a cash-out settled, a payout of
// an owed refund, a chargeback, a payment under review credited): one consistent end, each
// money movement at most once, and the loser refused with a SQLSTATE the admin API answers.
import { randomInt, randomUUID } from "node:crypto";
import type { ReservedSql, Sql, TransactionSql } from "postgres";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  actAs,
  type Caller,
  connect,
  createAdmin,
  createFundedParties,
  openTransaction,
  type Party,
  scratchCurrency,
  service,
  sqlState,
  testDatabaseUrl,
} from "../ledger/ledger-client.ts";
import { assertLedgerInvariants } from "../support/ledger-invariants.ts";

const CLIENTS = 8;

let sql: Sql;
let currency: string;
let party: Party;
const run = randomUUID().slice(0, 8);

/** One transaction as `caller`, the way PostgREST and the functions' clients run one. */
function as<T>(caller: Caller, fn: (tx: TransactionSql) => Promise<T>): Promise<T> {
  return sql.begin(async (tx) => {
    await actAs(tx, caller);
    return fn(tx);
  }) as Promise<T>;
}

/** One transaction as service_role, the way the webhook handlers run. */
const asService = <T>(fn: (tx: TransactionSql) => Promise<T>): Promise<T> => as(service, fn);

/** "ok", or the SQLSTATE `call` failed with. */
const outcomeOf = (call: Promise<unknown>): Promise<string> => call.then(() => "ok", (error: unknown) => sqlState(error));

/** What `outcome` settled to within 300 ms, or "waiting". */
const within300ms = (outcome: Promise<string>) =>
  Promise.race([outcome, new Promise<string>((resolve) => setTimeout(() => resolve("waiting"), 300))]);

/**
 * Runs `first` in a transaction held open as `firstCaller`, then starts `second`, which must
 * still be waiting for `first`'s locks 300 ms later (the two truly overlap); commits `first`
 * and returns how `second` ended: "ok" or its SQLSTATE.
 */
async function secondWhileFirstHeld(
  firstCaller: Caller,
  first: (tx: ReservedSql) => Promise<unknown>,
  second: () => Promise<unknown>,
): Promise<string> {
  const held = await openTransaction(sql, firstCaller);
  let committed = false;
  try {
    await first(held);
    const outcome = outcomeOf(second());
    expect(await within300ms(outcome)).toBe("waiting");
    await held`commit`;
    committed = true;
    return await outcome;
  } finally {
    if (!committed) await held`rollback`;
    held.release();
  }
}

async function createIntent(amount: number, accountId = party.accountId, provider = "stripe"): Promise<string> {
  const [intent] = await asService(
    (tx) =>
      tx<{ id: string }[]>`
      select id from public.payment_intent_create(${provider}, ${accountId}::uuid, ${amount}::bigint, ${currency}, ${`intent-${randomUUID()}`})`,
  );
  return intent!.id;
}

/** A payment of `amount` by `provider` recorded for a new account's intent of `intentAmount` (credited when the two agree). */
async function newPayment(provider: "stripe" | "revolut" | "momo", amount: number, intentAmount = amount) {
  const accountId = (await createFundedParties(sql, currency, 1, 0n))[0]!.accountId;
  const intent = await createIntent(intentAmount, accountId, provider);
  // A MoMo payment's id is the request-to-pay's reference, a UUID.
  const providerPaymentId = provider === "momo" ? randomUUID() : `${provider === "stripe" ? "pi" : "ord"}_${randomUUID()}`;
  const [payment] = await asService(
    (tx) =>
      tx<{ id: string }[]>`
      select id from public.payment_record_success(${provider}, ${providerPaymentId}, ${intent}::uuid, ${amount}, ${currency})`,
  );
  return { paymentId: payment!.id, providerPaymentId, accountId };
}

async function balanceOf(accountId: string): Promise<bigint> {
  const [row] = await sql<{ balance: string }[]>`
    select balance from public.wallet_account_balances where account_id = ${accountId}`;
  return BigInt(row!.balance);
}

const balance = () => balanceOf(party.accountId);

/** The balance of the system account `code` in the suite's currency (0 before it exists). */
async function systemBalance(code: string): Promise<bigint> {
  const [row] = await sql<{ balance: string }[]>`
    select b.balance from public.wallet_account_balances b join public.wallet_accounts a on a.id = b.account_id
     where a.code = ${`${code}:${currency}`}`;
  return BigInt(row?.balance ?? 0);
}

async function paymentRow(paymentId: string) {
  const [row] = await sql<{ status: string; amount_refunded: string; resolved_by: string | null }[]>`
    select status, amount_refunded, resolved_by from public.payments where id = ${paymentId}`;
  return row!;
}

/** The refunds of the payment, oldest first. */
function refundsOf(paymentId: string) {
  return sql<
    {
      provider_refund_id: string;
      amount: string;
      status: string;
      borne_by_platform: boolean;
      paid_out_amount: string | null;
      created_by: string | null;
    }[]
  >`
    select provider_refund_id, amount, status, borne_by_platform, paid_out_amount, created_by from public.refunds
     where payment_id = ${paymentId} order by created_at`;
}

const closeAccount = (accountId: string) =>
  outcomeOf(asService((tx) => tx`select 1 from public.wallet_set_status(${accountId}::uuid, 'closed', 'customer left')`))
    .then((outcome) => outcome === "ok" ? "closed" : outcome);

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
    const second = await secondWhileFirstHeld(
      service,
      (first) => first`select id from public.refund_record(${payments[0]!}::uuid, 400, ${refundId})`,
      () => asService((tx) => tx`select id from public.refund_record(${payments[1]!}::uuid, 400, ${refundId})`),
    );
    expect(second).toBe("WL005");
    const rows = await sql<{ payment_id: string }[]>`select payment_id from public.refunds where provider_refund_id = ${refundId}`;
    expect(rows).toEqual([{ payment_id: payments[0] }]);
    expect(await balance()).toBe(before - 400n);
  });
});

describe("closing an account while a refund of its payment is recorded", () => {
  /** A new account credited by a Stripe payment of 1000 that its owner has spent: closable. */
  async function spentPayment(): Promise<{ paymentId: string; paymentIntentId: string; accountId: string }> {
    const { paymentId, providerPaymentId, accountId } = await newPayment("stripe", 1_000);
    const spend = `spend-${randomUUID()}`;
    await asService((tx) =>
      tx`select 1 from public.wallet_transfer(${accountId}::uuid, ${party.accountId}::uuid, 1000, ${currency}, ${spend})`
    );
    return { paymentId, paymentIntentId: providerPaymentId, accountId };
  }

  /** An admin's transaction, left open for the test to commit. */
  const adminTransaction = async () => openTransaction(sql, await createAdmin(sql));

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
  const beginRefund = (admin: ReservedSql | TransactionSql, paymentId: string, requestId: string) =>
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
    const admin = await createAdmin(sql);
    const refund = await secondWhileFirstHeld(
      service,
      (closing) => closing`select 1 from public.wallet_set_status(${accountId}::uuid, 'closed', 'customer left')`,
      () => as(admin, (tx) => beginRefund(tx, paymentId, `rr_closing_${run}`)),
    );
    expect(refund).toBe("WL004");
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

describe("an admin's action racing the provider's report of the same money", () => {
  afterEach(() => assertLedgerInvariants(sql));

  /**
   * An admin's settlement of a MoMo transfer (`paid`: MoMo paid it) and MoMo's confirmed status
   * of it at once, `first` holding its transaction open: how the second ends, and whether the
   * transfer ends paid. When the two disagree the first decides; when they agree the second
   * finds the outcome recorded and moves nothing more.
   */
  const MOMO_RACES = [
    { first: "admin", admin: "paid", momo: "FAILED", second: "WL008", end: "paid" },
    { first: "admin", admin: "failed", momo: "SUCCESSFUL", second: "WL008", end: "failed" },
    { first: "MoMo", admin: "failed", momo: "SUCCESSFUL", second: "WL008", end: "paid" },
    { first: "MoMo", admin: "paid", momo: "FAILED", second: "WL008", end: "failed" },
    { first: "admin", admin: "paid", momo: "SUCCESSFUL", second: "ok", end: "paid" },
    { first: "admin", admin: "failed", momo: "FAILED", second: "ok", end: "failed" },
  ];

  /**
   * What a MoMo race settles: a transfer an admin may settle (`make`), the admin's settlement
   * of it and MoMo's status of it as calls, the transfer's row, and a check of its money once the
   * race ended (`paid`: the money left). `word` names paid and failed as the row and the admin's
   * call do.
   */
  interface MomoSettlement<T> {
    make(): Promise<T>;
    word(end: string): string;
    resolve(transfer: T, outcome: string): (tx: ReservedSql | TransactionSql) => Promise<unknown>;
    settle(transfer: T, status: string): (tx: ReservedSql | TransactionSql) => Promise<unknown>;
    row(transfer: T): Promise<{ status: string; resolved_by: string | null }[]>;
    expectMoney(transfer: T, paid: boolean): Promise<void>;
  }

  /**
   * Runs a new admin's settlement and MoMo's status (as the service) of a new transfer at once,
   * `race.first` first, and expects the second to end as `race.second`, the transfer to end
   * `race.end`, naming the admin as resolving it only when theirs was first, and its money to
   * have moved once at most.
   */
  async function raceMomoSettlement<T>(race: (typeof MOMO_RACES)[number], settlement: MomoSettlement<T>) {
    const transfer = await settlement.make();
    const admin = await createAdmin(sql);
    const resolve = settlement.resolve(transfer, settlement.word(race.admin));
    const settle = settlement.settle(transfer, race.momo);
    const second = race.first === "admin"
      ? await secondWhileFirstHeld(admin, resolve, () => asService(settle))
      : await secondWhileFirstHeld(service, settle, () => as(admin, resolve));
    expect(second).toBe(race.second);
    expect(await settlement.row(transfer)).toEqual([
      { status: settlement.word(race.end), resolved_by: race.first === "admin" ? admin.userId : null },
    ]);
    await settlement.expectMoney(transfer, race.end === "paid");
  }

  describe("an admin settling a cash-out while MoMo reports its transfer", () => {
    const FUNDED = 10_000n;
    const AMOUNT = 4_000;

    /** A pending cash-out of 4,000 UGX from a new account of 10,000, whose sending momo-poll has closed: an admin may settle it. */
    const cashout: MomoSettlement<{ id: string; reference_id: string; accountId: string }> = {
      async make() {
        const [owner] = await createFundedParties(sql, "UGX", 1, FUNDED);
        const msisdn = `25677${randomInt(1_000_000, 10_000_000)}`;
        const [created] = await as(
          { kind: "user", userId: owner!.userId },
          (tx) =>
            tx<{ id: string; reference_id: string }[]>`
            select id, reference_id from api_private.cashout_create(${owner!.accountId}::uuid, ${AMOUNT}::bigint, 'UGX', ${msisdn},
                                                                    ${`cashout-${randomUUID()}`})`,
        );
        await asService((tx) => tx`select 1 from api_private.cashout_close_sending(${created!.reference_id}::uuid, 1)`);
        return { ...created!, accountId: owner!.accountId };
      },
      word: (end) => end,
      resolve: (made, outcome) => (tx) =>
        tx`select 1 from api_private.cashout_resolve(${made.id}::uuid, ${outcome}, 'MoMo support said so, ticket 7')`,
      settle: (made, status) => (tx) =>
        tx`select 1 from public.cashout_settle(${made.reference_id}::uuid, ${status}, null,
                                                 ${status === "SUCCESSFUL" ? AMOUNT : null}::bigint, 'UGX')`,
      row: (made) => sql`select status, resolved_by from public.cashouts where id = ${made.id}`,
      async expectMoney(made, paid) {
        const [account] = await sql<{ balance: string; available: string; sent_today: string }[]>`
          select b.balance, b.available, u.sent_today
            from public.wallet_account_balances b join private.wallet_limit_usage u on u.account_id = b.account_id
           where b.account_id = ${made.accountId}`;
        // Paid: the 4,000 left once. Failed: all of it back, and the day's limit with it.
        const left = paid ? BigInt(AMOUNT) : 0n;
        expect(account).toEqual({ balance: String(FUNDED - left), available: String(FUNDED - left), sent_today: String(left) });
      },
    };

    it.each(MOMO_RACES)(
      "the admin's $admin and MoMo's $momo, $first first: the cash-out ends $end with its hold settled once, and the other is $second",
      (race) => raceMomoSettlement(race, cashout),
    );
  });

  describe("an admin settling a MoMo refund while MoMo reports its transfer", () => {
    /**
     * A MoMo payment of 1,000 credited to a new account, and an admin's refund of 600 of it sent
     * to the payer's number, whose sending momo-poll has closed: an admin may settle it.
     */
    const refund: MomoSettlement<{ id: string; reference: string; paymentId: string; accountId: string }> = {
      async make() {
        const { paymentId, providerPaymentId, accountId } = await newPayment("momo", 1_000);
        await sql`insert into public.momo_transactions (reference_id, payer_msisdn, amount, currency, status)
                  values (${providerPaymentId}::uuid, ${`25677${randomInt(1_000_000, 10_000_000)}`}, 1000, ${currency}, 'SUCCESSFUL')`;
        const reference = randomUUID();
        const [created] = await as(
          await createAdmin(sql),
          (tx) =>
            tx<{ id: string }[]>`
            select refund ->> 'id' as id from api_private.momo_refund_transfer(${paymentId}::uuid, 600, ${reference}::uuid, 'customer asked')`,
        );
        await asService((tx) => tx`select 1 from api_private.momo_refund_close_sending(${reference}::uuid, 1)`);
        return { id: created!.id, reference, paymentId, accountId };
      },
      word: (end) => end === "paid" ? "succeeded" : "failed",
      resolve: (made, outcome) => (tx) =>
        tx`select 1 from api_private.momo_refund_resolve(${made.id}::uuid, ${outcome}, 'MoMo support said so')`,
      settle: (made, status) => (tx) =>
        tx`select 1 from public.momo_refund_settle(${made.reference}::uuid, ${status}, null,
                                                     ${status === "SUCCESSFUL" ? 600 : null}::bigint, ${currency})`,
      row: (made) => sql`select status, resolved_by from public.refunds where id = ${made.id}`,
      async expectMoney(made, paid) {
        const refunded = paid ? 600 : 0;
        expect(await paymentRow(made.paymentId)).toMatchObject({ amount_refunded: String(refunded) });
        expect(await balanceOf(made.accountId)).toBe(BigInt(1_000 - refunded));
      },
    };

    it.each(MOMO_RACES)(
      "the admin's $admin and MoMo's $momo, $first first: the refund ends $end with the payer's credit reversed at most once, and the other is $second",
      (race) => raceMomoSettlement(race, refund),
    );

    it("MoMo's report of the refund, queued on its payment behind an admin's payout, waits for it and is applied: no deadlock", async () => {
      const made = await refund.make();
      // A third transaction holds the payment, so that the payout queues for it first and the
      // report second: each then holds what it took before it asks for the other.
      const blocker = await sql.reserve();
      await blocker`begin`;
      try {
        await blocker`select 1 from public.payments where id = ${made.paymentId}::uuid for update`;
        const payout = outcomeOf(as(
          await createAdmin(sql),
          (tx) => tx`select 1 from api_private.refund_paid_out(${made.id}::uuid, 600, 'bank_transfer', 'BT-1', 'paid by hand')`,
        ));
        expect(await within300ms(payout)).toBe("waiting");
        const report = outcomeOf(asService(refund.settle(made, "SUCCESSFUL")));
        expect(await within300ms(report)).toBe("waiting");
        await blocker`commit`;
        // The payout finds the refund pending, which owes nothing; the report records it.
        expect([await payout, await report]).toEqual(["WL008", "ok"]);
      } finally {
        await blocker`rollback`; // after the commit, a warning only
        blocker.release();
      }
      await refund.expectMoney(made, true);
    });
  });

  describe("an admin's payout of an owed refund while its provider reports the payment's refunds", () => {
    /**
     * A Stripe refund of a whole payment of 1,000, reported failed after the account it was
     * taken from closed: its 1,000 waits on the unclaimed account for the former owner (decision 0027).
     */
    async function owedRefund() {
      const { paymentId, accountId } = await newPayment("stripe", 1_000);
      const providerRefundId = `re_owed_${randomUUID()}`;
      await asService((tx) => tx`select 1 from public.refund_record(${paymentId}::uuid, 1000, ${providerRefundId})`);
      expect(await closeAccount(accountId)).toBe("closed");
      const [refund] = await asService((tx) =>
        tx<{ id: string; owed_to_closed_account: boolean }[]>`
        select id, owed_to_closed_account from public.refund_record_failure(${paymentId}::uuid, ${providerRefundId}, 1000)`
      );
      expect(refund!.owed_to_closed_account).toBe(true);
      return { paymentId, providerRefundId, refundId: refund!.id };
    }

    const payOut = (refundId: string) => (tx: ReservedSql | TransactionSql) =>
      tx`select 1 from api_private.refund_paid_out(${refundId}::uuid, 1000, 'bank_transfer', ${`FT${
        randomInt(1e9)
      }`}, 'paid to her IBAN, ticket 88')`;
    const providerRefund = (paymentId: string, providerRefundId: string) => (tx: ReservedSql | TransactionSql) =>
      tx`select 1 from public.refund_record(${paymentId}::uuid, 1000, ${providerRefundId})`;

    it("a payout while the provider's late report that the refund succeeded after all is applied: paid out once, the refund stays failed", async () => {
      const owed = await owedRefund();
      const [unclaimed, manual] = [await systemBalance("unclaimed"), await systemBalance("clearing:manual")];
      const admin = await createAdmin(sql);
      const late = await secondWhileFirstHeld(
        admin,
        payOut(owed.refundId),
        () => asService(providerRefund(owed.paymentId, owed.providerRefundId)),
      );

      expect(late).toBe("ok"); // a failed refund is final: its late success is returned unchanged
      expect(await refundsOf(owed.paymentId)).toMatchObject([
        { provider_refund_id: owed.providerRefundId, status: "failed", borne_by_platform: false, paid_out_amount: "1000" },
      ]);
      expect(await paymentRow(owed.paymentId)).toMatchObject({ amount_refunded: "0" });
      expect([await systemBalance("unclaimed"), await systemBalance("clearing:manual")]).toEqual([unclaimed - 1_000n, manual + 1_000n]);
    });

    // Whichever is first pays the former owner the 1,000 from the unclaimed account: a new
    // refund first leaves the payout nothing owed; a payout first leaves the new refund to the losses account.
    it.each([
      { first: "provider", second: "WL008", paidOut: null, borne: false, lost: 0n },
      { first: "admin", second: "ok", paidOut: "1000", borne: true, lost: 1_000n },
    ])(
      "a new refund of the payment by its provider and an admin's payout of the debt at once, the $first first: the 1,000 owed leaves once, the other is $second",
      async ({ first, second, paidOut, borne, lost }) => {
        const owed = await owedRefund();
        const [unclaimed, losses] = [await systemBalance("unclaimed"), await systemBalance("losses")];
        const admin = await createAdmin(sql);
        const newRefundId = `re_later_${randomUUID()}`;
        const recordNew = providerRefund(owed.paymentId, newRefundId);
        const outcome = first === "provider"
          ? await secondWhileFirstHeld(service, recordNew, () => as(admin, payOut(owed.refundId)))
          : await secondWhileFirstHeld(admin, payOut(owed.refundId), () => asService(recordNew));

        expect(outcome).toBe(second);
        expect(await refundsOf(owed.paymentId)).toMatchObject([
          { provider_refund_id: owed.providerRefundId, status: "failed", borne_by_platform: false, paid_out_amount: paidOut },
          { provider_refund_id: newRefundId, status: "succeeded", borne_by_platform: borne, paid_out_amount: null },
        ]);
        expect(await paymentRow(owed.paymentId)).toMatchObject({ amount_refunded: "1000" });
        expect([await systemBalance("unclaimed"), await systemBalance("losses")]).toEqual([unclaimed - 1_000n, losses - lost]);
      },
    );
  });

  describe("a Revolut chargeback recorded while the same payment's money moves", () => {
    const chargeback = (paymentId: string, disputeId: string, amount: number) => (tx: ReservedSql | TransactionSql) =>
      tx`select 1 from api_private.revolut_chargeback_record(${paymentId}::uuid, ${disputeId}, ${amount}::bigint, 'Revolut dispute lost, ticket 5120')`;
    const beginRefund = (paymentId: string, requestId: string) => (tx: TransactionSql) =>
      tx`select 1 from api_private.refund_begin('revolut', ${paymentId}::uuid, 600, ${requestId}, 'customer asked')`;

    /**
     * The payment of 1,000 ends with `refund` as its one refund, succeeded, and `refund.amount`
     * taken from the account once.
     */
    async function expectOnlyRefund(
      { paymentId, accountId }: { paymentId: string; accountId: string },
      refund: { provider_refund_id: string; amount: number; created_by: string },
    ) {
      expect(await refundsOf(paymentId)).toMatchObject([{ ...refund, amount: String(refund.amount), status: "succeeded" }]);
      expect(await paymentRow(paymentId)).toMatchObject({
        status: refund.amount === 1_000 ? "refunded" : "partially_refunded",
        amount_refunded: String(refund.amount),
      });
      expect(await balanceOf(accountId)).toBe(1_000n - BigInt(refund.amount));
    }

    /** A Revolut payment of 1,000 credited to a new account, and two admins. */
    async function paymentAndTwoAdmins() {
      const payment = await newPayment("revolut", 1_000);
      return { payment, admins: [await createAdmin(sql), await createAdmin(sql)] as const };
    }

    // A chargeback of 500 held open by one admin while another admin acts on the same payment.
    it.each([
      {
        second: "the same chargeback, recorded by another admin, returns the first's refund and takes the money back once",
        act: (paymentId: string, disputeId: string) => chargeback(paymentId, disputeId, 500),
        ends: "ok",
      },
      {
        second: "a refund another admin asks for is refused before Revolut is asked: nothing recorded, nothing sent",
        act: (paymentId: string) => beginRefund(paymentId, `rr_${randomUUID()}`),
        ends: "WL006",
      },
    ])("while an admin's chargeback is recorded, $second", async ({ act, ends }) => {
      const { payment, admins: [recorder, other] } = await paymentAndTwoAdmins();
      const disputeId = randomUUID();
      const second = await secondWhileFirstHeld(
        recorder,
        chargeback(payment.paymentId, disputeId, 500),
        () => as(other, act(payment.paymentId, disputeId)),
      );

      expect(second).toBe(ends);
      await expectOnlyRefund(payment, { provider_refund_id: disputeId, amount: 500, created_by: recorder.userId });
    });

    it("a chargeback recorded while an admin's refund of the payment completes never takes back more than was paid", async () => {
      const { payment, admins: [refunder, recorder] } = await paymentAndTwoAdmins();
      const { paymentId, providerPaymentId } = payment;
      const requestId = `rr_${randomUUID().replaceAll("-", "")}`;
      const refundOrder = randomUUID();
      await as(refunder, beginRefund(paymentId, requestId));
      // What the admin's request records once Revolut answers the refund order completed.
      const complete = async (tx: ReservedSql) => {
        await tx`select 1 from api_private.refund_identify('revolut', ${requestId}, ${refundOrder}, ${providerPaymentId}, 600)`;
        await tx`select 1 from public.refund_record(${paymentId}::uuid, 600, ${refundOrder}, 'customer asked')`;
      };
      const lost = await secondWhileFirstHeld(refunder, complete, () => as(recorder, chargeback(paymentId, randomUUID(), 500)));

      expect(lost).toBe("WL008"); // 600 refunded and 500 more would exceed the 1,000 paid
      await expectOnlyRefund(payment, { provider_refund_id: refundOrder, amount: 600, created_by: refunder.userId });
    });
  });

  describe("an admin crediting a payment under review while it is decided elsewhere", () => {
    /** A Stripe payment of 900 for an intent of 1,000: held for review (amount_mismatch), uncredited. */
    async function heldPayment() {
      const payment = await newPayment("stripe", 900, 1_000);
      expect(await paymentRow(payment.paymentId)).toMatchObject({ status: "needs_review" });
      return payment;
    }

    const credit = (paymentId: string) => (tx: ReservedSql | TransactionSql) =>
      tx`select 1 from api_private.payment_resolve(${paymentId}::uuid, 'credit', 'the customer paid 900, ticket 12')`;

    async function creditsOf(providerPaymentId: string): Promise<number> {
      const [row] = await sql<{ n: number }[]>`
        select count(*)::int as n from public.wallet_transactions where idempotency_key = ${`payment:stripe:${providerPaymentId}`}`;
      return row!.n;
    }

    it("two admins crediting it at once credit it once", async () => {
      const { paymentId, providerPaymentId, accountId } = await heldPayment();
      const [first, second] = [await createAdmin(sql), await createAdmin(sql)];
      const again = await secondWhileFirstHeld(first, credit(paymentId), () => as(second, credit(paymentId)));

      expect(again).toBe("WL008"); // no longer under review
      expect(await paymentRow(paymentId)).toEqual({ status: "succeeded", amount_refunded: "0", resolved_by: first.userId });
      expect(await creditsOf(providerPaymentId)).toBe(1);
      expect(await balanceOf(accountId)).toBe(900n);
    });

    it("the provider's duplicate delivery while an admin credits it changes nothing: credited once", async () => {
      const { paymentId, providerPaymentId, accountId } = await heldPayment();
      const [intent] = await sql<{ intent_id: string }[]>`select intent_id from public.payments where id = ${paymentId}`;
      const admin = await createAdmin(sql);
      const delivery = await secondWhileFirstHeld(
        admin,
        credit(paymentId),
        () =>
          asService((tx) =>
            tx`select 1 from public.payment_record_success('stripe', ${providerPaymentId}, ${intent!.intent_id}::uuid, 900, ${currency})`
          ),
      );

      expect(delivery).toBe("ok");
      expect(await paymentRow(paymentId)).toEqual({ status: "succeeded", amount_refunded: "0", resolved_by: admin.userId });
      expect(await creditsOf(providerPaymentId)).toBe(1);
      expect(await balanceOf(accountId)).toBe(900n);
    });

    it("an admin crediting it while the provider's refund of it is recorded is refused: the money went back, none is credited", async () => {
      const { paymentId, providerPaymentId, accountId } = await heldPayment();
      const admin = await createAdmin(sql);
      const credited = await secondWhileFirstHeld(
        service,
        (tx) => tx`select 1 from public.refund_record(${paymentId}::uuid, 900, ${`re_review_${randomUUID()}`})`,
        () => as(admin, credit(paymentId)),
      );

      expect(credited).toBe("WL008");
      expect(await paymentRow(paymentId)).toEqual({ status: "needs_review", amount_refunded: "900", resolved_by: null });
      expect(await creditsOf(providerPaymentId)).toBe(0);
      expect(await balanceOf(accountId)).toBe(0n);
    });
  });
});
