-- Wallet ledger: balance shards of hot accounts. A credit takes the account row when it is
-- free and a shard when the row is busy; money out that the row cannot cover, and any status
-- change, folds the shards first; wallet_balance and wallet_account_balances read the row
-- plus its shards. Who may set their number, who may read them, and that nobody writes them
-- directly.
begin;
select plan(80);

select tests.create_users(array['merchant', 'payer', 'other'], array['admin'], array['support']);
select tests.create_accounts('ac600000', 'TZS', '{merchant, payer, other}');

-- The merchant's balance, three ways: row, row plus shards (the view), wallet_balance.
create function pg_temp.merchant() returns table (row_balance bigint, shards bigint, balance bigint, available bigint, wallet_balance bigint)
language sql as $$
  select a.balance, (select coalesce(sum(s.balance), 0)::bigint from public.wallet_balance_shards s where s.account_id = a.id),
         b.balance, b.available, public.wallet_balance(a.id)
    from public.wallet_accounts a join public.wallet_account_balances b on b.account_id = a.id
   where a.id = 'ac600000-0000-4000-8000-00000000000a'
$$;
grant execute on function pg_temp.merchant() to service_role;

-- What a credit that finds the account's row busy does: a shard credit, looking for a free
-- shard from p_shard. (A busy row needs a second session: supabase/tests/ledger/
-- balance-shards.test.ts holds one open.)
create function pg_temp.credit_shard(p_account uuid, p_shard smallint, p_amount bigint, p_frozen_ok boolean default false)
returns void language sql security definer
as $$ select private.wallet_credit_shards(array[p_account], array[p_shard], array[p_amount], p_frozen_ok) $$;
grant execute on function pg_temp.credit_shard(uuid, smallint, bigint, boolean) to service_role;

-- A payment of p_amount to the merchant in a batch (with 1 to the other account, so that it
-- locks its rows first): it credits the merchant's shard pg_backend_pid() % 4, entries and all.
create function pg_temp.stage(p_amount bigint, p_key text) returns void language sql
as $$
  select count(*) from public.wallet_transfer_batch(jsonb_build_array(
    jsonb_build_object('from', 'ac600000-0000-4000-8000-00000000000b', 'to', 'ac600000-0000-4000-8000-00000000000a',
                       'amount', p_amount, 'currency', 'TZS', 'idempotency_key', p_key),
    jsonb_build_object('from', 'ac600000-0000-4000-8000-00000000000b', 'to', 'ac600000-0000-4000-8000-00000000000c',
                       'amount', 1, 'currency', 'TZS', 'idempotency_key', p_key || '-other')))
$$;

select tests.as_service();
select lives_ok($$ select public.wallet_deposit('ac600000-0000-4000-8000-00000000000b', 100000, 'TZS', 'momo', 'sh-fund') $$,
  'fund the payer');

-- ---------------------------------------------------------------- a free row takes the credit
select is((public.wallet_transfer('ac600000-0000-4000-8000-00000000000b', 'ac600000-0000-4000-8000-00000000000a', 1000, 'TZS', 'sh-t-1')).status,
  'posted', 'a transfer to the merchant posts');
select results_eq($$ select * from pg_temp.merchant() $$, $$ values (1000::bigint, 0::bigint, 1000::bigint, 1000::bigint, 1000::bigint) $$,
  'nobody holds the merchant''s row: the credit lands in it');
select results_eq($$ select a.balance_shards, (select count(*) from public.wallet_balance_shards s where s.account_id = a.id)
                       from public.wallet_accounts a where a.id = 'ac600000-0000-4000-8000-00000000000a' $$,
  $$ values (0::smallint, 0::bigint) $$, 'and it gets no shards: only a credit that finds the row busy creates them');
select is((public.wallet_transfer('ac600000-0000-4000-8000-00000000000b', 'ac600000-0000-4000-8000-00000000000a', 1000, 'TZS', 'sh-t-1')).idempotency_key,
  'sh-t-1', 'a replay returns the original');
select results_eq($$ select balance from pg_temp.merchant() $$, $$ values (1000::bigint) $$, 'and credits nothing');

