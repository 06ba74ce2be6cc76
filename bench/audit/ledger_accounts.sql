-- 50 funded USD accounts for bench/audit/trigger-cost.sh, created through the ledger's own
-- functions (users open their accounts, the service deposits), numbered 1..50.
create schema if not exists bench_audit;
create table if not exists bench_audit.ledger_accounts (n int primary key, id uuid not null);
grant usage on schema bench_audit to service_role;
grant select on bench_audit.ledger_accounts to service_role;

do $$
declare
  v_user uuid;
  v_account uuid;
begin
  for i in 1..50 loop
    continue when exists (select 1 from bench_audit.ledger_accounts where n = i);
    v_user := gen_random_uuid();
    insert into auth.users (id, email) values (v_user, 'bench-audit-' || i || '@example.test');
    perform set_config('request.jwt.claims', json_build_object('sub', v_user, 'role', 'authenticated')::text, true);
    set local role authenticated;
    select (public.wallet_open_account('USD')).id into v_account;
    reset role;
    perform set_config('request.jwt.claims', '', true);
    perform public.wallet_deposit(v_account, 1000000000, 'USD', 'stripe', 'bench-audit-seed-' || i);
    insert into bench_audit.ledger_accounts values (i, v_account);
  end loop;
end;
$$;
