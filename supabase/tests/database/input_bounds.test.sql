-- Sizes of arguments (docs/LEDGER.md, "Sizes of arguments"): every free-text and JSON
-- argument of every function an API role can call has a bound. At the bound the call is
-- accepted and writes; one character (or byte) more is 22023 naming the argument and its
-- bound, and the table the call writes to does not change.
begin;
select plan(162);

select tests.create_users('{user, payee}', admins => '{admin}');
insert into public.wallet_accounts (id, owner_id, kind, currency) values
  ('b6000000-0000-4000-8000-00000000000a', tests.user_id('user'), 'user', 'USD'),
  ('b6000000-0000-4000-8000-00000000000b', tests.user_id('payee'), 'user', 'USD'),
  ('b6000000-0000-4000-8000-0000000000ac', tests.user_id('admin'), 'user', 'USD');
select public.wallet_deposit('b6000000-0000-4000-8000-00000000000a', 1000000, 'USD', 'stripe', 'bounds-fund');

-- Four assertions for one argument of one function: the call at the bound is accepted and
-- grows p_written (a count of the rows such a call writes, read as the owner); the call one
-- over is 22023 with p_message and leaves p_written as it was.
create function pg_temp.bound(p_what text, p_caller text, p_at text, p_over text, p_message text, p_written text)
returns setof text
language plpgsql
as $$
declare
  v_before bigint;
  v_after_at bigint;
  v_after_over bigint;
begin
  execute p_written into v_before;
  perform tests.as_caller(p_caller);
  return next lives_ok(p_at, p_what || ' at its bound is accepted');
  perform tests.reset_role();
  execute p_written into v_after_at;
  return next cmp_ok(v_after_at, '>', v_before, p_what || ' at its bound is written');
  perform tests.as_caller(p_caller);
  return next throws_ok(p_over, '22023', p_message, p_what || ' one over its bound is 22023');
  perform tests.reset_role();
  execute p_written into v_after_over;
  return next is(v_after_over, v_after_at, p_what || ' one over its bound writes nothing');
end;
$$;

-- The bounds themselves, written down once.
select results_eq(
  $$ select k, private.input_limit(k) from unnest(array['identifier', 'provider_id', 'description', 'reason', 'path', 'metadata', 'document']) k $$,
  $$ values ('identifier', 255), ('provider_id', 200), ('description', 500), ('reason', 1000), ('path', 2048), ('metadata', 4096), ('document', 8388608) $$,
  'the bounds: identifiers 255, provider ids 200, descriptions 500, reasons 1000, paths 2048 characters; metadata 4 KiB, documents 8 MiB of JSON');
-- JSON sizes are bytes of JSON text: {"x": "<n characters>"} is n + 9 bytes.
select is(octet_length(jsonb_build_object('x', repeat('a', 4087))::text), 4096, 'the metadata at the bound below is exactly 4096 bytes');
-- Bytes, not characters: 2053 characters of which 2044 take two bytes are 4097 bytes.
select throws_ok($$ select public.wallet_deposit('b6000000-0000-4000-8000-00000000000a', 1, 'USD', 'stripe', 'b-dep-mb', jsonb_build_object('x', repeat('é', 2044))) $$,
  '22023', 'p_metadata must be at most 4096 bytes of JSON (key b-dep-mb)', 'metadata is measured in bytes of JSON, in the ledger''s validation');
select throws_ok($$ select private.require_within(jsonb_build_object('x', repeat('é', 2044)), 'metadata', 'p_x') $$,
  '22023', 'p_x must be at most 4096 bytes of JSON', 'and in private.require_within');
select lives_ok($$ select private.require_within(repeat('é', 500), 'description', 'p_x') $$,
  'text is measured in characters: 500 two-byte characters are within 500');

