-- wallet_adjust: credits and debits against adjustments:<CUR>, who may call it, its errors,
-- and its idempotency (scoped by the admin); and that no admin function acts on the calling
-- admin's own wallet (private.require_not_own), whatever the channel.
begin;
select plan(41);

select tests.create_users('{alice}', admins => '{admin, admin2}', support => '{support}');
insert into public.wallet_accounts (id, owner_id, kind, currency) values
  ('ac400000-0000-4000-8000-00000000000a', tests.user_id('alice'), 'user', 'UGX');

select has_function('public', 'wallet_adjust', array['uuid', 'bigint', 'text', 'text', 'text'], 'wallet_adjust exists');
-- Splinter 0029: the API name is a security invoker wrapper of a security definer body in api_private.
select ok((select not prosecdef and proconfig = array['search_path=""'] from pg_proc
            where oid = 'public.wallet_adjust(uuid, bigint, text, text, text)'::regprocedure),
  'public.wallet_adjust is security invoker with an empty search_path');
select ok((select prosecdef and proconfig = array['search_path=""'] from pg_proc
            where oid = 'api_private.wallet_adjust(uuid, bigint, text, text, text)'::regprocedure),
  'api_private.wallet_adjust is security definer with an empty search_path');
select ok(not has_function_privilege('anon', 'public.wallet_adjust(uuid, bigint, text, text, text)', 'execute')
          and not has_function_privilege('public', 'public.wallet_adjust(uuid, bigint, text, text, text)', 'execute'),
  'anon and public cannot execute wallet_adjust');
select ok(not has_function_privilege('anon', 'api_private.wallet_adjust(uuid, bigint, text, text, text)', 'execute')
          and not has_function_privilege('public', 'api_private.wallet_adjust(uuid, bigint, text, text, text)', 'execute'),
  'anon and public cannot execute its body');

-- ---------------------------------------------------------------- as an admin
select tests.as_admin(tests.user_id('admin'));

select results_eq(
  $$ select kind, status, amount, currency, description, metadata ->> 'direction', initiated_by
       from public.wallet_adjust('ac400000-0000-4000-8000-00000000000a', 5000, 'credit', 'missing top-up', 'adj-1') $$,
  $$ values ('adjustment', 'posted', 5000::bigint, 'UGX', 'missing top-up', 'credit', tests.user_id('admin')) $$,
  'an admin credit is a posted adjustment initiated by the admin');
select is((select balance from public.wallet_accounts where id = 'ac400000-0000-4000-8000-00000000000a'), 5000::bigint,
  'the credit raises the balance');
select tests.reset_role();
select results_eq(
  $$ select kind, allow_negative, balance from public.wallet_accounts where code = 'adjustments:UGX' $$,
  $$ values ('system', true, -5000::bigint) $$,
  'the adjustments account of the currency is created and carries the other side');
select is((select sum(balance)::bigint from public.wallet_accounts where currency = 'UGX'), 0::bigint,
  'the currency still sums to zero');
select is((select sum(e.amount)::bigint from public.wallet_entries e join public.wallet_transactions t on t.id = e.transaction_id
            where t.idempotency_key = 'adj-1'), 0::bigint, 'the adjustment has balanced entries');
select tests.as_admin(tests.user_id('admin'));

select is((public.wallet_adjust('ac400000-0000-4000-8000-00000000000a', 5000, 'credit', 'missing top-up', 'adj-1')).id,
  (select id from public.wallet_transactions where idempotency_key = 'adj-1'), 'a replay returns the original');
select is((select balance from public.wallet_accounts where id = 'ac400000-0000-4000-8000-00000000000a'), 5000::bigint,
  'a replay moves nothing');
select results_eq(
  $$ select amount, metadata ->> 'direction' from public.wallet_adjust('ac400000-0000-4000-8000-00000000000a', 1500, 'debit', 'duplicate credit', 'adj-2') $$,
  $$ values (1500::bigint, 'debit') $$,
  'an admin debit is an adjustment');
select is((select balance from public.wallet_accounts where id = 'ac400000-0000-4000-8000-00000000000a'), 3500::bigint,
  'the debit lowers the balance');
