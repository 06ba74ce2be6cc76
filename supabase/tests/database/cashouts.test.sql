-- Cash-outs (docs/PAYMENTS.md, "Cash-outs"): cashout_create holds the user's own funds under
-- the user's scope and records the cash-out; cashout_settle applies MoMo's confirmed status
-- once (SUCCESSFUL captures the hold to clearing:momo, FAILED voids it, never both); every send
-- recorded, no send once momo-poll has closed the sending, and its not_accepted verdict only
-- then; who may call what; the forward-only status; the sizes of the arguments.
begin;
select plan(81);

select tests.create_users('{owner, other}');
select tests.create_accounts('c5000000', 'UGX', '{owner, other}');
select public.wallet_deposit('c5000000-0000-4000-8000-00000000000a', 10000, 'UGX', 'momo', 'cashout-fund');

create function pg_temp.account() returns table (balance bigint, available bigint)
language sql
as $$ select a.balance, a.available from public.wallet_accounts a where a.id = 'c5000000-0000-4000-8000-00000000000a' $$;

create function pg_temp.clearing() returns bigint
language sql
as $$ select a.balance from public.wallet_accounts a where a.code = 'clearing:momo:UGX' $$;

-- ---------------------------------------------------------------- cashout_create
select tests.as_user(tests.user_id('owner'));
select id as first, reference_id as first_ref, hold_id as first_hold
  from api_private.cashout_create('c5000000-0000-4000-8000-00000000000a', 4000, 'UGX', '256772123456', 'co-1') \gset
select tests.reset_role();
select results_eq(format($$ select status, amount, msisdn, user_id from public.cashouts where id = %L $$, :'first'),
  $$ values ('pending', 4000::bigint, '256772123456', tests.user_id('owner')) $$,
  'cashout_create records a pending cash-out of the caller');
select results_eq(format($$ select kind, status, hold_amount, initiated_by, to_account_id = (select id from public.wallet_accounts where code = 'clearing:momo:UGX')
                      from public.wallet_transactions where id = %L $$, :'first_hold'),
  $$ values ('withdrawal', 'pending', 4000::bigint, tests.user_id('owner'), true) $$,
  'the hold is a pending withdrawal towards clearing:momo, in the user''s own scope');
select results_eq('select * from pg_temp.account()', $$ values (10000::bigint, 6000::bigint) $$,
  'the hold reserves the amount: available drops, balance does not');
select ok(:'first_ref'::text ~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$',
  'the reference is a lower-case UUID v4 (MoMo''s X-Reference-Id)');

select tests.as_user(tests.user_id('owner'));
select is((select id from api_private.cashout_create('c5000000-0000-4000-8000-00000000000a', 4000, 'UGX', '256772123456', 'co-1')),
  :'first'::uuid, 'the same key and parameters return the same cash-out');
select throws_ok($$ select api_private.cashout_create('c5000000-0000-4000-8000-00000000000a', 4001, 'UGX', '256772123456', 'co-1') $$,
  'WL005', null, 'the same key with another amount is WL005');
select throws_ok($$ select api_private.cashout_create('c5000000-0000-4000-8000-00000000000a', 6001, 'UGX', '256772123456', 'co-big') $$,
  'WL001', null, 'more than the available funds is WL001');
select throws_ok($$ select api_private.cashout_create('c5000000-0000-4000-8000-00000000000a', 100, 'USD', '256772123456', 'co-usd') $$,
  'WL002', null, 'another currency than the account''s is WL002');
select throws_ok($$ select api_private.cashout_create('c5000000-0000-4000-8000-00000000000a', 0, 'UGX', '256772123456', 'co-zero') $$,
  'WL006', null, 'a zero amount is WL006');
select throws_ok($$ select api_private.cashout_create('c5000000-0000-4000-8000-00000000000a', 100, 'UGX', '+256772123456', 'co-plus') $$,
  '22023', 'p_msisdn must be E.164 digits with the country code, no +', 'an msisdn with a plus is 22023');
select throws_ok($$ select api_private.cashout_create('c5000000-0000-4000-8000-00000000000b', 100, 'UGX', '256772123456', 'co-foreign') $$,
  '42501', 'not allowed to cash out of wallet account c5000000-0000-4000-8000-00000000000b',
  'another user''s account is 42501');