-- ---------------------------------------------------------------- wallet_transfer
select * from pg_temp.bound('wallet_transfer p_description', 'user',
  $$ select public.wallet_transfer('b6000000-0000-4000-8000-00000000000a', 'b6000000-0000-4000-8000-00000000000b', 1, 'USD', 'b-desc-1', repeat('d', 500)) $$,
  $$ select public.wallet_transfer('b6000000-0000-4000-8000-00000000000a', 'b6000000-0000-4000-8000-00000000000b', 1, 'USD', 'b-desc-2', repeat('d', 501)) $$,
  'p_description must be at most 500 characters (key b-desc-2)',
  $$ select count(*) from public.wallet_transactions $$);
select * from pg_temp.bound('wallet_transfer p_metadata', 'user',
  $$ select public.wallet_transfer('b6000000-0000-4000-8000-00000000000a', 'b6000000-0000-4000-8000-00000000000b', 1, 'USD', 'b-meta-1', null, jsonb_build_object('x', repeat('m', 4087))) $$,
  $$ select public.wallet_transfer('b6000000-0000-4000-8000-00000000000a', 'b6000000-0000-4000-8000-00000000000b', 1, 'USD', 'b-meta-2', null, jsonb_build_object('x', repeat('m', 4088))) $$,
  'p_metadata must be at most 4096 bytes of JSON (key b-meta-2)',
  $$ select count(*) from public.wallet_transactions $$);
select * from pg_temp.bound('wallet_transfer p_idempotency_key', 'user',
  $$ select public.wallet_transfer('b6000000-0000-4000-8000-00000000000a', 'b6000000-0000-4000-8000-00000000000b', 1, 'USD', repeat('k', 255)) $$,
  $$ select public.wallet_transfer('b6000000-0000-4000-8000-00000000000a', 'b6000000-0000-4000-8000-00000000000b', 1, 'USD', repeat('k', 256)) $$,
  'idempotency key is required (1 to 255 characters), item 1',
  $$ select count(*) from public.wallet_transactions $$);

-- ---------------------------------------------------------------- wallet_transfer_batch
select * from pg_temp.bound('wallet_transfer_batch description', 'service',
  $$ select count(*) from public.wallet_transfer_batch(jsonb_build_array(jsonb_build_object('from', 'b6000000-0000-4000-8000-00000000000a',
       'to', 'b6000000-0000-4000-8000-00000000000b', 'amount', 1, 'currency', 'USD', 'idempotency_key', 'b-batch-1', 'description', repeat('d', 500)))) $$,
  $$ select count(*) from public.wallet_transfer_batch(jsonb_build_array(jsonb_build_object('from', 'b6000000-0000-4000-8000-00000000000a',
       'to', 'b6000000-0000-4000-8000-00000000000b', 'amount', 1, 'currency', 'USD', 'idempotency_key', 'b-batch-2', 'description', repeat('d', 501)))) $$,
  'p_description must be at most 500 characters (key b-batch-2)',
  $$ select count(*) from public.wallet_transactions $$);
select * from pg_temp.bound('wallet_transfer_batch metadata', 'service',
  $$ select count(*) from public.wallet_transfer_batch(jsonb_build_array(jsonb_build_object('from', 'b6000000-0000-4000-8000-00000000000a',
       'to', 'b6000000-0000-4000-8000-00000000000b', 'amount', 1, 'currency', 'USD', 'idempotency_key', 'b-batch-3', 'metadata', jsonb_build_object('x', repeat('m', 4087))))) $$,
  $$ select count(*) from public.wallet_transfer_batch(jsonb_build_array(jsonb_build_object('from', 'b6000000-0000-4000-8000-00000000000a',
       'to', 'b6000000-0000-4000-8000-00000000000b', 'amount', 1, 'currency', 'USD', 'idempotency_key', 'b-batch-4', 'metadata', jsonb_build_object('x', repeat('m', 4088))))) $$,
  'p_metadata must be at most 4096 bytes of JSON (key b-batch-4)',
  $$ select count(*) from public.wallet_transactions $$);

