-- The scheduled jobs' SQL: the job functions for service_role only, hold expiry (an argument of
-- wallet_hold/wallet_withdraw, part of the replay's parameters), each job bounded per run and
-- idempotent, momo-poll's leases, the reconcile report and its WhatsApp alert to the admins,
-- and the pg_cron schedule.
begin;
select plan(65);

select tests.create_user('alice');
insert into public.wallet_accounts (id, owner_id, kind, currency) values
  ('ac700000-0000-4000-8000-00000000000a', tests.user_id('alice'), 'user', 'KES');
-- WhatsApp contacts: an admin, an admin who opted out, a support agent and a user.
select tests.create_user('boss', 'admin'), tests.create_user('quiet', 'admin'), tests.create_user('sam', 'support');
insert into public.whatsapp_contacts (wa_id, user_id, opted_out) values
  ('250788700001', tests.user_id('boss'), false),
  ('250788700002', tests.user_id('quiet'), true),
  ('250788700003', tests.user_id('sam'), false),
  ('250788700004', tests.user_id('alice'), false);

-- ---------------------------------------------------------------- exposure
select ok(not has_schema_privilege('anon', 'api_private', 'usage'), 'anon has no usage on api_private');
select is((select count(*) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where n.nspname = 'api_private' and p.proname in ('poll_take', 'expire_intents', 'expire_holds', 'reconcile')), 4::bigint, 'the four job functions live in api_private');
select is((select count(*) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where n.nspname = 'api_private' and p.proname in ('poll_take', 'expire_intents', 'expire_holds', 'reconcile')
              and (has_function_privilege('anon', p.oid, 'execute') or has_function_privilege('authenticated', p.oid, 'execute'))),
  0::bigint, 'no job function is executable by anon or authenticated');
select is((select count(*) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where n.nspname = 'api_private' and p.proname in ('poll_take', 'expire_intents', 'expire_holds', 'reconcile')
              and not has_function_privilege('service_role', p.oid, 'execute')),
  0::bigint, 'service_role executes every job function');
select is((select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace, unnest(array['anon', 'authenticated', 'service_role']) r
            where n.nspname = 'private' and c.relname like 'momo\_poll\_%' and has_table_privilege(r, c.oid, 'select')),
  0::bigint, 'no API role reads the momo-poll views: they are read through poll_take only');
select ok(not has_function_privilege('service_role', 'private.ledger_invariants()', 'execute'),
  'the invariants are read through reconcile only');
select ok(not has_function_privilege('service_role', 'private.reconcile_alert_admins(private.reconciliation_reports)', 'execute')
          and not has_function_privilege('authenticated', 'private.reconcile_alert_admins(private.reconciliation_reports)', 'execute')
          and not has_function_privilege('anon', 'private.reconcile_alert_admins(private.reconciliation_reports)', 'execute'),
  'the admins'' alert is queued through reconcile only');
select ok(not has_function_privilege('service_role', 'private.reconcile_undelivered_messages()', 'execute')
          and not has_function_privilege('authenticated', 'private.reconcile_undelivered_messages()', 'execute'),
  'the count of dead WhatsApp messages is read through reconcile only');
select is((select count(*) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where n.nspname = 'api_private' and (not p.prosecdef or p.proconfig is null
              or not ('search_path=""' = any (p.proconfig)))), 0::bigint,
  'every api_private function is security definer with an empty search_path');
select results_eq($$ select relrowsecurity and relforcerowsecurity from pg_class
                     where oid in ('private.job_leases'::regclass, 'private.reconciliation_reports'::regclass) $$,
  $$ values (true), (true) $$, 'job_leases and reconciliation_reports have RLS enabled and forced');

-- ---------------------------------------------------------------- reconcile without a finding
select tests.as_service();
select results_eq($$ select invariant_violations, reconciliation_findings, alerts_queued from api_private.reconcile() $$,
  $$ values (0, 0, 0) $$, 'reconcile of a sound ledger without payments: no finding, no alert');
select tests.reset_role();
select is((select count(*) from public.whatsapp_outbox where wa_id like '2507887000%'), 0::bigint,
  'and no WhatsApp message is queued for anyone');

-- ---------------------------------------------------------------- reconcile with a rejected payment only
-- A rejection is an admin's decision, not a mismatch: kept in the report apart from the
-- findings, it neither counts nor alerts (else every daily run would alert on it for ever).
select tests.as_service();
select id as rejected_payment from public.payment_record_success('stripe', 'pi_sj_rejected', null, 300, 'USD') \gset
select tests.as_admin(tests.user_id('boss'));
select is((api_private.payment_resolve(:'rejected_payment', 'reject', 'unknown payer')).status, 'rejected',
  'an admin rejects a payment held for review');
