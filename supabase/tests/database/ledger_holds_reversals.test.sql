-- Wallet ledger: holds and two-phase withdrawals (withdraw, hold, capture, void) and
-- reversals (partial, over-reversal, forced), with their error codes and replays.
begin;
select plan(60);

select tests.create_two_user_ledger('ac200000', 'KES');

select tests.as_service();
select lives_ok($$ select public.wallet_deposit('ac200000-0000-4000-8000-00000000000a', 10000, 'KES', 'momo', 'hr-fund') $$,
  'fund alice');

-- ---------------------------------------------------------------- withdraw + partial capture
select results_eq(
  $$ select kind, status, amount, hold_amount, to_account_id = (select id from public.wallet_accounts where code = 'clearing:momo:KES')
       from public.wallet_withdraw('ac200000-0000-4000-8000-00000000000a', 3000, 'KES', 'momo', 'hr-w-1', '{"msisdn":"2547"}') $$,
  $$ values ('withdrawal', 'pending', 3000::bigint, 3000::bigint, true) $$,
  'withdraw records a pending withdrawal towards the clearing account');
select results_eq(
  $$ select balance, available from public.wallet_accounts where id = 'ac200000-0000-4000-8000-00000000000a' $$,
  $$ values (10000::bigint, 7000::bigint) $$,
  'a hold lowers available, not balance');
select is((select count(*) from public.wallet_entries e join public.wallet_transactions t on t.id = e.transaction_id
            where t.idempotency_key = 'hr-w-1'), 0::bigint, 'a pending hold writes no entries');
select throws_ok($$ select public.wallet_transfer('ac200000-0000-4000-8000-00000000000a', 'ac200000-0000-4000-8000-00000000000b', 7001, 'KES', 'hr-t-1') $$,
  'WL001', null, 'held funds cannot be spent: WL001');
select is((public.wallet_withdraw('ac200000-0000-4000-8000-00000000000a', 3000, 'KES', 'momo', 'hr-w-1', '{"msisdn":"2547"}')).id,
  (select id from public.wallet_transactions where idempotency_key = 'hr-w-1'), 'withdraw replay returns the original');
select is((select available from public.wallet_accounts where id = 'ac200000-0000-4000-8000-00000000000a'), 7000::bigint,
  'withdraw replay reserves nothing more');
select throws_ok($$ select public.wallet_withdraw('ac200000-0000-4000-8000-00000000000a', 2999, 'KES', 'momo', 'hr-w-1') $$,
  'WL005', null, 'withdraw key reused with another amount: WL005');
select throws_ok($$ select public.wallet_withdraw('ac200000-0000-4000-8000-00000000000a', 7001, 'KES', 'momo', 'hr-w-2') $$,
  'WL001', null, 'withdraw above available: WL001');

select results_eq(
  $$ select status, amount, hold_amount from public.wallet_capture(
       (select id from public.wallet_transactions where idempotency_key = 'hr-w-1'), null, 1800, 'hr-cap-1') $$,
  $$ values ('posted', 1800::bigint, 3000::bigint) $$,
  'partial capture posts the captured amount');
select results_eq(
  $$ select balance, available from public.wallet_accounts where id = 'ac200000-0000-4000-8000-00000000000a' $$,
  $$ values (8200::bigint, 8200::bigint) $$,
  'partial capture debits the capture and releases the rest');
select is((select balance from public.wallet_accounts where code = 'clearing:momo:KES'), -10000::bigint + 1800,
  'the capture credits the destination clearing account');
select is((select sum(e.amount)::bigint from public.wallet_entries e join public.wallet_transactions t on t.id = e.transaction_id
            where t.idempotency_key = 'hr-w-1'), 0::bigint, 'the captured hold has balanced entries');
select is((public.wallet_capture((select id from public.wallet_transactions where idempotency_key = 'hr-w-1'), null, 1800, 'hr-cap-1')).amount,
  1800::bigint, 'capture replay with the same key returns the posted transaction');
select is((select balance from public.wallet_accounts where id = 'ac200000-0000-4000-8000-00000000000a'), 8200::bigint,
  'capture replay moves nothing');
select throws_ok($$ select public.wallet_capture((select id from public.wallet_transactions where idempotency_key = 'hr-w-1'), null, 1700, 'hr-cap-1') $$,
  'WL005', null, 'capture key reused with another amount: WL005');
select throws_ok($$ select public.wallet_capture((select id from public.wallet_transactions where idempotency_key = 'hr-w-1')) $$,
  'WL008', null, 'double capture: WL008');
select throws_ok($$ select public.wallet_void((select id from public.wallet_transactions where idempotency_key = 'hr-w-1')) $$,
  'WL008', null, 'void after capture: WL008');

-- ---------------------------------------------------------------- hold + full capture to a named account
select is((public.wallet_hold('ac200000-0000-4000-8000-00000000000a', 1000, 'KES', 'hr-h-1')).status, 'pending',
  'hold records a pending hold');
select throws_ok($$ select public.wallet_capture((select id from public.wallet_transactions where idempotency_key = 'hr-h-1')) $$,
  '22023', null, 'capturing a hold without destination needs p_to: 22023');
