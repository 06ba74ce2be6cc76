-- Wallet ledger: happy path and every error code of open_account, deposit, transfer,
-- transfer_batch, balance and set_status, called as service_role (the caller matrix is in
-- ledger_access.test.sql, holds and reversals in ledger_holds_reversals.test.sql).
begin;
select plan(78);

-- Fixture: two users with USD accounts, alice also EUR.
select tests.create_two_user_ledger('ac000000', 'USD');

-- ---------------------------------------------------------------- wallet_open_account
select tests.as_user(tests.user_id('alice'));
select is((public.wallet_open_account('USD')).id, 'ac000000-0000-4000-8000-00000000000a'::uuid,
  'open_account returns the existing account for a currency');
select results_eq(
  $$ select owner_id, kind, currency, balance, available, status, allow_negative from public.wallet_open_account('GBP') $$,
  $$ values (tests.user_id('alice'), 'user', 'GBP', 0::bigint, 0::bigint, 'active', false) $$,
  'open_account creates an empty active account owned by the caller');
select is((select count(*) from public.wallet_accounts where currency = 'GBP'), 1::bigint,
  'opening twice keeps one account per currency');
select throws_ok($$ select public.wallet_open_account('usd') $$, '22023', null,
  'open_account rejects a currency that is not an ISO code');
select tests.reset_role();

select tests.as_service();

-- ---------------------------------------------------------------- wallet_deposit
select results_eq(
  $$ select kind, status, amount, currency, to_account_id, initiated_by from public.wallet_deposit(
       'ac000000-0000-4000-8000-00000000000a', 10000, 'USD', 'stripe', 'fn-dep-1', '{"pi":"pi_1"}') $$,
  $$ values ('deposit', 'posted', 10000::bigint, 'USD', 'ac000000-0000-4000-8000-00000000000a'::uuid, null::uuid) $$,
  'deposit posts a credit from the provider');
select is(public.wallet_balance('ac000000-0000-4000-8000-00000000000a'), 10000::bigint, 'deposit credits the account');
select results_eq(
  $$ select kind, balance, allow_negative from public.wallet_accounts where code = 'clearing:stripe:USD' $$,
  $$ values ('system', -10000::bigint, true) $$,
  'the clearing account is created on first use and goes negative');
select is(
  (public.wallet_deposit('ac000000-0000-4000-8000-00000000000a', 10000, 'USD', 'stripe', 'fn-dep-1', '{"pi":"pi_1"}')).id,
  (select id from public.wallet_transactions where idempotency_key = 'fn-dep-1'),
  'a deposit replay returns the original transaction');
select is(public.wallet_balance('ac000000-0000-4000-8000-00000000000a'), 10000::bigint, 'a replay changes nothing');
select throws_ok($$ select public.wallet_deposit('ac000000-0000-4000-8000-00000000000a', 10001, 'USD', 'stripe', 'fn-dep-1') $$,
  'WL005', 'idempotency key fn-dep-1 was already used with different parameters', 'deposit key reused with another amount: WL005');
select throws_ok($$ select public.wallet_deposit('ac000000-0000-4000-8000-00000000000a', 5, 'EUR', 'stripe', 'fn-dep-2') $$,
  'WL002', null, 'deposit in another currency than the account: WL002');
select throws_ok($$ select public.wallet_deposit('ac000000-0000-4000-8000-00000000000a', 0, 'USD', 'stripe', 'fn-dep-3') $$,
  'WL006', null, 'deposit of zero: WL006');
select throws_ok($$ select public.wallet_deposit('ac000000-0000-4000-8000-00000000000a', 10000000001, 'USD', 'stripe', 'fn-dep-4') $$,
  'WL006', null, 'deposit above the configured maximum: WL006');
select throws_ok($$ select public.wallet_deposit('ac000000-0000-4000-8000-0000000000ff', 5, 'USD', 'stripe', 'fn-dep-5') $$,
  'WL007', 'wallet account ac000000-0000-4000-8000-0000000000ff not found', 'deposit to a missing account: WL007 naming it');
select throws_ok($$ select public.wallet_deposit('ac000000-0000-4000-8000-00000000000a', 5, 'USD', 'Bad Source!', 'fn-dep-6') $$,
  '22023', null, 'deposit from a malformed provider name: 22023');
select throws_ok($$ select public.wallet_deposit('ac000000-0000-4000-8000-00000000000a', 5, 'USD', 'stripe', null) $$,
  '22023', null, 'deposit without idempotency key: 22023');

