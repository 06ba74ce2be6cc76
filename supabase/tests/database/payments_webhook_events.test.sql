-- Store-then-apply for webhooks (webhook_event_begin / webhook_event_finish), the audit of
-- every change of an event, and the forward-only application of WhatsApp statuses.
begin;
select plan(48);

select tests.as_service();
select set_config('app.correlation_id', 'corr-wh-pipeline', true);

-- A first delivery is new, stored as received and scrubbed of credentials.
select id as event, outcome, attempts from public.webhook_event_begin('stripe', 'evt_wh_1', 'payment_intent.succeeded',
  '{"id": "evt_wh_1", "data": {"object": {"id": "pi_1", "client_secret": "pi_1_secret_x", "amount": 5}}}') \gset
select is(:'outcome'::text, 'new', 'a first delivery is new');
select is(:'attempts'::int, 0, 'with no attempt yet');
select results_eq(format($$select status, payload from public.webhook_events where id = %L$$, :'event'),
  $$values ('received', '{"id": "evt_wh_1", "data": {"object": {"id": "pi_1", "amount": 5}}}'::jsonb)$$,
  'it is stored as received, without the client_secret');
select is((select outcome from public.webhook_event_begin('stripe', 'evt_wh_1', 'payment_intent.succeeded', '{}')),
  'retry', 'a delivery of an event that never finished is a retry');

select results_eq(format($$select status, attempts, last_error, processed_at is not null from public.webhook_event_finish(%L, 'processed')$$, :'event'),
  $$values ('processed', 1, null::text, true)$$, 'finishing it records processed, one attempt and the time');
select results_eq($$select id, outcome from public.webhook_event_begin('stripe', 'evt_wh_1', 'payment_intent.succeeded', '{}')$$,
  format($$values (%L::uuid, 'duplicate')$$, :'event'), 'a later delivery is a duplicate of the same event');
select is((select payload -> 'data' -> 'object' ->> 'id' from public.webhook_events where id = :'event'), 'pi_1',
  'and the duplicate did not replace the stored payload');
select is((public.webhook_event_finish(:'event', 'processed')).attempts, 1, 'finishing again with the same outcome changes nothing');
select throws_ok(format($$select public.webhook_event_finish(%L, 'failed', 'x')$$, :'event'), 'WL008', null,
  'a processed event cannot become failed');
select results_eq(
  format($$select operation, actor_id, actor_role, correlation_id, old_record ->> 'status', new_record ->> 'status',
                  new_record ->> 'payload', changed_fields @> array['status', 'attempts', 'processed_at']
             from audit.log where table_name = 'webhook_events' and record_id = %L order by id$$, :'event'),
  $$values ('UPDATE', null::uuid, 'service_role', 'corr-wh-pipeline', 'received', 'processed', '[redacted]', true)$$,
  'the pipeline''s finish is audited once with the service and its correlation id; the insert and the no-op finish are not');
select is((select outcome from public.webhook_event_begin('momo', 'evt_wh_1', 't', '{}')), 'new',
  'event ids are unique per provider only');

-- Ignored events are final too.
select id as ignored from public.webhook_event_begin('stripe', 'evt_wh_ignored', 'customer.created', '{}') \gset
select is((public.webhook_event_finish(:'ignored', 'ignored')).status, 'ignored', 'an event can be ignored');
select is((select outcome from public.webhook_event_begin('stripe', 'evt_wh_ignored', 'customer.created', '{}')), 'duplicate',
  'a redelivered ignored event is a duplicate');

-- Failures: retried until the fifth, then dead until an admin replays it.
select id as failing from public.webhook_event_begin('revolut', 'ord_1:ORDER_COMPLETED', 'ORDER_COMPLETED', '{"order_id": "ord_1"}') \gset
select results_eq(format($$select status, attempts, last_error from public.webhook_event_finish(%L, 'failed', 'WL004: account frozen')$$, :'failing'),
  $$values ('failed', 1, 'WL004: account frozen')$$, 'a failed attempt keeps the error');
select is((select outcome from public.webhook_event_begin('revolut', 'ord_1:ORDER_COMPLETED', 'ORDER_COMPLETED', '{}')), 'retry',
  'a failed event is retried');
select is((public.webhook_event_finish(:'failing', 'failed', 'again')).status, 'failed', 'second failure');
select is((public.webhook_event_finish(:'failing', 'failed', 'again')).status, 'failed', 'third failure');
select is((public.webhook_event_finish(:'failing', 'failed', 'again')).status, 'failed', 'fourth failure');
select results_eq(format($$select status, attempts from public.webhook_event_finish(%L, 'failed', 'fifth')$$, :'failing'),
  $$values ('dead', 5)$$, 'the fifth failure makes the event dead');
select is((select outcome from public.webhook_event_begin('revolut', 'ord_1:ORDER_COMPLETED', 'ORDER_COMPLETED', '{}')), 'dead',
  'a dead event is not applied again by deliveries');
select is((public.webhook_event_finish(:'failing', 'failed', 'sixth')).status, 'dead', 'a failed replay leaves it dead');
select results_eq(format($$select status, attempts, last_error from public.webhook_event_finish(%L, 'processed')$$, :'failing'),
  $$values ('processed', 7, null::text)$$, 'a successful replay processes a dead event');

-- An effect that waits for something else to end (a lost dispute for its payment's pending
-- refunds) is kept failed with its error, its attempts counted: retried, never dead.
select id as waiting from public.webhook_event_begin('stripe', 'evt_wh_waiting', 'charge.dispute.closed', '{}') \gset
select is(array(select (public.webhook_event_finish(:'waiting', 'waiting', 'refunds pending')).status from generate_series(1, 6)),
  array['failed', 'failed', 'failed', 'failed', 'failed', 'failed'], 'a waiting event stays failed past the fifth attempt');
