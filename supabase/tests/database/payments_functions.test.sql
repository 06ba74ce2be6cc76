-- The payment functions: happy paths, replays, mismatches that go to review without a
-- credit, refund bounds, forced refunds of spent money, failures, the lock a refund report
-- reads a payment under, and who may call what.
begin;
select plan(72);

select tests.create_users('{alice, bob, carol}', admins => '{admin}', support => '{support}');

select tests.open_account('alice', 'USD') as alice_usd, tests.open_account('alice', 'KES') as alice_kes,
       tests.open_account('bob', 'USD') as bob_usd, tests.open_account('carol', 'USD') as carol_usd \gset
-- An account support staff could only have been given directly, to show that owning one is not enough.
insert into public.wallet_accounts (owner_id, kind, currency)
values (tests.user_id('support'), 'user', 'USD') returning id as support_usd \gset

-- payment_intent_create ------------------------------------------------------------------
select tests.as_user(tests.user_id('alice'));
select id as intent, status as intent_status, user_id as intent_user, created_by as intent_scope
  from public.payment_intent_create('stripe', :'alice_usd', 10000, 'USD', 'topup-1') \gset
select is(:'intent_status'::text, 'requires_payment', 'a user creates an intent for its own account in requires_payment');
select is(:'intent_user'::uuid, tests.user_id('alice'), 'the intent belongs to the account owner');
select is((public.payment_intent_create('stripe', :'alice_usd', 10000, 'USD', 'topup-1')).id, :'intent'::uuid,
  'the same key and parameters return the same intent');
select throws_ok($$select public.payment_intent_create('stripe', '$$ || :'alice_usd' || $$', 20000, 'USD', 'topup-1')$$,
  'WL005', null, 'the same key with other parameters is WL005');
select throws_ok($$select public.payment_intent_create('stripe', '$$ || :'bob_usd' || $$', 100, 'USD', 'topup-bob')$$,
  '42501', 'not allowed to top up wallet account ' || :'bob_usd', 'a user cannot create an intent for another user''s account');
select throws_ok($$select public.payment_intent_create('stripe', '$$ || :'alice_usd' || $$', 100, 'KES', 'topup-kes')$$,
  'WL002', null, 'a currency other than the account''s is WL002');
select throws_ok($$select public.payment_intent_create('paypal', '$$ || :'alice_usd' || $$', 100, 'USD', 'topup-pp')$$,
  '22023', null, 'an unknown provider is 22023');
select throws_ok($$select public.payment_intent_create('stripe', '$$ || :'alice_usd' || $$', 0, 'USD', 'topup-0')$$,
  'WL006', null, 'a zero amount is WL006');
select throws_ok($$select public.payment_intent_create('stripe', '$$ || :'alice_usd' || $$', 100, 'usd', 'topup-lc')$$,
  '22023', null, 'a malformed currency is 22023');
select throws_ok($$select public.payment_intent_create('stripe', '$$ || :'alice_usd' || $$', 100, 'USD', '')$$,
  '22023', null, 'an empty idempotency key is 22023');
select throws_ok($$select public.payment_intent_create('stripe', 'c4000000-0000-4000-8000-0000000000ff', 100, 'USD', 'topup-missing')$$,
  '42501', 'not allowed to top up wallet account c4000000-0000-4000-8000-0000000000ff',
  'an unknown account is 42501 for a user, as another user''s is: account ids cannot be probed');
select throws_ok($$select public.payment_intent_attach('$$ || :'intent' || $$', 'pi_x')$$,
  '42501', null, 'a user cannot attach a provider reference');
select throws_ok($$select public.payment_record_success('stripe', 'pi_x', '$$ || :'intent' || $$', 10000, 'USD')$$,
  '42501', null, 'a user cannot record a payment');
select throws_ok($$select public.payment_record_failure('$$ || :'intent' || $$', 'no')$$,
  '42501', null, 'a user cannot record a failure');
select throws_ok($$select public.refund_record(gen_random_uuid(), 1, 're_x')$$,
  '42501', null, 'a user cannot record a refund');
select tests.reset_role();