-- ---------------------------------------------------------------- wallet_transfer
select results_eq(
  $$ select kind, status, amount, from_account_id, to_account_id, description, metadata from public.wallet_transfer(
       'ac000000-0000-4000-8000-00000000000a', 'ac000000-0000-4000-8000-00000000000b', 2500, 'USD', 'fn-tr-1', 'rent', '{"k":1}') $$,
  $$ values ('transfer', 'posted', 2500::bigint, 'ac000000-0000-4000-8000-00000000000a'::uuid,
             'ac000000-0000-4000-8000-00000000000b'::uuid, 'rent', '{"k":1}'::jsonb) $$,
  'transfer posts a transaction');
select results_eq(
  $$ select balance, available from public.wallet_accounts where id in ('ac000000-0000-4000-8000-00000000000a', 'ac000000-0000-4000-8000-00000000000b') order by id $$,
  $$ values (7500::bigint, 7500::bigint), (2500::bigint, 2500::bigint) $$,
  'transfer moves balance and available');
select results_eq(
  $$ select e.account_id, e.amount from public.wallet_entries e join public.wallet_transactions t on t.id = e.transaction_id
      where t.idempotency_key = 'fn-tr-1' order by e.amount $$,
  $$ values ('ac000000-0000-4000-8000-00000000000a'::uuid, -2500::bigint), ('ac000000-0000-4000-8000-00000000000b'::uuid, 2500::bigint) $$,
  'transfer writes one debit and one credit');
select is(
  (public.wallet_transfer('ac000000-0000-4000-8000-00000000000a', 'ac000000-0000-4000-8000-00000000000b', 2500, 'USD', 'fn-tr-1', 'rent', '{"k":1}')).id,
  (select id from public.wallet_transactions where idempotency_key = 'fn-tr-1'),
  'transfer replay returns the original');
select is(public.wallet_balance('ac000000-0000-4000-8000-00000000000b'), 2500::bigint, 'transfer replay moves nothing');
select throws_ok($$ select public.wallet_transfer('ac000000-0000-4000-8000-00000000000a', 'ac000000-0000-4000-8000-00000000000b', 2500, 'USD', 'fn-tr-1', 'other') $$,
  'WL005', null, 'transfer key reused with another description: WL005');
select throws_ok($$ select public.wallet_transfer('ac000000-0000-4000-8000-00000000000b', 'ac000000-0000-4000-8000-00000000000a', 2501, 'USD', 'fn-tr-2') $$,
  'WL001', 'insufficient funds in wallet account ac000000-0000-4000-8000-00000000000b', 'transfer above the balance: WL001 naming the account');
select throws_ok($$ select public.wallet_transfer('ac000000-0000-4000-8000-00000000000a', 'ac000000-0000-4000-8000-00000000000e', 1, 'USD', 'fn-tr-3') $$,
  'WL002', null, 'transfer between currencies: WL002');
select throws_ok($$ select public.wallet_transfer('ac000000-0000-4000-8000-00000000000a', 'ac000000-0000-4000-8000-00000000000b', 1, 'EUR', 'fn-tr-4') $$,
  'WL002', null, 'transfer in another currency than the accounts: WL002');
select throws_ok($$ select public.wallet_transfer('ac000000-0000-4000-8000-00000000000a', 'ac000000-0000-4000-8000-00000000000a', 1, 'USD', 'fn-tr-5') $$,
  'WL003', null, 'transfer to the same account: WL003');
select throws_ok($$ select public.wallet_transfer('ac000000-0000-4000-8000-00000000000a', 'ac000000-0000-4000-8000-00000000000b', -5, 'USD', 'fn-tr-6') $$,
  'WL006', null, 'negative transfer: WL006');
select throws_ok($$ select public.wallet_transfer('ac000000-0000-4000-8000-00000000000a', 'ac000000-0000-4000-8000-0000000000ff', 1, 'USD', 'fn-tr-7') $$,
  'WL007', null, 'transfer to a missing account: WL007');
select is((select count(*) from public.wallet_transactions where idempotency_key like 'fn-tr-%'), 1::bigint,
  'failed transfers write nothing');

