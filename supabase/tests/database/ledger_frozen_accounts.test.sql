-- A freeze stops what a user starts; it does not stop the ledger from recording money a
-- provider already moved (docs/LEDGER.md, "Frozen accounts"). Refunds and chargebacks
-- (reversals), dispute holds and executed payouts post on a frozen account and leave it
-- frozen; transfers, deposits, withdrawals and captures of holds stay refused (WL004). A
-- closed account takes nothing: its refunds are taken from the losses account.
begin;
select plan(22);

select tests.create_users(array['owner', 'payee', 'closed'], array['admin']);
insert into public.wallet_accounts (id, owner_id, kind, currency) values
  ('b8000000-0000-4000-8000-00000000000f', tests.user_id('owner'), 'user', 'USD'),
  ('b8000000-0000-4000-8000-00000000000b', tests.user_id('payee'), 'user', 'USD'),
  ('b8000000-0000-4000-8000-00000000000c', tests.user_id('closed'), 'user', 'USD');

-- A Stripe payment of 5000 credited to the owner, and one of 100 to the account that closes.
select id as intent from public.payment_intent_create('stripe', 'b8000000-0000-4000-8000-00000000000f', 5000, 'USD', 'frozen-topup') \gset
select id as payment from public.payment_record_success('stripe', 'pi_frozen_1', :'intent', 5000, 'USD') \gset
select id as closing_intent from public.payment_intent_create('stripe', 'b8000000-0000-4000-8000-00000000000c', 100, 'USD', 'closing-topup') \gset
select id as closing_payment from public.payment_record_success('stripe', 'pi_frozen_closed', :'closing_intent', 100, 'USD') \gset
select public.wallet_transfer('b8000000-0000-4000-8000-00000000000c', 'b8000000-0000-4000-8000-00000000000b', 100, 'USD', 'frozen-empty');
select public.wallet_set_status('b8000000-0000-4000-8000-00000000000c', 'closed', 'closed by request');
-- A payout reserved while the account was active, paid out by the provider after the freeze.
select id as payout from public.wallet_withdraw('b8000000-0000-4000-8000-00000000000f', 300, 'USD', 'momo', 'frozen-payout') \gset
select public.wallet_set_status('b8000000-0000-4000-8000-00000000000f', 'frozen', 'fraud review');

-- ---------------------------------------------------------------- what the user starts stays refused
select throws_ok($$ select public.wallet_transfer('b8000000-0000-4000-8000-00000000000f', 'b8000000-0000-4000-8000-00000000000b', 10, 'USD', 'frozen-out') $$,
  'WL004', 'wallet account b8000000-0000-4000-8000-00000000000f is frozen', 'a transfer from the frozen account is WL004');
select tests.as_user(tests.user_id('owner'));
select throws_ok($$ select public.wallet_transfer('b8000000-0000-4000-8000-00000000000f', 'b8000000-0000-4000-8000-00000000000b', 10, 'USD', 'frozen-out-user') $$,
  'WL004', 'wallet account b8000000-0000-4000-8000-00000000000f is frozen', 'also when its owner starts it');
select tests.reset_role();
select throws_ok($$ select public.wallet_transfer('b8000000-0000-4000-8000-00000000000b', 'b8000000-0000-4000-8000-00000000000f', 10, 'USD', 'frozen-in') $$,
  'WL004', null, 'a transfer to it is WL004');
select throws_ok($$ select public.wallet_deposit('b8000000-0000-4000-8000-00000000000f', 10, 'USD', 'stripe', 'frozen-dep') $$,
  'WL004', null, 'a deposit to it is WL004');
select throws_ok($$ select public.wallet_withdraw('b8000000-0000-4000-8000-00000000000f', 10, 'USD', 'momo', 'frozen-wd') $$,
  'WL004', null, 'a withdrawal from it is WL004');

