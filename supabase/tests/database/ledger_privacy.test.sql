-- What a signed-in user learns about accounts it does not own: nothing (docs/LEDGER.md,
-- "What errors tell whom"). A recipient that does not exist, is frozen, closed, a system
-- account or holds another currency gets one answer; admins and the service keep the
-- precise one, and so does a key the payer used before, unless it is reused towards the
-- same recipient. The reason given for a status is internal: staff read it, the owner does not.
begin;
select plan(32);

select tests.create_users(array['payer', 'frozen', 'closed', 'euro', 'payee'], array['admin'], array['support']);
insert into public.wallet_accounts (id, owner_id, kind, currency) values
  ('b7000000-0000-4000-8000-00000000000a', tests.user_id('payer'), 'user', 'USD'),
  ('b7000000-0000-4000-8000-00000000000f', tests.user_id('frozen'), 'user', 'USD'),
  ('b7000000-0000-4000-8000-00000000000c', tests.user_id('closed'), 'user', 'USD'),
  ('b7000000-0000-4000-8000-00000000000e', tests.user_id('euro'), 'user', 'EUR'),
  ('b7000000-0000-4000-8000-0000000000b0', tests.user_id('payee'), 'user', 'USD'),
  ('b7000000-0000-4000-8000-0000000000ac', tests.user_id('admin'), 'user', 'USD');
insert into public.wallet_accounts (id, kind, code, currency) values
  ('b7000000-0000-4000-8000-0000000000fe', 'system', 'fees:USD-privacy-test', 'USD');
select public.wallet_deposit('b7000000-0000-4000-8000-00000000000a', 1000, 'USD', 'stripe', 'privacy-fund');
select public.wallet_deposit('b7000000-0000-4000-8000-0000000000ac', 1000, 'USD', 'stripe', 'privacy-fund-admin');
select public.wallet_set_status('b7000000-0000-4000-8000-00000000000f', 'frozen', 'fraud case 4411: mule account');
select public.wallet_set_status('b7000000-0000-4000-8000-00000000000c', 'closed', 'closed at the owner''s request');

-- SQLSTATE and message of a call, the recipient's id replaced by <to>.
create function pg_temp.answer(p_sql text, p_to text) returns text
language plpgsql
as $$
begin
  execute p_sql;
  return 'no error';
exception
  when others then
    return sqlstate || ': ' || replace(sqlerrm, p_to, '<to>');
end;
$$;

create temporary table recipient (label text, id text) on commit drop;
insert into recipient values
  ('frozen', 'b7000000-0000-4000-8000-00000000000f'),
  ('closed', 'b7000000-0000-4000-8000-00000000000c'),
  ('another currency', 'b7000000-0000-4000-8000-00000000000e'),
  ('a system account', 'b7000000-0000-4000-8000-0000000000fe'),
  ('nonexistent', 'b7000000-0000-4000-8000-0000000000ff');
grant select on recipient to public;

-- ---------------------------------------------------------------- a user
select tests.as_user(tests.user_id('payer'));

select throws_ok(format($$ select public.wallet_transfer('b7000000-0000-4000-8000-00000000000a', %L, 10, 'USD', %L) $$, r.id, 'privacy-' || r.label),
  'WL007', format('wallet account %s not found or cannot receive this transfer', r.id),
  format('a user paying a %s recipient gets WL007 "not found or cannot receive"', r.label))
  from recipient r order by r.label;
select is((select array_agg(distinct pg_temp.answer(
             format($$ select public.wallet_transfer('b7000000-0000-4000-8000-00000000000a', %L, %s, 'USD', %L) $$, r.id, amount, 'privacy-x-' || r.label || amount), r.id))
             from recipient r cross join (values (10), (5000)) a(amount)),
  array['WL007: wallet account <to> not found or cannot receive this transfer'],
  'the five recipients give the same code and message, also when the payer could not cover the amount');
