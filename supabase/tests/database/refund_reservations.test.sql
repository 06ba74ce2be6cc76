-- What a pending refund holds back in the ledger until its provider settles it: no reversal
-- but its own (refund_record) takes the part of the payment's credit it reserves
-- (private.refund_reserved), and no account of the credit is closed
-- (private.refund_check_close). Refusals are WL008 and write nothing; a refund that completes
-- (refund_record) or fails (refund_record_failure) lets the reversal and the close through.
-- A refund the provider reports with no pending row (Stripe's dashboard) is recorded as before
-- within what the pending refunds leave.
begin;
select plan(34);

select tests.create_users('{alice,bob,carol,dave}', admins => '{admin}');

select tests.open_account('alice', 'USD') as alice_account, tests.open_account('bob', 'USD') as bob_account,
       tests.open_account('carol', 'USD') as carol_account, tests.open_account('dave', 'USD') as dave_account \gset

-- Three top-ups of 1000, credited.
select id as alice_paid, wallet_transaction_id as alice_credit
  from tests.credited_payment('stripe', :'alice_account', 1000, 'USD', 'pi_res_alice') \gset
select id as bob_paid, wallet_transaction_id as bob_credit
  from tests.credited_payment('stripe', :'bob_account', 1000, 'USD', 'pi_res_bob') \gset
select id as carol_paid from tests.credited_payment('stripe', :'carol_account', 1000, 'USD', 'pi_res_carol') \gset
select id as clearing from public.wallet_accounts where code = 'clearing:stripe:USD' \gset

-- An admin's refund of 600 that the provider accepted and has not completed, recorded as the
-- admin API records it.
select tests.as_admin(tests.user_id('admin'));
select results_eq(format($$ select remaining from tests.refund_prepare(%L, 600) $$, :'alice_paid'), $$ values (1000::bigint) $$,
  'the refund of 600 may be asked of the provider');
select is((api_private.refund_record_pending(:'alice_paid', 600, 're_res_alice', 'customer asked')).status, 'pending',
  'and is pending');

-- A reversal through the ledger leaves the 600 the refund reserves.
select throws_ok(format($$ select public.wallet_reverse(%L, 'res-alice-reversal', 401, 'credited twice') $$, :'alice_credit'), 'WL008',
  format('reversal of 401 exceeds what remains of transaction %s (400): the pending refunds of its payment reserve 600 more', :'alice_credit'),
  'an admin''s reversal of one more than the 400 the refund leaves: WL008, naming the reservation');
select tests.as_service();
select throws_ok(format($$ select public.wallet_reverse(%L, 'res-alice-service-reversal', 401) $$, :'alice_credit'), 'WL008', null,
  'the service''s too');
select tests.reset_role();
select results_eq(
  format($$ select (select count(*)::int from public.wallet_transactions where reverses_id = %L), balance
              from public.wallet_accounts where id = %L $$, :'alice_credit', :'alice_account'),
  $$ values (0, 1000::bigint) $$, 'the refusals wrote nothing');
select tests.as_admin(tests.user_id('admin'));
select is((public.wallet_reverse(:'alice_credit', 'res-alice-reversal', 400, 'credited twice')).amount, 400::bigint,
  'the 400 the refund leaves may be reversed, under the key the refusal left unused');
select throws_ok(format($$ select public.wallet_reverse(%L, 'res-alice-reversal-2', 1) $$, :'alice_credit'), 'WL008',
  format('reversal of 1 exceeds what remains of transaction %s (0): the pending refunds of its payment reserve 600 more', :'alice_credit'),
  'then not 1 more');
select throws_ok(format($$ select public.wallet_reverse(%L, 'res-alice-reversal-3') $$, :'alice_credit'), 'WL008', null,
  'nor "all that remains"');

-- The account the refund will debit stays open, even at zero.
select tests.as_user(tests.user_id('alice'));
select is((public.wallet_transfer(:'alice_account', :'dave_account', 600, 'USD', 'res-alice-spends')).amount, 600::bigint,
  'the customer spends the rest');
select tests.as_admin(tests.user_id('admin'));
select throws_ok(format($$ select public.wallet_set_status(%L, 'closed', 'customer left') $$, :'alice_account'), 'WL008',
  format('wallet account %s cannot be closed while a refund of payment %s is pending: the refund reverses the payment''s credit through the account when the provider completes it',
         :'alice_account', :'alice_paid'),
  'closing the account the pending refund will debit: WL008, naming the payment');
select throws_ok(format($$ select public.wallet_set_status(%L, 'closed', 'provider retired') $$, :'clearing'), 'WL008',
  format('wallet account %s cannot be closed while a refund of payment %s is pending: the refund reverses the payment''s credit through the account when the provider completes it',
         :'clearing', :'alice_paid'),
  'nor the clearing account it will credit');
select is((public.wallet_set_status(:'alice_account', 'frozen', 'fraud review')).status, 'frozen',
  'freezing is not closing: a refund posts on a frozen account');
select tests.reset_role();
select results_eq(
  format($$ select a.status, (select count(*)::int from public.wallet_status_reasons r where r.account_id = a.id and r.status = 'closed'),
                   (select count(*)::int from audit.log l where l.table_name = 'wallet_accounts' and l.record_id = a.id::text
                       and l.operation = 'UPDATE' and l.new_record ->> 'status' = 'closed')
              from public.wallet_accounts a where a.id = %L $$, :'alice_account'),
  $$ values ('frozen', 0, 0) $$, 'the refused close changed nothing');

-- The provider completes the refund: refund_record takes what it reserved, forced because
-- the money was spent.
select tests.as_service();
select results_eq(
  format($$ select status, amount, forced from public.refund_record(%L, 600, 're_res_alice', 'stripe refund') $$, :'alice_paid'),
  $$ values ('succeeded', 600::bigint, true) $$, 'refund_record completes the pending refund (on the frozen account)');
select tests.as_admin(tests.user_id('admin'));
select is((public.wallet_set_status(:'alice_account', 'active', 'review over')).status, 'active', 'the review ends');
select tests.reset_role();
select results_eq(
  format($$ select p.amount_refunded, a.balance, (select count(*)::int from public.wallet_transactions t where t.reverses_id = %L)
              from public.payments p, public.wallet_accounts a where p.id = %L and a.id = %L $$,
         :'alice_credit', :'alice_paid', :'alice_account'),
  $$ values (600::bigint, -600::bigint, 2) $$, 'the credit is reversed in full: 400 by the admin, 600 by the refund');
select tests.as_user(tests.user_id('dave'));
select is((public.wallet_transfer(:'dave_account', :'alice_account', 600, 'USD', 'res-dave-repays')).amount, 600::bigint,
  'the customer''s debt is paid');
select tests.as_admin(tests.user_id('admin'));
select is((public.wallet_set_status(:'alice_account', 'closed', 'customer left')).status, 'closed',
  'with the refund complete, the account closes');

-- A refund the provider reports with no pending row (made in its dashboard) is recorded
-- whatever the pending refunds reserve: the provider bounds its refunds by the payment, so the
-- pending one it leaves no room for can no longer be paid there (decision 0030). An admin's
-- reversal still leaves what they reserve.
select results_eq(format($$ select remaining from tests.refund_prepare(%L, 500) $$, :'bob_paid'), $$ values (1000::bigint) $$,
  'a refund of 500 of bob''s payment may be asked');
select is((api_private.refund_record_pending(:'bob_paid', 500, 're_res_bob', 'customer asked')).status, 'pending', 'and is pending');
select tests.as_service();
select results_eq(
  format($$ select status, amount, forced from public.refund_record(%L, 300, 're_res_bob_dashboard', 'stripe refund') $$, :'bob_paid'),
  $$ values ('succeeded', 300::bigint, false) $$, 'a dashboard refund of 300 is recorded as before');
select results_eq(
  format($$ select status, amount from public.refund_record(%L, 201, 're_res_bob_dashboard_2', 'stripe refund') $$, :'bob_paid'),
  $$ values ('succeeded', 201::bigint) $$, 'one of 201, which takes from the pending refund''s 500, is recorded too');
select throws_ok(format($$ select public.refund_record(%L, 500, 're_res_bob', 'customer asked') $$, :'bob_paid'), 'WL008', null,
  'the pending refund of 500 can then no longer complete: WL008');
select tests.as_admin(tests.user_id('admin'));
select throws_ok(format($$ select public.wallet_reverse(%L, 'res-bob-reversal', 1, 'credited twice') $$, :'bob_credit'), 'WL008', null,
  'an admin''s reversal of 1 would take from the pending refund''s 500: WL008');
select tests.reset_role();
select results_eq(format($$ select p.amount_refunded, a.balance from public.payments p, public.wallet_accounts a where p.id = %L and a.id = %L $$,
                         :'bob_paid', :'bob_account'),
  $$ values (501::bigint, 499::bigint) $$, 'the two dashboard refunds took 501; the refusals took nothing');

-- The provider fails the pending refund: what it reserved is free again.
select tests.as_service();
select is((public.refund_record_failure(:'bob_paid', 're_res_bob', 500)).status, 'failed', 'the provider fails bob''s refund');
select tests.as_admin(tests.user_id('admin'));
select is((public.wallet_reverse(:'bob_credit', 'res-bob-reversal', 1, 'credited twice')).amount, 1::bigint,
  'the reversal refused before goes through');
select is(public.wallet_balance(:'bob_account'), 498::bigint, 'and takes 1');

-- And it no longer keeps its account open.
select results_eq(format($$ select remaining from tests.refund_prepare(%L, 1000) $$, :'carol_paid'), $$ values (1000::bigint) $$,
  'a refund of all of carol''s payment may be asked');
select is((api_private.refund_record_pending(:'carol_paid', 1000, 're_res_carol', 'customer asked')).status, 'pending', 'and is pending');
select tests.as_user(tests.user_id('carol'));
select is((public.wallet_transfer(:'carol_account', :'dave_account', 1000, 'USD', 'res-carol-spends')).amount, 1000::bigint,
  'carol spends it all');
select tests.as_service();
select throws_ok(format($$ select public.wallet_set_status(%L, 'closed', 'customer left') $$, :'carol_account'), 'WL008', null,
  'the service may not close her account either');
select is((public.refund_record_failure(:'carol_paid', 're_res_carol', 1000)).status, 'failed', 'the provider fails carol''s refund');
select is((public.wallet_set_status(:'carol_account', 'closed', 'customer left')).status, 'closed', 'now the account closes');
select tests.reset_role();

select * from finish();
rollback;