select throws_ok($$ select public.wallet_capture((select id from public.wallet_transactions where idempotency_key = 'hr-h-1'), 'ac200000-0000-4000-8000-00000000000b', 1001) $$,
  'WL008', null, 'capture above the hold: WL008');
select throws_ok($$ select public.wallet_capture((select id from public.wallet_transactions where idempotency_key = 'hr-h-1'), 'ac200000-0000-4000-8000-00000000000e') $$,
  'WL002', null, 'capture to an account in another currency: WL002');
select throws_ok($$ select public.wallet_capture((select id from public.wallet_transactions where idempotency_key = 'hr-h-1'), 'ac200000-0000-4000-8000-00000000000a') $$,
  'WL003', null, 'capture back to the held account: WL003');
select throws_ok($$ select public.wallet_capture((select id from public.wallet_transactions where idempotency_key = 'hr-h-1'), 'ac200000-0000-4000-8000-0000000000ff') $$,
  'WL007', null, 'capture to a missing account: WL007');
select throws_ok($$ select public.wallet_capture((select id from public.wallet_transactions where idempotency_key = 'hr-h-1'), 'ac200000-0000-4000-8000-00000000000b', 0) $$,
  'WL006', null, 'capture of zero: WL006');
select results_eq(
  $$ select status, amount, to_account_id from public.wallet_capture(
       (select id from public.wallet_transactions where idempotency_key = 'hr-h-1'), 'ac200000-0000-4000-8000-00000000000b') $$,
  $$ values ('posted', 1000::bigint, 'ac200000-0000-4000-8000-00000000000b'::uuid) $$,
  'full capture pays the named account');
select results_eq(
  $$ select balance, available from public.wallet_accounts where id in ('ac200000-0000-4000-8000-00000000000a', 'ac200000-0000-4000-8000-00000000000b') order by id $$,
  $$ values (7200::bigint, 7200::bigint), (1000::bigint, 1000::bigint) $$,
  'full capture moves the whole hold');
select throws_ok($$ select public.wallet_capture('ac200000-0000-4000-8000-0000000000ff') $$,
  'WL007', null, 'capture of a missing hold: WL007');
select throws_ok($$ select public.wallet_capture((select id from public.wallet_transactions where idempotency_key = 'hr-fund')) $$,
  'WL007', null, 'a deposit is not a hold: WL007');

-- ---------------------------------------------------------------- void
select is((public.wallet_hold('ac200000-0000-4000-8000-00000000000a', 500, 'KES', 'hr-h-2')).status, 'pending', 'second hold');
select is((select available from public.wallet_accounts where id = 'ac200000-0000-4000-8000-00000000000a'), 6700::bigint,
  'second hold reserves');
select throws_ok($$ select public.wallet_set_status('ac200000-0000-4000-8000-00000000000a', 'closed', 'x') $$,
  'WL008', null, 'an account with a balance or an active hold does not close');
select is((public.wallet_void((select id from public.wallet_transactions where idempotency_key = 'hr-h-2'))).status, 'voided',
  'void marks the hold voided');
select is((select available from public.wallet_accounts where id = 'ac200000-0000-4000-8000-00000000000a'), 7200::bigint,
  'void releases the reservation');
select throws_ok($$ select public.wallet_void((select id from public.wallet_transactions where idempotency_key = 'hr-h-2')) $$,
  'WL008', 'hold ' || (select id from public.wallet_transactions where idempotency_key = 'hr-h-2') || ' is already voided',
  'double void: WL008 naming the hold');
select throws_ok($$ select public.wallet_capture((select id from public.wallet_transactions where idempotency_key = 'hr-h-2')) $$,
  'WL008', null, 'capture after void: WL008');
select throws_ok($$ select public.wallet_void('ac200000-0000-4000-8000-0000000000ff') $$, 'WL007', null, 'void of a missing hold: WL007');
select throws_ok($$ select public.wallet_hold('ac200000-0000-4000-8000-00000000000a', 1, 'EUR', 'hr-h-3') $$,
  'WL002', null, 'hold in another currency: WL002');

-- ---------------------------------------------------------------- reversals
-- bob received 1000 through the captured hold hr-h-1; alice pays bob 600 more.
select lives_ok($$ select public.wallet_transfer('ac200000-0000-4000-8000-00000000000a', 'ac200000-0000-4000-8000-00000000000b', 600, 'KES', 'hr-t-2') $$,
  'alice pays bob');
select results_eq(
  $$ select kind, amount, from_account_id, to_account_id, description, metadata from public.wallet_reverse(
       (select id from public.wallet_transactions where idempotency_key = 'hr-t-2'), 'hr-r-1', 200, 'duplicate charge') $$,
  $$ values ('reversal', 200::bigint, 'ac200000-0000-4000-8000-00000000000b'::uuid, 'ac200000-0000-4000-8000-00000000000a'::uuid,
             'duplicate charge', '{"force": false}'::jsonb) $$,
  'partial reversal moves money back along the transaction');