select results_eq(format($$select status, attempts, last_error, processed_at from public.webhook_events where id = %L$$, :'waiting'),
  $$values ('failed', 6, 'refunds pending', null::timestamptz)$$, 'with its attempts and its error');
select is((select outcome from public.webhook_event_begin('stripe', 'evt_wh_waiting', 'charge.dispute.closed', '{}')), 'retry',
  'and is applied again by the next delivery');
select id as dead from public.webhook_event_begin('stripe', 'evt_wh_dead', 'charge.refunded', '{}') \gset
select is((array(select (public.webhook_event_finish(:'dead', 'failed', 'x')).status from generate_series(1, 5)))[5], 'dead',
  'another event is dead after five failures');
select is((public.webhook_event_finish(:'dead', 'waiting', 'refunds pending')).status, 'dead',
  'and stays dead when its replay waits');
select results_eq(
  format($$select string_agg(new_record ->> 'status', ' ' order by id), count(*) filter (where changed_fields @> array['attempts'])
             from audit.log where table_name = 'webhook_events' and record_id = %L$$, :'failing'),
  $$values ('failed failed failed failed dead dead processed', 7::bigint)$$,
  'every attempt is audited, failures and the dead letter included');

-- Bad input is refused and writes nothing.
select throws_ok($$select public.webhook_event_begin('paypal', 'e', 't', '{}')$$, '22023', null, 'an unknown provider is 22023');
select throws_ok($$select public.webhook_event_begin('stripe', '', 't', '{}')$$, '22023', null, 'an empty event id is 22023');
select throws_ok($$select public.webhook_event_begin('stripe', 'e', 't', '"text"')$$, '22023', null, 'a scalar payload is 22023');
select throws_ok($$select public.webhook_event_finish(gen_random_uuid(), 'processed')$$, 'WL007', null, 'an unknown event is WL007');
select throws_ok(format($$select public.webhook_event_finish(%L, 'done')$$, :'event'), '22023', null, 'an unknown outcome is 22023');

-- WhatsApp statuses arrive out of order and only ever move forward.
select is((public.whatsapp_message_status_apply('wamid.A', 'sent', '2026-11-22 10:00:00+00', '255700000001', 'pn_1')).status, 'sent',
  'a status for an unknown outbound message creates it');
select is((public.whatsapp_message_status_apply('wamid.A', 'delivered', '2026-11-22 10:00:05+00')).status, 'delivered', 'sent -> delivered');
select is((public.whatsapp_message_status_apply('wamid.A', 'read', '2026-11-22 10:01:00+00')).status, 'read', 'delivered -> read');
select results_eq($$select status, status_at from public.whatsapp_message_status_apply('wamid.A', 'delivered', '2026-11-22 10:00:05+00')$$,
  $$values ('read', '2026-11-22 10:01:00+00'::timestamptz)$$, 'a late delivered leaves the message read');
select is((public.whatsapp_message_status_apply('wamid.A', 'sent', '2026-11-22 10:00:00+00')).status, 'read', 'a late sent too');
select is((public.whatsapp_message_status_apply('wamid.B', 'sent', now())).status, 'sent', 'another message is sent');
select is((public.whatsapp_message_status_apply('wamid.B', 'read', now())).status, 'read', 'read may arrive without delivered');
select results_eq($$select status, error ->> 'code' from public.whatsapp_message_status_apply('wamid.C', 'failed', now(), null, null, '{"code": 131026}')$$,
  $$values ('failed', '131026')$$, 'a failure keeps its error');
select tests.reset_role();
insert into public.whatsapp_messages (wamid, direction, sender, type, body, status)
  values ('wamid.IN', 'inbound', '255700000002', 'text', 'balance?', 'received');
select tests.as_service();
select throws_ok($$select public.whatsapp_message_status_apply('wamid.IN', 'read', now())$$, '22023', null,
  'an inbound message has no delivery status');
select throws_ok($$select public.whatsapp_message_status_apply('wamid.D', 'seen', now())$$, '22023', null, 'an unknown status is 22023');
select tests.reset_role();

-- What a person wrote is stored at most 4096 characters (WhatsApp's cap), a longer text cut to
-- them with the length it had.
select throws_ok($$insert into public.whatsapp_messages (wamid, direction, body, status)
                   values ('wamid.LONG', 'inbound', repeat('é', 4097), 'received')$$,
  '23514', null, 'a body over 4096 characters is refused by the table');
select lives_ok($$insert into public.whatsapp_messages (wamid, direction, body, body_cut_from, status)
                  values ('wamid.CUT', 'inbound', repeat('é', 4096), 5000, 'received')$$,
  'a body cut to 4096 characters is kept, marked with the length it had');
select throws_ok($$insert into public.whatsapp_messages (wamid, direction, body, body_cut_from, status)
                   values ('wamid.NOTCUT', 'inbound', 'balance', 5000, 'received')$$,
  '23514', null, 'a body marked cut is the whole 4096 characters');

-- Only the service stores events and applies statuses.
select tests.create_user('admin', 'admin');
select tests.as_admin(tests.user_id('admin'));
select throws_ok($$select public.webhook_event_begin('stripe', 'evt_admin', 't', '{}')$$, '42501', null,
  'not even an admin stores webhook events');
select throws_ok(format($$select public.webhook_event_finish(%L, 'ignored')$$, :'ignored'), '42501', null,
  'nor finishes them');
select tests.reset_role();

select * from finish();
rollback;
