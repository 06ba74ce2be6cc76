-- Refunds of MoMo payments in SQL: api_private.momo_refund_transfer (the pending refund under
-- its transfer reference, recorded once, and the payer's number), public.momo_refund_settle
-- (MoMo's confirmed status: SUCCESSFUL records the refund once, FAILED closes it, the other
-- final status refused), the sending rules of its transfer (every send recorded, none once
-- momo-poll has closed the sending, which it cannot do within the quiet period after a send,
-- and its not_accepted verdict only once closed) and momo-poll's take of MoMo refunds;
-- callers, grants, bounds.
begin;
select plan(84);

select tests.create_users(array['alice', 'bob'], array['admin'], array['support']);

-- Grants.
select ok(not has_function_privilege('anon', f, 'execute') and has_function_privilege('authenticated', f, 'execute')
          and has_function_privilege('service_role', f, 'execute'), f || ': the admin API and the service (momo-poll)')
  from unnest(array['api_private.momo_refund_transfer(uuid, bigint, uuid, text)']) f;
select ok(not has_function_privilege('anon', f, 'execute') and not has_function_privilege('authenticated', f, 'execute')
          and has_function_privilege('service_role', f, 'execute'), f || ': the service only')
  from unnest(array['public.momo_refund_settle(uuid, text, text, bigint, text)',
                    'api_private.poll_take(text, text, integer, integer, integer, numeric)',
                    'api_private.momo_refund_send_begin(uuid)',
                    'api_private.momo_refund_close_sending(uuid, integer)',
                    'api_private.momo_refund_not_accepted(uuid)']) f;
select ok(p.prosecdef and p.proconfig @> array['search_path=""'], p.proname || ': security definer with an empty search_path')
  from pg_proc p where p.proname in ('momo_refund_transfer', 'momo_refund_settle', 'poll_take', 'momo_refund_send_begin',
                                     'momo_refund_close_sending', 'momo_refund_not_accepted');

-- Alice's MoMo top-ups of 1000 UGX paid by 256772000111 and of 200 whose payer MoMo did not
-- name, and a Stripe payment of 100; Bob's MoMo top-up of 1000 paid by the same number. MoMo's
-- transactions (momo_transactions) name the payers.
select tests.open_account('alice', 'UGX') as account, tests.open_account('bob', 'UGX') as sent_account \gset
select id as paid from tests.credited_payment('momo', :'account', 1000, 'UGX', 'c7000000-0000-4000-8000-000000000001') \gset
select id as unnamed from tests.credited_payment('momo', :'account', 200, 'UGX', 'c7000000-0000-4000-8000-000000000002') \gset
select id as card from tests.credited_payment('stripe', :'account', 100, 'UGX', 'pi_mr_card') \gset
select id as sent_paid from tests.credited_payment('momo', :'sent_account', 1000, 'UGX', 'c7000000-0000-4000-8000-000000000003') \gset
insert into public.momo_transactions (reference_id, payer_msisdn, amount, currency, status) values
  ('c7000000-0000-4000-8000-000000000001', '256772000111', 1000, 'UGX', 'SUCCESSFUL'),
  ('c7000000-0000-4000-8000-000000000002', null, 200, 'UGX', 'SUCCESSFUL'),
  ('c7000000-0000-4000-8000-000000000003', '256772000111', 1000, 'UGX', 'SUCCESSFUL');

-- ---------------------------------------------------------------- momo_refund_transfer
select tests.as_user(tests.user_id('alice'));
select throws_ok(format($$ select api_private.momo_refund_transfer(%L, 1, gen_random_uuid(), 'x') $$, :'paid'), '42501', null,
  'a user may not refund');
select tests.as_support(tests.user_id('support'));
select throws_ok(format($$ select api_private.momo_refund_transfer(%L, 1, gen_random_uuid(), 'x') $$, :'paid'), '42501', null,
  'support may not refund');
select tests.as_admin(tests.user_id('admin'));
select results_eq(
  format($$ select refund ->> 'status', refund ->> 'provider_refund_id', (refund ->> 'amount')::bigint, payee_msisdn
              from api_private.momo_refund_transfer(%L, 600, 'd7000000-0000-4000-8000-000000000001', 'asked') $$, :'paid'),
  $$ values ('pending', 'd7000000-0000-4000-8000-000000000001', 600::bigint, '256772000111') $$,
  'an admin records a pending refund under the reference, to the payer''s number');
select is((select count(*)::int from api_private.momo_refund_transfer(:'paid', 600, 'd7000000-0000-4000-8000-000000000001', 'asked')),
  1, 'the same reference again is a replay');
select is((select count(*)::int from public.refunds where payment_id = :'paid'), 1, 'one refund row');
select throws_ok(format($$ select api_private.refund_retry_begin(%L) $$,
                        (select id from public.refunds where provider_refund_id = 'd7000000-0000-4000-8000-000000000001')),
  'WL008', null, 'a MoMo refund is not asked again by POST /admin/refunds/:id/retry: momo-poll sends its transfer again');
select is(public.wallet_balance(:'account'), 1300::bigint, 'a pending refund moves nothing (1000 + 200 + 100 paid in)');
select throws_ok(format($$ select api_private.momo_refund_transfer(%L, 500, 'd7000000-0000-4000-8000-000000000001', 'x') $$, :'paid'),
  'WL005', null, 'the reference with another amount: WL005');
select throws_ok(format($$ select api_private.momo_refund_transfer(%L, 401, gen_random_uuid(), 'x') $$, :'paid'), 'WL006', null,
  'beyond what the pending refund leaves (400): WL006');
select throws_ok($$ select api_private.momo_refund_transfer(gen_random_uuid(), 1, gen_random_uuid(), 'x') $$, 'WL007', null,
  'an unknown payment: WL007');
select throws_ok(format($$ select api_private.momo_refund_transfer(%L, 50, gen_random_uuid(), 'x') $$, :'card'), 'WL008',
  format('payment %s is a stripe payment, not a MoMo one', :'card'), 'a Stripe payment: WL008');
select throws_ok(format($$ select api_private.momo_refund_transfer(%L, 50, gen_random_uuid(), 'x') $$, :'unnamed'), 'WL008',
  format('MoMo never named the payer of payment %s: there is no number to refund', :'unnamed'), 'no payer''s number: WL008');
select throws_ok(format($$ select api_private.momo_refund_transfer(%L, 50, null, 'x') $$, :'paid'), '22023',
  'the transfer reference is required', 'no reference: 22023');
select lives_ok(format($$ select api_private.momo_refund_transfer(%L, 10, 'd7000000-0000-4000-8000-0000000000b1', repeat('r', 1000)) $$, :'paid'),
  'a reason of 1000 characters is accepted');
select throws_ok(format($$ select api_private.momo_refund_transfer(%L, 10, 'd7000000-0000-4000-8000-0000000000b2', repeat('r', 1001)) $$, :'paid'),
  '22023', 'p_reason must be at most 1000 characters', 'one more: 22023');
select is((select count(*)::int from public.refunds where provider_refund_id = 'd7000000-0000-4000-8000-0000000000b2'), 0,
  'and nothing is recorded');
select tests.as_service();
select is((select refund ->> 'id' from api_private.momo_refund_transfer(:'paid', 600, 'd7000000-0000-4000-8000-000000000001', 'asked')),
  (select id::text from public.refunds where provider_refund_id = 'd7000000-0000-4000-8000-000000000001'),
  'the service (momo-poll) finds the same refund');

-- ---------------------------------------------------------------- momo_refund_settle
select tests.as_admin(tests.user_id('admin'));
select throws_ok($$ select public.momo_refund_settle('d7000000-0000-4000-8000-000000000001', 'SUCCESSFUL') $$, '42501', null,
  'an admin may not settle: only MoMo''s confirmed status does');
select tests.as_service();
select is((public.momo_refund_settle('d7000000-0000-4000-8000-000000000001', 'PENDING')).status, 'pending', 'PENDING changes nothing');
select is(public.wallet_balance(:'account'), 1300::bigint, 'and moves nothing');
select throws_ok($$ select public.momo_refund_settle('d7000000-0000-4000-8000-000000000001', 'SUCCESSFUL', null, 6000, 'UGX') $$, 'WL008',
  'MoMo confirmed 6000 UGX for MoMo refund d7000000-0000-4000-8000-000000000001, which sent 600 UGX: settle it by hand once MoMo says what moved',
  'SUCCESSFUL for another amount than the one sent: WL008, naming both');
select throws_ok($$ select public.momo_refund_settle('d7000000-0000-4000-8000-000000000001', 'SUCCESSFUL') $$, '22023', null,
  'SUCCESSFUL without MoMo''s amount: 22023');
select is(public.wallet_balance(:'account'), 1300::bigint, 'the refused SUCCESSFULs moved nothing');
select results_eq($$ select status, forced, wallet_transaction_id is not null
                      from public.momo_refund_settle('d7000000-0000-4000-8000-000000000001', 'SUCCESSFUL', null, 600, 'UGX') $$,
  $$ values ('succeeded', false, true) $$, 'SUCCESSFUL records the refund with its reversal');
select is(public.wallet_balance(:'account'), 700::bigint, 'the wallet gives the 600 back');
select results_eq(format($$ select status, amount_refunded from public.payments where id = %L $$, :'paid'),
  $$ values ('partially_refunded', 600::bigint) $$, 'the payment counts it');
select is((public.momo_refund_settle('d7000000-0000-4000-8000-000000000001', 'SUCCESSFUL', null, 600, 'UGX')).status, 'succeeded',
  'SUCCESSFUL again returns it');
select is(public.wallet_balance(:'account'), 700::bigint, 'and takes nothing more');
select throws_ok($$ select public.momo_refund_settle('d7000000-0000-4000-8000-000000000001', 'FAILED', 'late') $$, 'WL008',
  'MoMo refund d7000000-0000-4000-8000-000000000001 is already succeeded', 'FAILED after SUCCESSFUL: WL008');

select is((public.momo_refund_settle('d7000000-0000-4000-8000-0000000000b1', 'FAILED', 'PAYEE_NOT_FOUND')).status, 'failed',
  'FAILED closes a pending refund');
select is(public.wallet_balance(:'account'), 700::bigint, 'with no ledger effect');
select throws_ok($$ select public.momo_refund_settle('d7000000-0000-4000-8000-0000000000b1', 'SUCCESSFUL') $$, 'WL008',
  'MoMo refund d7000000-0000-4000-8000-0000000000b1 is already failed', 'SUCCESSFUL after FAILED: WL008');
select is((select refund ->> 'status' from api_private.momo_refund_transfer(:'paid', 400, gen_random_uuid(), 'all the rest')),
  'pending', 'the failed refund no longer reserves its amount: the rest (400) can be refunded');
select throws_ok($$ select public.momo_refund_settle('d7000000-0000-4000-8000-000000000001', 'DONE') $$, '22023',
  'status DONE is not one of PENDING, SUCCESSFUL, FAILED', 'a status MoMo does not have: 22023');
select throws_ok($$ select public.momo_refund_settle('d7000000-0000-4000-8000-0000000000ff', 'SUCCESSFUL') $$, 'WL007', null,
  'an unknown reference: WL007');
select throws_ok($$ select public.momo_refund_settle('d7000000-0000-4000-8000-000000000001', 'FAILED', repeat('r', 1001)) $$, '22023',
  'p_reason must be at most 1000 characters', 'a reason over 1000 characters: 22023');
select throws_ok($$ select public.momo_refund_settle('d7000000-0000-4000-8000-000000000001', repeat('S', 256)) $$, '22023',
  'p_status must be at most 255 characters', 'a status over 255 characters: 22023');

-- ---------------------------------------------------------------- sends, closing the sending, not_accepted
-- Bob's MoMo top-up of 1000: a refund of 700 of it, to be sent, and one of 100 never sent.
select tests.as_admin(tests.user_id('admin'));
select refund ->> 'id' as sent_refund
  from api_private.momo_refund_transfer(:'sent_paid', 700, 'd7000000-0000-4000-8000-0000000000c1', 'sent') \gset
select refund ->> 'id' as never_refund
  from api_private.momo_refund_transfer(:'sent_paid', 100, 'd7000000-0000-4000-8000-0000000000c2', 'never sent') \gset
select results_eq(format($$ select last_sent_at, sending_closed_at from public.refunds where id = %L $$, :'sent_refund'),
  $$ values (null::timestamptz, null::timestamptz) $$, 'a new refund has not been sent, and its sending is open');
select throws_ok($$ select api_private.momo_refund_send_begin('d7000000-0000-4000-8000-0000000000c1') $$, '42501', null,
  'an admin records no send itself (the admin API does, as the service)');
select tests.as_user(tests.user_id('alice'));
select throws_ok($$ select api_private.momo_refund_send_begin('d7000000-0000-4000-8000-0000000000c1') $$, '42501', null,
  'nor does a user');
select tests.reset_role();
-- The audit trail counts every write of a refund row: a refused call adds nothing to it.
create temporary view sent_refund_writes as
  select count(*)::int as n from audit.log where table_name = 'refunds' and record_id = :'sent_refund';
grant select on sent_refund_writes to service_role;

select tests.as_service();
select is((select last_sent_at from api_private.momo_refund_send_begin('d7000000-0000-4000-8000-0000000000c1')), now(),
  'a send of a pending refund is recorded');
select n as writes_after_send from sent_refund_writes \gset
select throws_ok($$ select api_private.momo_refund_not_accepted('d7000000-0000-4000-8000-0000000000c1') $$, 'WL008',
  'MoMo refund d7000000-0000-4000-8000-0000000000c1 may still be sent: MoMo not knowing it fails it only once its sending is closed',
  'not_accepted with the sending open: WL008');
select is((select sending_closed_at from api_private.momo_refund_close_sending('d7000000-0000-4000-8000-0000000000c1', 1)), null,
  'the sending is not closed while the last send is within the quiet period');
select is((select n from sent_refund_writes), :writes_after_send, 'the refused verdict and the refused close wrote nothing');
select tests.reset_role();
select results_eq(format($$ select status, sending_closed_at is null from public.refunds where id = %L $$, :'sent_refund'),
  $$ values ('pending', true) $$, 'the refund is pending with its sending open');
-- The last send was two minutes ago.
set local session_replication_role = replica;
update public.refunds set last_sent_at = now() - interval '2 minutes' where id = :'sent_refund';
set local session_replication_role = origin;

select tests.as_service();
select is((select sending_closed_at from api_private.momo_refund_close_sending('d7000000-0000-4000-8000-0000000000c1', 119)), now(),
  'a quiet period after the last send, the sending is closed');
select is((select sending_closed_at from api_private.momo_refund_close_sending('d7000000-0000-4000-8000-0000000000c1', 1)), now(),
  'closing again keeps it closed');
select n as writes_after_close from sent_refund_writes \gset
select results_eq($$ select status, last_sent_at from api_private.momo_refund_send_begin('d7000000-0000-4000-8000-0000000000c1') $$,
  $$ values ('pending', now() - interval '2 minutes') $$, 'once closed, no send is recorded: the refund is returned as it is');
select is((select n from sent_refund_writes), :writes_after_close, 'and the refused send wrote nothing');
select is((select status from api_private.momo_refund_not_accepted('d7000000-0000-4000-8000-0000000000c1')), 'failed',
  'closed, not_accepted closes the refund failed');
select is(public.wallet_balance(:'sent_account'), 1000::bigint, 'with no ledger effect');
select is((select status from api_private.momo_refund_not_accepted('d7000000-0000-4000-8000-0000000000c1')), 'failed',
  'not_accepted again returns it unchanged');
select is((select last_sent_at from api_private.momo_refund_send_begin('d7000000-0000-4000-8000-0000000000c1')),
  now() - interval '2 minutes', 'a settled refund records no send');
select throws_ok($$ select public.momo_refund_settle('d7000000-0000-4000-8000-0000000000c1', 'SUCCESSFUL') $$, 'WL008',
  'MoMo refund d7000000-0000-4000-8000-0000000000c1 is already failed', 'a late SUCCESSFUL of it: WL008');
select is((select refund ->> 'status' from api_private.momo_refund_transfer(:'sent_paid', 900, gen_random_uuid(), 'the rest')),
  'pending', 'its amount is free again: 900 of the payment can be refunded (the refund of 100 still reserved)');

select throws_ok($$ select api_private.momo_refund_not_accepted('d7000000-0000-4000-8000-000000000001') $$, 'WL008',
  'MoMo refund d7000000-0000-4000-8000-000000000001 is already succeeded', 'not_accepted of a succeeded refund: WL008');
select is((select sending_closed_at from api_private.momo_refund_close_sending('d7000000-0000-4000-8000-000000000001', 1)), null,
  'the sending of a settled refund is not closed');
select is((select last_sent_at from api_private.momo_refund_send_begin('d7000000-0000-4000-8000-000000000001')), null,
  'nor is a send of it recorded');
select is((select sending_closed_at from api_private.momo_refund_close_sending('d7000000-0000-4000-8000-0000000000c2', 3600)), now(),
  'a refund never sent closes whatever the quiet period');
select throws_ok($$ select api_private.momo_refund_close_sending('d7000000-0000-4000-8000-0000000000c2', 0) $$, '22023',
  'quiet_seconds must be between 1 and 3600', 'a quiet period of 0 seconds: 22023');
select throws_ok($$ select api_private.momo_refund_close_sending('d7000000-0000-4000-8000-0000000000c2', 3601) $$, '22023',
  'quiet_seconds must be between 1 and 3600', 'a quiet period over an hour: 22023');
select lives_ok($$ select api_private.momo_refund_close_sending('d7000000-0000-4000-8000-0000000000c2', 3600) $$,
  'a quiet period of an hour is accepted');
select throws_ok($$ select api_private.momo_refund_send_begin('d7000000-0000-4000-8000-0000000000ff') $$, 'WL007',
  'MoMo refund d7000000-0000-4000-8000-0000000000ff not found', 'a send of an unknown reference: WL007');
select throws_ok($$ select api_private.momo_refund_close_sending('d7000000-0000-4000-8000-0000000000ff', 60) $$, 'WL007',
  'MoMo refund d7000000-0000-4000-8000-0000000000ff not found', 'closing an unknown reference: WL007');
select throws_ok($$ select api_private.momo_refund_not_accepted('d7000000-0000-4000-8000-0000000000ff') $$, 'WL007',
  'MoMo refund d7000000-0000-4000-8000-0000000000ff not found', 'not_accepted of an unknown reference: WL007');
select tests.as_admin(tests.user_id('admin'));
select throws_ok($$ select api_private.momo_refund_not_accepted('d7000000-0000-4000-8000-0000000000c2') $$, '42501', null,
  'an admin may not fail a refund not_accepted: only momo-poll''s verdict does');
select lives_ok(format($$ select api_private.refund_record_pending(%L, 10, 'd7000000-0000-4000-8000-0000000000d1', 'card') $$, :'card'),
  'a Stripe refund whose id reads like a transfer reference');
select tests.as_service();
select throws_ok($$ select api_private.momo_refund_send_begin('d7000000-0000-4000-8000-0000000000d1') $$, 'WL007',
  'MoMo refund d7000000-0000-4000-8000-0000000000d1 not found', 'is no MoMo refund: nothing to send (WL007)');
select tests.reset_role();
select results_eq(format($$ select status, last_sent_at from public.refunds where id = %L $$, :'never_refund'),
  $$ values ('pending', null::timestamptz) $$, 'the refund never sent stays pending, unsent');

-- ---------------------------------------------------------------- poll_take('momo-poll', 'refunds')
-- (filtered: the database may hold other suites' refunds)
select tests.reset_role();
set local session_replication_role = replica;
update public.refunds set created_at = now() - interval '10 minutes' where payment_id = :'paid';
set local session_replication_role = origin;
select tests.as_service();
select results_eq(
  format($$ select reference_id from api_private.poll_take('momo-poll', 'refunds', 120, 60, 1000) t
             join public.refunds r on r.id = t.item_id where r.payment_id = %L $$, :'paid'),
  $$ select provider_refund_id from public.refunds where payment_id = (select payment_id from public.refunds
       where provider_refund_id = 'd7000000-0000-4000-8000-000000000001') and status = 'pending' $$,
  'the pending MoMo refund waiting over 2 minutes is taken (not the settled ones)');
select is((select count(*) from api_private.poll_take('momo-poll', 'refunds', 120, 60, 1000) t
             join public.refunds r on r.id = t.item_id where r.payment_id = :'paid'), 0::bigint,
  'while leased, no runner takes it again');
select throws_ok($$ select * from api_private.poll_take('momo-poll', 'refunds', 120, 60, 1001) $$, '22023', 'batch must be between 1 and 1000',
  'batch 1001: 22023');

select * from finish();
rollback;