select is(pg_temp.answer($$ select public.wallet_transfer('b7000000-0000-4000-8000-00000000000a', 'b7000000-0000-4000-8000-0000000000ac', 5000, 'USD', 'privacy-short') $$, ''),
  'WL001: insufficient funds in wallet account b7000000-0000-4000-8000-00000000000a',
  'short of funds towards a recipient that can receive, the user hears about its own account');
select is((select count(*) from public.wallet_transactions where idempotency_key like 'privacy-%' and initiated_by is not null), 0::bigint,
  'none of the refused transfers was recorded');
select throws_ok($$ select public.wallet_transfer('b7000000-0000-4000-8000-00000000000a', 'b7000000-0000-4000-8000-00000000000e', 10, 'EUR', 'privacy-eur') $$,
  'WL002', null, 'a currency other than the payer''s own account is WL002, about the payer''s account');

-- A key the payer has used, reused towards another recipient: still the one answer. Were it
-- let through as a possible replay, the ledger's checks would tell the cases apart (WL007
-- "not found", WL002 with the account's currency, WL005 for one that exists).
select (public.wallet_transfer('b7000000-0000-4000-8000-00000000000a', 'b7000000-0000-4000-8000-0000000000b0', 10, 'USD', 'reused-key')).id as reused_id \gset
select is((select array_agg(distinct pg_temp.answer(
             format($$ select public.wallet_transfer('b7000000-0000-4000-8000-00000000000a', %L, 10, 'USD', 'reused-key') $$, r.id), r.id))
             from recipient r),
  array['WL007: wallet account <to> not found or cannot receive this transfer'],
  'a used key reused towards any of the five recipients gives the same code and message');
select is((select count(*) from public.wallet_transactions where idempotency_key = 'reused-key'), 1::bigint,
  'and records nothing');
-- The same call to the key's own recipient, frozen since, is a replay: it returns the original.
select tests.reset_role();
select public.wallet_set_status('b7000000-0000-4000-8000-0000000000b0', 'frozen', 'frozen after it was paid');
select tests.as_user(tests.user_id('payer'));
select is((public.wallet_transfer('b7000000-0000-4000-8000-00000000000a', 'b7000000-0000-4000-8000-0000000000b0', 10, 'USD', 'reused-key')).id,
  :'reused_id'::uuid, 'the key reused towards its own recipient, frozen since, replays the original');
select throws_ok($$ select public.wallet_transfer('b7000000-0000-4000-8000-00000000000a', 'b7000000-0000-4000-8000-0000000000b0', 11, 'USD', 'reused-key') $$,
  'WL005', 'idempotency key reused-key was already used with different parameters',
  'and with another amount is WL005, as for any reused key');

select is(pg_temp.answer($$ select public.wallet_balance('b7000000-0000-4000-8000-00000000000f') $$, 'b7000000-0000-4000-8000-00000000000f'),
  '42501: wallet account <to> is not yours', 'reading the balance of another user''s account is 42501');
select is(pg_temp.answer($$ select public.wallet_balance('b7000000-0000-4000-8000-0000000000ff') $$, 'b7000000-0000-4000-8000-0000000000ff'),
  '42501: wallet account <to> is not yours', 'and so is reading one that does not exist');
select is(pg_temp.answer($$ select public.payment_intent_create('stripe', 'b7000000-0000-4000-8000-00000000000e', 10, 'USD', 'privacy-pi-1') $$, 'b7000000-0000-4000-8000-00000000000e'),
  pg_temp.answer($$ select public.payment_intent_create('stripe', 'b7000000-0000-4000-8000-0000000000ff', 10, 'USD', 'privacy-pi-2') $$, 'b7000000-0000-4000-8000-0000000000ff'),
  'topping up another user''s account and a missing one give the same answer');

-- ---------------------------------------------------------------- an admin: the precise answers
select tests.as_admin(tests.user_id('admin'));
select throws_ok($$ select public.wallet_transfer('b7000000-0000-4000-8000-0000000000ac', 'b7000000-0000-4000-8000-00000000000f', 10, 'USD', 'privacy-adm-1') $$,
  'WL004', 'wallet account b7000000-0000-4000-8000-00000000000f is frozen', 'an admin hears that the recipient is frozen');