select throws_ok($$ select api_private.cashout_create('c5000000-0000-4000-8000-0000000000ff', 100, 'UGX', '256772123456', 'co-missing') $$,
  '42501', 'not allowed to cash out of wallet account c5000000-0000-4000-8000-0000000000ff',
  'an account that does not exist is told the same as another user''s');
select tests.reset_role();
select tests.as_user(tests.user_id('other'));
select throws_ok($$ select api_private.cashout_create('c5000000-0000-4000-8000-00000000000a', 100, 'UGX', '256772123456', 'co-1') $$,
  '42501', null, 'another user cannot cash out of the owner''s account, even with the owner''s key');
select is((select count(*) from public.cashouts), 0::bigint, 'another user reads none of the owner''s cash-outs');
select tests.reset_role();
select results_eq($$ select count(*), sum(amount) from public.cashouts where account_id = 'c5000000-0000-4000-8000-00000000000a' $$,
  $$ values (1::bigint, 4000::numeric) $$, 'the refusals wrote no cash-out');
select results_eq('select * from pg_temp.account()', $$ values (10000::bigint, 6000::bigint) $$, 'and held nothing more');

select tests.as_service();
select throws_ok($$ select api_private.cashout_create('c5000000-0000-4000-8000-00000000000a', 100, 'UGX', '256772123456', 'co-svc') $$,
  '42501', null, 'the service cannot cash out for a user (the cash-out is the user''s own)');
select tests.reset_role();
select tests.as_anon();
select throws_ok($$ select api_private.cashout_create('c5000000-0000-4000-8000-00000000000a', 100, 'UGX', '256772123456', 'co-anon') $$,
  '42501', null, 'anon cannot cash out');
select tests.reset_role();
select tests.as_user(tests.user_id('owner'));
select throws_ok(format($$ select public.cashout_settle(%L, 'SUCCESSFUL') $$, :'first_ref'),
  '42501', null, 'a user cannot settle its own cash-out');
select throws_ok($$ update public.cashouts set status = 'paid' $$, '42501', null, 'nor write the table');
select tests.reset_role();

-- ---------------------------------------------------------------- cashout_settle
select pg_temp.clearing() as clearing_before \gset
select tests.as_service();
select is((select status from public.cashout_settle(:'first_ref', 'PENDING')), 'pending', 'PENDING changes nothing');
select throws_ok(format($$ select public.cashout_settle(%L, 'SUCCESSFUL', null, 4001, 'UGX') $$, :'first_ref'), 'WL008',
  format('MoMo confirmed 4001 UGX for cash-out %s, which sent 4000 UGX: settle it by hand once MoMo says what moved', :'first_ref'),
  'SUCCESSFUL for another amount than the one sent is WL008, naming both');
select throws_ok(format($$ select public.cashout_settle(%L, 'SUCCESSFUL', null, 4000, 'KES') $$, :'first_ref'), 'WL008', null,
  'SUCCESSFUL in another currency is WL008');
select throws_ok(format($$ select public.cashout_settle(%L, 'SUCCESSFUL') $$, :'first_ref'), '22023',
  format('MoMo''s confirmed amount and currency are required to settle cash-out %s as paid', :'first_ref'),
  'SUCCESSFUL without MoMo''s amount is 22023');
select is((select status from public.cashouts where reference_id = :'first_ref'), 'pending', 'the refused SUCCESSFULs left it pending');
select is((select status from public.cashout_settle(:'first_ref', 'SUCCESSFUL', null, 4000, 'UGX')), 'paid',
  'SUCCESSFUL for the amount sent pays the cash-out');
select tests.reset_role();
select results_eq('select * from pg_temp.account()', $$ values (6000::bigint, 6000::bigint) $$,
  'the capture takes the amount from the balance');
select is(pg_temp.clearing(), :clearing_before::bigint + 4000, 'and credits clearing:momo:UGX');
select is((select status from public.wallet_transactions where id = :'first_hold'), 'posted', 'the hold is captured');
select tests.as_service();
select is((select status from public.cashout_settle(:'first_ref', 'SUCCESSFUL', null, 4000, 'UGX')), 'paid', 'SUCCESSFUL again returns it unchanged');
select throws_ok(format($$ select public.cashout_settle(%L, 'FAILED', 'late') $$, :'first_ref'),
  'WL008', null, 'FAILED after paid is WL008: never both');