-- ---------------------------------------------------------------- shards set by an operator
select is((public.wallet_set_balance_shards('ac600000-0000-4000-8000-00000000000a', 4)).balance_shards, 4::smallint,
  'wallet_set_balance_shards gives the merchant four shards');
select results_eq(
  $$ select array_agg(shard order by shard), sum(balance)::bigint from public.wallet_balance_shards
      where account_id = 'ac600000-0000-4000-8000-00000000000a' $$,
  $$ values (array[0, 1, 2, 3]::smallint[], 0::bigint) $$,
  'its four shard rows exist, empty');
select lives_ok($$ select public.wallet_deposit('ac600000-0000-4000-8000-00000000000a', 500, 'TZS', 'momo', 'sh-d-1') $$,
  'a deposit to the merchant');
select results_eq($$ select row_balance, shards from pg_temp.merchant() $$, $$ values (1500::bigint, 0::bigint) $$,
  'with shards too, a credit that finds the row free lands in the row');
select lives_ok($$ select public.wallet_transfer_batch(
                     '[{"from": "ac600000-0000-4000-8000-00000000000b", "to": "ac600000-0000-4000-8000-00000000000a", "amount": 100, "currency": "TZS", "idempotency_key": "sh-b-1"},
                       {"from": "ac600000-0000-4000-8000-00000000000b", "to": "ac600000-0000-4000-8000-00000000000c", "amount": 50, "currency": "TZS", "idempotency_key": "sh-b-2"}]') $$,
  'a batch paying the merchant and another account');
select results_eq($$ select row_balance, shards, balance from pg_temp.merchant() $$, $$ values (1500::bigint, 100::bigint, 1500::bigint + 100) $$,
  'a batch, which locks its rows before it changes them, credits an account with shards through a shard');
select is((select shard from public.wallet_balance_shards where account_id = 'ac600000-0000-4000-8000-00000000000a' and balance <> 0),
  (pg_backend_pid() % 4)::smallint, 'the shard numbered by the backend pid');

-- ---------------------------------------------------------------- what a credit to a busy row does
select lives_ok($$ select pg_temp.credit_shard('ac600000-0000-4000-8000-00000000000a', 2::smallint, 30) $$,
  'a shard credit starting from shard 2');
select is((select balance - case when pg_backend_pid() % 4 = 2 then 100 else 0 end from public.wallet_balance_shards
            where account_id = 'ac600000-0000-4000-8000-00000000000a' and shard = 2),
  30::bigint, 'takes shard 2, which nobody holds');
select results_eq($$ select balance, available, wallet_balance from pg_temp.merchant() $$, $$ values (1630::bigint, 1630::bigint, 1630::bigint) $$,
  'the view and wallet_balance count row and shards');
-- That credit has no entries (a transfer writes them): taken back, so that the ledger stays whole.
select lives_ok($$ select pg_temp.credit_shard('ac600000-0000-4000-8000-00000000000a', 2::smallint, -30) $$, 'take it back');
select lives_ok($$ select public.wallet_set_status('ac600000-0000-4000-8000-00000000000a', 'frozen', 'shards test') $$, 'freeze the merchant');
select throws_ok($$ select pg_temp.credit_shard('ac600000-0000-4000-8000-00000000000a', 1::smallint, 5) $$,
  'WL004', null, 'a frozen account refuses a credit that went to a shard: WL004');
select results_eq($$ select row_balance, shards from pg_temp.merchant() $$, $$ values (1600::bigint, 0::bigint) $$,
  'the freeze folded the shards, the refused credit left nothing');
select lives_ok($$ select pg_temp.credit_shard('ac600000-0000-4000-8000-00000000000a', 1::smallint, 5, true) $$,
  'but it takes one that posts on frozen accounts (a reversal)');
select results_eq($$ select shards from pg_temp.merchant() $$, $$ values (5::bigint) $$, 'in a shard');
select lives_ok($$ select pg_temp.credit_shard('ac600000-0000-4000-8000-00000000000a', 1::smallint, -5, true) $$, 'take it back');
select lives_ok($$ select public.wallet_set_status('ac600000-0000-4000-8000-00000000000a', 'active', 'shards test') $$, 'unfreeze');
select throws_ok($$ select pg_temp.credit_shard('ac600000-0000-4000-8000-00000000000c', 0::smallint, 5) $$,
  'XX000', null, 'a shard credit to an account without shards fails instead of vanishing');

