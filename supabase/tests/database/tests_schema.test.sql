-- The helpers every suite uses to become a caller (packages/local-stack/sql/tests-schema.sql):
-- each one switches the role for real and sets the claims PostgREST would, so that a suite
-- written with them asserts what production does.
begin;
select plan(45);

select tests.create_user('plain'),
       tests.create_user('admin', 'admin'),
       tests.create_user('support', 'support');
select is((select raw_app_meta_data from auth.users where id = tests.user_id('plain')), '{}'::jsonb,
  'create_user: a plain user has empty app metadata');
select is((select raw_app_meta_data ->> 'role' from auth.users where id = tests.user_id('admin')), 'admin',
  'create_user: the app role goes into raw_app_meta_data, as the server sets it');
select tests.create_users('{plain2, plain3}', admins => '{admin2}', support => '{support2}');
select results_eq($$ select email, raw_app_meta_data ->> 'role' from auth.users
                     where email in ('plain2@test.local', 'plain3@test.local', 'admin2@test.local', 'support2@test.local')
                     order by email $$,
  $$ values ('admin2@test.local'::varchar, 'admin'), ('plain2@test.local', null), ('plain3@test.local', null),
            ('support2@test.local', 'support') $$,
  'create_users: users, admins and support staff in one call');
select throws_ok($$ select tests.user_id('nobody') $$, 'P0001', 'tests.user_id: no test user named nobody',
  'user_id: an unknown name is an error, never a null caller');

-- A switch lasts past the helper's own call, to the end of the transaction.
select tests.as_user(tests.user_id('plain'));
select is(current_user::text, 'authenticated', 'as_user: the next statement runs as authenticated');
select is(auth.uid(), tests.user_id('plain'), 'as_user: auth.uid() is the user');
select is(auth.role(), 'authenticated', 'as_user: the role claim is authenticated');
select is(auth.jwt() -> 'app_metadata' ->> 'role', null, 'as_user: no app role');
select throws_ok($$ select count(*) from auth.users $$, '42501', null, 'as_user: the switch is real, auth.users is out of reach');

select tests.as_user(tests.user_id('plain'), '{"user_metadata": {"role": "admin"}}');
select is(auth.jwt() -> 'user_metadata' ->> 'role', 'admin', 'as_user: extra claims are added to the token');
select is(auth.jwt() -> 'app_metadata' ->> 'role', null, 'as_user: user_metadata gives no app role');

select tests.as_admin(tests.user_id('admin'));
select is(current_user::text, 'authenticated', 'as_admin: an admin is a signed-in user');
select is(auth.uid(), tests.user_id('admin'), 'as_admin: auth.uid() is the admin');
select is(auth.jwt() -> 'app_metadata' ->> 'role', 'admin', 'as_admin: app_metadata.role is admin');

select tests.as_support(tests.user_id('support'));
select is(auth.uid(), tests.user_id('support'), 'as_support: auth.uid() is the support user');
select is(auth.jwt() -> 'app_metadata' ->> 'role', 'support', 'as_support: app_metadata.role is support');

select tests.as_service();
select is(current_user::text, 'service_role', 'as_service: runs as service_role');
select is(auth.role(), 'service_role', 'as_service: the role claim is service_role');
select is(auth.uid(), null, 'as_service: no user');

select tests.as_anon();
select is(current_user::text, 'anon', 'as_anon: runs as anon');
select is(auth.role(), 'anon', 'as_anon: the role claim is anon');
select is(auth.uid(), null, 'as_anon: no user');

select tests.as_caller('admin');
select is(auth.jwt() -> 'app_metadata' ->> 'role', 'admin', 'as_caller: a user created as admin calls as admin');
select tests.as_caller('plain');
select is(auth.uid(), tests.user_id('plain'), 'as_caller: a user by its name');
select is(auth.jwt() -> 'app_metadata' ->> 'role', null, 'as_caller: a plain user calls without an app role');
select tests.as_caller('service');
select is(current_user::text, 'service_role', 'as_caller: service');
select tests.as_caller('anon');
select is(current_user::text, 'anon', 'as_caller: anon');

select tests.reset_role();
select is(current_user::text, session_user::text, 'reset_role: back to the user running the suite');
select is(auth.uid(), null, 'reset_role: no claims are left behind');

-- A switch inside a savepoint that fails is undone with it, as any SET LOCAL is.
savepoint before_switch;
select tests.as_anon();
rollback to savepoint before_switch;
select is(current_user::text, session_user::text, 'a rolled back switch leaves the caller as it was');

-- The fixtures that act as someone else: what they write, as whom, and the caller put back.
select is(tests.query_as('plain', 'select auth.uid()', null::uuid), tests.user_id('plain'),
  'query_as: the query runs as the caller named, its value of the type asked');
select throws_ok($$ select tests.query_as('service', 'select 1 where false', null::integer) $$, 'P0002', null,
  'query_as: a query without its row is an error');