-- ---------------------------------------------------------------- wallet_transfer_batch
select results_eq(
  $$ select idempotency_key, amount from public.wallet_transfer_batch(jsonb_build_array(
       jsonb_build_object('from', 'ac000000-0000-4000-8000-00000000000a', 'to', 'ac000000-0000-4000-8000-00000000000b', 'amount', 100, 'currency', 'USD', 'idempotency_key', 'fn-b-1'),
       jsonb_build_object('p_from', 'ac000000-0000-4000-8000-00000000000b', 'p_to', 'ac000000-0000-4000-8000-00000000000a', 'p_amount', 40, 'p_currency', 'USD', 'p_idempotency_key', 'fn-b-2'),
       jsonb_build_object('from', 'ac000000-0000-4000-8000-00000000000a', 'to', 'ac000000-0000-4000-8000-00000000000b', 'amount', 7, 'currency', 'USD', 'idempotency_key', 'fn-b-3', 'description', 'x'))) $$,
  $$ values ('fn-b-1', 100::bigint), ('fn-b-2', 40::bigint), ('fn-b-3', 7::bigint) $$,
  'batch posts every transfer and returns them in input order');
select results_eq(
  $$ select balance from public.wallet_accounts where id in ('ac000000-0000-4000-8000-00000000000a', 'ac000000-0000-4000-8000-00000000000b') order by id $$,
  $$ values (7433::bigint), (2567::bigint) $$,
  'batch applies the net effect');
select is(
  (select array_agg(id order by idempotency_key) from public.wallet_transfer_batch(jsonb_build_array(
     jsonb_build_object('from', 'ac000000-0000-4000-8000-00000000000a', 'to', 'ac000000-0000-4000-8000-00000000000b', 'amount', 100, 'currency', 'USD', 'idempotency_key', 'fn-b-1'),
     jsonb_build_object('p_from', 'ac000000-0000-4000-8000-00000000000b', 'p_to', 'ac000000-0000-4000-8000-00000000000a', 'p_amount', 40, 'p_currency', 'USD', 'p_idempotency_key', 'fn-b-2')))),
  (select array_agg(id order by idempotency_key) from public.wallet_transactions where idempotency_key in ('fn-b-1', 'fn-b-2')),
  'batch replay returns the original transactions');
select is(public.wallet_balance('ac000000-0000-4000-8000-00000000000a'), 7433::bigint, 'batch replay moves nothing');
select throws_ok($$ select public.wallet_transfer_batch(jsonb_build_array(
     jsonb_build_object('from', 'ac000000-0000-4000-8000-00000000000a', 'to', 'ac000000-0000-4000-8000-00000000000b', 'amount', 1, 'currency', 'USD', 'idempotency_key', 'fn-b-4'),
     jsonb_build_object('from', 'ac000000-0000-4000-8000-00000000000b', 'to', 'ac000000-0000-4000-8000-00000000000a', 'amount', 999999, 'currency', 'USD', 'idempotency_key', 'fn-b-5'))) $$,
  'WL001', 'insufficient funds in wallet account ac000000-0000-4000-8000-00000000000b', 'batch with one overdraft: WL001 naming the account');
select is((select count(*) from public.wallet_transactions where idempotency_key in ('fn-b-4', 'fn-b-5')), 0::bigint,
  'a failed batch writes nothing (all or nothing)');
-- A batch changes all its accounts in one UPDATE; the accounts it refuses are reported as one
-- UPDATE per account in lock order would report them: the first refusal in that order.
select tests.reset_role();
select tests.create_user('carol');
insert into public.wallet_accounts (id, owner_id, kind, currency) values
  ('ac000000-0000-4000-8000-00000000000c', tests.user_id('carol'), 'user', 'USD');
select tests.as_service();
select public.wallet_set_status('ac000000-0000-4000-8000-00000000000c', 'frozen', 'batch test');
select throws_ok($$ select public.wallet_transfer_batch(jsonb_build_array(
     jsonb_build_object('from', 'ac000000-0000-4000-8000-00000000000a', 'to', 'ac000000-0000-4000-8000-00000000000b', 'amount', 1, 'currency', 'USD', 'idempotency_key', 'fn-b-8'),
     jsonb_build_object('from', 'ac000000-0000-4000-8000-00000000000a', 'to', 'ac000000-0000-4000-8000-00000000000c', 'amount', 1, 'currency', 'USD', 'idempotency_key', 'fn-b-9'))) $$,
  'WL004', 'wallet account ac000000-0000-4000-8000-00000000000c is frozen', 'batch paying a frozen account: WL004 naming it');