select tests.as_anon();
select throws_ok($$select public.payment_intent_create('stripe', '$$ || :'alice_usd' || $$', 100, 'USD', 'anon')$$,
  '42501', null, 'anon cannot create an intent');
select tests.reset_role();

select tests.as_service();
select is((public.payment_intent_create('momo', :'bob_usd', 700, 'USD', 'svc-bob-1')).user_id,
  tests.user_id('bob'), 'the service creates an intent for any user account');
select ok((public.payment_intent_create('momo', :'bob_usd', 700, 'USD', 'topup-1')).id <> :'intent'::uuid,
  'idempotency keys are scoped by caller: the service''s topup-1 is not alice''s');

-- payment_intent_attach --------------------------------------------------------------------
select is((public.payment_intent_attach(:'intent', 'pi_alice_1')).status, 'processing', 'attaching moves the intent to processing');
select is((public.payment_intent_attach(:'intent', 'pi_alice_1')).provider_ref, 'pi_alice_1', 'attaching the same reference again is a replay');
select throws_ok($$select public.payment_intent_attach('$$ || :'intent' || $$', 'pi_other')$$,
  'PA002', null, 'attaching a second reference is PA002');
select id as momo_intent from public.payment_intent_create('momo', :'alice_usd', 300, 'USD', 'svc-momo') \gset
select throws_ok($$select public.payment_intent_attach('$$ || :'momo_intent' || $$', 'not-a-uuid')$$,
  '22023', null, 'a MoMo reference must be a UUIDv4');
select id as stripe_intent_2 from public.payment_intent_create('stripe', :'alice_usd', 300, 'USD', 'svc-stripe-2') \gset
select throws_ok($$select public.payment_intent_attach('$$ || :'stripe_intent_2' || $$', 'pi_alice_1')$$,
  'PA002', null, 'a reference that belongs to another intent is PA002');
select throws_ok($$select public.payment_intent_attach(gen_random_uuid(), 'pi_nobody')$$,
  'WL007', null, 'attaching to an unknown intent is WL007');

-- payment_record_success ---------------------------------------------------------------------
select id as payment, status as payment_status, wallet_transaction_id as credit
  from public.payment_record_success('stripe', 'pi_alice_1', :'intent', 10000, 'USD', 320, '{"id": "pi_alice_1"}') \gset
select is(:'payment_status'::text, 'succeeded', 'a matching payment succeeds');
select is((select status from public.payment_intents where id = :'intent'), 'succeeded', 'its intent succeeds');
select is(public.wallet_balance(:'alice_usd'), 10000::bigint, 'the account is credited with the amount');
select results_eq(format($$select kind, amount, to_account_id from public.wallet_transactions where id = %L$$, :'credit'),
  format($$values ('deposit', 10000::bigint, %L::uuid)$$, :'alice_usd'),
  'the credit is a wallet deposit referenced by the payment');
select throws_ok($$select public.payment_intent_create('stripe', (select id from public.wallet_accounts where code = 'clearing:stripe:USD'), 100, 'USD', 'svc-sys')$$,
  '42501', null, 'a system account cannot be topped up');
select is((public.payment_record_success('stripe', 'pi_alice_1', :'intent', 10000, 'USD', 320)).id, :'payment'::uuid,
  'a replay returns the first payment');
select is(public.wallet_balance(:'alice_usd'), 10000::bigint, 'and credits nothing more');
select throws_ok($$select public.payment_record_success('stripe', 'pi_alice_1', '$$ || :'intent' || $$', 9999, 'USD')$$,
  'WL005', null, 'a replay with another amount is WL005');
select is((public.payment_record_success('stripe', 'ch_alice_1_again', :'intent', 10000, 'USD')).review_reason,
  'intent_already_paid', 'a second provider payment for a paid intent goes to review');

-- Mismatches: stored for review, never credited.
select id as short_intent from public.payment_intent_create('stripe', :'alice_usd', 5000, 'USD', 'svc-short') \gset
select results_eq(
  format($$select status, review_reason, wallet_transaction_id from public.payment_record_success('stripe', 'pi_short', %L, 4000, 'USD')$$, :'short_intent'),
  $$values ('needs_review', 'amount_mismatch', null::uuid)$$,
  'an amount that differs from the intent is needs_review without credit');
