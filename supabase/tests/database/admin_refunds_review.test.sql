-- Admin refunds and review resolution in SQL: private.refund_prepare (lock, what remains
-- counting pending refunds, what the ledger could not take; reached here through
-- tests.refund_prepare as the caller the test switched to), api_private.refund_record_pending
-- and how refund_record and refund_record_failure complete or close a pending refund, how an
-- admin's retry finds a refund its provider's webhook recorded first, api_private.payment_resolve
-- (credit once, reject, refusals), who may call them, and how reconciliation shows the outcome.
begin;
select plan(65);

select tests.create_users('{alice,bob,carol,dave}', admins => '{admin}', support => '{support}');

-- Grants: payment_resolve the admin API role only; refund_record_pending also the service
-- (Stripe's webhook); refund_prepare nobody, since only the functions that record a refund call it.
select ok(not has_function_privilege('anon', 'api_private.payment_resolve(uuid, text, text)', 'execute')
          and has_function_privilege('authenticated', 'api_private.payment_resolve(uuid, text, text)', 'execute')
          and not has_function_privilege('service_role', 'api_private.payment_resolve(uuid, text, text)', 'execute'),
          'payment_resolve: authenticated only (the function checks for an admin)');
select ok(not has_function_privilege('anon', 'api_private.refund_record_pending(uuid, bigint, text, text)', 'execute')
          and has_function_privilege('authenticated', 'api_private.refund_record_pending(uuid, bigint, text, text)', 'execute')
          and has_function_privilege('service_role', 'api_private.refund_record_pending(uuid, bigint, text, text)', 'execute'),
          'refund_record_pending: authenticated and service_role (the function checks for an admin or the service)');
select ok(not has_function_privilege(r, 'private.refund_prepare(uuid, bigint)', 'execute'), 'refund_prepare: not ' || r)
  from unnest(array['anon', 'authenticated', 'service_role']) r;
select ok(p.prosecdef and p.proconfig @> array['search_path=""'], p.oid::regproc || ': security definer with an empty search_path')
  from pg_proc p where (p.pronamespace = 'api_private'::regnamespace and p.proname in ('refund_record_pending', 'payment_resolve'))
                    or (p.pronamespace = 'private'::regnamespace and p.proname = 'refund_prepare');

-- What remains to refund of p_payment, as the caller the test switched to: one more than
-- p_remaining is refused with p_code (and p_message, when given), p_remaining is allowed and
-- is what refund_prepare says remains.
create function pg_temp.remains(p_payment uuid, p_remaining bigint, p_code text, p_message text, p_too_much text,
                                p_remains text) returns setof text
language plpgsql
as $$
begin
  return next throws_ok(format('select tests.refund_prepare(%L, %s)', p_payment, p_remaining + 1), p_code, p_message, p_too_much);
  return next results_eq(format('select remaining from tests.refund_prepare(%L, %s)', p_payment, p_remaining),
                         format('values (%s::bigint)', p_remaining), p_remains);
end;
$$;

select tests.open_account('alice', 'USD') as account \gset
select id as paid from tests.credited_payment('stripe', :'account', 1000, 'USD', 'pi_rr_paid') \gset

-- refund_prepare
select tests.as_support(tests.user_id('support'));
select throws_ok(format($$ select tests.refund_prepare(%L, 1) $$, :'paid'), '42501', null, 'support may not refund');
select tests.as_user(tests.user_id('alice'));
select throws_ok(format($$ select tests.refund_prepare(%L, 1) $$, :'paid'), '42501', null, 'a user may not refund');
select tests.as_admin(tests.user_id('admin'));
select results_eq(format($$ select provider, provider_payment_id, currency, remaining from tests.refund_prepare(%L, 1000) $$, :'paid'),
  $$ values ('stripe', 'pi_rr_paid', 'USD', 1000::bigint) $$, 'an admin may refund all of it');
select throws_ok(format($$ select tests.refund_prepare(%L, 1001) $$, :'paid'), 'WL006', null, 'one more than the payment: WL006');
select throws_ok(format($$ select tests.refund_prepare(%L, 0) $$, :'paid'), 'WL006', null, 'zero: WL006');
select throws_ok($$ select tests.refund_prepare(gen_random_uuid(), 1) $$, 'WL007', null, 'an unknown payment: WL007');

-- A pending refund reserves its amount and moves nothing.
select is((api_private.refund_record_pending(:'paid', 600, 're_rr_pending', 'asked')).status, 'pending', 'a pending refund is stored as pending');
select is((api_private.refund_record_pending(:'paid', 600, 're_rr_pending', 'asked')).status, 'pending', 'recording it again is a replay');
select throws_ok(format($$ select api_private.refund_record_pending(%L, 500, 're_rr_pending', 'asked') $$, :'paid'), 'WL005', null,
  'the same provider refund with another amount: WL005');
select * from pg_temp.remains(:'paid', 400, 'WL006', null,
  'what remains counts the pending refund: 401 of 1000 - 600 is too much', '400 remains');
select tests.reset_role();
select results_eq(format($$ select amount_refunded, status from public.payments where id = %L $$, :'paid'),
  $$ values (0::bigint, 'succeeded') $$, 'the payment is not refunded while the refund is pending');
select results_eq(format($$ select balance from public.wallet_accounts where id = %L $$, :'account'), $$ values (1000::bigint) $$,
  'the wallet is untouched');

-- The provider confirms it: refund_record completes the same row and moves the ledger once.
select tests.as_service();
select is((public.refund_record(:'paid', 600, 're_rr_pending', 'stripe refund')).status, 'succeeded', 'the confirmation completes it');
select is((public.refund_record(:'paid', 600, 're_rr_pending', 'stripe refund')).status, 'succeeded', 'a second confirmation is a replay');
select tests.reset_role();
select results_eq(format($$ select count(*)::int, min(status) from public.refunds where payment_id = %L $$, :'paid'),
  $$ values (1, 'succeeded') $$, 'one refund row');
select results_eq(format($$ select amount_refunded, status from public.payments where id = %L $$, :'paid'),
  $$ values (600::bigint, 'partially_refunded') $$, 'the payment counts it once');
select results_eq(format($$ select balance from public.wallet_accounts where id = %L $$, :'account'), $$ values (400::bigint) $$,
  'the wallet gave it back once');

-- A pending refund that fails closes with nothing moved.
select tests.as_admin(tests.user_id('admin'));
select is((api_private.refund_record_pending(:'paid', 400, 're_rr_pending_2', null)).status, 'pending', 'a second pending refund');
select tests.as_service();
select is((public.refund_record_failure(:'paid', 're_rr_pending_2', 400)).status, 'failed', 'the provider fails it');
select tests.reset_role();
select results_eq(format($$ select amount_refunded, status from public.payments where id = %L $$, :'paid'),
  $$ values (600::bigint, 'partially_refunded') $$, 'a failed pending refund does not change what the payment refunded');
select results_eq(format($$ select balance from public.wallet_accounts where id = %L $$, :'account'), $$ values (400::bigint) $$,
  'nor the wallet');

-- refund_prepare refuses, before the provider is asked, what refund_record could not record
-- once the provider has paid: a refund of a credit an admin reversed through the ledger, and
-- one of an account that is closed.
select tests.open_account('bob', 'USD') as bob_account \gset
select id as reversed, wallet_transaction_id as reversed_credit
  from tests.credited_payment('stripe', :'bob_account', 1000, 'USD', 'pi_rr_reversed') \gset
select tests.as_admin(tests.user_id('admin'));
select is((public.wallet_reverse(:'reversed_credit', 'rr-admin-reversal', 700, 'credited by mistake')).amount, 700::bigint,
  'an admin reverses 700 of the credit through the ledger');
select * from pg_temp.remains(:'reversed', 300, 'WL008',
  format('refund of 301 exceeds what remains of the credit of payment %s (300, counting pending refunds): it was reversed in the ledger',
         :'reversed'),
  'one more than the admin left of the credit: WL008', 'what is left of the credit may be refunded, and is what remains');
select is((api_private.refund_record_pending(:'reversed', 200, 're_rr_reversed_pending', null)).status, 'pending',
  'a pending refund of 200');
select * from pg_temp.remains(:'reversed', 100, 'WL008', null,
  'the pending refund counts against what is left of the credit: 101 of 300 - 200 is too much', '100 remains');

-- A pending refund keeps its account open (refund_reservations.test.sql): the provider fails it first.
select tests.as_service();
select is((public.refund_record_failure(:'reversed', 're_rr_reversed_pending', 200)).status, 'failed',
  'the provider fails the pending refund');
select tests.open_account('dave', 'USD') as dave_account \gset
select tests.as_user(tests.user_id('bob'));
select is((public.wallet_transfer(:'bob_account', :'dave_account', 300, 'USD', 'rr-bob-leaves')).amount, 300::bigint,
  'the customer moves the rest out');
select tests.as_admin(tests.user_id('admin'));
select is((api_private.wallet_set_status(:'bob_account', 'closed', 'customer left')).status, 'closed', 'and the account is closed');
select throws_ok(format($$ select tests.refund_prepare(%L, 1) $$, :'reversed'), 'WL004',
  format('wallet account %s is closed: the refund of payment %s could not be taken from it', :'bob_account', :'reversed'),
  'a refund of a closed account''s payment: WL004');
select tests.reset_role();
select results_eq(format($$ select count(*)::int, sum(amount)::int from public.refunds where payment_id = %L $$, :'reversed'),
  $$ values (1, 200) $$, 'the refusals recorded nothing');

-- Every refund is recorded under the provider's id: the webhook that reported a refund first
-- (Stripe's charge.refunded reads the charge's refunds) and the admin's retry after its first
-- answer was lost find one row, debited once.
select tests.open_account('carol', 'USD') as carol_account \gset
select id as lost from tests.credited_payment('stripe', :'carol_account', 1000, 'USD', 'pi_rr_lost') \gset
select tests.as_service();
select is((public.refund_record(:'lost', 400, 're_rr_lost', 'stripe refund')).status, 'succeeded',
  'the webhook records the refund by its provider id');
select tests.as_admin(tests.user_id('admin'));
select results_eq(
  format($$ select provider_refund_id, amount, status from public.refund_record(%L, 400, 're_rr_lost', 'asked') $$, :'lost'),
  $$ values ('re_rr_lost', 400::bigint, 'succeeded') $$, 'the admin''s retry finds the same row');
select is((api_private.refund_record_pending(:'lost', 400, 're_rr_lost', 'asked')).status, 'succeeded',
  'a retry the provider answers as pending finds it as recorded');
select tests.reset_role();
select results_eq(format($$ select count(*)::int, sum(amount)::int from public.refunds where payment_id = %L $$, :'lost'),
  $$ values (1, 400) $$, 'one refund row');
select results_eq(format($$ select p.amount_refunded, a.balance from public.payments p, public.wallet_accounts a
                             where p.id = %L and a.id = %L $$, :'lost', :'carol_account'),
  $$ values (400::bigint, 600::bigint) $$, 'the payment counts it once and the wallet gave it back once');
select tests.as_service();
select is((api_private.refund_record_pending(:'lost', 100, 're_rr_dashboard', 'stripe refund')).status, 'pending',
  'the webhook records a refund the provider reports pending (made in its dashboard) as pending');
select tests.reset_role();
select results_eq(format($$ select p.amount_refunded, a.balance from public.payments p, public.wallet_accounts a
                             where p.id = %L and a.id = %L $$, :'lost', :'carol_account'),
  $$ values (400::bigint, 600::bigint) $$, 'a pending refund moves nothing');

-- payment_resolve
select id as intent_2 from public.payment_intent_create('stripe', :'account', 500, 'USD', 'rr-intent-2') \gset
select id as review from public.payment_record_success('stripe', 'pi_rr_review', :'intent_2', 700, 'USD') \gset
select id as orphan from public.payment_record_success('stripe', 'pi_rr_orphan', null, 300, 'USD') \gset
select id as intent_refunding from public.payment_intent_create('stripe', :'account', 400, 'USD', 'rr-intent-refunding') \gset
select id as refunding from public.payment_record_success('stripe', 'pi_rr_refunding', :'intent_refunding', 450, 'USD') \gset
select api_private.refund_record_pending(:'refunding', 450, 're_rr_refunding', 'asked') is not null as refund_pending \gset
select tests.as_support(tests.user_id('support'));
select throws_ok(format($$ select api_private.payment_resolve(%L, 'reject', 'x') $$, :'review'), '42501', null, 'support may not resolve');
select tests.as_admin(tests.user_id('admin'));
select throws_ok(format($$ select api_private.payment_resolve(%L, 'refund', 'x') $$, :'review'), '22023', null, 'an unknown action: 22023');
select throws_ok(format($$ select api_private.payment_resolve(%L, 'credit', '  ') $$, :'review'), '22023', null, 'a blank reason: 22023');
select throws_ok(format($$ select api_private.payment_resolve(%L, 'credit', 'x') $$, :'paid'), 'WL008', null,
  'a payment not under review: WL008');
select throws_ok(format($$ select api_private.payment_resolve(%L, 'credit', 'x') $$, :'orphan'), 'WL008',
  format('payment %s matches no payment intent, so there is no account to credit; reject it instead', :'orphan'),
  'a payment with no intent cannot be credited');
select throws_ok($$ select api_private.payment_resolve(gen_random_uuid(), 'credit', 'x') $$, 'WL007', null, 'an unknown payment: WL007');
select results_eq(format($$ select status, resolution, resolved_by from api_private.payment_resolve(%L, 'credit', 'paid 7.00, verified') $$, :'review'),
  $$ values ('succeeded', 'credited', tests.user_id('admin')) $$, 'credit: succeeded, by the admin');
select throws_ok(format($$ select api_private.payment_resolve(%L, 'credit', 'again') $$, :'review'), 'WL008', null,
  'credit twice: WL008');
select throws_ok(format($$ select api_private.payment_resolve(%L, 'credit', 'x') $$, :'refunding'), 'WL008',
  format('payment %s has a refund pending at its provider: credit it once the refund is settled, or reject it', :'refunding'),
  'a payment with a refund pending at its provider cannot be credited (its completion would reverse the credit)');
select tests.reset_role();
select results_eq(format($$ select balance from public.wallet_accounts where id = %L $$, :'account'), $$ values (1100::bigint) $$,
  'the provider''s amount (700) is credited once');
select results_eq(format($$ select status from public.payment_intents where id = %L $$, :'intent_2'), $$ values ('succeeded') $$,
  'the intent is paid');
select results_eq(format($$ select status, wallet_transaction_id from public.payments where id = %L $$, :'refunding'),
  $$ values ('needs_review', null::uuid) $$, 'the payment with a refund pending stays under review, uncredited');
select is((select count(*)::int from audit.log where table_name = 'payments' and record_id = :'review'::text
            and actor_id = tests.user_id('admin')), 1, 'the resolution is audited with the admin as actor');

select tests.as_admin(tests.user_id('admin'));
select results_eq(format($$ select status, resolution, resolution_reason from api_private.payment_resolve(%L, 'reject', 'unknown payer') $$, :'orphan'),
  $$ values ('rejected', 'rejected', 'unknown payer') $$, 'reject records why');
select tests.reset_role();
-- A rejected payment of an intent still waiting for it ends that intent: nothing else would.
select id as intent_3 from public.payment_intent_create('stripe', :'account', 500, 'USD', 'rr-intent-3') \gset
select 1 from public.payment_intent_attach(:'intent_3', 'pi_rr_rejected');
select id as rejected from public.payment_record_success('stripe', 'pi_rr_rejected', :'intent_3', 600, 'USD') \gset
select tests.as_admin(tests.user_id('admin'));
select 1 from api_private.payment_resolve(:'rejected', 'reject', 'paid 6.00 for a 5.00 top-up, refund it');
select tests.reset_role();
select results_eq(format($$ select status, failure_reason from public.payment_intents where id = %L $$, :'intent_3'),
  $$ values ('canceled', 'payment rejected after review') $$,
  'reject cancels the intent still processing for it, with a reason of its own (not the admin''s)');
select tests.as_admin(tests.user_id('admin'));
select throws_ok(format($$ select api_private.payment_resolve(%L, 'credit', 'x') $$, :'orphan'), 'WL008', null,
  'a rejected payment stays rejected');
select results_eq(
  format($$ select kind, api_private.reconciliation_mismatch(kind) from api_private.reconciliation('stripe')
             where payment_id in (%L, %L) order by kind $$, :'review', :'orphan'),
  $$ values ('credited', false), ('rejected', false) $$,
  'reconciliation: the credited payment matches and, like the rejected one, is listed as the admin''s decision, not a mismatch');
select tests.reset_role();

select * from finish();
rollback;
