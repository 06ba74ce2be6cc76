-- An admin records a Revolut chargeback mfuko lost (api_private.revolut_chargeback_record, which
-- the admin API calls once Revolut answers the dispute lost): a refund keyed by the dispute id,
-- the credit reversed once (forced when the money was spent), the payment's refunded amount
-- raised so that reconciliation balances, the admin and the reason on the row and in the audit
-- trail; the same dispute again moves nothing, another amount under it is WL005; a closed
-- account's share is borne by losses:<CUR>. Refused: support, users, the service and anon; an
-- admin's own payment; a payment of another provider; more than remains of the payment.
begin;
select plan(34);

select tests.create_users('{alice,bob,carol}', admins => '{admin,admin2}', support => '{support}');
select tests.open_account('alice', 'EUR') as alice_eur, tests.open_account('bob', 'EUR') as bob_eur,
       tests.open_account('carol', 'EUR') as carol_eur, tests.open_account('admin', 'EUR') as admin_eur \gset

select tests.as_service();
select id as payment, wallet_transaction_id as credit
  from tests.credited_payment('revolut', :'alice_eur', 1000, 'EUR', 'cb000000-0000-4000-8000-000000000001') \gset
-- Alice spends 700 of it: the chargeback of 600 takes her below zero.
select 1 from public.wallet_transfer(:'alice_eur', :'bob_eur', 700, 'EUR', 'cb-spend-1');

-- Who may call it: an admin only, through EXECUTE granted to authenticated alone.
select tests.reset_role();
select is(has_function_privilege('anon', 'api_private.revolut_chargeback_record(uuid, text, bigint, text)', 'execute'), false,
  'anon cannot execute it');
select is(has_function_privilege('service_role', 'api_private.revolut_chargeback_record(uuid, text, bigint, text)', 'execute'),
  false, 'the service cannot execute it: a chargeback is an admin''s decision');
select is(has_function_privilege('authenticated', 'api_private.revolut_chargeback_record(uuid, text, bigint, text)', 'execute'),
  true, 'authenticated executes it, the body checking for an admin');
select tests.as_service();
select throws_ok(format($$select api_private.revolut_chargeback_record(%L, 'dsp-svc', 600, 'lost')$$, :'payment'),
  '42501', null, 'the service is refused');
select tests.as_anon();
select throws_ok(format($$select api_private.revolut_chargeback_record(%L, 'dsp-anon', 600, 'lost')$$, :'payment'),
  '42501', null, 'anon is refused');
select tests.as_user(tests.user_id('carol'));
select throws_ok(format($$select api_private.revolut_chargeback_record(%L, 'dsp-user', 600, 'lost')$$, :'payment'),
  '42501', null, 'a user is refused');
select tests.as_user(tests.user_id('alice'));
select throws_ok(format($$select api_private.revolut_chargeback_record(%L, 'dsp-owner', 600, 'lost')$$, :'payment'),
  '42501', null, 'the payer is refused');
select tests.as_support(tests.user_id('support'));
select throws_ok(format($$select api_private.revolut_chargeback_record(%L, 'dsp-support', 600, 'lost')$$, :'payment'),
  '42501', 'not allowed to record a chargeback', 'support is refused');
select tests.as_admin(tests.user_id('admin'));
select throws_ok(format($$select api_private.revolut_chargeback_record(%L, 'dsp-noreason', 600, ' ')$$, :'payment'),
  '22023', null, 'a reason is required');

-- Revolut's DISPUTE_LOST for it arrives first, stored ignored (Revolut documents no body): until
-- a chargeback names the dispute, reconciliation lists it, a mismatch the reconcile job alerts on.
select tests.reset_role();
insert into public.webhook_events (provider, event_id, type, payload, status, attempts, processed_at)
values ('revolut', 'DISPUTE_LOST:cb-event-1', 'DISPUTE_LOST',
        '{"event": "DISPUTE_LOST", "dispute_id": "dsp-lost-1", "timestamp": "2026-12-07T10:00:00Z"}', 'ignored', 1, now());
