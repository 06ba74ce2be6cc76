-- Revolut refunds recorded before Revolut is asked: revolut_refund_begin records the pending
-- refund under the admin's request id once (reserving its amount), revolut_refund_identify gives
-- it Revolut's refund order id once it is known (no row for an unknown reference), after which refund_record completes it; who may
-- call them and their errors.
begin;
select plan(25);

select tests.create_users('{alice}', admins => '{admin}', support => '{helper}');
select tests.open_account('alice', 'EUR') as account \gset
select tests.as_service();
select id as payment from tests.credited_payment('revolut', :'account', 1000, 'EUR', 'ord_rr_1') \gset
select id as stripe_payment from tests.credited_payment('stripe', :'account', 500, 'EUR', 'pi_rr_1') \gset

select tests.as_user(tests.user_id('alice'));
select throws_ok(format($$select api_private.revolut_refund_begin(%L, 100, 'rr_a', 'x')$$, :'payment'),
  '42501', null, 'a user cannot record a refund');
select tests.as_support(tests.user_id('helper'));
select throws_ok(format($$select api_private.revolut_refund_begin(%L, 100, 'rr_a', 'x')$$, :'payment'),
  '42501', null, 'support cannot record a refund');
select throws_ok($$select api_private.revolut_refund_identify('rr_a', 'rf_1', 'ord_rr_1', 100)$$,
  '42501', null, 'support cannot identify a refund');
select ok(not has_function_privilege('service_role', 'api_private.revolut_refund_begin(uuid,bigint,text,text)', 'execute'),
  'the service cannot record a refund request: admins only, as refund_prepare');

select tests.as_admin(tests.user_id('admin'));
select throws_ok($$select api_private.revolut_refund_begin(gen_random_uuid(), 100, 'rr_a', 'x')$$,
  'WL007', null, 'an unknown payment is WL007');
select throws_ok(format($$select api_private.revolut_refund_begin(%L, 100, 'rr_s', 'x')$$, :'stripe_payment'),
  'WL008', null, 'a payment that is not Revolut''s is WL008');
select throws_ok(format($$select api_private.revolut_refund_begin(%L, 1001, 'rr_a', 'x')$$, :'payment'),
  'WL006', null, 'more than the payment is WL006');

select throws_ok(format($$select api_private.revolut_refund_begin(%L, 100, repeat('r', 201), 'x')$$, :'payment'),
  '22023', null, 'a request id over 200 characters is 22023');
select throws_ok(format($$select api_private.revolut_refund_begin(%L, 100, 'rr_long', repeat('x', 1001))$$, :'payment'),
  '22023', null, 'a reason over 1000 characters is 22023');
select throws_ok($$select api_private.revolut_refund_identify('rr_a', repeat('o', 201), 'ord_rr_1', 100)$$,
  '22023', null, 'a refund order id over 200 characters is 22023');
select throws_ok($$select api_private.revolut_refund_identify('rr_a', 'rf_1', repeat('o', 201), 100)$$,
  '22023', null, 'a refunded order id over 200 characters is 22023');

select id as refund from api_private.revolut_refund_begin(:'payment', 700, 'rr_a', 'asked') \gset
select results_eq(format($$select status, provider_refund_id, refund_request_id, amount, wallet_transaction_id from public.refunds where id = %L$$, :'refund'),
  $$values ('pending', 'rr_a', 'rr_a', 700::bigint, null::uuid)$$,
  'the refund is pending under its request id, nothing moved');
select is((api_private.revolut_refund_begin(:'payment', 700, 'rr_a', 'asked')).id, :'refund'::uuid, 'the same request returns it');
select throws_ok(format($$select api_private.revolut_refund_begin(%L, 600, 'rr_a', 'x')$$, :'payment'),
  'WL005', null, 'the same request with another amount is WL005');
select throws_ok(format($$select api_private.revolut_refund_begin(%L, 301, 'rr_b', 'x')$$, :'payment'),
  'WL006', null, 'the pending refund reserves its amount');
select is(public.wallet_balance(:'account'), 1500::bigint, 'the wallet keeps its money while the refund is pending');

select is_empty($$select * from api_private.revolut_refund_identify('rr_unknown', 'rf_x', 'ord_rr_1', 700)$$,
  'no refund recorded under a reference: no row (a refund made in Revolut''s dashboard)');
select throws_ok($$select api_private.revolut_refund_identify('rr_a', 'rf_1', 'ord_other', 700)$$,
  'WL005', null, 'a refund order of another order is not the refund''s');
select throws_ok($$select api_private.revolut_refund_identify('rr_a', 'rf_1', null, 700)$$,
  'WL005', null, 'a refund order that names no refunded order is not the refund''s (an earlier try''s order is checked, not assumed)');
select throws_ok($$select api_private.revolut_refund_identify('rr_a', 'rf_1', 'ord_rr_1', 600)$$,
  'WL005', null, 'a refund order of another amount is not the refund''s');
select results_eq($$select provider_refund_id, status from api_private.revolut_refund_identify('rr_a', 'rf_1', 'ord_rr_1', 700)$$,
  $$values ('rf_1', 'pending')$$, 'the refund takes the refund order''s id');
select results_eq($$select provider_refund_id from api_private.revolut_refund_identify('rr_a', 'rf_1', 'ord_rr_1', 700)$$,
  $$values ('rf_1')$$, 'identifying it again changes nothing');
select throws_ok($$select api_private.revolut_refund_identify('rr_a', 'rf_2', 'ord_rr_1', 700)$$,
  'WL005', null, 'another refund order for the same request is WL005');

select tests.as_service();
select results_eq(format($$select id, status from public.refund_record(%L, 700, 'rf_1', 'completed')$$, :'payment'),
  format($$values (%L::uuid, 'succeeded')$$, :'refund'), 'Revolut''s completion completes the same refund');
select is(public.wallet_balance(:'account'), 800::bigint, 'the credit is reversed once');

select * from finish();
rollback;