select throws_ok($$ select public.wallet_transfer('b7000000-0000-4000-8000-0000000000ac', 'b7000000-0000-4000-8000-00000000000c', 10, 'USD', 'privacy-adm-2') $$,
  'WL004', 'wallet account b7000000-0000-4000-8000-00000000000c is closed', 'that it is closed');
select throws_ok($$ select public.wallet_transfer('b7000000-0000-4000-8000-0000000000ac', 'b7000000-0000-4000-8000-00000000000e', 10, 'USD', 'privacy-adm-3') $$,
  'WL002', 'currency USD does not match wallet accounts b7000000-0000-4000-8000-0000000000ac (USD) and b7000000-0000-4000-8000-00000000000e (EUR)',
  'that it holds another currency');
select throws_ok($$ select public.wallet_transfer('b7000000-0000-4000-8000-0000000000ac', 'b7000000-0000-4000-8000-0000000000ff', 10, 'USD', 'privacy-adm-4') $$,
  'WL007', 'wallet account b7000000-0000-4000-8000-0000000000ff not found', 'that it does not exist');
select throws_ok($$ select public.wallet_transfer('b7000000-0000-4000-8000-0000000000ac', 'b7000000-0000-4000-8000-0000000000fe', 10, 'USD', 'privacy-adm-5') $$,
  '42501', 'wallet account b7000000-0000-4000-8000-0000000000fe does not take user transfers', 'that it is a system account');
select throws_ok($$ select public.wallet_balance('b7000000-0000-4000-8000-0000000000ff') $$,
  'WL007', 'wallet account b7000000-0000-4000-8000-0000000000ff not found', 'an admin hears that an account does not exist');
select is((select reason from public.wallet_status_reasons where account_id = 'b7000000-0000-4000-8000-00000000000f'),
  'fraud case 4411: mule account', 'an admin reads the reason for a status');

-- ---------------------------------------------------------------- the service: the precise answers
select tests.as_service();
select throws_ok($$ select public.wallet_transfer('b7000000-0000-4000-8000-00000000000a', 'b7000000-0000-4000-8000-00000000000f', 10, 'USD', 'privacy-svc-1') $$,
  'WL004', 'wallet account b7000000-0000-4000-8000-00000000000f is frozen', 'the service hears that the recipient is frozen');

-- ---------------------------------------------------------------- the reason for a status
select tests.as_user(tests.user_id('frozen'));
select hasnt_column('public', 'wallet_accounts', 'status_reason', 'wallet_accounts, which owners read whole, has no status_reason');
select is((select status from public.wallet_accounts where id = 'b7000000-0000-4000-8000-00000000000f'), 'frozen',
  'the frozen owner reads that its account is frozen');
select is((select count(*) from public.wallet_status_reasons), 0::bigint, 'but reads no reason, not even its own');
select is((select count(*) from public.wallet_accounts a where to_jsonb(a)::text like '%fraud case%'), 0::bigint,
  'and no row it reads carries the reason');
select is(to_jsonb(public.wallet_open_account('USD'))::text like '%fraud case%', false,
  'nor does its account as wallet_open_account returns it');
select throws_ok($$ select public.wallet_transfer('b7000000-0000-4000-8000-00000000000f', 'b7000000-0000-4000-8000-00000000000a', 1, 'USD', 'privacy-own') $$,
  'WL004', 'wallet account b7000000-0000-4000-8000-00000000000f is frozen', 'about its own account, the owner hears the precise answer');
select tests.as_support(tests.user_id('support'));
select is((select count(*) from public.wallet_status_reasons), 3::bigint, 'support reads the reasons');
select tests.reset_role();

select ok(not has_table_privilege('authenticated', 'public.wallet_status_reasons', 'insert')
          and not has_table_privilege('service_role', 'public.wallet_status_reasons', 'update'),
  'no API role writes the reasons but through wallet_set_status');

select * from finish();
rollback;