-- ---------------------------------------------------------------- money out folds the shards when the row is short
select lives_ok($$ select pg_temp.stage(400, 'sh-s-1') $$, 'the row holds 1600, the shards 400');
select lives_ok($$ select public.wallet_transfer('ac600000-0000-4000-8000-00000000000a', 'ac600000-0000-4000-8000-00000000000c', 630, 'TZS', 'sh-o-1') $$,
  'a payment the row covers');
select results_eq($$ select row_balance, shards from pg_temp.merchant() $$, $$ values (970::bigint, 400::bigint) $$,
  'takes it from the row and leaves the shards alone');
select throws_ok($$ select public.wallet_transfer('ac600000-0000-4000-8000-00000000000a', 'ac600000-0000-4000-8000-00000000000c', 1371, 'TZS', 'sh-o-2') $$,
  'WL001', null, 'paying out more than row plus shards: WL001');
select results_eq($$ select row_balance, shards from pg_temp.merchant() $$, $$ values (970::bigint, 400::bigint) $$,
  'the refused payment folded nothing');
select lives_ok($$ select public.wallet_transfer('ac600000-0000-4000-8000-00000000000a', 'ac600000-0000-4000-8000-00000000000c', 1295, 'TZS', 'sh-o-3') $$,
  'paying out more than the row, within row plus shards');
select results_eq($$ select * from pg_temp.merchant() $$, $$ values (75::bigint, 0::bigint, 75::bigint, 75::bigint, 75::bigint) $$,
  'the debit folded every shard into the row, then took its amount');
select lives_ok($$ select pg_temp.stage(25, 'sh-s-2') $$, '25 into a shard');
select is((public.wallet_hold('ac600000-0000-4000-8000-00000000000a', 100, 'TZS', 'sh-h-2')).status, 'pending',
  'a hold of the whole balance, a quarter of it in a shard');
select results_eq($$ select row_balance, shards, balance, available from pg_temp.merchant() $$,
  $$ values (100::bigint, 0::bigint, 100::bigint, 0::bigint) $$, 'the hold folded the shards and reserved the lot');
select lives_ok($$ select public.wallet_void((select id from public.wallet_transactions where idempotency_key = 'sh-h-2')) $$, 'void it');
select lives_ok($$ select public.wallet_transfer('ac600000-0000-4000-8000-00000000000b', 'ac600000-0000-4000-8000-00000000000a', 700, 'TZS', 'sh-t-3') $$,
  'a credit of 700, into the row');
select lives_ok($$ select pg_temp.stage(50, 'sh-s-3') $$, '50 into a shard');
select lives_ok($$ select public.wallet_reverse((select id from public.wallet_transactions where idempotency_key = 'sh-t-3'), 'sh-r-1', 700) $$,
  'a reversal of it, which debits the merchant 700 of its 800 in the row');
select results_eq($$ select row_balance, shards, balance, available from pg_temp.merchant() $$,
  $$ values (100::bigint, 50::bigint, 150::bigint, 150::bigint) $$, 'the row covered it: the shard keeps its 50');
select lives_ok($$ select public.wallet_transfer_batch(
                     '[{"from": "ac600000-0000-4000-8000-00000000000a", "to": "ac600000-0000-4000-8000-00000000000c", "amount": 150, "currency": "TZS", "idempotency_key": "sh-b-3"},
                       {"from": "ac600000-0000-4000-8000-00000000000b", "to": "ac600000-0000-4000-8000-00000000000c", "amount": 10, "currency": "TZS", "idempotency_key": "sh-b-4"}]') $$,
  'a batch that pays out everything, row and shard');
select results_eq($$ select row_balance, shards, balance from pg_temp.merchant() $$, $$ values (0::bigint, 0::bigint, 0::bigint) $$,
  'the batch folded the shard too');

