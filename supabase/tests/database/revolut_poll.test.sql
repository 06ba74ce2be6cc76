-- api_private.poll_take, the take of the polling jobs (momo-poll, revolut-poll): for the service
-- only, the (job, kind) pairs it knows and nothing else read, its bounds, revolut-poll's views
-- (Revolut intents waiting for the payer, Revolut refunds pending), and its leases: an item
-- leased to a runner is never taken again while the lease runs, and each job has its own.
begin;
select plan(20);

select tests.create_users('{alice}', admins => '{admin}');

-- ---------------------------------------------------------------- grants
select ok(not has_function_privilege('anon', f, 'execute') and not has_function_privilege('authenticated', f, 'execute')
          and has_function_privilege('service_role', f, 'execute'), f || ': the service only')
  from unnest(array['api_private.poll_take(text, text, integer, integer, integer, numeric)']) f;
select ok(p.prosecdef and p.proconfig @> array['search_path=""'], 'poll_take: security definer with an empty search_path')
  from pg_proc p where p.pronamespace = 'api_private'::regnamespace and p.proname = 'poll_take';
select is((select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace, unnest(array['anon', 'authenticated', 'service_role']) r
            where n.nspname = 'private' and c.relname like 'revolut\_poll\_%' and has_table_privilege(r, c.oid, 'select')),
  0::bigint, 'no API role reads the revolut-poll views: they are read through poll_take only');
select tests.as_user(tests.user_id('alice'));
select throws_ok($$ select * from api_private.poll_take('revolut-poll', 'intents', 300, 60, 10) $$, '42501', null,
  'a user may not take: 42501');

-- ---------------------------------------------------------------- items
-- Alice's EUR account: a Revolut intent waiting for the payer (order rp-order-1), one waiting
-- for a minute only, a MoMo intent, and a completed Revolut payment with a pending
-- refund (refund order rp-refund-1).
select tests.open_account('alice', 'EUR') as account \gset
select tests.attached_intent('revolut', :'account', 500, 'EUR', 'rp-order-1') as waiting,
       tests.attached_intent('revolut', :'account', 600, 'EUR', 'rp-order-2') as fresh,
       tests.attached_intent('momo', :'account', 700, 'EUR', 'a7000000-0000-4000-8000-0000000000f1') as momo \gset
select id as paid from tests.credited_payment('revolut', :'account', 1000, 'EUR', 'rp-order-3') \gset
select tests.as_admin(tests.user_id('admin'));
select is((api_private.refund_record_pending(:'paid', 400, 'rp-refund-1', 'asked')).status, 'pending', 'a pending Revolut refund');
select tests.reset_role();
set local session_replication_role = replica;
update public.payment_intents set updated_at = now() - interval '10 minutes' where id in (:'waiting', :'momo');
update public.payment_intents set updated_at = now() - interval '1 minute' where id = :'fresh';
update public.refunds set created_at = now() - interval '10 minutes' where provider_refund_id = 'rp-refund-1';
set local session_replication_role = origin;
select tests.as_service();

-- (filtered: the database may hold other suites' waiting items)
select results_eq($$ select reference_id from api_private.poll_take('revolut-poll', 'intents', 300, 60, 1000, 0.25) where reference_id like 'rp-%' $$,
  $$ values ('rp-order-1') $$, 'the Revolut intent waiting over 5 minutes is taken (not the fresh one, not the MoMo one)');
select ok(tests.lease_seconds('revolut-poll', :'waiting') between 145 and 155,
  'a growing lease: a quarter of the 10 minutes it waited (150 s), above the 60 s floor');
select is((select count(*) from api_private.poll_take('revolut-poll', 'intents', 300, 60, 1000) where reference_id like 'rp-%'), 0::bigint,
  'while leased, a second take never returns it again');
select results_eq($$ select reference_id from api_private.poll_take('momo-poll', 'intents', 300, 60, 1000)
                     where reference_id like 'rp-%' or reference_id = 'a7000000-0000-4000-8000-0000000000f1' $$,
  $$ values ('a7000000-0000-4000-8000-0000000000f1') $$, 'momo-poll takes the MoMo intent only: each job its own items and leases');
select ok(tests.lease_seconds('momo-poll', :'momo') between 55 and 65,
  'without growth the lease is the fixed 60 s, however long the item waited');
select results_eq($$ select reference_id from api_private.poll_take('revolut-poll', 'refunds', 300, 60, 1000) where reference_id like 'rp-%' $$,
  $$ values ('rp-refund-1') $$, 'the pending Revolut refund is taken');
select is((select count(*) from api_private.poll_take('revolut-poll', 'refunds', 300, 60, 1000) where reference_id like 'rp-%'), 0::bigint,
  'while leased, it is not taken again');
select is((select count(*) from api_private.poll_take('momo-poll', 'refunds', 0, 60, 1000) where reference_id like 'rp-%'), 0::bigint,
  'momo-poll never takes a Revolut refund');
select results_eq($$ select reference_id from api_private.poll_take('revolut-poll', 'intents', 30, 60, 1000) where reference_id like 'rp-%' $$,
  $$ values ('rp-order-2') $$, 'a shorter wait: the newer intent too, the leased one still not');

-- ---------------------------------------------------------------- refusals
select throws_ok($$ select * from api_private.poll_take('revolut-poll', 'cashouts', 300, 60, 10) $$, '22023',
  'revolut-poll has no kind cashouts: momo-poll takes intents, cashouts, refunds; revolut-poll takes intents, refunds, events; stripe-poll takes intents, refunds, disputes',
  'a kind the job does not have (a view that exists): 22023');
select throws_ok($$ select * from api_private.poll_take('paypal-poll', 'intents', 300, 60, 10) $$, '22023', null, 'an unknown job: 22023');
select throws_ok($$ select * from api_private.poll_take('revolut-poll', null, 300, 60, 10) $$, '22023', null, 'a null kind: 22023');
select throws_ok($$ select * from api_private.poll_take('revolut-poll', 'refunds', 300, 60, 10, 1.5) $$, '22023',
  'lease_growth must be between 0 and 1', 'a lease growth above 1: 22023');
select throws_ok($$ select * from api_private.poll_take('revolut-poll', 'refunds', 300, 60, 10, null) $$, '22023',
  'lease_growth must be between 0 and 1', 'a null lease growth: 22023');
select throws_ok($$ select * from api_private.poll_take('revolut-poll', 'refunds', 604801, 60, 10) $$, '22023',
  'pending_seconds must be between 0 and 604800', 'waiting over 7 days: 22023');

select * from finish();
rollback;