-- ---------------------------------------------------------------- wallet_deposit, wallet_withdraw, wallet_hold
select * from pg_temp.bound('wallet_deposit p_metadata', 'service',
  $$ select public.wallet_deposit('b6000000-0000-4000-8000-00000000000a', 1, 'USD', 'stripe', 'b-dep-1', jsonb_build_object('x', repeat('m', 4087))) $$,
  $$ select public.wallet_deposit('b6000000-0000-4000-8000-00000000000a', 1, 'USD', 'stripe', 'b-dep-2', jsonb_build_object('x', repeat('m', 4088))) $$,
  'p_metadata must be at most 4096 bytes of JSON (key b-dep-2)',
  $$ select count(*) from public.wallet_transactions $$);
select * from pg_temp.bound('wallet_deposit p_idempotency_key', 'service',
  $$ select public.wallet_deposit('b6000000-0000-4000-8000-00000000000a', 1, 'USD', 'stripe', repeat('q', 255)) $$,
  $$ select public.wallet_deposit('b6000000-0000-4000-8000-00000000000a', 1, 'USD', 'stripe', repeat('q', 256)) $$,
  'idempotency key is required (1 to 255 characters), item 1',
  $$ select count(*) from public.wallet_transactions $$);
select * from pg_temp.bound('wallet_withdraw p_metadata', 'service',
  $$ select public.wallet_withdraw('b6000000-0000-4000-8000-00000000000a', 1, 'USD', 'momo', 'b-wd-1', jsonb_build_object('x', repeat('m', 4087))) $$,
  $$ select public.wallet_withdraw('b6000000-0000-4000-8000-00000000000a', 1, 'USD', 'momo', 'b-wd-2', jsonb_build_object('x', repeat('m', 4088))) $$,
  'p_metadata must be at most 4096 bytes of JSON (key b-wd-2)',
  $$ select count(*) from public.wallet_transactions $$);
select * from pg_temp.bound('wallet_hold p_metadata', 'service',
  $$ select public.wallet_hold('b6000000-0000-4000-8000-00000000000a', 1, 'USD', 'b-hold-1', jsonb_build_object('x', repeat('m', 4087))) $$,
  $$ select public.wallet_hold('b6000000-0000-4000-8000-00000000000a', 1, 'USD', 'b-hold-2', jsonb_build_object('x', repeat('m', 4088))) $$,
  'p_metadata must be at most 4096 bytes of JSON (key b-hold-2)',
  $$ select count(*) from public.wallet_transactions $$);

-- ---------------------------------------------------------------- wallet_capture
select public.wallet_hold('b6000000-0000-4000-8000-00000000000a', 5, 'USD', 'b-cap-hold-1');
select public.wallet_hold('b6000000-0000-4000-8000-00000000000a', 5, 'USD', 'b-cap-hold-2');
select * from pg_temp.bound('wallet_capture p_idempotency_key', 'service',
  $$ select public.wallet_capture((select id from public.wallet_transactions where idempotency_key = 'b-cap-hold-1'),
                                  'b6000000-0000-4000-8000-00000000000b', null, repeat('c', 255)) $$,
  $$ select public.wallet_capture((select id from public.wallet_transactions where idempotency_key = 'b-cap-hold-2'),
                                  'b6000000-0000-4000-8000-00000000000b', null, repeat('c', 256)) $$,
  'p_idempotency_key must be at most 255 characters',
  $$ select count(*) from public.wallet_entries $$);