-- ---------------------------------------------------------------- status changes
select lives_ok($$ select pg_temp.stage(400, 'sh-s-4') $$, '400 into a shard');
select throws_ok($$ select public.wallet_set_status('ac600000-0000-4000-8000-00000000000a', 'closed', 'shards test') $$,
  'WL008', null, 'closing with money in a shard: WL008');
select results_eq($$ select (public.wallet_set_status('ac600000-0000-4000-8000-00000000000a', 'frozen', 'shards test')).balance $$,
  $$ values (400::bigint) $$, 'freezing folds the shards: the returned row carries the whole balance');
select results_eq($$ select row_balance, shards from pg_temp.merchant() $$, $$ values (400::bigint, 0::bigint) $$, 'nothing left in the shards');
select throws_ok($$ select public.wallet_transfer('ac600000-0000-4000-8000-00000000000b', 'ac600000-0000-4000-8000-00000000000a', 1, 'TZS', 'sh-t-6') $$,
  'WL004', null, 'a transfer to the frozen merchant: WL004');
select throws_ok($$ select public.wallet_deposit('ac600000-0000-4000-8000-00000000000a', 1, 'TZS', 'momo', 'sh-d-2') $$,
  'WL004', null, 'a deposit to the frozen merchant: WL004');
select results_eq($$ select row_balance, shards from pg_temp.merchant() $$, $$ values (400::bigint, 0::bigint) $$,
  'the refused credits changed nothing');
select lives_ok($$ select public.wallet_set_status('ac600000-0000-4000-8000-00000000000a', 'active', 'shards test') $$, 'unfreeze');

-- ---------------------------------------------------------------- turning shards off
select lives_ok($$ select pg_temp.stage(60, 'sh-s-5') $$, '60 into a shard');
select results_eq($$ select balance_shards, balance from public.wallet_set_balance_shards('ac600000-0000-4000-8000-00000000000a', 0) $$,
  $$ values (0::smallint, 460::bigint) $$, 'switching shards off folds them into the row');
select throws_ok($$ select pg_temp.credit_shard('ac600000-0000-4000-8000-00000000000a', 3::smallint, 5) $$,
  '40001', null, 'a shard credit that raced the switch to 0: 40001, to retry');
select lives_ok($$ select public.wallet_transfer('ac600000-0000-4000-8000-00000000000b', 'ac600000-0000-4000-8000-00000000000a', 40, 'TZS', 'sh-t-8') $$,
  'a credit of 40');
select results_eq($$ select row_balance, shards, balance from pg_temp.merchant() $$, $$ values (500::bigint, 0::bigint, 500::bigint) $$,
  'without shards a credit lands in the row');

-- ---------------------------------------------------------------- bad calls
select throws_ok($$ select public.wallet_set_balance_shards('ac600000-0000-4000-8000-00000000000a', 65) $$,
  '22023', null, 'more than 64 shards: 22023');
select throws_ok($$ select public.wallet_set_balance_shards('ac600000-0000-4000-8000-00000000000a', -1) $$,
  '22023', null, 'a negative number of shards: 22023');
select throws_ok($$ select public.wallet_set_balance_shards('ac600000-0000-4000-8000-00000000000a', null) $$,
  '22023', null, 'no number of shards: 22023');
select throws_ok($$ select public.wallet_set_balance_shards('ac600000-0000-4000-8000-0000000000ff', 4) $$,
  'WL007', null, 'an unknown account: WL007');
select lives_ok($$ select public.wallet_set_status('ac600000-0000-4000-8000-00000000000c', 'frozen', 'drain') $$, 'freeze the other account');
select tests.reset_role();
update public.wallet_accounts set status = 'closed', balance = 0, available = 0 where id = 'ac600000-0000-4000-8000-00000000000c';
select tests.as_service();
select throws_ok($$ select public.wallet_set_balance_shards('ac600000-0000-4000-8000-00000000000c', 4) $$,
  'WL004', null, 'a closed account: WL004');
select is((select count(*) from public.wallet_balance_shards where account_id = 'ac600000-0000-4000-8000-00000000000c'), 0::bigint,
  'the refused calls created no shard');

-- ---------------------------------------------------------------- who may turn shards on
select is((select p.prosecdef and p.proconfig = array['search_path=""'] from pg_proc p
            where p.oid = 'public.wallet_set_balance_shards(uuid, integer)'::regprocedure),
  true, 'wallet_set_balance_shards is security definer with an empty search_path');
