-- The webhooks' fast path: webhook_ingest_payment_success stores, applies and finishes a
-- payment success in one call with the pipeline's semantics (duplicates answered without
-- applying, a failing effect rolled back alone and recorded, dead after five attempts), and
-- payment_success_apply, the effect it shares with the step-by-step pipeline and replays.
begin;
select plan(40);

create function pg_temp.balance(p_account uuid) returns bigint language sql as $$
  select public.wallet_balance(p_account) $$;
create function pg_temp.ingest(p_event_id text, p_pi text, p_hint text, p_amount bigint)
returns table (outcome text, attempts integer, last_error text) language sql as $$
  select * from public.webhook_ingest_payment_success('stripe', p_event_id, 'payment_intent.succeeded',
    jsonb_build_object('id', p_event_id, 'data', jsonb_build_object('object', jsonb_build_object('id', p_pi))),
    p_pi, p_hint, p_amount, 'USD', jsonb_build_object('id', p_pi),
    'corr-fast-path', '203.0.113.9', '{"user-agent": "Stripe/1.0"}') $$;
grant execute on function pg_temp.balance(uuid), pg_temp.ingest(text, text, text, bigint) to service_role;

select tests.create_user('payer'), tests.create_user('admin', 'admin');
select tests.as_user(tests.user_id('payer'));
select id as account from public.wallet_open_account('USD') \gset
select id as by_ref from public.payment_intent_create('stripe', :'account', 500, 'USD', 'fast-1') \gset
select id as by_hint from public.payment_intent_create('stripe', :'account', 700, 'USD', 'fast-2') \gset
select id as momo_intent from public.payment_intent_create('momo', :'account', 900, 'USD', 'fast-3') \gset
select tests.as_service();
select public.payment_intent_attach(:'by_ref', 'pi_fast_1');

-- A first delivery: stored, credited and finished by the one call.
select results_eq($$select * from pg_temp.ingest('evt_fast_1', 'pi_fast_1', null, 500)$$,
  $$values ('processed', 1, null::text)$$, 'a payment success is processed in one call, first attempt');
select is(pg_temp.balance(:'account'), 500::bigint, 'the intent found by the provider reference is credited');
select results_eq($$select status, attempts, processed_at is not null from public.webhook_events where event_id = 'evt_fast_1'$$,
  $$values ('processed', 1, true)$$, 'the event is stored processed');
select results_eq($$select p.status, p.intent_id, i.status from public.payments p join public.payment_intents i on i.id = p.intent_id
                    where p.provider_payment_id = 'pi_fast_1'$$,
  format($$values ('succeeded', %L::uuid, 'succeeded')$$, :'by_ref'), 'the payment is stored and the intent succeeded');
select results_eq(
  $$select l.actor_role, l.correlation_id, host(l.ip), l.user_agent, l.new_record ->> 'status' from audit.log l
      join public.webhook_events e on e.id::text = l.record_id
     where l.table_name = 'webhook_events' and e.event_id = 'evt_fast_1'$$,
  $$values ('service_role', 'corr-fast-path', '203.0.113.9', 'Stripe/1.0', 'processed')$$,
  'its outcome is audited with the service and the request context given as arguments');
select is((select count(*)::int from audit.log where table_name = 'payments' and correlation_id = 'corr-fast-path'), 1,
  'the payment''s audit row carries the correlation id too');
select results_eq(
  $$select l.operation from audit.log l join public.webhook_events e on e.id::text = l.record_id
     where l.table_name = 'webhook_events' and e.event_id = 'evt_fast_1'$$,
  $$values ('INSERT')$$, 'a first delivery is stored with its outcome in one write, audited as that insert');

-- Duplicates and a second event for the same payment.
select results_eq($$select * from pg_temp.ingest('evt_fast_1', 'pi_fast_1', null, 500)$$,
  $$values ('duplicate', null::integer, null::text)$$, 'a redelivery is a duplicate');
select results_eq($$select * from pg_temp.ingest('evt_fast_1b', 'pi_fast_1', null, 500)$$,
  $$values ('ignored', 1, null::text)$$, 'another event for a recorded payment (a checkout session) is ignored');
select is(pg_temp.balance(:'account'), 500::bigint, 'neither credits again');
select is((select count(*)::int from audit.log l join public.webhook_events e on e.id::text = l.record_id
            where l.table_name = 'webhook_events' and e.event_id = 'evt_fast_1'), 1, 'a duplicate changes nothing, so audits nothing');
select is((select count(*)::int from public.payments where provider_payment_id = 'pi_fast_1'), 1, 'one payment');

-- The intent we gave the provider, when the reference is not attached yet.
select is((select outcome from pg_temp.ingest('evt_fast_2', 'pi_fast_2', :'by_hint', 700)), 'processed',
  'an intent named by its id is found');
select is(pg_temp.balance(:'account'), 1200::bigint, 'and credited');
select is((select outcome from pg_temp.ingest('evt_fast_3', 'pi_fast_3', :'momo_intent', 900)), 'processed',
  'an intent of another provider is not that payment''s intent');
select results_eq($$select status, review_reason, intent_id from public.payments where provider_payment_id = 'pi_fast_3'$$,
  $$values ('needs_review', 'unknown_intent', null::uuid)$$, 'the payment waits for review without a credit');
select is((select outcome from pg_temp.ingest('evt_fast_4', 'pi_fast_4', 'not-a-uuid', 900)), 'processed',
  'a hint that is no intent id stores the payment for review');