-- A blank capture key would name one capture like any other, so that the next capture given
-- it (a caller's empty default) is refused with WL005: it is refused itself, writing nothing.
select throws_ok($$ select public.wallet_capture((select id from public.wallet_transactions where idempotency_key = 'b-cap-hold-2'),
                                                 'b6000000-0000-4000-8000-00000000000b', null, '  ') $$,
  '22023', 'p_idempotency_key must not be blank', 'a blank capture key: 22023');
select is((select status from public.wallet_transactions where idempotency_key = 'b-cap-hold-2'), 'pending',
  'a capture refused for its blank key leaves the hold pending');

-- ---------------------------------------------------------------- wallet_reverse
select * from pg_temp.bound('wallet_reverse p_reason', 'admin',
  $$ select public.wallet_reverse((select id from public.wallet_transactions where idempotency_key = 'b-desc-1'), 'b-rev-1', null, repeat('r', 1000)) $$,
  $$ select public.wallet_reverse((select id from public.wallet_transactions where idempotency_key = 'b-meta-1'), 'b-rev-2', null, repeat('r', 1001)) $$,
  'p_reason must be at most 1000 characters',
  $$ select count(*) from public.wallet_transactions $$);
select * from pg_temp.bound('wallet_reverse p_idempotency_key', 'service',
  $$ select public.wallet_reverse((select id from public.wallet_transactions where idempotency_key = 'b-meta-1'), repeat('v', 255)) $$,
  $$ select public.wallet_reverse((select id from public.wallet_transactions where idempotency_key = 'b-batch-1'), repeat('v', 256)) $$,
  'p_idempotency_key must be at most 255 characters',
  $$ select count(*) from public.wallet_transactions $$);

-- ---------------------------------------------------------------- wallet_set_status
select * from pg_temp.bound('wallet_set_status p_reason', 'admin',
  $$ select public.wallet_set_status('b6000000-0000-4000-8000-00000000000b', 'frozen', repeat('s', 1000)) $$,
  $$ select public.wallet_set_status('b6000000-0000-4000-8000-0000000000ac', 'frozen', repeat('s', 1001)) $$,
  'p_reason must be at most 1000 characters',
  $$ select count(*) from public.wallet_status_reasons $$);
select is((select status from public.wallet_accounts where id = 'b6000000-0000-4000-8000-0000000000ac'), 'active',
  'the account whose status change was refused is still active');

-- ---------------------------------------------------------------- wallet_adjust
select * from pg_temp.bound('wallet_adjust p_reason', 'admin',
  $$ select public.wallet_adjust('b6000000-0000-4000-8000-00000000000a', 1, 'credit', repeat('a', 1000), 'b-adj-1') $$,
  $$ select public.wallet_adjust('b6000000-0000-4000-8000-00000000000a', 1, 'credit', repeat('a', 1001), 'b-adj-2') $$,
  'p_reason must be at most 1000 characters',
  $$ select count(*) from public.wallet_transactions $$);
select * from pg_temp.bound('wallet_adjust p_idempotency_key', 'admin',
  $$ select public.wallet_adjust('b6000000-0000-4000-8000-00000000000a', 1, 'credit', 'bounds', repeat('j', 255)) $$,
  $$ select public.wallet_adjust('b6000000-0000-4000-8000-00000000000a', 1, 'credit', 'bounds', repeat('j', 256)) $$,
  'p_idempotency_key must be at most 255 characters',
  $$ select count(*) from public.wallet_transactions $$);

-- ---------------------------------------------------------------- payment functions
select * from pg_temp.bound('payment_intent_create p_idempotency_key', 'user',
  $$ select public.payment_intent_create('stripe', 'b6000000-0000-4000-8000-00000000000a', 100, 'USD', repeat('i', 255)) $$,
  $$ select public.payment_intent_create('stripe', 'b6000000-0000-4000-8000-00000000000a', 100, 'USD', repeat('i', 256)) $$,
  'idempotency key must be 1 to 255 characters',
  $$ select count(*) from public.payment_intents $$);
select id as intent_1 from public.payment_intent_create('stripe', 'b6000000-0000-4000-8000-00000000000a', 100, 'USD', 'b-intent-1') \gset
select id as intent_2 from public.payment_intent_create('stripe', 'b6000000-0000-4000-8000-00000000000a', 100, 'USD', 'b-intent-2') \gset
select id as intent_3 from public.payment_intent_create('stripe', 'b6000000-0000-4000-8000-00000000000a', 100, 'USD', 'b-intent-3') \gset
select * from pg_temp.bound('payment_intent_attach p_provider_ref', 'service',
  format($$ select public.payment_intent_attach(%L, repeat('p', 200)) $$, :'intent_1'),
  format($$ select public.payment_intent_attach(%L, repeat('p', 201)) $$, :'intent_2'),
  'provider reference must be 1 to 200 characters',
  $$ select count(*) from public.payment_intents where provider_ref is not null $$);
select * from pg_temp.bound('payment_record_success p_provider_payment_id', 'service',
  format($$ select public.payment_record_success('stripe', repeat('y', 200), %L, 100, 'USD') $$, :'intent_1'),
  format($$ select public.payment_record_success('stripe', repeat('y', 201), %L, 100, 'USD') $$, :'intent_2'),
  'provider payment id must be 1 to 200 characters',
  $$ select count(*) from public.payments $$);
select * from pg_temp.bound('payment_record_success p_raw', 'service',
  format($$ select public.payment_record_success('stripe', 'pi_bounds_raw_1', %L, 100, 'USD', 0, jsonb_build_object('x', repeat('w', 8388599))) $$, :'intent_2'),
  format($$ select public.payment_record_success('stripe', 'pi_bounds_raw_2', %L, 100, 'USD', 0, jsonb_build_object('x', repeat('w', 8388600))) $$, :'intent_3'),
  'p_raw must be at most 8388608 bytes of JSON',
  $$ select count(*) from public.payments $$);
select id as intent_4 from public.payment_intent_create('stripe', 'b6000000-0000-4000-8000-00000000000a', 100, 'USD', 'b-intent-4') \gset
select * from pg_temp.bound('payment_record_failure p_reason', 'service',
  format($$ select public.payment_record_failure(%L, repeat('f', 1000)) $$, :'intent_3'),
  format($$ select public.payment_record_failure(%L, repeat('f', 1001)) $$, :'intent_4'),
  'p_reason must be at most 1000 characters',
  $$ select count(*) from public.payment_intents where status = 'failed' $$);
select id as payment from public.payments where provider_payment_id = 'pi_bounds_raw_1' \gset
select * from pg_temp.bound('refund_record p_reason', 'service',
  format($$ select public.refund_record(%L, 1, 're_bounds_1', repeat('r', 1000)) $$, :'payment'),
  format($$ select public.refund_record(%L, 1, 're_bounds_2', repeat('r', 1001)) $$, :'payment'),
  'p_reason must be at most 1000 characters',
  $$ select count(*) from public.refunds $$);
select * from pg_temp.bound('refund_record p_provider_refund_id', 'service',
  format($$ select public.refund_record(%L, 1, repeat('z', 200)) $$, :'payment'),
  format($$ select public.refund_record(%L, 1, repeat('z', 201)) $$, :'payment'),
  'provider refund id must be 1 to 200 characters',
  $$ select count(*) from public.refunds $$);

select * from pg_temp.bound('refund_record_failure p_reason', 'service',
  format($$ select public.refund_record_failure(%L, 're_fail_bounds_1', 1, 'failed', repeat('r', 1000)) $$, :'payment'),
  format($$ select public.refund_record_failure(%L, 're_fail_bounds_2', 1, 'failed', repeat('r', 1001)) $$, :'payment'),
  'p_reason must be at most 1000 characters',
  $$ select count(*) from public.refunds $$);
select * from pg_temp.bound('refund_record_failure p_provider_refund_id', 'service',
  format($$ select public.refund_record_failure(%L, repeat('y', 200), 1) $$, :'payment'),
  format($$ select public.refund_record_failure(%L, repeat('y', 201), 1) $$, :'payment'),
  'provider refund id must be 1 to 200 characters',
  $$ select count(*) from public.refunds $$);

select * from pg_temp.bound('refund_record_pending p_reason', 'admin',
  format($$ select api_private.refund_record_pending(%L, 1, 're_pending_bounds_1', repeat('r', 1000)) $$, :'payment'),
  format($$ select api_private.refund_record_pending(%L, 1, 're_pending_bounds_2', repeat('r', 1001)) $$, :'payment'),
  'p_reason must be at most 1000 characters',
  $$ select count(*) from public.refunds $$);
select * from pg_temp.bound('refund_record_pending p_provider_refund_id', 'admin',
  format($$ select api_private.refund_record_pending(%L, 1, repeat('q', 200), null) $$, :'payment'),
  format($$ select api_private.refund_record_pending(%L, 1, repeat('q', 201), null) $$, :'payment'),
  'provider refund id must be 1 to 200 characters',
  $$ select count(*) from public.refunds $$);
select id as review_1 from public.payment_record_success('stripe', 'pi_bounds_review_1', null, 100, 'USD') \gset
select id as review_2 from public.payment_record_success('stripe', 'pi_bounds_review_2', null, 100, 'USD') \gset
select * from pg_temp.bound('payment_resolve p_reason', 'admin',
  format($$ select api_private.payment_resolve(%L, 'reject', repeat('r', 1000)) $$, :'review_1'),
  format($$ select api_private.payment_resolve(%L, 'reject', repeat('r', 1001)) $$, :'review_2'),
  'p_reason must be at most 1000 characters',
  $$ select count(*) from public.payments where status = 'rejected' $$);

-- ---------------------------------------------------------------- webhook functions
select * from pg_temp.bound('webhook_event_begin p_payload', 'service',
  $$ select public.webhook_event_begin('stripe', 'evt_bounds_1', 'charge.refunded', jsonb_build_object('x', repeat('e', 8388599))) $$,
  $$ select public.webhook_event_begin('stripe', 'evt_bounds_2', 'charge.refunded', jsonb_build_object('x', repeat('e', 8388600))) $$,
  'p_payload must be at most 8388608 bytes of JSON',
  $$ select count(*) from public.webhook_events $$);
select * from pg_temp.bound('webhook_event_begin p_event_id', 'service',
  $$ select public.webhook_event_begin('stripe', repeat('e', 255), 'charge.refunded', '{}') $$,
  $$ select public.webhook_event_begin('stripe', repeat('e', 256), 'charge.refunded', '{}') $$,
  'webhook event id and type must be 1 to 255 characters',
  $$ select count(*) from public.webhook_events $$);
select * from pg_temp.bound('webhook_event_begin p_type', 'service',
  $$ select public.webhook_event_begin('stripe', 'evt_bounds_3', repeat('t', 255), '{}') $$,
  $$ select public.webhook_event_begin('stripe', 'evt_bounds_4', repeat('t', 256), '{}') $$,
  'webhook event id and type must be 1 to 255 characters',
  $$ select count(*) from public.webhook_events $$);
select * from pg_temp.bound('whatsapp_message_status_apply p_wamid', 'service',
  $$ select public.whatsapp_message_status_apply(repeat('w', 255), 'sent', now()) $$,
  $$ select public.whatsapp_message_status_apply(repeat('w', 256), 'sent', now()) $$,
  'wamid must be 1 to 255 characters',
  $$ select count(*) from public.whatsapp_messages $$);
select * from pg_temp.bound('whatsapp_message_status_apply p_recipient', 'service',
  $$ select public.whatsapp_message_status_apply('wamid.bounds.1', 'sent', now(), repeat('1', 255)) $$,
  $$ select public.whatsapp_message_status_apply('wamid.bounds.2', 'sent', now(), repeat('1', 256)) $$,
  'p_recipient must be at most 255 characters',
  $$ select count(*) from public.whatsapp_messages $$);
select * from pg_temp.bound('whatsapp_message_status_apply p_phone_number_id', 'service',
  $$ select public.whatsapp_message_status_apply('wamid.bounds.3', 'sent', now(), null, repeat('2', 255)) $$,
  $$ select public.whatsapp_message_status_apply('wamid.bounds.4', 'sent', now(), null, repeat('2', 256)) $$,
  'p_phone_number_id must be at most 255 characters',
  $$ select count(*) from public.whatsapp_messages $$);
select * from pg_temp.bound('whatsapp_message_status_apply p_error', 'service',
  $$ select public.whatsapp_message_status_apply('wamid.bounds.5', 'failed', now(), null, null, jsonb_build_object('x', repeat('o', 8388599))) $$,
  $$ select public.whatsapp_message_status_apply('wamid.bounds.6', 'failed', now(), null, null, jsonb_build_object('x', repeat('o', 8388600))) $$,
  'p_error must be at most 8388608 bytes of JSON',
  $$ select count(*) from public.whatsapp_messages $$);

-- ---------------------------------------------------------------- admin API
select * from pg_temp.bound('api_private.request_claim p_key', 'admin',
  $$ select api_private.request_claim(repeat('k', 255), repeat('a', 64), 'POST', '/admin/x') $$,
  $$ select api_private.request_claim(repeat('k', 256), repeat('a', 64), 'POST', '/admin/x') $$,
  'idempotency key is required (1 to 255 characters)',
  $$ select count(*) from private.api_requests $$);
select * from pg_temp.bound('api_private.request_claim p_path', 'admin',
  $$ select api_private.request_claim('b-claim-1', repeat('a', 64), 'POST', '/' || repeat('p', 2047)) $$,
  $$ select api_private.request_claim('b-claim-2', repeat('a', 64), 'POST', '/' || repeat('p', 2048)) $$,
  'p_path must be at most 2048 characters',
  $$ select count(*) from private.api_requests $$);
select tests.as_admin(tests.user_id('admin'));
select throws_ok($$ select api_private.request_claim('b-claim-3', repeat('A', 64), 'POST', '/admin/x') $$,
  '22023', 'p_request_hash must be 64 lower-case hex digits (SHA-256)', 'api_private.request_claim: a request hash that is no SHA-256 is 22023');
select throws_ok($$ select api_private.request_claim('b-claim-3', repeat('a', 64), 'GET', '/admin/x') $$,
  '22023', 'p_method must be one of POST, PUT, PATCH, DELETE', 'api_private.request_claim: a method that changes nothing is 22023');
select api_private.request_claim('b-claim-4', repeat('a', 64), 'POST', '/admin/x');
select api_private.request_claim('b-claim-5', repeat('a', 64), 'POST', '/admin/x');
select tests.reset_role();
select * from pg_temp.bound('api_private.request_complete p_body', 'admin',
  $$ select api_private.request_complete('b-claim-4', 200, jsonb_build_object('x', repeat('b', 8388599))) $$,
  $$ select api_private.request_complete('b-claim-5', 200, jsonb_build_object('x', repeat('b', 8388600))) $$,
  'p_body must be at most 8388608 bytes of JSON',
  $$ select count(*) from private.api_requests where response_status is not null $$);
-- The audit reader writes nothing: its filters are bounded all the same.
select tests.as_admin(tests.user_id('admin'));
select lives_ok($$ select count(*) from api_private.audit_log(repeat('t', 255)) $$, 'api_private.audit_log p_table at its bound is accepted');
select throws_ok($$ select count(*) from api_private.audit_log(repeat('t', 256)) $$, '22023', 'p_table must be at most 255 characters',
  'api_private.audit_log p_table one over its bound is 22023');
select lives_ok($$ select count(*) from api_private.audit_log('wallet_accounts', repeat('r', 255)) $$, 'api_private.audit_log p_record_id at its bound is accepted');
select throws_ok($$ select count(*) from api_private.audit_log('wallet_accounts', repeat('r', 256)) $$, '22023', 'p_record_id must be at most 255 characters',
  'api_private.audit_log p_record_id one over its bound is 22023');
select tests.reset_role();

select * from finish();
rollback;
