-- A refund or lost dispute of a payment whose account was closed since: the provider has taken
-- the money back, and a closed account holds nothing for good, so the reversal is taken from the
-- currency's losses account (the platform bears it) and the refund is recorded, marked
-- borne_by_platform, once; reconciliation lists it and finds the payment balanced; a later
-- failure of the refund gives the losses account its money back; every ledger invariant holds.
-- A frozen account still bears its refunds itself, and an admin's own reversal of a closed
-- account's credit is still refused.
begin;
select plan(22);

select tests.create_users('{alice,bob,carol}', admins => '{admin}');
select tests.as_user(tests.user_id('alice'));
select id as alice_usd from public.wallet_open_account('USD') \gset
select tests.as_user(tests.user_id('bob'));
select id as bob_usd from public.wallet_open_account('USD') \gset
select tests.as_user(tests.user_id('carol'));
select id as carol_usd from public.wallet_open_account('USD') \gset

select tests.as_service();
select id as payment, wallet_transaction_id as credit from tests.credited_payment('stripe', :'alice_usd', 1000, 'USD', 'pi_closed_1') \gset
-- Alice pays all of it to Bob and closes her account (at zero, as a close must be).
select 1 from public.wallet_transfer(:'alice_usd', :'bob_usd', 1000, 'USD', 'closed-spend-1');
select 1 from public.wallet_set_status(:'alice_usd', 'closed', 'customer left');

-- Stripe reports a dashboard refund of 400 of her top-up.
select lives_ok(format($$select public.refund_record(%L, 400, 're_closed_1', 'dashboard refund')$$, :'payment'),
  'a refund of a closed account''s payment is recorded');
select results_eq(
  $$select status, amount, forced, borne_by_platform from public.refunds where provider_refund_id = 're_closed_1'$$,
  $$values ('succeeded', 400::bigint, false, true)$$,
  'succeeded, not forced, marked borne by the platform');
select results_eq(
  format($$select t.kind, t.amount, t.from_account_id, t.to_account_id, t.reverses_id, t.metadata ->> 'closed_account'
            from public.wallet_transactions t
           where t.id = (select wallet_transaction_id from public.refunds where provider_refund_id = 're_closed_1')$$),
  format($$values ('reversal', 400::bigint, (select id from public.wallet_accounts where code = 'losses:USD'),
                   (select id from public.wallet_accounts where code = 'clearing:stripe:USD'), %L::uuid, %L)$$,
         :'credit', :'alice_usd'),
  'the reversal of the credit debits losses:USD and credits the clearing account, naming the closed account');
select results_eq(format($$select status, balance, available from public.wallet_accounts where id = %L$$, :'alice_usd'),
  $$values ('closed', 0::bigint, 0::bigint)$$, 'the closed account stays closed at zero');
select is(public.wallet_balance(:'bob_usd'), 1000::bigint, 'the payee keeps what was paid');
select results_eq(format($$select status, amount_refunded from public.payments where id = %L$$, :'payment'),
  $$values ('partially_refunded', 400::bigint)$$, 'the payment counts the refund');
select is((public.refund_record(:'payment', 400, 're_closed_1', 'dashboard refund')).status, 'succeeded', 'a replay returns the refund');
select is((select count(*)::int from public.wallet_transactions where reverses_id = :'credit'), 1, 'and reverses nothing more');

-- A lost dispute of the rest, recorded like any refund of the payment.
select is((public.refund_record(:'payment', 600, 'dp_closed_1', 'stripe dispute lost: fraudulent')).borne_by_platform, true,
  'a lost dispute of the rest is borne by the platform too');
select is(public.wallet_balance((select id from public.wallet_accounts where code = 'losses:USD')), -1000::bigint,
  'the losses account carries the 1000 the platform bore');
select throws_ok(format($$select public.refund_record(%L, 1, 're_closed_more', 'more')$$, :'payment'),
  'WL008', null, 'nothing is refunded beyond the payment');
select tests.reset_role();
select is_empty($$select * from private.ledger_invariants()$$, 'every ledger invariant holds');

-- Reconciliation: the payment is balanced (ledger reversals = refunded amount), and each loss listed.
select tests.as_admin(tests.user_id('admin'));
select is_empty(format($$select 1 from api_private.reconciliation('stripe') r
                         where r.payment_id = %L and api_private.reconciliation_mismatch(r.kind)$$, :'payment'),
  'reconciliation finds no mismatch for the payment');
select results_eq(
  format($$select r.kind, r.provider_amount, r.account_id from api_private.reconciliation('stripe') r
            where r.payment_id = %L order by r.provider_amount$$, :'payment'),
  format($$values ('refund_borne'::text, 400::bigint, %L::uuid), ('refund_borne', 600, %L::uuid)$$, :'alice_usd', :'alice_usd'),
  'reconciliation lists each refund the platform bore, with the closed account');
select tests.as_service();

-- The refund fails later at Stripe: the money comes back to the losses account, not the closed one.
select is((public.refund_record_failure(:'payment', 're_closed_1', 400, 'failed', 'card closed')).status, 'failed',
  'the refund fails');
select is(public.wallet_balance((select id from public.wallet_accounts where code = 'losses:USD')), -600::bigint,
  'the losses account has its 400 back');
select results_eq(format($$select status, balance from public.wallet_accounts where id = %L$$, :'alice_usd'),
  $$values ('closed', 0::bigint)$$, 'the closed account is untouched');
select tests.reset_role();
select is_empty($$select * from private.ledger_invariants()$$, 'every ledger invariant still holds');
select tests.as_service();

-- An admin's own reversal of a closed account's credit is no provider's refund: still refused.
select id as payment_c from tests.credited_payment('stripe', :'bob_usd', 100, 'USD', 'pi_closed_admin') \gset
select wallet_transaction_id as credit_c from public.payments where id = :'payment_c' \gset
select 1 from public.wallet_transfer(:'bob_usd', :'carol_usd', 1100, 'USD', 'closed-spend-2');
select 1 from public.wallet_set_status(:'bob_usd', 'closed', 'customer left');
select tests.as_admin(tests.user_id('admin'));
select throws_ok(format($$select public.wallet_reverse(%L, 'closed-admin-reverse', 50)$$, :'credit_c'),
  'WL004', null, 'an admin reversal of a closed account''s credit is refused');
select tests.as_service();
select is((select count(*)::int from public.wallet_transactions where reverses_id = :'credit_c'), 0, 'and writes nothing');


-- A frozen account bears its refund itself, as before.
select id as payment_f from tests.credited_payment('stripe', :'carol_usd', 500, 'USD', 'pi_closed_frozen') \gset
select 1 from public.wallet_set_status(:'carol_usd', 'frozen', 'fraud review');
select results_eq(format($$select forced, borne_by_platform from public.refund_record(%L, 200, 're_frozen_1')$$, :'payment_f'),
  $$values (false, false)$$, 'a frozen account''s refund is not borne by the platform');
select is(public.wallet_balance(:'carol_usd'), 1400::bigint, 'it is taken from the frozen account');

select * from finish();
rollback;
