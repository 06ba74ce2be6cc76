-- Revolut and Stripe refunds recorded before the provider is asked: refund_begin records the
-- pending refund under the admin's request id once (reserving its amount), refund_identify gives
-- it the provider's refund id once it is known (a Revolut refund order, a Stripe re_...; no row
-- for an unknown request), after which refund_record completes it; refund_retry_begin hands a
-- refund still under its request id to any admin to ask again; who may call them and their
-- errors.
begin;
select plan(40);

select tests.create_users('{alice}', admins => '{admin, admin2}', support => '{helper}');
select tests.open_account('alice', 'EUR') as account \gset
select tests.as_service();
select id as payment from tests.credited_payment('revolut', :'account', 1000, 'EUR', 'ord_rr_1') \gset
select id as stripe_payment from tests.credited_payment('stripe', :'account', 500, 'EUR', 'pi_rr_1') \gset
select tests.reset_role();
insert into public.wallet_accounts (owner_id, kind, currency) values (tests.user_id('admin'), 'user', 'EUR')
returning id as admin_account \gset
select tests.as_service();
select id as own_payment from tests.credited_payment('revolut', :'admin_account', 100, 'EUR', 'ord_rr_own') \gset

select tests.as_user(tests.user_id('alice'));
select throws_ok(format($$select api_private.refund_begin('revolut', %L, 100, 'rr_a', 'x')$$, :'payment'),
  '42501', null, 'a user cannot record a refund');
select tests.as_support(tests.user_id('helper'));
select throws_ok(format($$select api_private.refund_begin('revolut', %L, 100, 'rr_a', 'x')$$, :'payment'),
  '42501', null, 'support cannot record a refund');
select throws_ok($$select api_private.refund_identify('revolut', 'rr_a', 'rf_1', 'ord_rr_1', 100)$$,
  '42501', null, 'support cannot identify a refund');
select ok(not has_function_privilege('service_role', 'api_private.refund_begin(text,uuid,bigint,text,text)', 'execute'),
  'the service cannot record a refund request: admins only, as refund_prepare');

select tests.as_admin(tests.user_id('admin'));
select throws_ok($$select api_private.refund_begin('revolut', gen_random_uuid(), 100, 'rr_a', 'x')$$,
  'WL007', null, 'an unknown payment is WL007');
select throws_ok(format($$select api_private.refund_begin('revolut', %L, 100, 'rr_s', 'x')$$, :'stripe_payment'),
  'WL008', null, 'a Stripe payment refunded as Revolut''s is WL008');
select throws_ok(format($$select api_private.refund_begin('revolut', %L, 1001, 'rr_a', 'x')$$, :'payment'),
  'WL006', null, 'more than the payment is WL006');

select throws_ok(format($$select api_private.refund_begin('revolut', %L, 100, repeat('r', 201), 'x')$$, :'payment'),
  '22023', null, 'a request id over 200 characters is 22023');
select throws_ok(format($$select api_private.refund_begin('revolut', %L, 100, 'rr_long', repeat('x', 1001))$$, :'payment'),
  '22023', null, 'a reason over 1000 characters is 22023');
select throws_ok($$select api_private.refund_identify('revolut', 'rr_a', repeat('o', 201), 'ord_rr_1', 100)$$,
  '22023', null, 'a refund order id over 200 characters is 22023');
select throws_ok($$select api_private.refund_identify('revolut', 'rr_a', 'rf_1', repeat('o', 201), 100)$$,
  '22023', null, 'a refunded order id over 200 characters is 22023');

select id as refund from api_private.refund_begin('revolut', :'payment', 700, 'rr_a', 'asked') \gset
select results_eq(format($$select status, provider_refund_id, refund_request_id, amount, wallet_transaction_id from public.refunds where id = %L$$, :'refund'),
  $$values ('pending', 'rr_a', 'rr_a', 700::bigint, null::uuid)$$,
  'the refund is pending under its request id, nothing moved');
select is((api_private.refund_begin('revolut', :'payment', 700, 'rr_a', 'asked')).id, :'refund'::uuid, 'the same request returns it');
select throws_ok(format($$select api_private.refund_begin('revolut', %L, 600, 'rr_a', 'x')$$, :'payment'),
  'WL005', null, 'the same request with another amount is WL005');
select throws_ok(format($$select api_private.refund_begin('revolut', %L, 301, 'rr_b', 'x')$$, :'payment'),
  'WL006', null, 'the pending refund reserves its amount');
select is(public.wallet_balance(:'account'), 1500::bigint, 'the wallet keeps its money while the refund is pending');

select is_empty($$select * from api_private.refund_identify('revolut', 'rr_unknown', 'rf_x', 'ord_rr_1', 700)$$,
  'no refund recorded under a reference: no row (a refund made in Revolut''s dashboard)');
select throws_ok($$select api_private.refund_identify('revolut', 'rr_a', 'rf_1', 'ord_other', 700)$$,
  'WL005', null, 'a refund order of another order is not the refund''s');
select throws_ok($$select api_private.refund_identify('revolut', 'rr_a', 'rf_1', null, 700)$$,
  'WL005', null, 'a refund order that names no refunded order is not the refund''s (an earlier try''s order is checked, not assumed)');