select is(pg_temp.balance(:'account'), 1200::bigint, 'neither of them credits');

-- A failing effect is rolled back alone; the event keeps the failure; the fifth is dead.
select results_eq($$select * from pg_temp.ingest('evt_fast_bad', 'pi_fast_bad', null, 0)$$,
  $$values ('failed', 1, 'WL006: invalid amount 0')$$, 'a failing effect leaves the event failed with its SQLSTATE and message');
select results_eq($$select status, attempts from public.webhook_events where event_id = 'evt_fast_bad'$$,
  $$values ('failed', 1)$$, 'the event is stored failed');
select is((select count(*)::int from public.payments where provider_payment_id = 'pi_fast_bad'), 0, 'and nothing of its effect');
select is((select outcome from pg_temp.ingest('evt_fast_bad', 'pi_fast_bad', null, 0)), 'failed', 'a retry fails again');
select is((select outcome from pg_temp.ingest('evt_fast_bad', 'pi_fast_bad', null, 0)), 'failed', 'third attempt');
select is((select outcome from pg_temp.ingest('evt_fast_bad', 'pi_fast_bad', null, 0)), 'failed', 'fourth attempt');
select results_eq($$select outcome, attempts from pg_temp.ingest('evt_fast_bad', 'pi_fast_bad', null, 0)$$,
  $$values ('dead', 5)$$, 'the fifth failed attempt makes the event dead');
select results_eq($$select * from pg_temp.ingest('evt_fast_bad', 'pi_fast_bad', null, 0)$$,
  $$values ('dead', null::integer, null::text)$$, 'a dead event is answered without applying it');
select results_eq(
  $$select l.operation, l.correlation_id, l.new_record ->> 'status', l.new_record ->> 'last_error'
      from audit.log l join public.webhook_events e on e.id::text = l.record_id
     where l.table_name = 'webhook_events' and e.event_id = 'evt_fast_bad' order by l.id$$,
  $$values ('INSERT', 'corr-fast-path', 'failed', 'WL006: invalid amount 0'),
           ('UPDATE', 'corr-fast-path', 'failed', 'WL006: invalid amount 0'), ('UPDATE', 'corr-fast-path', 'failed', 'WL006: invalid amount 0'),
           ('UPDATE', 'corr-fast-path', 'failed', 'WL006: invalid amount 0'), ('UPDATE', 'corr-fast-path', 'dead', 'WL006: invalid amount 0')$$,
  'the first failure is stored and audited with the insert, each retry''s with its update');

-- An event that cannot be stored raises and writes nothing.
select throws_ok($$select * from pg_temp.ingest(repeat('e', 256), 'pi_fast_5', null, 500)$$, '22023', null,
  'an event id over 255 characters is 22023');
select is((select count(*)::int from public.payments where provider_payment_id = 'pi_fast_5'), 0, 'and nothing is written');

-- Sizes of arguments (docs/LEDGER.md): the intent hint and the payment id at and over their bounds.
select lives_ok($$select public.payment_success_apply('stripe', 'pi_bound_1', repeat('h', 255), 900, 'USD', '{}')$$,
  'an intent hint of 255 characters is accepted');
select throws_ok($$select public.payment_success_apply('stripe', 'pi_bound_2', repeat('h', 256), 900, 'USD', '{}')$$,
  '22023', null, 'an intent hint of 256 characters is 22023');
select throws_ok($$select public.payment_success_apply('stripe', repeat('p', 201), null, 900, 'USD', '{}')$$,
  '22023', null, 'a provider payment id over 200 characters is 22023');
select throws_ok($$select public.payment_success_apply('stripe', 'pi_bound_3', null, 900, 'USD', jsonb_build_object('x', repeat('r', 8388600)))$$,
  '22023', null, 'a raw object over the document bound is 22023');
select is((select count(*)::int from public.payments where provider_payment_id in ('pi_bound_2', 'pi_bound_3')), 0,
  'refused calls write nothing');
select throws_ok($$select public.webhook_ingest_payment_success('stripe', 'evt_bound_1', 't', '{}', 'pi_bound_4', null, 900, 'USD', '{}',
                                                                repeat('c', 256), null, '{}')$$,
  '22023', null, 'a correlation id over 255 characters is 22023');
select throws_ok($$select public.webhook_ingest_payment_success('stripe', 'evt_bound_2', 't', '{}', 'pi_bound_4', null, 900, 'USD', '{}',
                                                                'corr', repeat('a', 256), '{}')$$,
  '22023', null, 'a client address over 255 characters is 22023');
select throws_ok($$select public.webhook_ingest_payment_success('stripe', 'evt_bound_3', 't', '{}', 'pi_bound_4', null, 900, 'USD', '{}',
                                                                'corr', null, '[]')$$,
  '22023', 'p_headers must be a JSON object', 'headers that are not a JSON object are 22023');
select is((select count(*)::int from public.webhook_events where event_id like 'evt_bound_%'), 0, 'and store no event');

-- Only the service calls them.
select tests.as_admin(tests.user_id('admin'));
select throws_ok($$select * from public.webhook_ingest_payment_success('stripe', 'evt_fast_admin', 'payment_intent.succeeded', '{}',
                                      'pi_fast_admin', null, 500, 'USD', '{}', 'corr', null, '{}')$$, '42501', null,
  'an admin cannot ingest an event');
select throws_ok($$select public.payment_success_apply('stripe', 'pi_fast_admin', null, 500, 'USD', '{}')$$, '42501', null,
  'nor apply a payment success');

select * from finish();
rollback;
