// The baseline of the ledger's throughput target (docs/LEDGER.md): the least a double-entry transfer can do on
// this cluster. Lock both accounts in id order, update both balances, insert one transaction
// and two entries; integer keys, no idempotency, no audit, no checks. One function call per
// transfer, one round trip, as wallet_transfer. It lives in a schema of its own that the
// benchmark creates and drops: it is a yardstick, not part of the product.
import type postgres from "postgres";

export const BARE_SCHEMA = "bench_bare";

export async function createBareLedger(sql: postgres.Sql, options: { accounts: number; funds: number; grantTo: string }): Promise<void> {
  await sql.unsafe(`
    drop schema if exists ${BARE_SCHEMA} cascade;
    create schema ${BARE_SCHEMA};
    create table ${BARE_SCHEMA}.accounts (id int primary key, balance bigint not null);
    create table ${BARE_SCHEMA}.transactions (id bigint generated always as identity primary key, amount bigint not null);
    create table ${BARE_SCHEMA}.entries (
      id bigint generated always as identity primary key,
      transaction_id bigint not null references ${BARE_SCHEMA}.transactions,
      account_id int not null references ${BARE_SCHEMA}.accounts,
      amount bigint not null
    );
    insert into ${BARE_SCHEMA}.accounts select n, ${options.funds} from generate_series(1, ${options.accounts}) n;
    create function ${BARE_SCHEMA}.transfer(p_from int, p_to int, p_amount bigint) returns bigint
    language plpgsql as $$
    declare
      v_transaction bigint;
    begin
      perform 1 from ${BARE_SCHEMA}.accounts where id in (p_from, p_to) order by id for update;
      update ${BARE_SCHEMA}.accounts set balance = balance - p_amount where id = p_from;
      update ${BARE_SCHEMA}.accounts set balance = balance + p_amount where id = p_to;
      insert into ${BARE_SCHEMA}.transactions (amount) values (p_amount) returning id into v_transaction;
      insert into ${BARE_SCHEMA}.entries (transaction_id, account_id, amount)
        values (v_transaction, p_from, -p_amount), (v_transaction, p_to, p_amount);
      return v_transaction;
    end $$;
    grant usage on schema ${BARE_SCHEMA} to ${options.grantTo};
    grant select, insert, update on all tables in schema ${BARE_SCHEMA} to ${options.grantTo};
    grant execute on function ${BARE_SCHEMA}.transfer(int, int, bigint) to ${options.grantTo};
    analyze ${BARE_SCHEMA}.accounts;
  `);
}

/** Transfers between the accounts, as the ledger's throughput script draws them. */
export function bareTransferScript(accounts: number): string {
  return [
    `\\set f random(1, ${accounts})`,
    `\\set t 1 + (:f + random(0, ${accounts - 2})) % ${accounts}`,
    `\\set amt random(1, 100)`,
    `select ${BARE_SCHEMA}.transfer(:f, :t, :amt);`,
    "",
  ].join("\n");
}

/** Fails unless a yardstick ledger (the bare one, or bench/lib/minimal-ledger.ts) holds `expected` transactions, balanced entries and its total. */
export async function verifyYardstickLedger(sql: postgres.Sql, schema: string, expected: number, total: number): Promise<void> {
  const [row] = await sql.unsafe(`
    select (select count(*) from ${schema}.transactions)::bigint as transactions,
           (select count(*) from ${schema}.entries)::bigint as entries,
           (select coalesce(sum(amount), 0) from ${schema}.entries)::bigint as entry_sum,
           (select sum(balance) from ${schema}.accounts)::bigint as balance_sum`);
  const found = {
    transactions: Number(row!.transactions),
    entries: Number(row!.entries),
    entrySum: Number(row!.entry_sum),
    balanceSum: Number(row!.balance_sum),
  };
  if (found.transactions !== expected || found.entries !== 2 * expected || found.entrySum !== 0 || found.balanceSum !== total) {
    throw new Error(`${schema} after ${expected} transfers: ${JSON.stringify(found)} (balances should sum to ${total})`);
  }
}

/** Drops a yardstick ledger's schema. */
export async function dropYardstickLedger(sql: postgres.Sql, schema: string): Promise<void> {
  await sql.unsafe(`drop schema if exists ${schema} cascade`);
}