select tests.reset_role();
select results_eq('select * from pg_temp.account()', $$ values (6000::bigint, 6000::bigint) $$, 'the settled cash-out moved money once');

select tests.as_user(tests.user_id('owner'));
select reference_id as second_ref, hold_id as second_hold
  from api_private.cashout_create('c5000000-0000-4000-8000-00000000000a', 1500, 'UGX', '256772123456', 'co-2') \gset
select tests.reset_role();
select tests.as_service();
select results_eq(format($$ select status, reason from public.cashout_settle(%L, 'FAILED', 'PAYEE_NOT_FOUND') $$, :'second_ref'),
  $$ values ('failed', 'PAYEE_NOT_FOUND') $$, 'FAILED fails the cash-out with MoMo''s reason');
select throws_ok(format($$ select public.cashout_settle(%L, 'SUCCESSFUL', null, 1500, 'UGX') $$, :'second_ref'),
  'WL008', null, 'SUCCESSFUL after failed is WL008');
select is((select status from public.cashout_settle(:'second_ref', 'FAILED', 'again')), 'failed', 'FAILED again returns it');
select throws_ok(format($$ select public.cashout_settle(%L, 'DONE') $$, :'second_ref'), '22023',
  'status DONE is not one of PENDING, SUCCESSFUL, FAILED', 'a status MoMo does not have is 22023');
select throws_ok($$ select public.cashout_settle('c5000000-0000-4000-8000-0000000000ee', 'SUCCESSFUL') $$, 'WL007', null,
  'an unknown reference is WL007');
select tests.reset_role();
select is((select status from public.wallet_transactions where id = :'second_hold'), 'voided', 'the failed cash-out''s hold is voided');
select results_eq('select * from pg_temp.account()', $$ values (6000::bigint, 6000::bigint) $$, 'and its funds are available again');
select results_eq(format($$ select reason from public.cashouts where reference_id = %L $$, :'second_ref'), $$ values ('PAYEE_NOT_FOUND') $$,
  'a repeated FAILED keeps the first reason');

-- The status only moves forward, whoever writes.
select throws_ok(format($$ update public.cashouts set status = 'pending', settled_at = null where reference_id = %L $$, :'first_ref'),
  'PA001', null, 'paid -> pending is PA001 even for the table owner');
select ok((select count(*) from audit.log where table_name = 'cashouts') >= 4, 'cash-outs are audited');

-- ---------------------------------------------------------------- sends and not_accepted
select ok(has_function_privilege('service_role', 'api_private.cashout_send_begin(uuid)', 'execute')
          and has_function_privilege('service_role', 'api_private.cashout_close_sending(uuid, integer)', 'execute')
          and has_function_privilege('service_role', 'api_private.cashout_not_accepted(uuid)', 'execute'),
  'the service may record sends, close the sending and fail a cash-out not_accepted');
select ok(not has_function_privilege('authenticated', 'api_private.cashout_send_begin(uuid)', 'execute')
          and not has_function_privilege('authenticated', 'api_private.cashout_close_sending(uuid, integer)', 'execute')
          and not has_function_privilege('authenticated', 'api_private.cashout_not_accepted(uuid)', 'execute')
          and not has_function_privilege('anon', 'api_private.cashout_send_begin(uuid)', 'execute'),
  'users and anon may not');

select tests.as_user(tests.user_id('owner'));
select reference_id as sent_ref, hold_id as sent_hold
  from api_private.cashout_create('c5000000-0000-4000-8000-00000000000a', 1000, 'UGX', '256772123456', 'co-send') \gset
select reference_id as never_ref
  from api_private.cashout_create('c5000000-0000-4000-8000-00000000000a', 10, 'UGX', '256772123456', 'co-never') \gset
select is((select last_sent_at from public.cashouts where reference_id = :'sent_ref'), null, 'a new cash-out has not been sent');
select tests.reset_role();
select * from pg_temp.account() \gset before_sends_

