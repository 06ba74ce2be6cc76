// A second yardstick for the ledger's throughput (docs/BENCHMARKS.md): the least a transfer
// can do and still keep the ledger's contract, written as plainly as possible in one PL/pgSQL
// function. Beyond the bare transfer it has what the contract requires of every transfer:
// uuid ids (time-ordered, as clients see them), the idempotency key unique per caller with
// its replay comparison, the request context of the call on the transaction row (the ledger's
// attribution), the indexes that RLS and constant-cost statement pages need, the status,
// currency and funds checks and the tables' check constraints. It leaves out everything a
// real ledger adds around that minimum (error messages that name accounts and keys, argument
// bounds, what errors tell whom, hot accounts, holds, limits), so wallet_transfer against it
// is the cost of those. Like the bare transfer it lives in a schema the benchmark creates and
// drops: a yardstick, not part of the product.
import type postgres from "postgres";

export const MINIMAL_SCHEMA = "bench_minimal";

export async function createMinimalLedger(
  sql: postgres.Sql,
  options: { accountIds: string[]; currency: string; funds: number; grantTo: string },
): Promise<void> {
  const s = MINIMAL_SCHEMA;
  await sql.unsafe(`
    drop schema if exists ${s} cascade;
    create schema ${s};
    create table ${s}.accounts (
      id uuid primary key,
      currency text not null check (currency ~ '^[A-Z]{3}$'),
      status text not null default 'active' check (status in ('active', 'frozen', 'closed')),
      balance bigint not null check (balance >= 0),
      available bigint not null check (available between 0 and balance)
    );
    create table ${s}.transactions (
      id uuid primary key,
      amount bigint not null check (amount > 0),
      currency text not null,
      from_account_id uuid not null,
      to_account_id uuid not null check (to_account_id <> from_account_id),
      idempotency_key text not null,
      initiated_by uuid,
      created_at timestamptz not null default now(),
      actor_id uuid, actor_role text, actor_app_role text, session_id text, correlation_id text,
      client_ip inet, user_agent text,
      unique nulls not distinct (idempotency_key, initiated_by)
    );
    create index on ${s}.transactions (from_account_id);
    create index on ${s}.transactions (to_account_id);
    create table ${s}.entries (
      id bigint generated always as identity primary key,
      transaction_id uuid not null references ${s}.transactions,
      account_id uuid not null,
      amount bigint not null
    );
    create index on ${s}.entries (account_id, id);
    create function ${s}.transfer(p_from uuid, p_to uuid, p_amount bigint, p_currency text, p_key text) returns uuid
    language plpgsql security definer set search_path = '' as $$
    declare
      v_id uuid;
      v_original ${s}.transactions;
    begin
      if p_key is null or p_amount is null or p_amount <= 0 or p_from = p_to then
        raise exception 'invalid transfer' using errcode = '22023';
      end if;
      insert into ${s}.transactions (id, amount, currency, from_account_id, to_account_id, idempotency_key,
                                     actor_id, actor_role, actor_app_role, session_id, correlation_id, client_ip, user_agent)
      select private.uuid_v7(), p_amount, p_currency, p_from, p_to, p_key,
             c.actor_id, c.actor_role, c.actor_app_role, c.session_id, c.correlation_id, c.ip, c.user_agent
        from audit.request_context() c
      on conflict (idempotency_key, initiated_by) do nothing
      returning id into v_id;
      if v_id is null then
        select * into v_original from ${s}.transactions t where t.idempotency_key = p_key and t.initiated_by is null;
        if (v_original.from_account_id, v_original.to_account_id, v_original.amount, v_original.currency)
           is distinct from (p_from, p_to, p_amount, p_currency) then
          raise exception 'idempotency key reused' using errcode = 'WL005';
        end if;
        return v_original.id;
      end if;
      perform 1 from ${s}.accounts where id in (p_from, p_to) order by id for no key update;
      update ${s}.accounts set balance = balance - p_amount, available = available - p_amount
       where id = p_from and status = 'active' and currency = p_currency and available >= p_amount;
      if not found then raise exception 'sender refused' using errcode = 'WL001'; end if;
      update ${s}.accounts set balance = balance + p_amount, available = available + p_amount
       where id = p_to and status = 'active' and currency = p_currency;
      if not found then raise exception 'receiver refused' using errcode = 'WL007'; end if;
      insert into ${s}.entries (transaction_id, account_id, amount) values (v_id, p_from, -p_amount), (v_id, p_to, p_amount);
      return v_id;
    end $$;
    grant usage on schema ${s} to ${options.grantTo};
    grant execute on function ${s}.transfer(uuid, uuid, bigint, text, text) to ${options.grantTo};
  `);
  await sql`
    insert into ${sql(MINIMAL_SCHEMA)}.accounts (id, currency, balance, available)
    select id, ${options.currency}, ${options.funds}, ${options.funds} from unnest(${options.accountIds}::uuid[]) id`;
  await sql.unsafe(`analyze ${s}.accounts`);
}

/** Transfers between the fixture's accounts, as the ledger's throughput script draws them, each with a fresh key. */
export function minimalTransferScript(
  accountSql: (variable: string) => string,
  accounts: number,
  currency: string,
  keyPrefix: string,
): string {
  return [
    `\\set f random(1, ${accounts})`,
    `\\set t 1 + (:f + random(0, ${accounts - 2})) % ${accounts}`,
    `\\set amt random(1, 100)`,
    `select ${MINIMAL_SCHEMA}.transfer(${accountSql(":f")}, ${
      accountSql(":t")
    }, :amt, '${currency}', '${keyPrefix}' || gen_random_uuid()::text);`,
    "",
  ].join("\n");
}
