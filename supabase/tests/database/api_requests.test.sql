-- private.api_requests, the one idempotency record of the admin and payments functions: the
-- two kinds of claim (for one transaction, as a lease) side by side, and the lease's bounds.
begin;
select plan(9);

insert into auth.users (id, email, raw_app_meta_data) values
  ('a6100000-0000-4000-8000-000000000001', 'apireq-user@test.local', '{}'),
  ('a6100000-0000-4000-8000-0000000000ad', 'apireq-admin@test.local', '{"role":"admin"}');

set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"a6100000-0000-4000-8000-000000000001","role":"authenticated"}', true);

select throws_ok($$ select api_private.request_claim('lease-0', repeat('a', 64), 'POST', '/payments/topups', 0) $$,
  '22023', 'the lease in seconds must be between 1 and 600', 'a lease of 0 s is 22023');
select throws_ok($$ select api_private.request_claim('lease-601', repeat('a', 64), 'POST', '/payments/topups', 601) $$,
  '22023', 'the lease in seconds must be between 1 and 600', 'a lease of 601 s is 22023');
select results_eq($$ select outcome from api_private.request_claim('lease-600', repeat('a', 64), 'POST', '/payments/topups', 600) $$,
  $$ values ('new') $$, 'a lease of 600 s is taken');
select throws_ok($$ select api_private.request_claim('bad-hash', repeat('A', 64), 'POST', '/payments/topups', 60) $$,
  '22023', 'p_request_hash must be 64 lower-case hex digits (SHA-256)', 'a lease claim checks the request hash as the admin''s does');

-- A claim for this transaction (no lease): the admin API's. A row that was never completed
-- (the call ended in this transaction without an answer) is resumed by the next claim.
select set_config('request.jwt.claims',
  '{"sub":"a6100000-0000-4000-8000-0000000000ad","role":"authenticated","app_metadata":{"role":"admin"}}', true);
select results_eq($$ select outcome from api_private.request_claim('tx-1', repeat('b', 64), 'POST', '/admin/x') $$,
  $$ values ('new') $$, 'a claim without a lease is new');
select results_eq($$ select outcome from api_private.request_claim('tx-1', repeat('b', 64), 'POST', '/admin/x') $$,
  $$ values ('resumed') $$, 'the same key again before an answer is resumed, never in progress (no lease to wait for)');
select lives_ok($$ select api_private.request_complete('tx-1', 200, '{"done":true}') $$, 'the answer is stored');
select results_eq($$ select outcome, response_status from api_private.request_claim('tx-1', repeat('b', 64), 'POST', '/admin/x') $$,
  $$ values ('replay', 200) $$, 'and replayed');

reset role;
select results_eq(
  $$ select caller_id, lease_until is null from private.api_requests where idempotency_key in ('lease-600', 'tx-1') order by idempotency_key $$,
  $$ values ('a6100000-0000-4000-8000-000000000001'::uuid, false), ('a6100000-0000-4000-8000-0000000000ad'::uuid, true) $$,
  'one table keeps both kinds, each keyed by its caller');

select * from finish();
rollback;