select tests.as_service();
select results_eq($$ select invariant_violations, reconciliation_findings, alerts_queued from api_private.reconcile() $$,
  $$ values (0, 0, 0) $$, 'reconcile with a rejected payment only: no finding, no alert');
select tests.reset_role();
select results_eq($$ select findings, reconciliation_findings, jsonb_path_query_array(resolutions, '$[*].payment_id')
                      from private.reconciliation_reports where report_date = (now() at time zone 'utc')::date $$,
  format($$ values (0, '[]'::jsonb, '[%s]'::jsonb) $$, to_json(:'rejected_payment'::text)),
  'the report lists the rejected payment apart from its findings');
select is((select count(*) from public.whatsapp_outbox where wa_id like '2507887000%'), 0::bigint,
  'and no WhatsApp message is queued for anyone');

select tests.as_service();
select lives_ok($$ select public.wallet_deposit('ac700000-0000-4000-8000-00000000000a', 1000, 'KES', 'momo', 'sj-fund') $$, 'fund alice');

-- ---------------------------------------------------------------- hold expiry arguments
select throws_ok($$ select public.wallet_hold('ac700000-0000-4000-8000-00000000000a', 10, 'KES', 'sj-h-past', '{}', now() - interval '1 second') $$,
  '22023', null, 'a hold that has expired already: 22023');
select throws_ok($$ select public.wallet_withdraw('ac700000-0000-4000-8000-00000000000a', 10, 'KES', 'momo', 'sj-w-now', '{}', now()) $$,
  '22023', null, 'a withdrawal expiring now: 22023');
select is((select count(*) from public.wallet_transactions where idempotency_key in ('sj-h-past', 'sj-w-now')), 0::bigint,
  'and neither was written');
select lives_ok($$ select public.wallet_hold('ac700000-0000-4000-8000-00000000000a', 100, 'KES', 'sj-h-1', '{}', now() + interval '1 hour') $$,
  'a hold expiring in an hour');
select is((public.wallet_hold('ac700000-0000-4000-8000-00000000000a', 100, 'KES', 'sj-h-1', '{}', now() + interval '1 hour')).id,
  (select id from public.wallet_transactions where idempotency_key = 'sj-h-1'), 'its replay returns it');
select throws_ok($$ select public.wallet_hold('ac700000-0000-4000-8000-00000000000a', 100, 'KES', 'sj-h-1', '{}', now() + interval '2 hours') $$,
  'WL005', null, 'the key with another expiry: WL005');
select throws_ok($$ select public.wallet_hold('ac700000-0000-4000-8000-00000000000a', 100, 'KES', 'sj-h-1') $$,
  'WL005', null, 'the key without the expiry: WL005');
select lives_ok($$ select public.wallet_withdraw('ac700000-0000-4000-8000-00000000000a', 200, 'KES', 'momo', 'sj-w-1', '{}', now() + interval '1 hour') $$,
  'a withdrawal expiring in an hour');
select lives_ok($$ select public.wallet_hold('ac700000-0000-4000-8000-00000000000a', 50, 'KES', 'sj-h-2') $$, 'a hold that never expires');

-- ---------------------------------------------------------------- expire_holds
select is(api_private.expire_holds(10), 0, 'nothing has expired yet');
select tests.reset_role();
set local session_replication_role = replica;
update public.wallet_transactions set expires_at = now() - interval '1 second' where idempotency_key in ('sj-h-1', 'sj-w-1');
set local session_replication_role = origin;
select tests.as_service();
select is(api_private.expire_holds(1), 1, 'a run voids at most its batch');
select is(api_private.expire_holds(10), 1, 'the next run voids the rest');
select is(api_private.expire_holds(10), 0, 'and a run after that finds nothing');
select results_eq($$ select idempotency_key, status from public.wallet_transactions
                     where idempotency_key in ('sj-h-1', 'sj-w-1', 'sj-h-2') order by idempotency_key $$,
  $$ values ('sj-h-1', 'voided'), ('sj-h-2', 'pending'), ('sj-w-1', 'voided') $$, 'the expired ones are voided, the other is pending');
select results_eq($$ select balance, available from public.wallet_accounts where id = 'ac700000-0000-4000-8000-00000000000a' $$,
  $$ values (1000::bigint, 950::bigint) $$, 'their reservations are available again');
select throws_ok($$ select api_private.expire_holds(0) $$, '22023', 'batch must be between 1 and 10000', 'batch 0: 22023');
select throws_ok($$ select api_private.expire_holds(10001) $$, '22023', 'batch must be between 1 and 10000', 'batch 10001: 22023');

