-- A stand-in for the ledger's write pattern, used to size the audit trigger before the
-- ledger exists: one transfer = lock two accounts, one transaction row, two entry rows,
-- two balance updates. Loaded only by bench/audit/trigger-cost.sh into its own schema.
create schema if not exists bench_audit;
create table if not exists bench_audit.accounts (
  id uuid primary key default gen_random_uuid(), n int unique not null,
  owner_id uuid, currency text not null default 'USD', balance bigint not null default 0,
  available bigint not null default 0, status text not null default 'active',
  updated_at timestamptz not null default now());
create table if not exists bench_audit.transactions (
  id uuid primary key default gen_random_uuid(), kind text not null, status text not null,
  amount bigint not null, currency text not null, from_account_id uuid, to_account_id uuid,
  idempotency_key text, metadata jsonb not null default '{}', created_at timestamptz not null default now());
create table if not exists bench_audit.entries (
  id bigint generated always as identity primary key, transaction_id uuid not null,
  account_id uuid not null, amount bigint not null, created_at timestamptz not null default now());
insert into bench_audit.accounts (n, balance, available)
  select g, 1000000000, 1000000000 from generate_series(1, 50) g on conflict do nothing;

create or replace function bench_audit.transfer(p_from int, p_to int, p_amount bigint) returns uuid
language plpgsql security definer set search_path = public as $$
declare v_from uuid; v_to uuid; v_tx uuid;
begin
  perform 1 from bench_audit.accounts where n in (p_from, p_to) order by id for update;
  select id into v_from from bench_audit.accounts where n = p_from;
  select id into v_to from bench_audit.accounts where n = p_to;
  insert into bench_audit.transactions (kind, status, amount, currency, from_account_id, to_account_id, idempotency_key)
    values ('transfer', 'posted', p_amount, 'USD', v_from, v_to, gen_random_uuid()::text) returning id into v_tx;
  insert into bench_audit.entries (transaction_id, account_id, amount)
    values (v_tx, v_from, -p_amount), (v_tx, v_to, p_amount);
  update bench_audit.accounts set balance = balance - p_amount, available = available - p_amount, updated_at = now() where id = v_from;
  update bench_audit.accounts set balance = balance + p_amount, available = available + p_amount, updated_at = now() where id = v_to;
  return v_tx;
end $$;

grant usage on schema bench_audit to service_role;
grant execute on function bench_audit.transfer(int, int, bigint) to service_role;
