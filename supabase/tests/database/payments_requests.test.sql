-- The payments function's SQL: the idempotency records of the payments function (top-ups), kept as leases.
begin;
select plan(21);

select tests.create_users('{user, user2}', support => '{support}');

-- ---------------------------------------------------------------- exposure
-- (What no API role may do with the records themselves is in admin_api.test.sql.)
select ok(not has_function_privilege('service_role', 'api_private.request_claim(text, text, text, text, integer)', 'execute'),
  'service_role cannot claim (the records are keyed by a signed-in user)');

-- ---------------------------------------------------------------- claims as leases
select tests.as_user(tests.user_id('user'));

select results_eq($$ select outcome from api_private.request_claim('k-1', repeat('a', 64), 'POST', '/payments/topups', 60) $$,
  $$ values ('new') $$, 'a fresh key is new');
select results_eq($$ select outcome from api_private.request_claim('k-1', repeat('a', 64), 'POST', '/payments/topups', 60) $$,
  $$ values ('in_progress') $$, 'the same request while the first holds its lease is in progress');
select results_eq($$ select outcome from api_private.request_claim('k-1', repeat('b', 64), 'POST', '/payments/topups', 60) $$,
  $$ values ('mismatch') $$, 'the key with another request is a mismatch');
select lives_ok($$ select api_private.request_release('k-1') $$, 'a request without an answer releases its lease');
select results_eq($$ select outcome from api_private.request_claim('k-1', repeat('a', 64), 'POST', '/payments/topups', 60) $$,
  $$ values ('resumed') $$, 'a retry after the release resumes the request');
select lives_ok($$ select api_private.request_complete('k-1', 201, '{"next_action":{"client_secret":"pi_1_secret_x"}}') $$,
  'the answer is stored');
select results_eq($$ select outcome, response_status, response_body from api_private.request_claim('k-1', repeat('a', 64), 'POST', '/payments/topups', 60) $$,
  $$ values ('replay', 201, '{"next_action":{"client_secret":"pi_1_secret_x"}}'::jsonb) $$, 'a retry replays the stored answer');
select throws_ok($$ select api_private.request_complete('k-1', 200, '{}') $$, 'WL008', null,
  'a completed request cannot be completed again');
select throws_ok($$ select api_private.request_claim('', repeat('a', 64), 'POST', '/payments/topups', 60) $$, '22023', null,
  'an empty key: 22023');
select throws_ok($$ select api_private.request_claim('k-big', repeat('a', 64), 'POST', '/' || repeat('p', 2048), 60) $$, '22023',
  'p_path must be at most 2048 characters', 'a path over its bound: 22023');
select results_eq($$ select outcome from api_private.request_claim('k-big', repeat('a', 64), 'POST', '/payments/topups', 60) $$,
  $$ values ('new') $$, 'and nothing was claimed: the key is still fresh');
select lives_ok($$ select api_private.request_claim('k-big-2', repeat('a', 64), 'POST', '/payments/topups', 60) $$, 'a fresh key is claimed');
select throws_ok($$ select api_private.request_complete('k-big-2', 201, jsonb_build_object('x', repeat('w', 8388600))) $$, '22023',
  'p_body must be at most 8388608 bytes of JSON', 'an answer over its bound: 22023');

select tests.as_user(tests.user_id('user2'));
select results_eq($$ select outcome from api_private.request_claim('k-1', repeat('c', 64), 'POST', '/payments/topups', 60) $$,
  $$ values ('new') $$, 'keys are scoped by user');
select throws_ok($$ select api_private.request_complete('k-9', 201, '{}') $$, 'WL008', null,
  'completing a key never claimed: WL008');

select tests.as_support(tests.user_id('support'));
select throws_ok($$ select api_private.request_claim('k-2', repeat('a', 64), 'POST', '/payments/topups', 60) $$, '42501', null,
  'support makes no top-ups: 42501');
select throws_ok($$ select api_private.request_complete('k-1', 201, '{}') $$, '42501', null,
  'support completes no request: 42501');
select throws_ok($$ select api_private.request_release('k-2') $$, '42501', null,
  'support releases no request, also where it has none: 42501');

select tests.reset_role();
select results_eq(
  $$ select caller_id, response_status from private.api_requests where idempotency_key = 'k-1' order by response_status nulls last $$,
  $$ values (tests.user_id('user'), 201), (tests.user_id('user2'), null) $$,
  'one record per user and key');
select is(
  (select new_record ->> 'response_body' from audit.log
    where table_name = 'api_requests' and operation = 'UPDATE' and new_record ->> 'idempotency_key' = 'k-1'
      and new_record ->> 'response_status' = '201'),
  '[redacted]', 'the audit records that an answer was stored, never the answer (it may hold a client_secret)');

select * from finish();
rollback;