select results_eq(
  $$ select has_function_privilege(r, 'public.wallet_set_balance_shards(uuid, integer)', 'execute')
       from unnest(array['anon', 'authenticated', 'service_role']) with ordinality as u(r, n) order by n $$,
  $$ values (false), (false), (true) $$, 'only service_role executes it');
select tests.as_admin(tests.user_id('admin'));
select throws_ok($$ select public.wallet_set_balance_shards('ac600000-0000-4000-8000-00000000000a', 8) $$,
  '42501', null, 'an admin JWT does not get to call it: 42501');

-- ---------------------------------------------------------------- who may read shards and balances
select is((select count(*) from public.wallet_balance_shards where account_id = 'ac600000-0000-4000-8000-00000000000a'), 4::bigint,
  'an admin reads the merchant''s shards');
select is((select balance from public.wallet_account_balances where account_id = 'ac600000-0000-4000-8000-00000000000a'), 500::bigint,
  'and its balance');
select tests.as_support(tests.user_id('support'));
select is((select count(*) from public.wallet_balance_shards where account_id = 'ac600000-0000-4000-8000-00000000000a'), 4::bigint,
  'support reads them too');
select tests.as_user(tests.user_id('merchant'));
select is((select count(*) from public.wallet_balance_shards), 4::bigint, 'the merchant reads its own shards');
select results_eq($$ select account_id, balance, available from public.wallet_account_balances $$,
  $$ values ('ac600000-0000-4000-8000-00000000000a'::uuid, 500::bigint, 500::bigint) $$,
  'and exactly its own balance in wallet_account_balances');
select tests.as_user(tests.user_id('payer'));
select is((select count(*) from public.wallet_balance_shards), 0::bigint, 'another user reads no shard');
select results_eq($$ select account_id from public.wallet_account_balances $$,
  $$ values ('ac600000-0000-4000-8000-00000000000b'::uuid) $$, 'and only its own balance');
select tests.as_anon();
select throws_ok($$ select count(*) from public.wallet_balance_shards $$, '42501', null, 'anon reads no shard: 42501');
select throws_ok($$ select count(*) from public.wallet_account_balances $$, '42501', null, 'anon reads no balance: 42501');
select tests.reset_role();

-- ---------------------------------------------------------------- nobody writes shards directly
select is((select count(*) from unnest(array['anon', 'authenticated', 'service_role']) r
            cross join unnest(array['insert', 'update', 'delete', 'truncate']) p
            where has_table_privilege(r, 'public.wallet_balance_shards', p)), 0::bigint,
  'no API role may insert, update, delete or truncate a shard');
select throws_ok($$ delete from public.wallet_balance_shards where account_id = 'ac600000-0000-4000-8000-00000000000a' $$,
  '42501', null, 'not even the owner deletes one');
select throws_ok($$ truncate public.wallet_balance_shards $$, '42501', null, 'or truncates the table');
select is((select c.relrowsecurity and c.relforcerowsecurity from pg_class c where c.oid = 'public.wallet_balance_shards'::regclass),
  true, 'RLS is enabled and forced on the shards');
select is((select count(*) from audit.log l join public.wallet_balance_shards s on l.record_id = s.id::text
            where l.table_name = 'wallet_balance_shards' and l.operation = 'UPDATE'
              and s.account_id = 'ac600000-0000-4000-8000-00000000000a'), 0::bigint,
  'a credit to a shard and a fold write no audit row of their own: they move balances only');
select is((select coalesce(sum((l.new_record ->> 'amount')::bigint), 0) from audit.trail l
            where l.table_name = 'wallet_entries' and l.new_record ->> 'account_id' = 'ac600000-0000-4000-8000-00000000000a'),
          (select balance + (select coalesce(sum(balance), 0) from public.wallet_balance_shards where account_id = a.id)
             from public.wallet_accounts a where a.id = 'ac600000-0000-4000-8000-00000000000a'),
  'the account''s entries in the audit trail explain its whole balance, shards included');

select * from finish();
rollback;