select tests.as_service();
-- A frozen account's money does not leave: no send of its pending cash-out (WL004), none recorded.
select 1 from public.wallet_set_status('c5000000-0000-4000-8000-00000000000a', 'frozen', 'fraud check');
select throws_ok(format($$ select api_private.cashout_send_begin(%L) $$, :'sent_ref'), 'WL004', null,
  'a send of a cash-out of a frozen account is WL004');
select is((select last_sent_at from public.cashouts where reference_id = :'sent_ref'), null, 'and records no send');
select 1 from public.wallet_set_status('c5000000-0000-4000-8000-00000000000a', 'active', 'checked');
select is((select last_sent_at from api_private.cashout_send_begin(:'sent_ref')), now(), 'a send of a pending cash-out is recorded');
select throws_ok(format($$ select api_private.cashout_not_accepted(%L) $$, :'sent_ref'), 'WL008', null,
  'not_accepted with the sending open is WL008');
select is((select sending_closed_at from api_private.cashout_close_sending(:'sent_ref', 1)), null,
  'the sending is not closed while the last send is within the quiet period');
select tests.reset_role();
select results_eq(format($$ select c.status, c.sending_closed_at is null, t.status from public.cashouts c
                             join public.wallet_transactions t on t.id = c.hold_id where c.reference_id = %L $$, :'sent_ref'),
  $$ values ('pending', true, 'pending') $$, 'the refused verdict and the refused close wrote nothing');
-- The last send was two minutes ago.
update public.cashouts set last_sent_at = now() - interval '2 minutes' where reference_id = :'sent_ref';

select tests.as_service();
select is((select sending_closed_at from api_private.cashout_close_sending(:'sent_ref', 119)), now(),
  'a quiet period after the last send, the sending is closed');
select is((select last_sent_at from api_private.cashout_send_begin(:'sent_ref')), now() - interval '2 minutes',
  'once closed, no send is recorded');
select is((select status from api_private.cashout_send_begin(:'sent_ref')), 'pending', 'and the cash-out is returned as it is');
select results_eq(format($$ select status, reason from api_private.cashout_not_accepted(%L) $$, :'sent_ref'),
  $$ values ('failed', 'not_accepted') $$, 'closed, not_accepted fails the cash-out');
select tests.reset_role();
select is((select status from public.wallet_transactions where id = :'sent_hold'), 'voided', 'and voids its hold');
select results_eq('select balance, available - 1000 from pg_temp.account()', format('values (%s::bigint, %s::bigint)', :before_sends_balance, :before_sends_available),
  'so its amount is available again');
select tests.as_service();
select results_eq(format($$ select status, reason from api_private.cashout_not_accepted(%L) $$, :'sent_ref'),
  $$ values ('failed', 'not_accepted') $$, 'not_accepted again returns it unchanged');
select is((select last_sent_at from api_private.cashout_send_begin(:'sent_ref')), now() - interval '2 minutes',
  'a settled cash-out records no send');
select throws_ok(format($$ select api_private.cashout_not_accepted(%L) $$, :'first_ref'), 'WL008', null,
  'not_accepted after paid is WL008');
select is((select sending_closed_at from api_private.cashout_close_sending(:'first_ref', 1)), null,
  'the sending of a settled cash-out is not closed');
select is((select sending_closed_at from api_private.cashout_close_sending(:'never_ref', 3600)), now(),
  'a cash-out never sent closes whatever the quiet period');

select throws_ok($$ select api_private.cashout_send_begin(null) $$, '22023', 'the cash-out''s transfer reference is required',
  'a send without a reference is 22023');
select throws_ok($$ select public.cashout_settle(null, 'FAILED') $$, '22023', 'the cash-out''s transfer reference is required',
  'settling without a reference is 22023');
select throws_ok(format($$ select api_private.cashout_close_sending(%L, 0) $$, :'never_ref'), '22023',
  'quiet_seconds must be between 1 and 3600', 'a quiet period of 0 seconds is 22023');
select throws_ok(format($$ select api_private.cashout_close_sending(%L, 3601) $$, :'never_ref'), '22023',
  'quiet_seconds must be between 1 and 3600', 'a quiet period over an hour is 22023');