-- ---------------------------------------------------------------- expire_intents
select lives_ok($$
  select public.payment_intent_attach(i.id, '7a000000-0000-4000-8000-00000000000' || n)
    from (values (1), (2)) as v(n),
    lateral public.payment_intent_create('momo', 'ac700000-0000-4000-8000-00000000000a', 500, 'KES', 'sj-i-' || n) i $$,
  'two MoMo intents waiting for the payer');
select lives_ok($$
  select public.payment_intent_create('momo', 'ac700000-0000-4000-8000-00000000000a', 500, 'KES', 'sj-i-3'),
         public.payment_intent_attach((public.payment_intent_create('stripe', 'ac700000-0000-4000-8000-00000000000a', 500, 'KES', 'sj-i-4')).id, 'pi_sj_4'),
         public.payment_intent_attach((public.payment_intent_create('revolut', 'ac700000-0000-4000-8000-00000000000a', 500, 'KES', 'sj-i-5')).id, 'sj-order-5'),
         public.payment_intent_create('stripe', 'ac700000-0000-4000-8000-00000000000a', 500, 'KES', 'sj-i-6') $$,
  'a MoMo intent never sent to MoMo, a Stripe intent with its PaymentIntent, a Revolut intent with its order, and a Stripe intent without a PaymentIntent');
select tests.reset_role();
set local session_replication_role = replica;
update public.payment_intents set created_at = now() - interval '2 days' where idempotency_key in ('sj-i-1', 'sj-i-3', 'sj-i-4', 'sj-i-5', 'sj-i-6');
update public.payment_intents set updated_at = now() - interval '10 minutes' where idempotency_key = 'sj-i-2';
set local session_replication_role = origin;
select tests.as_service();
select is(api_private.expire_intents(86400, 10), 2, 'past the TTL, the intents that no poll asks about are canceled');
select results_eq($$ select idempotency_key, status from public.payment_intents where idempotency_key like 'sj-i-%' order by 1 $$,
  $$ values ('sj-i-1', 'processing'), ('sj-i-2', 'processing'), ('sj-i-3', 'canceled'), ('sj-i-4', 'processing'), ('sj-i-5', 'processing'),
            ('sj-i-6', 'canceled') $$,
  'the MoMo, Stripe and Revolut intents with their references are left to their polls, the fresh one waits on');
select is(api_private.expire_intents(86400, 10), 0, 'a second run cancels nothing');
select is(api_private.expire_intents(86400, 10, (select id from public.payment_intents where idempotency_key = 'sj-i-2')), 0,
  'a poll''s verdict on an intent within its TTL cancels nothing');
select is(api_private.expire_intents(86400, 10, (select id from public.payment_intents where idempotency_key = 'sj-i-1')), 1,
  'a poll''s verdict on an intent past its TTL cancels it');
select results_eq($$ select status, failure_reason from public.payment_intents where idempotency_key in ('sj-i-1', 'sj-i-3') $$,
  $$ values ('canceled', 'expired: no payment within 86400 seconds'), ('canceled', 'expired: no payment within 86400 seconds') $$,
  'canceled as expired, whether by age or after its poll');
select is(api_private.expire_intents(86400, 10, (select id from public.payment_intents where idempotency_key = 'sj-i-1')), 0,
  'a second verdict cancels nothing');
select throws_ok($$ select api_private.expire_intents(59, 10) $$, '22023', 'ttl_seconds must be between 60 and 2592000', 'a TTL under a minute: 22023');
select throws_ok($$ select api_private.expire_intents(86400, 0) $$, '22023', 'batch must be between 1 and 10000', 'batch 0: 22023');

-- ---------------------------------------------------------------- intents whose payment is under review
-- (in a savepoint: the payments held for review would be findings of the reconcile below)
savepoint under_review;
select lives_ok($$
  select public.payment_record_success(v.provider, v.ref,
           (public.payment_intent_attach((public.payment_intent_create(v.provider, 'ac700000-0000-4000-8000-00000000000a', 500, 'KES',
                                                                       'sj-r-' || v.provider)).id, v.ref)).id, 400, 'KES')
    from (values ('momo', '7a000000-0000-4000-8000-000000000007'), ('stripe', 'pi_sj_review'), ('revolut', 'sj-order-review'))
         as v(provider, ref) $$,
  'a MoMo, a Stripe and a Revolut intent whose provider took 400 instead of 500: the payments held for review');
select tests.reset_role();
set local session_replication_role = replica;
update public.payment_intents set created_at = now() - interval '2 days', updated_at = now() - interval '2 days'
 where idempotency_key like 'sj-r-%';
set local session_replication_role = origin;
select is((select count(*)::int from public.payment_intents i
            where i.idempotency_key like 'sj-r-%'
              and (i.id in (select id from private.momo_poll_intents) or i.id in (select id from private.stripe_poll_intents)
                   or i.id in (select id from private.revolut_poll_intents))), 0,
  'no poll asks again about an intent whose payment its provider reported: its answer is known');
