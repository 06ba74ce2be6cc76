-- refund_record_failure: a refund that fails after it was recorded gives the wallet its amount
-- back once, lowers the payment's refunded amount, lets the amount be refunded again, finds
-- a refund by its provider id once, keeps failures of refunds never recorded; who may call it
-- and its errors.
begin;
select plan(27);

select tests.create_users('{alice}', admins => '{admin}');

select tests.as_user(tests.user_id('alice'));
select id as alice_usd from public.wallet_open_account('USD') \gset
select throws_ok($$select public.refund_record_failure(gen_random_uuid(), 're_x', 1)$$,
  '42501', null, 'a user cannot record a refund failure');
select tests.as_admin(tests.user_id('admin'));
select throws_ok($$select public.refund_record_failure(gen_random_uuid(), 're_x', 1)$$,
  '42501', null, 'an admin cannot record a refund failure: only the provider reports one');
select tests.reset_role();

select ok(not has_function_privilege('anon', 'public.refund_record_failure(uuid, text, bigint, text, text)', 'execute'),
  'anon may not execute it');
select ok(not has_function_privilege('authenticated', 'public.refund_record_failure(uuid, text, bigint, text, text)', 'execute'),
  'authenticated may not execute it');
select ok(has_function_privilege('service_role', 'public.refund_record_failure(uuid, text, bigint, text, text)', 'execute'),
  'service_role may execute it');

select tests.as_service();
select id as payment, wallet_transaction_id as credit from tests.credited_payment('stripe', :'alice_usd', 1000, 'USD', 'pi_fail_1') \gset
select id as refund from public.refund_record(:'payment', 400, 're_fail_1', 'requested') \gset
select is(public.wallet_balance(:'alice_usd'), 600::bigint, 'the refund took 400 from the wallet');

-- The failure.
select results_eq(
  format($$select id, status from public.refund_record_failure(%L, 're_fail_1', 400, 'failed', 'card closed')$$, :'payment'),
  format($$values (%L::uuid, 'failed')$$, :'refund'),
  'the refund becomes failed');
select is(public.wallet_balance(:'alice_usd'), 1000::bigint, 'the wallet has its 400 back');
select results_eq(format($$select status, amount_refunded from public.payments where id = %L$$, :'payment'),
  $$values ('succeeded', 0::bigint)$$, 'the payment''s refunded amount drops back to 0');
select results_eq(
  format($$select t.kind, t.amount, t.from_account_id, t.to_account_id, t.description from public.wallet_transactions t
            where t.reverses_id = (select wallet_transaction_id from public.refunds where id = %L)$$, :'refund'),
  format($$values ('reversal', 400::bigint, (select id from public.wallet_accounts where code = 'clearing:stripe:USD'), %L::uuid, 'card closed')$$, :'alice_usd'),
  'the credit-back reverses the refund''s reversal, from the clearing account to the wallet');
select is((public.refund_record_failure(:'payment', 're_fail_1', 400, 'failed', 'card closed')).id, :'refund'::uuid,
  'a replay returns the failed refund');
select is(public.wallet_balance(:'alice_usd'), 1000::bigint, 'and credits nothing more');
select is((select count(*)::int from public.wallet_transactions where reverses_id = (select wallet_transaction_id from public.refunds where id = :'refund')),
  1, 'one credit-back');

-- The amount can be refunded again in full: the deposit's reversals count net of the undone one.
select is((public.refund_record(:'payment', 1000, 're_fail_2', 'again')).status, 'succeeded', 'a new refund of the whole payment is recorded');
select is(public.wallet_balance(:'alice_usd'), 0::bigint, 'and takes the whole amount');
select throws_ok(format($$select public.wallet_reverse(%L, 'fail-reverse-more', 1)$$, :'credit'),
  'WL008', null, 'nothing remains to reverse beyond the payment');

-- A canceled refund is found by its provider id, once.
select id as payment2 from tests.credited_payment('stripe', :'alice_usd', 500, 'USD', 'pi_fail_2') \gset
select id as canceled from public.refund_record(:'payment2', 200, 're_fail_3') \gset
select results_eq(
  format($$select id, provider_refund_id, status from public.refund_record_failure(%L, 're_fail_3', 200, 'canceled', 'canceled')$$, :'payment2'),
  format($$values (%L::uuid, 're_fail_3', 'canceled')$$, :'canceled'),
  'the refund is found by its id and canceled');
select is((public.refund_record_failure(:'payment2', 're_fail_3', 200, 'canceled', 'canceled')).id, :'canceled'::uuid,
  'the second report of it finds it');
select is(public.wallet_balance(:'alice_usd'), 500::bigint, 'its 200 came back once');

-- A failure of a refund never recorded: kept, no money moves.
select results_eq(
  format($$select status, amount, wallet_transaction_id from public.refund_record_failure(%L, 're_never', 300, 'failed', 'unknown')$$, :'payment2'),
  $$values ('failed', 300::bigint, null::uuid)$$,
  'a failure of a refund never recorded is kept as a failed refund without a reversal');
select is(public.wallet_balance(:'alice_usd'), 500::bigint, 'and moves no money');
select is((public.refund_record(:'payment2', 300, 're_never')).status, 'failed', 'a late report of it as succeeded changes nothing');

-- Reconciliation counts the deposits' reversals net of the undone ones: nothing to report.
select tests.as_admin(tests.user_id('admin'));
select is((select count(*)::int from api_private.reconciliation('stripe') r where r.payment_id in (:'payment', :'payment2')),
  0, 'reconciliation finds the failed refunds'' payments balanced');
select tests.as_service();

-- Errors, nothing written.
select throws_ok(format($$select public.refund_record_failure(%L, 're_fail_1', 401)$$, :'payment'),
  'WL005', null, 'the same refund id with another amount is WL005');
select throws_ok($$select public.refund_record_failure(gen_random_uuid(), 're_fail_x', 1)$$,
  'WL007', null, 'an unknown payment is WL007');
select throws_ok(format($$select public.refund_record_failure(%L, 're_fail_x', 1, 'succeeded')$$, :'payment'),
  '22023', null, 'an outcome other than failed or canceled is 22023');
select throws_ok(format($$select public.refund_record_failure(%L, 're_fail_x', 0)$$, :'payment'),
  'WL006', null, 'a zero amount is WL006');
select tests.reset_role();

select * from finish();
rollback;