select tests.as_admin(tests.user_id('admin'));
select results_eq(
  $$select kind, provider, payment_id, api_private.reconciliation_mismatch(kind) from api_private.reconciliation('revolut') r
     where r.kind = 'revolut_dispute_lost'$$,
  $$values ('revolut_dispute_lost'::text, 'revolut'::text, null::uuid, true)$$,
  'a lost Revolut dispute no chargeback names is listed, a mismatch');
select is((select count(*)::int from api_private.reconciliation('stripe') r where r.kind = 'revolut_dispute_lost'), 0,
  'and only under Revolut');

-- The chargeback, with the request context the admin API sets.
select tests.reset_role();
select coalesce(max(id), 0) as before_audit from audit.trail \gset
select tests.as_admin(tests.user_id('admin'));
select set_config('app.correlation_id', 'corr-chargeback-1', true);
select id as refund, wallet_transaction_id as reversal
  from api_private.revolut_chargeback_record(:'payment', 'dsp-lost-1', 600, 'Revolut: dispute lost, fraudulent') \gset
select tests.reset_role();
select results_eq(
  format($$select provider, provider_refund_id, amount, status, forced, borne_by_platform, reason, created_by, refund_request_id
            from public.refunds where id = %L$$, :'refund'),
  format($$values ('revolut'::text, 'dsp-lost-1'::text, 600::bigint, 'succeeded'::text, true, false,
                   'Revolut: dispute lost, fraudulent'::text, %L::uuid, null::text)$$, tests.user_id('admin')),
  'a succeeded, forced refund keyed by the dispute id, with the admin and the reason');
select results_eq(
  format($$select kind, amount, from_account_id, reverses_id, description from public.wallet_transactions where id = %L$$, :'reversal'),
  format($$values ('reversal'::text, 600::bigint, %L::uuid, %L::uuid, 'Revolut: dispute lost, fraudulent'::text)$$,
         :'alice_eur', :'credit'),
  'the credit is reversed from the credited account');
select is(public.wallet_balance(:'alice_eur'), -300::bigint, 'the account goes below zero: the money was spent');
select results_eq(format($$select status, amount_refunded from public.payments where id = %L$$, :'payment'),
  $$values ('partially_refunded'::text, 600::bigint)$$, 'the payment counts the chargeback');
select results_eq(
  format($$select actor_id, correlation_id from audit.trail
            where id > %s and table_name = 'refunds' and record_id = %L and operation = 'INSERT'$$, :'before_audit', :'refund'),
  format($$values (%L::uuid, 'corr-chargeback-1'::text)$$, tests.user_id('admin')),
  'the audit trail names the admin and the request');

-- The same dispute again (another admin, a retry): the same refund, nothing moved.
select tests.as_admin(tests.user_id('admin2'));
select is((api_private.revolut_chargeback_record(:'payment', 'dsp-lost-1', 600, 'again')).id, :'refund'::uuid,
  'the same dispute returns the same refund');
select tests.reset_role();
select is((select count(*)::int from public.wallet_transactions where reverses_id = :'credit'), 1, 'and reverses nothing more');
select is((select amount_refunded from public.payments where id = :'payment'), 600::bigint, 'nor counts it twice');
select tests.as_admin(tests.user_id('admin2'));
select throws_ok(format($$select api_private.revolut_chargeback_record(%L, 'dsp-lost-1', 500, 'another sum')$$, :'payment'),
  'WL005', null, 'the same dispute with another amount is refused');
select throws_ok(format($$select api_private.revolut_chargeback_record(%L, 'dsp-lost-2', 401, 'too much')$$, :'payment'),
  'WL008', null, 'more than remains of the payment is refused');

-- An id that names a refund, not a chargeback: never completed as one.
select tests.as_service();
select 1 from api_private.refund_record_pending(:'payment', 100, 'refund-order-pending', 'dashboard');
select tests.as_admin(tests.user_id('admin2'));
select throws_ok(format($$select api_private.revolut_chargeback_record(%L, 'refund-order-pending', 100, 'not a dispute')$$, :'payment'),
  'WL005', null, 'a pending refund''s id is not a chargeback''s');