select throws_ok($$ select public.wallet_transfer_batch(jsonb_build_array(
     jsonb_build_object('from', 'ac000000-0000-4000-8000-00000000000a', 'to', 'ac000000-0000-4000-8000-00000000000c', 'amount', 1, 'currency', 'USD', 'idempotency_key', 'fn-b-10'),
     jsonb_build_object('from', 'ac000000-0000-4000-8000-00000000000b', 'to', 'ac000000-0000-4000-8000-00000000000a', 'amount', 999999, 'currency', 'USD', 'idempotency_key', 'fn-b-11'))) $$,
  'WL001', 'insufficient funds in wallet account ac000000-0000-4000-8000-00000000000b', 'two refusals in a batch: the first account in lock order is reported');
select results_eq(
  $$ select id, balance, available from public.wallet_accounts where id in ('ac000000-0000-4000-8000-00000000000a', 'ac000000-0000-4000-8000-00000000000b', 'ac000000-0000-4000-8000-00000000000c') order by id $$,
  $$ values ('ac000000-0000-4000-8000-00000000000a'::uuid, 7433::bigint, 7433::bigint),
            ('ac000000-0000-4000-8000-00000000000b'::uuid, 2567::bigint, 2567::bigint),
            ('ac000000-0000-4000-8000-00000000000c'::uuid, 0::bigint, 0::bigint) $$,
  'refused batches change no balance');
select throws_ok($$ select public.wallet_transfer_batch(jsonb_build_array(
     jsonb_build_object('from', 'ac000000-0000-4000-8000-00000000000a', 'to', 'ac000000-0000-4000-8000-00000000000b', 'amount', 1, 'currency', 'USD', 'idempotency_key', 'fn-b-6'),
     jsonb_build_object('from', 'ac000000-0000-4000-8000-00000000000a', 'to', 'ac000000-0000-4000-8000-00000000000b', 'amount', 2, 'currency', 'USD', 'idempotency_key', 'fn-b-6'))) $$,
  'WL005', null, 'one key twice in a batch with different parameters: WL005');
select throws_ok($$ select public.wallet_transfer_batch(jsonb_build_array(
     jsonb_build_object('from', 'ac000000-0000-4000-8000-00000000000a', 'to', 'ac000000-0000-4000-8000-00000000000a', 'amount', 1, 'currency', 'USD', 'idempotency_key', 'fn-b-7'))) $$,
  'WL003', null, 'batch item paying itself: WL003');
select throws_ok($$ select public.wallet_transfer_batch((select jsonb_agg(jsonb_build_object('from', 'ac000000-0000-4000-8000-00000000000a',
     'to', 'ac000000-0000-4000-8000-00000000000b', 'amount', 1, 'currency', 'USD', 'idempotency_key', 'fn-big-' || n)) from generate_series(1, 1001) n)) $$,
  '22023', null, 'batch of more than 1000: 22023');
select throws_ok($$ select public.wallet_transfer_batch('[]') $$, '22023', null, 'empty batch: 22023');
select throws_ok($$ select public.wallet_transfer_batch('[{"from":"ac000000-0000-4000-8000-00000000000a","sender":"x"}]') $$,
  '22023', 'invalid transfer batch, item 1: unknown or repeated field sender', 'batch with an unknown field: 22023 naming it');
select throws_ok($$ select public.wallet_transfer_batch('[1]') $$, '22023', null, 'batch element that is not an object: 22023');
-- A field of the wrong type is refused with the contract's code, not the cast's (22P02, 22003).
select throws_ok($$ select public.wallet_transfer_batch('[{"from":"ac000000-0000-4000-8000-00000000000a","to":"nobody","amount":1,"currency":"USD","idempotency_key":"fn-t-1"}]') $$,
  '22023', 'invalid transfer batch, item 1: to is not a wallet account id', 'batch with an account id that is no uuid: 22023');
select throws_ok($$ select public.wallet_transfer_batch('[{"from":["ac000000-0000-4000-8000-00000000000a"],"to":"ac000000-0000-4000-8000-00000000000b","amount":1,"currency":"USD","idempotency_key":"fn-t-2"}]') $$,
  '22023', 'invalid transfer batch, item 1: from is not a wallet account id', 'batch with an account id that is no string: 22023');
select throws_ok($$ select public.wallet_transfer_batch('[{"from":"ac000000-0000-4000-8000-00000000000a","to":"ac000000-0000-4000-8000-00000000000b","amount":1.5,"currency":"USD","idempotency_key":"fn-t-3"}]') $$,
  'WL006', 'invalid transfer batch, item 1: invalid amount 1.5', 'batch with a fractional amount: WL006');
