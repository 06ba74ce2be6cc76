// The ledger invariants of ledger.md as SQL, checked against the whole database. Used by the
// ledger tests, the benchmarks and the reliability drills: every one of them calls
// checkLedgerInvariants after its run and fails when a violation comes back.
import type { Sql } from "postgres";

export interface InvariantViolation {
  invariant: string;
  detail: string;
}

interface Check {
  invariant: string;
  /** Returns one row per violation, with a `detail` text column. */
  query: string;
}

const checks: Check[] = [
  {
    invariant: "1. every transaction's entries sum to zero (posted: one debit of from, one credit of to; others: none)",
    query: `
      select format('transaction %s (%s, %s): %s entries summing to %s', t.id, t.kind, t.status,
                    count(e.id), coalesce(sum(e.amount), 0)) as detail
        from public.wallet_transactions t
        left join public.wallet_entries e on e.transaction_id = t.id
       group by t.id
      having coalesce(sum(e.amount), 0) <> 0
          or (t.status = 'posted') <> (count(e.id) = 2)
          or (t.status = 'posted' and (
                count(*) filter (where e.account_id = t.from_account_id and e.amount = -t.amount) <> 1
             or count(*) filter (where e.account_id = t.to_account_id and e.amount = t.amount) <> 1))`,
  },
  {
    invariant: "2. every account's balance (what wallet_balance and a frontend read) equals the sum of its entries",
    query: `
      select format('account %s: balance %s (view), wallet_balance %s, entries sum %s',
                    b.account_id, b.balance, public.wallet_balance(b.account_id), coalesce(s.total, 0)) as detail
        from public.wallet_account_balances b
        left join (select e.account_id, sum(e.amount) as total from public.wallet_entries e group by e.account_id) s
          on s.account_id = b.account_id
       where b.balance <> coalesce(s.total, 0) or public.wallet_balance(b.account_id) <> b.balance`,
  },
  {
    invariant: "2a. an account without balance shards holds nothing in shards (so its row is its balance)",
    query: `
      select format('account %s (balance_shards %s): shard %s holds %s', a.id, a.balance_shards, s.shard, s.balance) as detail
        from public.wallet_accounts a
        join public.wallet_balance_shards s on s.account_id = a.id
       where a.balance_shards = 0 and s.balance <> 0`,
  },
  {
    invariant: "2b. available equals balance minus the pending holds",
    query: `
      select format('account %s: available %s, balance %s, pending holds %s', a.id, a.available, a.balance, coalesce(h.held, 0)) as detail
        from public.wallet_accounts a
        left join (select t.from_account_id, sum(t.hold_amount) as held from public.wallet_transactions t
                    where t.status = 'pending' group by t.from_account_id) h
          on h.from_account_id = a.id
       where a.available <> a.balance - coalesce(h.held, 0)`,
  },
  {
    invariant: "3. the balances of every currency sum to zero",
    query: `
      select format('currency %s sums to %s', b.currency, sum(b.balance)) as detail
        from public.wallet_account_balances b
       group by b.currency
      having sum(b.balance) <> 0`,
  },
  {
    invariant: "4. no account without allow_negative is negative unless a forced reversal debited it",
    query: `
      select format('account %s has balance %s without a forced reversal', b.account_id, b.balance) as detail
        from public.wallet_account_balances b
        join public.wallet_accounts a on a.id = b.account_id
       where not a.allow_negative
         and b.balance < 0
         and not exists (select 1 from public.wallet_transactions t
                          where t.kind = 'reversal' and t.from_account_id = a.id
                            and (t.metadata ->> 'force')::boolean)`,
  },
  {
    invariant: "4c. a closed account holds nothing, in its row or its shards",
    query: `
      select format('closed account %s: balance %s, available %s', b.account_id, b.balance, b.available) as detail
        from public.wallet_account_balances b
       where b.status = 'closed' and (b.balance <> 0 or b.available <> 0)`,
  },
  {
    invariant: "4b. the reversals of a transaction, net of those undone (a refund that failed), never exceed it",
    query: `
      select format('transaction %s moved %s, reversed %s net', o.id, o.amount, sum(r.amount - coalesce(u.undone, 0))) as detail
        from public.wallet_transactions o
        join public.wallet_transactions r on r.reverses_id = o.id
        left join lateral (select sum(x.amount) as undone from public.wallet_transactions x where x.reverses_id = r.id) u on true
       group by o.id, o.amount
      having sum(r.amount - coalesce(u.undone, 0)) > o.amount`,
  },
  {
    invariant: "5. an idempotency key has one transaction per caller scope",
    query: `
      select format('key %s of %s used by %s transactions', t.idempotency_key, coalesce(t.initiated_by::text, 'service'), count(*)) as detail
        from public.wallet_transactions t
       group by t.idempotency_key, t.initiated_by
      having count(*) > 1`,
  },
];

/** Every violation of the ledger invariants in the database `sql` points at (none: []). */
export async function checkLedgerInvariants(sql: Sql): Promise<InvariantViolation[]> {
  const violations: InvariantViolation[] = [];
  for (const check of checks) {
    const rows = await sql.unsafe<{ detail: string }[]>(check.query);
    for (const row of rows) violations.push({ invariant: check.invariant, detail: row.detail });
  }
  return violations;
}

/** Throws with a readable list when any invariant is violated. */
export async function assertLedgerInvariants(sql: Sql): Promise<void> {
  const violations = await checkLedgerInvariants(sql);
  if (violations.length > 0) {
    const lines = violations.slice(0, 20).map((v) => `- ${v.invariant}: ${v.detail}`);
    throw new Error(`ledger invariants violated (${violations.length}):\n${lines.join("\n")}`);
  }
}