select throws_ok($$select api_private.refund_identify('revolut', 'rr_a', 'rf_1', 'ord_rr_1', 600)$$,
  'WL005', null, 'a refund order of another amount is not the refund''s');
select results_eq($$select provider_refund_id, status from api_private.refund_identify('revolut', 'rr_a', 'rf_1', 'ord_rr_1', 700)$$,
  $$values ('rf_1', 'pending')$$, 'the refund takes the refund order''s id');
select results_eq($$select provider_refund_id from api_private.refund_identify('revolut', 'rr_a', 'rf_1', 'ord_rr_1', 700)$$,
  $$values ('rf_1')$$, 'identifying it again changes nothing');
select throws_ok($$select api_private.refund_identify('revolut', 'rr_a', 'rf_2', 'ord_rr_1', 700)$$,
  'WL005', null, 'another refund order for the same request is WL005');

select tests.as_service();
select results_eq(format($$select id, status from public.refund_record(%L, 700, 'rf_1', 'completed')$$, :'payment'),
  format($$values (%L::uuid, 'succeeded')$$, :'refund'), 'Revolut''s completion completes the same refund');
select is(public.wallet_balance(:'account'), 800::bigint, 'the credit is reversed once');

-- Stripe: the same two functions under provider stripe; the request id is Stripe's Idempotency-Key
-- and metadata.refund_request_id, the refunded payment the PaymentIntent.
select tests.as_admin(tests.user_id('admin'));
select throws_ok(format($$select api_private.refund_begin('momo', %L, 100, 'rr_m', 'x')$$, :'payment'),
  '22023', null, 'a MoMo refund is not recorded by request here (momo_refund_transfer)');
select throws_ok(format($$select api_private.refund_begin('revolut', %L, 100, 'rr_own', 'x')$$, :'own_payment'),
  '42501', null, 'an admin never refunds their own money');
select id as stripe_refund from api_private.refund_begin('stripe', :'stripe_payment', 300, 'rr_s', 'asked') \gset
select results_eq(format($$select provider, status, provider_refund_id, refund_request_id from public.refunds where id = %L$$, :'stripe_refund'),
  $$values ('stripe', 'pending', 'rr_s', 'rr_s')$$, 'a Stripe refund is pending under its request id');
select throws_ok(format($$select public.refund_record(%L, 300, 'rr_s', 'x')$$, :'stripe_payment'), '42501', null,
  'an admin (supabase.rpc) does not complete a refund its provider never named: Stripe may never have received it');
select throws_ok(format($$select api_private.refund_begin('stripe', %L, 201, 'rr_s2', 'x')$$, :'stripe_payment'),
  'WL006', null, 'the pending Stripe refund reserves its amount: two refunds never exceed the payment');
select is_empty($$select * from api_private.refund_identify('revolut', 'rr_s', 're_1', 'pi_rr_1', 300)$$,
  'a request is looked up under its own provider only');
-- Any admin may ask again for a refund still under its request id, the payment's own admin
-- excepted; nobody else may.
select tests.as_admin(tests.user_id('admin2'));
select results_eq(format($$select refund ->> 'id', refund ->> 'refund_request_id', provider_payment_id
                            from api_private.refund_retry_begin(%L)$$, :'stripe_refund'),
  format($$values (%L, 'rr_s', 'pi_rr_1')$$, :'stripe_refund'), 'another admin may ask Stripe again for the refund of request rr_s');
select throws_ok($$select api_private.refund_retry_begin(gen_random_uuid())$$, 'WL007', null, 'an unknown refund is WL007');
select tests.as_support(tests.user_id('helper'));
select throws_ok(format($$select api_private.refund_retry_begin(%L)$$, :'stripe_refund'), '42501', null, 'support may not');
select ok(not has_function_privilege('service_role', 'api_private.refund_retry_begin(uuid)', 'execute')
          and not has_function_privilege('anon', 'api_private.refund_retry_begin(uuid)', 'execute'),
  'neither the service nor anon executes refund_retry_begin');
select tests.as_admin(tests.user_id('admin2'));
select id as own_refund from api_private.refund_begin('revolut', :'own_payment', 50, 'rr_own_2', 'asked by another admin') \gset
select tests.as_admin(tests.user_id('admin'));
select throws_ok(format($$select api_private.refund_retry_begin(%L)$$, :'own_refund'), '42501', null,
  'an admin never asks again for a refund of their own money');

select throws_ok($$select api_private.refund_identify('stripe', 'rr_s', 're_1', 'pi_other', 300)$$,
  'WL005', null, 'a Stripe refund of another PaymentIntent is not the refund''s');
select results_eq($$select provider_refund_id, status from api_private.refund_identify('stripe', 'rr_s', 're_1', 'pi_rr_1', 300)$$,
  $$values ('re_1', 'pending')$$, 'the Stripe refund takes Stripe''s id');
select throws_ok(format($$select api_private.refund_retry_begin(%L)$$, :'stripe_refund'), 'WL008', null,
  'a refund its provider has named is not asked again (the webhooks and the polls settle it)');
select tests.as_service();
select results_eq(format($$select id, status from public.refund_record(%L, 300, 're_1', 'succeeded')$$, :'stripe_payment'),
  format($$values (%L::uuid, 'succeeded')$$, :'stripe_refund'), 'Stripe''s success completes the same refund');

select * from finish();
rollback;