select throws_ok($$ select public.wallet_transfer_batch('[{"from":"ac000000-0000-4000-8000-00000000000a","to":"ac000000-0000-4000-8000-00000000000b","amount":1e30,"currency":"USD","idempotency_key":"fn-t-4"}]') $$,
  'WL006', null, 'batch with an amount beyond bigint: WL006');
select throws_ok($$ select public.wallet_transfer_batch('[{"from":"ac000000-0000-4000-8000-00000000000a","to":"ac000000-0000-4000-8000-00000000000b","amount":"ten","currency":"USD","idempotency_key":"fn-t-5"}]') $$,
  'WL006', null, 'batch with an amount that is no number: WL006');
select lives_ok($$ select public.wallet_transfer_batch('[{"from":"ac000000-0000-4000-8000-00000000000a","to":"ac000000-0000-4000-8000-00000000000b","amount":"1","currency":"USD","idempotency_key":"fn-t-6"}]') $$,
  'an amount given as a string of digits is still accepted');
select lives_ok($$ select public.wallet_transfer_batch((select jsonb_agg(jsonb_build_object('from', 'ac000000-0000-4000-8000-00000000000a',
     'to', 'ac000000-0000-4000-8000-00000000000b', 'amount', 1, 'currency', 'USD', 'idempotency_key', 'fn-max-' || n)) from generate_series(1, 1000) n)) $$,
  'batch of exactly 1000 is accepted');
select is(public.wallet_balance('ac000000-0000-4000-8000-00000000000b'), 3568::bigint, 'the 1000-transfer batch moved 1000');

-- ---------------------------------------------------------------- wallet_balance
select is(public.wallet_balance('ac000000-0000-4000-8000-00000000000a'),
  (select sum(amount)::bigint from public.wallet_entries where account_id = 'ac000000-0000-4000-8000-00000000000a'),
  'wallet_balance equals the sum of the account entries');
select throws_ok($$ select public.wallet_balance('ac000000-0000-4000-8000-0000000000ff') $$, 'WL007', null,
  'balance of a missing account: WL007');

-- ---------------------------------------------------------------- wallet_set_status
select is((public.wallet_set_status('ac000000-0000-4000-8000-00000000000b', 'frozen', 'fraud review')).status, 'frozen',
  'set_status freezes');
select is((select status || ': ' || reason from public.wallet_status_reasons where account_id = 'ac000000-0000-4000-8000-00000000000b'),
  'frozen: fraud review', 'set_status records the reason with the status');
select throws_ok($$ select public.wallet_transfer('ac000000-0000-4000-8000-00000000000a', 'ac000000-0000-4000-8000-00000000000b', 1, 'USD', 'fn-fz-1') $$,
  'WL004', 'wallet account ac000000-0000-4000-8000-00000000000b is frozen', 'transfer to a frozen account: WL004 naming it');
select throws_ok($$ select public.wallet_transfer('ac000000-0000-4000-8000-00000000000b', 'ac000000-0000-4000-8000-00000000000a', 1, 'USD', 'fn-fz-2') $$,
  'WL004', null, 'transfer from a frozen account: WL004');
select throws_ok($$ select public.wallet_deposit('ac000000-0000-4000-8000-00000000000b', 1, 'USD', 'stripe', 'fn-fz-3') $$,
  'WL004', null, 'deposit to a frozen account: WL004');
select is(
  (public.wallet_transfer('ac000000-0000-4000-8000-00000000000a', 'ac000000-0000-4000-8000-00000000000b', 2500, 'USD', 'fn-tr-1', 'rent', '{"k":1}')).status,
  'posted', 'a replay still returns the original after the account was frozen');
select is((public.wallet_set_status('ac000000-0000-4000-8000-00000000000b', 'active', 'cleared')).status, 'active',
  'set_status unfreezes');
select throws_ok($$ select public.wallet_set_status('ac000000-0000-4000-8000-00000000000b', 'closed', 'user asked') $$,
  'WL008', null, 'closing an account with a balance: WL008');
select throws_ok($$ select public.wallet_set_status('ac000000-0000-4000-8000-00000000000b', 'gone', 'x') $$,
  '22023', null, 'unknown status: 22023');