select is((public.wallet_reverse((select id from public.wallet_transactions where idempotency_key = 'hr-t-2'), 'hr-r-1', 200, 'duplicate charge')).id,
  (select id from public.wallet_transactions where idempotency_key = 'hr-r-1'), 'reversal replay returns the original');
select throws_ok($$ select public.wallet_reverse((select id from public.wallet_transactions where idempotency_key = 'hr-t-2'), 'hr-r-1', 300) $$,
  'WL005', null, 'reversal key reused with another amount: WL005');
select throws_ok($$ select public.wallet_reverse((select id from public.wallet_transactions where idempotency_key = 'hr-t-2'), 'hr-r-2', 401) $$,
  'WL008', null, 'reversing more than remains: WL008');
select is((public.wallet_reverse((select id from public.wallet_transactions where idempotency_key = 'hr-t-2'), 'hr-r-3')).amount, 400::bigint,
  'a reversal without amount reverses what remains');
select throws_ok($$ select public.wallet_reverse((select id from public.wallet_transactions where idempotency_key = 'hr-t-2'), 'hr-r-4', 1) $$,
  'WL008', null, 'nothing remains to reverse: WL008');
select is((select sum(amount)::bigint from public.wallet_transactions
            where reverses_id = (select id from public.wallet_transactions where idempotency_key = 'hr-t-2')), 600::bigint,
  'the reversals add up to the original, never more');
select throws_ok($$ select public.wallet_reverse((select id from public.wallet_transactions where idempotency_key = 'hr-r-1'), 'hr-r-5') $$,
  'WL008', null, 'a reversal is not reversed: WL008');
select throws_ok($$ select public.wallet_reverse((select id from public.wallet_transactions where idempotency_key = 'hr-h-2'), 'hr-r-6') $$,
  'WL008', null, 'a voided hold is not reversed: WL008');
select throws_ok($$ select public.wallet_reverse('ac200000-0000-4000-8000-0000000000ff', 'hr-r-7') $$,
  'WL007', null, 'reversal of a missing transaction: WL007');

-- Chargeback of money already spent: bob moves his 1000 away, then the capture that paid
-- him is reversed.
select lives_ok($$ select public.wallet_transfer('ac200000-0000-4000-8000-00000000000b', 'ac200000-0000-4000-8000-00000000000a', 1000, 'KES', 'hr-t-3') $$,
  'bob spends what he received');
select throws_ok($$ select public.wallet_reverse((select id from public.wallet_transactions where idempotency_key = 'hr-h-1'), 'hr-r-8') $$,
  'WL001', null, 'reversing spent money without force: WL001');
select is((public.wallet_reverse((select id from public.wallet_transactions where idempotency_key = 'hr-h-1'), 'hr-r-9', null, 'chargeback', true)).metadata,
  '{"force": true}'::jsonb, 'forced reversal goes through and says so');
select results_eq(
  $$ select balance, available from public.wallet_accounts where id = 'ac200000-0000-4000-8000-00000000000b' $$,
  $$ values (-1000::bigint, -1000::bigint) $$,
  'a forced reversal may leave the balance negative');

-- A payout in flight when a forced reversal takes the reserved money: both happened, so the
-- capture still posts and the balance goes below zero.
select tests.reset_role();
insert into public.wallet_accounts (id, owner_id, kind, currency) values
  ('ac200000-0000-4000-8000-00000000000c', tests.user_id('bob'), 'user', 'UGX');
select tests.as_service();
select lives_ok($$ select public.wallet_deposit('ac200000-0000-4000-8000-00000000000c', 1000, 'UGX', 'stripe', 'hr-payout-fund') $$,
  'fund a payout account');
select lives_ok($$ select public.wallet_withdraw('ac200000-0000-4000-8000-00000000000c', 900, 'UGX', 'momo', 'hr-payout') $$,
  'a payout reserves 900 of 1000');
select lives_ok($$ select public.wallet_reverse((select id from public.wallet_transactions where idempotency_key = 'hr-payout-fund'),
                                                'hr-payout-refund', 300, 'card refund', true) $$,
  'a forced refund of 300 takes reserved money');
select results_eq(
  $$ select status, amount from public.wallet_capture((select id from public.wallet_transactions where idempotency_key = 'hr-payout')) $$,
  $$ values ('posted', 900::bigint) $$,
  'the payout is captured all the same');
select results_eq(
  $$ select balance, available from public.wallet_accounts where id = 'ac200000-0000-4000-8000-00000000000c' $$,
  $$ values (-200::bigint, -200::bigint) $$,
  'the account owes what the refund and the payout took beyond its money');

select tests.reset_role();
select is((select count(*) from (select currency from public.wallet_accounts group by 1 having sum(balance) <> 0) s), 0::bigint,
  'every currency still sums to zero');
select is((select count(*) from public.wallet_accounts a
            where a.available <> a.balance - coalesce((select sum(t.hold_amount) from public.wallet_transactions t
                                                        where t.from_account_id = a.id and t.status = 'pending'), 0)), 0::bigint,
  'available is balance minus pending holds everywhere');

select * from finish();
rollback;