select lives_ok(format($$ select api_private.cashout_close_sending(%L, 3600) $$, :'never_ref'), 'a quiet period of an hour is accepted');
select throws_ok($$ select api_private.cashout_send_begin('c5000000-0000-4000-8000-0000000000ee') $$, 'WL007', null,
  'a send of an unknown reference is WL007');
select throws_ok($$ select api_private.cashout_close_sending('c5000000-0000-4000-8000-0000000000ee', 60) $$, 'WL007', null,
  'closing an unknown reference is WL007');
select throws_ok($$ select api_private.cashout_not_accepted('c5000000-0000-4000-8000-0000000000ee') $$, 'WL007', null,
  'not_accepted of an unknown reference is WL007');
select tests.reset_role();
select tests.as_user(tests.user_id('owner'));
select throws_ok(format($$ select api_private.cashout_send_begin(%L) $$, :'never_ref'), '42501', null,
  'a user cannot record a send, even of its own cash-out');
select tests.reset_role();

-- ---------------------------------------------------------------- sizes of arguments
select tests.as_user(tests.user_id('owner'));
select throws_ok($$ select api_private.cashout_create('c5000000-0000-4000-8000-00000000000a', 1, 'UGX', repeat('1', 256), 'co-b1') $$,
  '22023', 'p_msisdn must be at most 255 characters', 'cashout_create p_msisdn over its bound is 22023');
select throws_ok($$ select api_private.cashout_create('c5000000-0000-4000-8000-00000000000a', 1, repeat('U', 256), '256772123456', 'co-b2') $$,
  '22023', 'p_currency must be at most 255 characters', 'cashout_create p_currency over its bound is 22023');
select lives_ok($$ select api_private.cashout_create('c5000000-0000-4000-8000-00000000000a', 1, 'UGX', '256772123456', repeat('k', 255)) $$,
  'cashout_create p_idempotency_key at its bound is accepted');
select throws_ok($$ select api_private.cashout_create('c5000000-0000-4000-8000-00000000000a', 1, 'UGX', '256772123456', repeat('k', 256)) $$,
  '22023', 'idempotency key must be 1 to 255 characters', 'cashout_create p_idempotency_key over its bound is 22023');
select reference_id as third_ref from public.cashouts where idempotency_key = repeat('k', 255) \gset
select tests.reset_role();
select tests.as_service();
select throws_ok(format($$ select public.cashout_settle(%L, repeat('S', 256)) $$, :'third_ref'),
  '22023', 'p_status must be at most 255 characters', 'cashout_settle p_status over its bound is 22023');
select throws_ok(format($$ select public.cashout_settle(%L, 'FAILED', repeat('r', 501)) $$, :'third_ref'),
  '22023', 'p_reason must be at most 500 characters', 'cashout_settle p_reason over its bound is 22023');
select is((select reason from public.cashout_settle(:'third_ref', 'FAILED', repeat('r', 500))), repeat('r', 500),
  'cashout_settle p_reason at its bound is accepted');
select tests.reset_role();

-- ---------------------------------------------------------------- limits of the tier
-- One unit over the standard tier's largest single payment in UGX is WL009, nothing held.
select l.max_single + 1 as over_single from public.wallet_tier_limits l where l.tier = 'standard' and l.currency = 'UGX' \gset
select public.wallet_deposit('c5000000-0000-4000-8000-00000000000a', :over_single, 'UGX', 'momo', 'cashout-fund-limits');
select a.available as available_before from public.wallet_accounts a where a.id = 'c5000000-0000-4000-8000-00000000000a' \gset
select tests.as_user(tests.user_id('owner'));
select throws_ok(format($$ select api_private.cashout_create('c5000000-0000-4000-8000-00000000000a', %s, 'UGX', '256772123456',
                                                            'co-limit') $$, :over_single),
  'WL009', format('single payment limit of %s UGX would be exceeded', :over_single - 1),
  'a cash-out over the tier''s single limit in its currency is WL009');
select tests.reset_role();
select is((select count(*)::integer from public.cashouts where idempotency_key = 'co-limit'), 0, 'and records no cash-out');
select is((select a.available from public.wallet_accounts a where a.id = 'c5000000-0000-4000-8000-00000000000a'),
          :available_before::bigint, 'and holds nothing more');

select * from finish();
rollback;