-- A payment never credited (held for review) has no credit to reserve against: its pending
-- refunds still count, so that what Revolut took back and refunded is never recorded beyond it.
select tests.as_service();
select id as held from public.payment_record_success('revolut', 'cb000000-0000-4000-8000-000000000004', null, 1000, 'EUR') \gset
select 1 from api_private.refund_record_pending(:'held', 600, 'refund-order-held', 'dashboard');
select tests.as_admin(tests.user_id('admin2'));
select throws_ok(format($$select api_private.revolut_chargeback_record(%L, 'dsp-held-1', 401, 'too much')$$, :'held'),
  'WL008', null, 'more than remains of a payment under review once its pending refund is counted is refused');
select results_eq(format($$select status, amount from api_private.revolut_chargeback_record(%L, 'dsp-held-2', 400, 'lost')$$, :'held'),
  $$values ('succeeded'::text, 400::bigint)$$, 'what remains of it is recorded');

-- A payment of another provider, and an admin's own payment.
select tests.as_service();
select id as stripe_payment from tests.credited_payment('stripe', :'bob_eur', 500, 'EUR', 'pi_cb_stripe') \gset
select id as own_payment from tests.credited_payment('revolut', :'admin_eur', 500, 'EUR', 'cb000000-0000-4000-8000-000000000002') \gset
select tests.as_admin(tests.user_id('admin'));
select throws_ok(format($$select api_private.revolut_chargeback_record(%L, 'dsp-stripe', 100, 'lost')$$, :'stripe_payment'),
  'WL008', null, 'a Stripe payment is refused');
select throws_ok(format($$select api_private.revolut_chargeback_record(%L, 'dsp-own', 100, 'lost')$$, :'own_payment'),
  '42501', 'an admin may not refund a payment of their own: another admin must', 'an admin''s own payment is refused');
select throws_ok($$select api_private.revolut_chargeback_record('cb000000-0000-4000-8000-0000000000ff', 'dsp-none', 100, 'lost')$$,
  'WL007', null, 'an unknown payment is WL007');
select tests.reset_role();
select is((select count(*)::int from public.refunds where provider_refund_id in ('dsp-stripe', 'dsp-own', 'dsp-none')), 0,
  'the refusals write nothing');

-- A closed account's chargeback is borne by the platform.
select tests.as_service();
select id as closed_payment, wallet_transaction_id as closed_credit
  from tests.credited_payment('revolut', :'carol_eur', 800, 'EUR', 'cb000000-0000-4000-8000-000000000003') \gset
select 1 from public.wallet_transfer(:'carol_eur', :'bob_eur', 800, 'EUR', 'cb-spend-2');
select 1 from public.wallet_set_status(:'carol_eur', 'closed', 'customer left');
select tests.as_admin(tests.user_id('admin'));
select results_eq(
  format($$select status, forced, borne_by_platform from api_private.revolut_chargeback_record(%L, 'dsp-closed', 800, 'lost, account closed')$$,
         :'closed_payment'),
  $$values ('succeeded'::text, false, true)$$, 'a closed account''s chargeback is borne by the platform');
select tests.reset_role();
select is(public.wallet_balance((select id from public.wallet_accounts where code = 'losses:EUR')), -800::bigint,
  'losses:EUR carries it');
select results_eq(format($$select status, balance from public.wallet_accounts where id = %L$$, :'carol_eur'),
  $$values ('closed'::text, 0::bigint)$$, 'the closed account stays closed at zero');

-- Reconciliation balances both payments, and the ledger's invariants hold.
select tests.as_admin(tests.user_id('admin'));
select is_empty(format($$select 1 from api_private.reconciliation('revolut') r
                         where r.payment_id in (%L, %L) and api_private.reconciliation_mismatch(r.kind)$$,
                       :'payment', :'closed_payment'),
  'reconciliation finds no mismatch for the charged-back payments');
select is_empty($$select 1 from api_private.reconciliation('revolut') r where r.kind = 'revolut_dispute_lost'$$,
  'the lost dispute is listed no more once its chargeback is recorded');
select tests.reset_role();
select is_empty($$select * from private.ledger_invariants()$$, 'every ledger invariant holds');

select * from finish();
rollback;