-- ---------------------------------------------------------------- what the provider did posts
select lives_ok(format($$ select public.wallet_capture(%L) $$, :'payout'), 'a payout the provider made is captured on the frozen account');
select is(public.wallet_balance('b8000000-0000-4000-8000-00000000000f'), 4700::bigint, 'its balance drops by the payout');

select lives_ok($$ select public.wallet_hold('b8000000-0000-4000-8000-00000000000f', 700, 'USD', 'dispute:stripe:dp_frozen') $$,
  'a dispute hold is placed on the frozen account');
select is((select available from public.wallet_accounts where id = 'b8000000-0000-4000-8000-00000000000f'), 4000::bigint,
  'and reserves the disputed amount');
select throws_ok($$ select public.wallet_capture((select id from public.wallet_transactions where idempotency_key = 'dispute:stripe:dp_frozen'),
                                                'b8000000-0000-4000-8000-00000000000b') $$,
  'WL004', null, 'but a hold is not captured from a frozen account: that would be a payment');
select public.wallet_void((select id from public.wallet_transactions where idempotency_key = 'dispute:stripe:dp_frozen'));

select lives_ok(format($$ select public.refund_record(%L, 1000, 're_frozen_1', 'requested_by_customer') $$, :'payment'),
  'a refund the provider made is recorded on the frozen account');
select results_eq(format($$ select status, forced, wallet_transaction_id is not null from public.refunds where provider_refund_id = 're_frozen_1' $$),
  $$ values ('succeeded'::text, false, true) $$, 'the refund succeeded with its reversal, unforced: the money was there');
select is(public.wallet_balance('b8000000-0000-4000-8000-00000000000f'), 3700::bigint, 'the account is debited');
select is((select status from public.wallet_accounts where id = 'b8000000-0000-4000-8000-00000000000f'), 'frozen',
  'and stays frozen');

-- The owner spent most of it before the freeze: a lost dispute takes it back all the same.
select public.wallet_set_status('b8000000-0000-4000-8000-00000000000f', 'active', 'review paused');
select public.wallet_transfer('b8000000-0000-4000-8000-00000000000f', 'b8000000-0000-4000-8000-00000000000b', 3500, 'USD', 'frozen-spend');
select public.wallet_set_status('b8000000-0000-4000-8000-00000000000f', 'frozen', 'fraud review resumed');
select lives_ok(format($$ select public.refund_record(%L, 2000, 'dp_frozen_lost', 'stripe dispute lost: fraudulent') $$, :'payment'),
  'a lost dispute of spent money is recorded on the frozen account');
select results_eq($$ select status, forced from public.refunds where provider_refund_id = 'dp_frozen_lost' $$,
  $$ values ('succeeded'::text, true) $$, 'forced: the money had been spent');
select is(public.wallet_balance('b8000000-0000-4000-8000-00000000000f'), -1800::bigint, 'the account goes negative by what was spent');
select results_eq($$ select amount_refunded, status from public.payments where provider_payment_id = 'pi_frozen_1' $$,
  $$ values (3000::bigint, 'partially_refunded'::text) $$, 'the payment shows both refunds');

select tests.as_admin(tests.user_id('admin'));
select lives_ok($$ select public.wallet_reverse((select id from public.wallet_transactions where idempotency_key = 'frozen-spend'),
                                                'frozen-admin-reverse', 500, 'fraud: money back to the frozen account') $$,
  'an admin''s reversal credits the frozen account');
select tests.reset_role();
select is(public.wallet_balance('b8000000-0000-4000-8000-00000000000f'), -1300::bigint, 'by the reversed amount');

-- ---------------------------------------------------------------- a closed account takes nothing
-- Its refund is recorded, taken from the losses account (refund_closed_account.test.sql).
select is((public.refund_record(:'closing_payment', 100, 're_closed_1')).borne_by_platform, true,
  'a refund of a closed account''s payment is borne by the platform');
select is(public.wallet_balance('b8000000-0000-4000-8000-00000000000c'), 0::bigint, 'and takes nothing from the closed account');

select * from finish();
rollback;