select tests.as_service();
select is(api_private.expire_intents(86400, 10), 0, 'nor does age cancel one: the review''s resolution ends it');
rollback to savepoint under_review;

-- ---------------------------------------------------------------- momo-poll leases
-- (filtered: the database may hold other suites' waiting intents)
select results_eq($$ select reference_id from api_private.poll_take('momo-poll', 'intents', 120, 60, 1000) where reference_id like '7a000000-%' $$,
  $$ values ('7a000000-0000-4000-8000-000000000002') $$, 'the MoMo intent waiting over 2 minutes is taken (not the canceled one)');
select is((select count(*) from api_private.poll_take('momo-poll', 'intents', 120, 60, 1000) where reference_id like '7a000000-%'), 0::bigint,
  'while leased, no runner takes it again');
select throws_ok($$ select * from api_private.poll_take('momo-poll', 'intents', 120, 0, 10) $$, '22023', 'lease_seconds must be between 1 and 3600', 'lease 0: 22023');
select throws_ok($$ select * from api_private.poll_take('momo-poll', 'intents', 120, 60, 1001) $$, '22023', 'batch must be between 1 and 1000', 'batch 1001: 22023');
select throws_ok($$ select * from api_private.poll_take('momo-poll', 'cashouts', 120, 60, 1001) $$, '22023', 'batch must be between 1 and 1000',
  'cash-outs too: batch 1001: 22023');
select throws_ok($$ select * from api_private.poll_take('momo-poll', 'payment_intents', 120, 60, 10) $$, '22023',
  'momo-poll has no kind payment_intents: momo-poll takes intents, cashouts, refunds; revolut-poll takes intents, refunds, events; stripe-poll takes intents, refunds, disputes', 'a kind that is not one of the three (no view outside them is read): 22023');

-- ---------------------------------------------------------------- reconcile
select * from api_private.reconcile() \gset first_
select is(:first_invariant_violations, 0, 'a sound ledger: no invariant violated');
select is(:first_reconciliation_findings, 1, 'alice''s deposit that no payment accounts for is a finding (the rejected payment is not)');
select is(:first_alerts_queued, 1, 'a finding queues one alert');
select tests.reset_role();
select results_eq($$ select wa_id, purpose, kind, status from public.whatsapp_outbox where wa_id like '2507887000%' $$,
  $$ values ('250788700001', 'notification', 'text', 'queued') $$,
  'to the admin''s contact only: none to the admin who opted out, to support or to a user');
select is((select body from public.whatsapp_outbox where wa_id = '250788700001'),
  jsonb_build_object('type', 'text', 'text', jsonb_build_object('body', format(
    'mfuko reconcile %s: 0 ledger invariant violation(s), 1 provider reconciliation finding(s), '
    '0 WhatsApp message(s) dead since the last report (GET /admin/whatsapp-outbox?status=dead replays them). '
    'The day''s report is in private.reconciliation_reports.', to_char(now() at time zone 'utc', 'YYYY-MM-DD')))),
  'the alert names the report''s date and counts, and no account or amount');
set local session_replication_role = replica;
update public.wallet_accounts set balance = balance + 1, available = available + 1 where id = 'ac700000-0000-4000-8000-00000000000a';
set local session_replication_role = origin;
select tests.as_service();
select ok((select invariant_violations from api_private.reconcile()) > 0, 'a balance that is not the sum of its entries is found');
select tests.reset_role();
select is((select count(*) from private.reconciliation_reports where report_date = (now() at time zone 'utc')::date), 1::bigint,
  'one report per day: the second run replaced the first');
select ok((select invariant_violations @> '[{"invariant": "2. every account''s balance (what wallet_balance and a frontend read) equals the sum of its entries"}]'
             from private.reconciliation_reports where report_date = (now() at time zone 'utc')::date),
  'the report names the broken invariant');
select is((select count(*) from public.whatsapp_outbox where wa_id like '2507887000%'), 2::bigint,
  'the second run, with findings too, alerted the admin again (and nobody else)');

select tests.as_user(tests.user_id('alice'));
select throws_ok($$ select api_private.expire_holds(10) $$, '42501', null, 'a signed-in user cannot run a job');
select tests.reset_role();

-- ---------------------------------------------------------------- pg_cron
select results_eq($$ select schedule, command from cron.job where jobname = 'mfuko-expire-holds' $$,
  $$ values ('* * * * *'::text, 'select api_private.expire_holds(1000)'::text) $$,
  'pg_cron runs expire-holds every minute');

select * from finish();
rollback;