select throws_ok($$ select public.wallet_set_status('ac000000-0000-4000-8000-00000000000b', 'frozen', ' ') $$,
  '22023', null, 'status change without a reason: 22023');
select throws_ok($$ select public.wallet_set_status('ac000000-0000-4000-8000-0000000000ff', 'frozen', 'x') $$,
  'WL007', null, 'status of a missing account: WL007');
select is((public.wallet_set_status('ac000000-0000-4000-8000-00000000000e', 'closed', 'unused')).status, 'closed',
  'an empty account closes');
select throws_ok($$ select public.wallet_set_status('ac000000-0000-4000-8000-00000000000e', 'active', 'reopen') $$,
  'WL008', null, 'a closed account stays closed: WL008');
select throws_ok($$ select public.wallet_deposit('ac000000-0000-4000-8000-00000000000e', 1, 'EUR', 'stripe', 'fn-cl-1') $$,
  'WL004', 'wallet account ac000000-0000-4000-8000-00000000000e is closed', 'deposit to a closed account: WL004');

-- ---------------------------------------------------------------- the configured maximum
select tests.reset_role();
update private.wallet_settings set max_amount = 1000;
select tests.as_service();
select throws_ok($$ select public.wallet_transfer('ac000000-0000-4000-8000-00000000000a', 'ac000000-0000-4000-8000-00000000000b', 1001, 'USD', 'fn-max-a') $$,
  'WL006', null, 'the maximum comes from private.wallet_settings');
select lives_ok($$ select public.wallet_transfer('ac000000-0000-4000-8000-00000000000a', 'ac000000-0000-4000-8000-00000000000b', 1000, 'USD', 'fn-max-b') $$,
  'an amount equal to the maximum is accepted');

-- ---------------------------------------------------------------- statement pages
-- The latest entries of an account come straight off the (account_id, id) index, in order,
-- whatever the size of the ledger (keyset pagination: `and id < :last_seen`). The planner
-- is told to ignore the alternatives a tiny test table makes cheaper.
create function pg_temp.plan_of(p_query text) returns text language plpgsql as $fn$
declare
  r record;
  v_plan text := '';
begin
  for r in execute 'explain (costs off) ' || p_query loop
    v_plan := v_plan || r."QUERY PLAN" || E'\n';
  end loop;
  return v_plan;
end;
$fn$;
set local enable_seqscan = off;
set local enable_bitmapscan = off;
select matches(pg_temp.plan_of($$ select * from public.wallet_entries where account_id = 'ac000000-0000-4000-8000-00000000000a'
                                   and id < 1000000 order by id desc limit 50 $$),
  'Index Scan Backward using wallet_entries_account_id_idx', 'a statement page is a backward scan of (account_id, id)');
reset enable_seqscan;
reset enable_bitmapscan;

-- ---------------------------------------------------------------- invariants after all of it
select tests.reset_role();
select is((select count(*) from (select transaction_id from public.wallet_entries group by 1 having sum(amount) <> 0) s), 0::bigint,
  'every transaction sums to zero');
select is((select count(*) from (select currency from public.wallet_accounts group by 1 having sum(balance) <> 0) s), 0::bigint,
  'every currency sums to zero');

-- Transaction ids are time-ordered (UUID version 7: Unix milliseconds first), on the single
-- path and the set path alike.
select ok(
  (select count(*) > 10
          and bool_and(substr(t.id::text, 15, 1) = '7'
                       and abs(('x' || translate(substr(t.id::text, 1, 13), '-', ''))::bit(48)::bigint
                               - (extract(epoch from clock_timestamp()) * 1000)::bigint) < 60000)
     from public.wallet_transactions t where t.created_at = now()),
  'every transaction id of this test is version 7 and carries the time it was made');
select private.uuid_v7() as earlier_id, pg_sleep(0.002) \gset
select ok(:'earlier_id'::uuid < private.uuid_v7(), 'an id made later sorts later');

-- The replay check every function that replays an idempotency key makes.
select lives_ok($$ select private.require_same_parameters(true, 'k-1') $$, 'a replay with the same parameters passes');
select throws_ok($$ select private.require_same_parameters(false, 'k-1') $$, 'WL005',
  'idempotency key k-1 was already used with different parameters', 'other parameters: WL005 naming the key');
select throws_ok($$ select private.require_same_parameters(null, 'k-1') $$, 'WL005',
  'idempotency key k-1 was already used with different parameters', 'a comparison that cannot tell (null) is no replay: WL005');

select * from finish();
rollback;