-- The refusals, one row each: the call's arguments, the code, the description.
select throws_ok(format('select public.wallet_adjust(%L, %s, %L, %L, %L)', account, amount, direction, reason, key),
                 code, null, description)
  from (values
    ('ac400000-0000-4000-8000-00000000000a', 5000, 'debit', 'missing top-up', 'adj-1', 'WL005', 'the key reused with another direction: WL005'),
    ('ac400000-0000-4000-8000-00000000000a', 4000, 'credit', 'missing top-up', 'adj-1', 'WL005', 'the key reused with another amount: WL005'),
    ('ac400000-0000-4000-8000-00000000000a', 3501, 'debit', 'too much', 'adj-3', 'WL001', 'a debit never overdraws: WL001'),
    ('ac400000-0000-4000-8000-00000000000a', 0, 'credit', 'zero', 'adj-4', 'WL006', 'a zero amount: WL006'),
    ('ac400000-0000-4000-8000-00000000000a', 10, 'sideways', 'x', 'adj-5', '22023', 'an unknown direction: 22023'),
    ('ac400000-0000-4000-8000-00000000000a', 10, 'credit', '  ', 'adj-6', '22023', 'a blank reason: 22023'),
    ('ac400000-0000-4000-8000-00000000000a', 10, 'credit', 'x', '', '22023', 'a missing idempotency key: 22023'),
    ('ac400000-0000-4000-8000-0000000000ff', 10, 'credit', 'x', 'adj-7', 'WL007', 'an unknown account: WL007')
  ) as refusal (account, amount, direction, reason, key, code, description);
select throws_ok($$ select public.wallet_adjust((select id from public.wallet_accounts where code = 'adjustments:UGX'), 10, 'credit', 'x', 'adj-8') $$,
  'WL003', null, 'the adjustments account cannot adjust itself: WL003');

-- Keys are scoped by admin: another admin's adj-1 is a new adjustment.
select tests.as_admin(tests.user_id('admin2'));
select isnt((public.wallet_adjust('ac400000-0000-4000-8000-00000000000a', 100, 'credit', 'other admin', 'adj-1')).id,
  (select id from public.wallet_transactions where idempotency_key = 'adj-1' and initiated_by = tests.user_id('admin')),
  'another admin''s key is its own');

-- ---------------------------------------------------------------- frozen accounts
select tests.reset_role();
select public.wallet_set_status('ac400000-0000-4000-8000-00000000000a', 'frozen', 'review');
select tests.as_admin(tests.user_id('admin2'));
select throws_ok($$ select public.wallet_adjust('ac400000-0000-4000-8000-00000000000a', 10, 'credit', 'x', 'adj-9') $$,
  'WL004', null, 'a frozen account is not adjusted: WL004');

-- ---------------------------------------------------------------- who may not
select tests.as_support(tests.user_id('support'));
select throws_ok($$ select public.wallet_adjust('ac400000-0000-4000-8000-00000000000a', 10, 'credit', 'x', 'adj-10') $$,
  '42501', null, 'support cannot adjust: 42501');
select tests.as_user(tests.user_id('alice'), '{"app_metadata": {}, "user_metadata": {"role": "admin"}}');
select throws_ok($$ select public.wallet_adjust('ac400000-0000-4000-8000-00000000000a', 10, 'credit', 'x', 'adj-11') $$,
  '42501', null, 'a user claiming admin in user_metadata cannot adjust: 42501');

-- ---------------------------------------------------------------- as the service
select tests.reset_role();
select public.wallet_set_status('ac400000-0000-4000-8000-00000000000a', 'active', 'review done');
select tests.as_service();
select is((public.wallet_adjust('ac400000-0000-4000-8000-00000000000a', 10, 'credit', 'service fix', 'adj-12')).initiated_by,
  null, 'the service may adjust; its key is in the service scope');

-- ---------------------------------------------------------------- an admin's own wallet
-- The admin owns an account that alice paid 300 into, and a top-up of it under review.
select tests.reset_role();
insert into public.wallet_accounts (id, owner_id, kind, currency) values
  ('ac400000-0000-4000-8000-0000000000ad', tests.user_id('admin'), 'user', 'UGX');
select (public.wallet_transfer('ac400000-0000-4000-8000-00000000000a', 'ac400000-0000-4000-8000-0000000000ad', 300, 'UGX', 'own-pay')).id as own_pay \gset
select tests.as_service();
select (public.payment_record_success('stripe', 'pi_own_review',
          tests.attached_intent('stripe', 'ac400000-0000-4000-8000-0000000000ad', 500, 'UGX', 'pi_own_review'), 600, 'UGX')).id as own_review \gset