select is((select status from public.payment_intents where id = :'short_intent'), 'requires_payment', 'the intent is left as it was');
select is((public.payment_record_success('stripe', 'pi_kes', :'short_intent', 5000, 'KES')).review_reason,
  'currency_mismatch', 'a currency that differs is needs_review');
select is((public.payment_record_success('momo', 'momo_for_stripe', :'short_intent', 5000, 'USD')).review_reason,
  'provider_mismatch', 'a payment from another provider than the intent''s is needs_review');
select results_eq(
  $$select status, review_reason, intent_id, user_id from public.payment_record_success('revolut', 'ord_unknown', null, 100, 'EUR')$$,
  $$values ('needs_review', 'unknown_intent', null::uuid, null::uuid)$$,
  'a payment for no intent is needs_review');
select is((public.payment_record_success('revolut', 'ord_missing', gen_random_uuid(), 100, 'EUR')).review_reason,
  'unknown_intent', 'a payment naming an intent that does not exist is needs_review');
select is(public.wallet_balance(:'alice_usd'), 10000::bigint, 'none of them credited anything');
select throws_ok($$select public.payment_record_success('stripe', 'pi_fee', null, 100, 'USD', 101)$$,
  'WL006', null, 'a fee above the amount is WL006');

-- A frozen account: the money is kept for review rather than lost or credited.
select id as carol_intent from public.payment_intent_create('stripe', :'carol_usd', 800, 'USD', 'svc-carol-frozen') \gset
select public.wallet_set_status(:'carol_usd', 'frozen', 'test') \gset
select is((public.payment_record_success('stripe', 'pi_carol_frozen', :'carol_intent', 800, 'USD')).review_reason,
  'account_not_active', 'a payment for a frozen account goes to review');

-- payment_record_failure ---------------------------------------------------------------------
select id as failing_intent from public.payment_intent_create('revolut', :'alice_usd', 400, 'USD', 'svc-fail') \gset
select results_eq(format($$select status, failure_reason from public.payment_record_failure(%L, 'card declined')$$, :'failing_intent'),
  $$values ('failed', 'card declined')$$, 'a failure fails a pending intent with its reason');
select results_eq(format($$select status, failure_reason from public.payment_record_failure(%L, 'again')$$, :'failing_intent'),
  $$values ('failed', 'card declined')$$, 'a second failure keeps the first reason');
select is((public.payment_record_failure(:'intent', 'late failure')).status, 'succeeded', 'a failure on a succeeded intent is a no-op');
select is(public.wallet_balance(:'alice_usd'), 10000::bigint, 'and leaves the credit in place');
select is((public.payment_record_success('revolut', 'ord_retry', :'failing_intent', 400, 'USD')).status, 'succeeded',
  'a failed intent that the provider later charges is credited');
select throws_ok($$select public.payment_record_failure(gen_random_uuid(), 'x')$$, 'WL007', null, 'failing an unknown intent is WL007');

-- refund_record ------------------------------------------------------------------------------
select id as refund1, wallet_transaction_id as reversal1, forced as forced1
  from public.refund_record(:'payment', 3000, 're_1', 'partial') \gset
select is(public.wallet_balance(:'alice_usd'), 7400::bigint, 'a refund reverses its amount of the credit');
select is(:'forced1'::boolean, false, 'a refund of unspent money is not forced');
select results_eq(format($$select status, amount_refunded from public.payments where id = %L$$, :'payment'),
  $$values ('partially_refunded', 3000::bigint)$$, 'the payment is partially refunded');
select is((public.refund_record(:'payment', 3000, 're_1', 'partial')).id, :'refund1'::uuid, 'a refund replay returns the first refund');
select is(public.wallet_balance(:'alice_usd'), 7400::bigint, 'and reverses nothing more');
select throws_ok($$select public.refund_record('$$ || :'payment' || $$', 2000, 're_1')$$, 'WL005', null,
  'the same refund id with another amount is WL005');
