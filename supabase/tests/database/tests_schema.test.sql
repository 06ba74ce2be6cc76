-- The helpers every suite uses to become a caller (packages/local-stack/sql/tests-schema.sql):
-- each one switches the role for real and sets the claims PostgREST would, so that a suite
-- written with them asserts what production does.
begin;
select plan(34);

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

-- Only the test stack has the helpers, and nothing they hold is reachable through the API.
select is((select count(*) from pg_class c where c.relnamespace = 'tests'::regnamespace), 0::bigint,
  'the tests schema holds no table');
select is((select count(*) from pg_proc p where p.pronamespace = 'tests'::regnamespace and p.prosecdef
            and p.proname not in ('user_id', 'app_role')), 0::bigint,
  'only the two lookups of auth.users are security definer: a role switch needs security invoker');
select is((select count(*) from pg_proc p where p.pronamespace = 'tests'::regnamespace
            and exists (select 1 from unnest(p.proconfig) c where c like 'role=%')), 0::bigint,
  'no helper has a SET role clause, which would undo the switch at the end of the call');

select is(tests.insert_row_sql('public.wallet_entries', '{"amount": 1}'),
  $$insert into public.wallet_entries select * from jsonb_populate_record(null::public.wallet_entries, '{"amount": 1}')$$,
  'insert_row_sql: the whole-row insert, the table named with its schema');

select * from finish();
rollback;