select tests.as_admin(tests.user_id('admin'));
select throws_ok($$ select public.wallet_adjust('ac400000-0000-4000-8000-0000000000ad', 1000000, 'credit', 'bonus', 'own-1') $$,
  '42501', 'an admin may not adjust a wallet account of their own: another admin must', 'an admin cannot adjust their own account: 42501');
select throws_ok($$ select public.wallet_set_status('ac400000-0000-4000-8000-0000000000ad', 'frozen', 'self') $$,
  '42501', 'an admin may not change the status of a wallet account of their own: another admin must',
  'an admin cannot change their own account''s status: 42501');
select throws_ok($$ select public.wallet_set_limit_tier('ac400000-0000-4000-8000-0000000000ad', 'merchant') $$,
  '42501', 'an admin may not change the tier of a wallet account of their own: another admin must',
  'an admin cannot raise their own account''s tier: 42501');
select throws_ok(format($$ select public.wallet_reverse(%L, 'own-2', null, 'self') $$, :'own_pay'),
  '42501', 'an admin may not reverse a transaction of their own: another admin must',
  'an admin cannot reverse a payment into (or out of) their own account: 42501');
select throws_ok(format($$ select api_private.payment_resolve(%L, 'credit', 'self') $$, :'own_review'),
  '42501', 'an admin may not resolve a payment of their own: another admin must', 'an admin cannot resolve their own payment: 42501');
select throws_ok(format($$ select tests.refund_prepare(%L, 100) $$, :'own_review'),
  '42501', 'an admin may not refund a payment of their own: another admin must', 'an admin cannot refund their own payment: 42501');
select tests.reset_role();
select is((select balance from public.wallet_accounts where id = 'ac400000-0000-4000-8000-0000000000ad'), 300::bigint,
  'nothing moved on the admin''s own account');
select tests.as_admin(tests.user_id('admin2'));
select is((public.wallet_adjust('ac400000-0000-4000-8000-0000000000ad', 50, 'credit', 'goodwill', 'own-3')).amount, 50::bigint,
  'another admin may adjust it');

-- The refund functions an admin's refund calls after refund_prepare are reachable on their own
-- (supabase.rpc): they refuse the admin's own payment too. And a MoMo top-up paid from the
-- admin's own number into another wallet is the admin's money: its refund pays the admin.
select tests.reset_role();
select id as own_paid from tests.credited_payment('stripe', 'ac400000-0000-4000-8000-0000000000ad', 200, 'UGX', 'pi_own_paid') \gset
select id as paid_by_admin
  from tests.credited_payment('momo', 'ac400000-0000-4000-8000-00000000000a', 400, 'UGX', 'c4000000-0000-4000-8000-0000000000ad') \gset
insert into public.momo_transactions (reference_id, payer_msisdn, amount, currency, status) values
  ('c4000000-0000-4000-8000-0000000000ad', '256772000999', 400, 'UGX', 'SUCCESSFUL');
update auth.users set phone = '256772000999' where id = tests.user_id('admin');
select tests.as_admin(tests.user_id('admin'));
select throws_ok(format($$ select public.refund_record(%L, 200, 're_own', 'self') $$, :'own_paid'),
  '42501', 'an admin may not refund a payment of their own: another admin must',
  'an admin cannot record a refund of their own top-up directly: 42501');
select throws_ok(format($$ select api_private.refund_record_pending(%L, 200, 're_own', 'self') $$, :'own_paid'),
  '42501', 'an admin may not refund a payment of their own: another admin must',
  'an admin cannot record a pending refund of their own top-up directly: 42501');
select throws_ok(format($$ select tests.refund_prepare(%L, 100) $$, :'paid_by_admin'),
  '42501', 'an admin may not refund a payment of their own: another admin must',
  'an admin cannot refund a MoMo top-up paid from their own number into another wallet: 42501');
select tests.reset_role();
select is((select balance from public.wallet_accounts where id = 'ac400000-0000-4000-8000-0000000000ad'), 550::bigint,
  'no refund took the admin''s top-up back (300 + 50 + 200)');
select tests.as_admin(tests.user_id('admin2'));
select is((select provider from tests.refund_prepare(:'paid_by_admin', 100)), 'momo',
  'another admin may refund it');

select * from finish();
rollback;