select tests.create_accounts('ac900000', 'KES', '{plain, admin}');
select results_eq($$ select id, owner_id, kind, currency from public.wallet_accounts where id::text like 'ac900000-%' order by id $$,
  $$ values ('ac900000-0000-4000-8000-00000000000a'::uuid, tests.user_id('plain'), 'user', 'KES'),
            ('ac900000-0000-4000-8000-00000000000b'::uuid, tests.user_id('admin'), 'user', 'KES') $$,
  'create_accounts: one account a user, its id ending a, b, ... in the order of the names');

select tests.as_support(tests.user_id('support'));
select tests.open_account('plain', 'USD') as plain_account \gset
select ok(current_user = 'authenticated' and auth.uid() = tests.user_id('support'),
  'open_account: the caller is put back, claims and all');
select tests.reset_role();
select results_eq(
  format($$ select a.owner_id, a.currency, l.actor_id, l.actor_role from public.wallet_accounts a
              join audit.log l on l.table_name = 'wallet_accounts' and l.record_id = a.id::text where a.id = %L $$, :'plain_account'),
  $$ values (tests.user_id('plain'), 'USD', tests.user_id('plain'), 'authenticated') $$,
  'open_account: the user''s account, opened by the user through the API role');

select tests.as_anon();
select tests.attached_intent('momo', :'plain_account', 300, 'USD', 'a7000000-0000-4000-8000-0000000000e1') as momo_intent \gset
select is(current_user::text, 'anon', 'attached_intent: the caller is put back');
select tests.reset_role();
select results_eq(format($$ select status, provider_ref, idempotency_key, created_by from public.payment_intents where id = %L $$, :'momo_intent'),
  $$ values ('processing', 'a7000000-0000-4000-8000-0000000000e1', 'momo:a7000000-0000-4000-8000-0000000000e1', null::uuid) $$,
  'attached_intent: created by the service, keyed by provider and reference, attached and processing');

select tests.as_user(tests.user_id('plain'));
select id as topup, intent_id as topup_intent from tests.credited_payment('stripe', :'plain_account', 700, 'USD', 'pi_tests_schema') \gset
select is(auth.uid(), tests.user_id('plain'), 'credited_payment: the caller is put back');
select tests.reset_role();
select results_eq(
  format($$ select i.status, i.provider_ref, p.provider_payment_id, p.status, p.amount, t.amount, t.to_account_id, public.wallet_balance(i.account_id)
              from public.payments p join public.payment_intents i on i.id = p.intent_id
              join public.wallet_transactions t on t.id = p.wallet_transaction_id where p.id = %L $$, :'topup'),
  format($$ values ('succeeded', 'pi_tests_schema', 'pi_tests_schema', 'succeeded', 700::bigint, 700::bigint, %L::uuid, 700::bigint) $$,
         :'plain_account'),
  'credited_payment: the intent paid under the reference, the payment succeeded with its credit to the account');

select tests.as_service();
select id as cashout from tests.pending_cashout('plain', :'plain_account', 200, 'USD', '256772000001', 'tests-schema-cashout') \gset
select is(current_user::text, 'service_role', 'pending_cashout: the caller is put back');
select tests.reset_role();
select results_eq(
  format($$ select c.status, c.user_id, c.amount, t.kind, t.status, t.hold_amount
              from public.cashouts c join public.wallet_transactions t on t.id = c.hold_id where c.id = %L $$, :'cashout'),
  $$ values ('pending', tests.user_id('plain'), 200::bigint, 'withdrawal', 'pending', 200::bigint) $$,
  'pending_cashout: the user''s own cash-out through cashout_create, pending with its amount held');

-- Only the test stack has the helpers, and nothing they hold is reachable through the API.
select is((select count(*) from pg_class c where c.relnamespace = 'tests'::regnamespace), 0::bigint,
  'the tests schema holds no table');
select is((select count(*) from pg_proc p where p.pronamespace = 'tests'::regnamespace and p.prosecdef
            and p.proname not in ('user_id', 'app_role', 'lease_seconds', 'refund_prepare')), 0::bigint,
  'only the lookups of auth.users and of the job leases, and the door to private.refund_prepare, are security definer: a role switch needs security invoker');
select is((select count(*) from pg_proc p where p.pronamespace = 'tests'::regnamespace
            and exists (select 1 from unnest(p.proconfig) c where c like 'role=%')), 0::bigint,
  'no helper has a SET role clause, which would undo the switch at the end of the call');

select is(tests.insert_row_sql('public.wallet_entries', '{"amount": 1}'),
  $$insert into public.wallet_entries select * from jsonb_populate_record(null::public.wallet_entries, '{"amount": 1}')$$,
  'insert_row_sql: the whole-row insert, the table named with its schema');

select * from finish();
rollback;
