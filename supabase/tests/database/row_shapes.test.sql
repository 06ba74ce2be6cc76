-- The shape of payment intents, payments, webhook events, WhatsApp outbox messages and the
-- idempotency records of the edge functions holds whatever code writes them: each rule of
-- private.payment_intent_shape_ok, private.payment_shape_ok, private.webhook_event_shape_ok,
-- private.whatsapp_outbox_shape_ok and private.api_request_shape_ok refuses a row that breaks it
-- alone (23514 naming the table's shape constraint), written here
-- by the owner, past every function's own checks. Rows of the right shape go in. The ledger's
-- rows have ledger_row_shape.test.sql.
begin;
select plan(58);

select tests.create_user('alice');
insert into public.wallet_accounts (id, owner_id, kind, currency)
values ('ac000000-0000-4000-8000-0000000000a1', tests.user_id('alice'), 'user', 'USD');
-- The credit a succeeded payment points at (transactions have no foreign key to accounts).
insert into public.wallet_transactions (id, kind, status, amount, currency, from_account_id, to_account_id,
                                        idempotency_key, posted_at)
values ('ab000000-0000-4000-8000-0000000000a1', 'deposit', 'posted', 100, 'USD',
        'ac000000-0000-4000-8000-0000000000ff', 'ac000000-0000-4000-8000-0000000000a1', 'payment-shape', now());

-- The rows each rule is broken from: a MoMo intent with its reference, a credited payment and
-- a payment under review. Each goes in as it is.
create temporary table shape_base (name text primary key, ord integer, tbl regclass, base jsonb, what text);
insert into shape_base values
  ('intent', 1, 'public.payment_intents',
   jsonb_build_object('id', gen_random_uuid(), 'provider', 'momo', 'provider_ref', gen_random_uuid(),
                      'user_id', tests.user_id('alice'), 'account_id', 'ac000000-0000-4000-8000-0000000000a1',
                      'amount', 100, 'currency', 'USD', 'status', 'processing', 'idempotency_key', 'intent-shape-0',
                      'created_at', now(), 'updated_at', now()),
   'an intent of the right shape'),
  ('credited', 2, 'public.payments',
   jsonb_build_object('id', gen_random_uuid(), 'provider', 'stripe', 'provider_payment_id', 'pi_credited',
                      'amount', 100, 'currency', 'USD', 'fee', 3, 'amount_refunded', 0, 'status', 'succeeded',
                      'wallet_transaction_id', 'ab000000-0000-4000-8000-0000000000a1', 'raw', '{}'::jsonb,
                      'created_at', now(), 'updated_at', now()),
   'a credited payment'),
  ('reviewed', 3, 'public.payments',
   jsonb_build_object('id', gen_random_uuid(), 'provider', 'momo', 'provider_payment_id', 'momo-reviewed',
                      'amount', 100, 'currency', 'USD', 'fee', 0, 'amount_refunded', 0, 'status', 'needs_review',
                      'review_reason', 'unknown_intent', 'raw', '{}'::jsonb, 'created_at', now(), 'updated_at', now()),
   'a payment under review');
select lives_ok(tests.insert_row_sql(tbl, base), what || ' goes in') from shape_base order by ord;

-- Intents: each rule broken alone.
select tests.refuses_shape('public.payment_intents',
         tests.insert_row_sql(b.tbl, b.base || jsonb_build_object('id', gen_random_uuid(), 'provider_ref', gen_random_uuid(),
                                                                  'idempotency_key', 'intent-shape-' || c.n) || c.change),
         'intent refused: ' || c.what)
  from shape_base b,
       (values
         (1, '{"provider": "paypal"}'::jsonb, 'an unknown provider'),
         (2, '{"provider_ref": ""}', 'an empty reference'),
         (3, '{"amount": 0}', 'a zero amount'),
         (4, '{"currency": "usd"}', 'a currency that is not ISO 4217'),
         (5, '{"status": "paid"}', 'an unknown status'),
         (6, '{"idempotency_key": ""}', 'an empty key'),
         (7, '{"provider_ref": "REF-1"}', 'a MoMo reference that is not a lower-case UUIDv4')
       ) as c(n, change, what)
 where b.name = 'intent';
select lives_ok(
  $$ insert into public.payment_intents (provider, provider_ref, user_id, account_id, amount, currency, idempotency_key)
     values ('stripe', 'pi_shape', tests.user_id('alice'), 'ac000000-0000-4000-8000-0000000000a1', 100, 'USD', 'intent-shape-8') $$,
  'any other provider''s reference goes in');

-- Payments: each rule broken alone, starting from the credited payment or the one under review.
select tests.refuses_shape('public.payments',
         tests.insert_row_sql(b.tbl, b.base || jsonb_build_object('id', gen_random_uuid(), 'provider_payment_id', 'shape-' || c.n)
                                     || c.change),
         'payment refused: ' || c.what)
  from (values
         (1, 'credited', '{"provider": "paypal"}'::jsonb, 'an unknown provider'),
         (2, 'credited', '{"provider_payment_id": ""}', 'an empty provider payment id'),
         (3, 'credited', '{"amount": 0, "fee": 0}', 'a zero amount'),
         (4, 'credited', '{"currency": "usd"}', 'a currency that is not ISO 4217'),
         (5, 'credited', '{"fee": -1}', 'a negative fee'),
         (6, 'credited', '{"fee": 101}', 'a fee above the amount'),
         (7, 'credited', '{"amount_refunded": -1}', 'a negative refunded amount'),
         (8, 'credited', '{"status": "refunded", "amount_refunded": 101}', 'more refunded than paid'),
         (9, 'credited', '{"status": "settled"}', 'an unknown status'),
         (10, 'reviewed', '{"review_reason": "whim"}', 'an unknown review reason'),
         (11, 'reviewed', '{"resolution": "maybe", "resolution_reason": "r", "resolved_at": "2026-12-01T00:00:00Z"}',
          'an unknown resolution'),
         (12, 'credited', '{"wallet_transaction_id": null}', 'succeeded without its credit'),
         (13, 'reviewed', '{"wallet_transaction_id": "ab000000-0000-4000-8000-0000000000a1"}', 'under review with a credit'),
         (14, 'reviewed', '{"review_reason": null}', 'under review without a reason'),
         (15, 'credited', '{"review_reason": "amount_mismatch"}', 'credited by itself with a review reason'),
         (16, 'reviewed', '{"status": "succeeded", "wallet_transaction_id": "ab000000-0000-4000-8000-0000000000a1", "resolution": "credited", "resolution_reason": "checked"}',
          'resolved without a time'),
         (17, 'reviewed', '{"status": "succeeded", "wallet_transaction_id": "ab000000-0000-4000-8000-0000000000a1", "resolution": "credited", "resolved_at": "2026-12-01T00:00:00Z"}',
          'resolved without a reason'),
         (18, 'reviewed', '{"status": "rejected", "resolution": "credited", "resolution_reason": "r", "resolved_at": "2026-12-01T00:00:00Z"}',
          'rejected by a credit'),
         (19, 'credited', '{"amount_refunded": 5}', 'succeeded with a refund'),
         (20, 'credited', '{"status": "partially_refunded"}', 'partially refunded with nothing refunded'),
         (21, 'credited', '{"status": "partially_refunded", "amount_refunded": 100}', 'partially refunded in full'),
         (22, 'credited', '{"status": "refunded", "amount_refunded": 50}', 'refunded in part')
       ) as c(n, base_name, change, what)
  join shape_base b on b.name = c.base_name
 order by c.n;
select lives_ok(
  tests.insert_row_sql(tbl, base || jsonb_build_object('id', gen_random_uuid(), 'provider_payment_id', 'shape-resolved',
                                                       'status', 'succeeded',
                                                       'wallet_transaction_id', 'ab000000-0000-4000-8000-0000000000a1',
                                                       'resolution', 'credited', 'resolution_reason', 'checked with the bank',
                                                       'resolved_at', now())),
  'a payment an admin credited after review goes in, its review reason kept')
  from shape_base where name = 'reviewed';

-- Webhook events: a received event, then each rule broken alone.
select lives_ok(
  $$ insert into public.webhook_events (provider, event_id, type, payload) values ('whatsapp', 'wamid.shape', 'messages', '{}') $$,
  'an event of the right shape goes in');
select tests.refuses_shape('public.webhook_events',
         format('insert into public.webhook_events (provider, event_id, type, payload, status, attempts) values (%L, %L, %L, %L, %L, %s)',
                c.provider, c.event_id, c.type, '{}', c.status, c.attempts),
         'event refused: ' || c.what)
  from (values
    ('telegram', 'evt_shape_1', 'message', 'received', 0, 'an unknown provider'),
    ('stripe', '', 'payment_intent.succeeded', 'received', 0, 'an empty event id'),
    ('stripe', 'evt_shape_3', '', 'received', 0, 'an empty type'),
    ('stripe', 'evt_shape_4', 'payment_intent.succeeded', 'lost', 0, 'an unknown status'),
    ('stripe', 'evt_shape_5', 'payment_intent.succeeded', 'failed', -1, 'negative attempts')
  ) as c(provider, event_id, type, status, attempts, what);

-- Outbox messages: a queued text reply, then each rule broken alone.
select lives_ok(
  $$ insert into public.whatsapp_outbox (wa_id, kind, body, purpose)
     values ('250788000001', 'text', '{"type": "text", "text": {"body": "hi"}}', 'reply') $$,
  'a message of the right shape goes in');
select tests.refuses_shape('public.whatsapp_outbox',
         format('insert into public.whatsapp_outbox (wa_id, kind, body, purpose, status, attempts, last_error, wamid) '
                'values (%L, %L, %L, %L, %L, %s, %L, %L)',
                c.wa_id, c.kind, c.body, c.purpose, c.status, c.attempts, c.last_error, c.wamid),
         'message refused: ' || c.what)
  from (values
    ('+250788000001', 'text', '{"type": "text"}'::jsonb, 'reply', 'queued', 0, null, null, 'a recipient that is not E.164 digits'),
    ('250788000001', 'audio', '{"type": "audio"}', 'reply', 'queued', 0, null, null, 'an unknown kind'),
    ('250788000001', 'text', '{"type": "template"}', 'reply', 'queued', 0, null, null, 'a body of another type'),
    ('250788000001', 'text', '{"type": "text"}', 'marketing', 'queued', 0, null, null, 'an unknown purpose'),
    ('250788000001', 'text', '{"type": "text"}', 'reply', 'lost', 0, null, null, 'an unknown status'),
    ('250788000001', 'text', '{"type": "text"}', 'reply', 'failed', 101, 'x', null, 'more than 100 attempts'),
    ('250788000001', 'text', '{"type": "text"}', 'reply', 'failed', -1, 'x', null, 'negative attempts'),
    ('250788000001', 'text', '{"type": "text"}', 'reply', 'failed', 1, repeat('x', 1001), null, 'an error over 1,000 characters'),
    ('250788000001', 'text', '{"type": "text"}', 'reply', 'sent', 1, null, '', 'an empty wamid')
  ) as c(wa_id, kind, body, purpose, status, attempts, last_error, wamid, what);

-- Idempotency records: a completed call, then each rule broken alone.
select lives_ok(
  format('insert into private.api_requests (caller_id, idempotency_key, request_hash, method, path, response_status, '
         'response_body, completed_at) values (%L, %L, %L, %L, %L, 200, %L, now())',
         tests.user_id('alice'), 'shape-0', repeat('a', 64), 'POST', '/payments/topups', '{"id": 1}'),
  'a completed record goes in');
select tests.refuses_shape('private.api_requests',
         format('insert into private.api_requests (caller_id, idempotency_key, request_hash, method, path, response_status, '
                'response_body, completed_at) values (%L, %L, %L, %L, %L, %s, %L, %L)',
                tests.user_id('alice'), c.key, c.hash, c.method, c.path, coalesce(c.status::text, 'null'), c.body, c.completed_at),
         'record refused: ' || c.what)
  from (values
    ('', repeat('a', 64), 'POST', '/p', 200, '{}'::jsonb, now(), 'an empty key'),
    ('shape-2', repeat('A', 64), 'POST', '/p', 200, '{}', now(), 'a request hash that is not lower-case SHA-256 hex'),
    ('shape-3', repeat('a', 64), 'GET', '/p', 200, '{}', now(), 'a method that changes nothing'),
    ('shape-4', repeat('a', 64), 'POST', '', 200, '{}', now(), 'an empty path'),
    ('shape-5', repeat('a', 64), 'POST', '/p', 100, '{}', now(), 'a status below 200'),
    ('shape-6', repeat('a', 64), 'POST', '/p', 200, '{}', null, 'an answer without the time it was stored'),
    ('shape-7', repeat('a', 64), 'POST', '/p', 200, null, now(), 'a status without a body')
  ) as c(key, hash, method, path, status, body, completed_at, what);

select * from finish();
rollback;