select throws_ok($$select public.refund_record('$$ || :'payment' || $$', 7001, 're_2')$$, 'WL008', null,
  'refunds beyond the payment are WL008');
select throws_ok($$select public.refund_record('$$ || :'payment' || $$', 0, 're_0')$$, 'WL006', null, 'a zero refund is WL006');
select throws_ok($$select public.refund_record(gen_random_uuid(), 10, 're_none')$$, 'WL007', null, 'refunding an unknown payment is WL007');

-- Alice spends the money; the rest of the refund is forced and takes her below zero.
select tests.as_user(tests.user_id('alice'));
select public.wallet_transfer(:'alice_usd', :'bob_usd', 7000, 'USD', 'spend-it') \gset
select tests.as_service();
select results_eq(
  format($$select forced, status from public.refund_record(%L, 7000, 're_2', 'rest')$$, :'payment'),
  $$values (true, 'succeeded')$$, 'a refund of spent money is forced');
select is(public.wallet_balance(:'alice_usd'), -6600::bigint, 'the account goes negative by what was spent');
select results_eq(format($$select status, amount_refunded from public.payments where id = %L$$, :'payment'),
  $$values ('refunded', 10000::bigint)$$, 'the payment is fully refunded');
select throws_ok($$select public.refund_record('$$ || :'payment' || $$', 1, 're_3')$$, 'WL008', null,
  'nothing remains to refund');
select results_eq(
  $$select wallet_transaction_id, status from public.refund_record((select id from public.payments where provider_payment_id = 'ord_unknown'), 100, 'rv_unknown')$$,
  $$values (null::uuid, 'succeeded')$$, 'a refund of a payment under review is recorded without a ledger effect');

-- payment_lock: what a refund report reads, under the payment's row lock (the wait it makes is
-- in stripe-webhook/effects.test.ts).
select results_eq($$select id, amount_refunded from api_private.payment_lock('stripe', 'pi_alice_1')$$,
  format($$values (%L::uuid, 10000::bigint)$$, :'payment'), 'payment_lock returns the recorded payment');
select is((select count(*)::int from api_private.payment_lock('momo', 'pi_alice_1')), 0,
  'and nothing for a payment id another provider never reported');
select lives_ok($$select api_private.payment_lock('stripe', repeat('p', 200))$$, 'a payment id at its bound is looked up');
select throws_ok($$select api_private.payment_lock('stripe', repeat('p', 201))$$, '22023',
  'p_provider_payment_id must be at most 200 characters', 'one over its bound is 22023');
select tests.reset_role();
select ok(has_function_privilege('service_role', 'api_private.payment_lock(text, text)', 'execute')
          and not has_function_privilege('authenticated', 'api_private.payment_lock(text, text)', 'execute')
          and not has_function_privilege('anon', 'api_private.payment_lock(text, text)', 'execute'),
  'payment_lock: the service only');

-- An admin records no refund a provider never reported (supabase.rpc reaches refund_record):
-- it completes only a refund recorded before its provider was asked; support records none.
select tests.as_admin(tests.user_id('admin'));
select throws_ok(
  $$select public.refund_record((select id from public.payments where provider_payment_id = 'ord_retry'), 100, 're_admin', 'goodwill')$$,
  '42501', null, 'an admin records no new refund: no payer''s credit is reversed for a refund no provider made');
select throws_ok($$select public.payment_record_success('stripe', 'pi_admin', null, 1, 'USD')$$, '42501', null,
  'an admin cannot record payments');
select tests.as_support(tests.user_id('support'));
select throws_ok($$select public.refund_record((select id from public.payments where provider_payment_id = 'ord_retry'), 1, 're_support')$$,
  '42501', null, 'support cannot record refunds');
select throws_ok(format($$select public.payment_intent_create('stripe', %L, 500, 'USD', 'support-intent')$$, :'support_usd'),
  '42501', null, 'support creates no payment intent, even for an account it owns');
select throws_ok(format($$select public.wallet_transfer(%L, %L, 1, 'USD', 'support-transfer')$$, :'support_usd', :'alice_usd'),
  '42501', null, 'support moves no money, even out of an account it owns');
select tests.reset_role();

select * from finish();
rollback;
