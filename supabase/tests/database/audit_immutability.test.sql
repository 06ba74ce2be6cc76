-- audit.log is append-only for every role the API can use, and even for its owner; only
-- admin and support can read it through the API.
begin;
select plan(22);

insert into auth.users (id, email, raw_app_meta_data) values
  ('c3000000-0000-4000-8000-000000000001', 'immutable-user@example.test', '{}'),
  ('c3000000-0000-4000-8000-000000000003', 'immutable-admin@example.test', '{"role": "admin"}'),
  ('c3000000-0000-4000-8000-000000000004', 'immutable-support@example.test', '{"role": "support"}');
insert into public.subscriptions (stripe_subscription_id, stripe_customer_id, status)
  values ('sub_immutable', 'cus_immutable', 'active');
select coalesce(max(id), 0) as entry from audit.log \gset

-- Each API role: UPDATE, DELETE and TRUNCATE fail, and so does writing a row of its own.
set local role anon;
select throws_ok(format('update audit.log set actor_role = %L where id = %s', 'x', :entry), '42501', null, 'anon cannot update audit rows');
select throws_ok(format('delete from audit.log where id = %s', :entry), '42501', null, 'anon cannot delete audit rows');
select throws_ok('truncate audit.log', '42501', null, 'anon cannot truncate the audit');
select throws_ok($$insert into audit.log (schema_name, table_name, operation, record_id) values ('public', 'x', 'INSERT', '1')$$,
  '42501', null, 'anon cannot write audit rows');
reset role;

set local role authenticated;
select set_config('request.jwt.claims', '{"sub": "c3000000-0000-4000-8000-000000000003", "role": "authenticated", "app_metadata": {"role": "admin"}}', true);
select throws_ok(format('update audit.log set actor_role = %L where id = %s', 'x', :entry), '42501', null, 'authenticated (even an admin) cannot update audit rows');
select throws_ok(format('delete from audit.log where id = %s', :entry), '42501', null, 'authenticated cannot delete audit rows');
select throws_ok('truncate audit.log', '42501', null, 'authenticated cannot truncate the audit');
select throws_ok($$insert into audit.log (schema_name, table_name, operation, record_id) values ('public', 'x', 'INSERT', '1')$$,
  '42501', null, 'authenticated cannot write audit rows');
reset role;

set local role service_role;
select throws_ok(format('update audit.log set actor_role = %L where id = %s', 'x', :entry), '42501', null, 'service_role cannot update audit rows');
select throws_ok(format('delete from audit.log where id = %s', :entry), '42501', null, 'service_role cannot delete audit rows');
select throws_ok('truncate audit.log', '42501', null, 'service_role cannot truncate the audit');
select throws_ok($$insert into audit.log (schema_name, table_name, operation, record_id) values ('public', 'x', 'INSERT', '1')$$,
  '42501', null, 'service_role cannot write audit rows');
reset role;

-- The owner is stopped by the triggers, not only by grants.
select throws_ok(format('update audit.log set actor_role = %L where id = %s', 'x', :entry), 'AU001', null, 'the owner cannot update audit rows');
select throws_ok(format('delete from audit.log where id = %s', :entry), 'AU001', null, 'the owner cannot delete audit rows');
select throws_ok('truncate audit.log', 'AU001', null, 'the owner cannot truncate the audit');
select is((select actor_role from audit.log where id = :entry), 'postgres', 'the audit row is unchanged');

-- Reading: admin and support read everything, other users nothing, anon not at all.
set local role authenticated;
select set_config('request.jwt.claims', '{"sub": "c3000000-0000-4000-8000-000000000003", "role": "authenticated", "app_metadata": {"role": "admin"}}', true);
select is((select count(*)::int from audit.log where id = :entry), 1, 'an admin reads the audit');
select set_config('request.jwt.claims', '{"sub": "c3000000-0000-4000-8000-000000000004", "role": "authenticated", "app_metadata": {"role": "support"}}', true);
select is((select count(*)::int from audit.log where id = :entry), 1, 'support reads the audit');
select set_config('request.jwt.claims', '{"sub": "c3000000-0000-4000-8000-000000000001", "role": "authenticated", "user_metadata": {"role": "admin"}}', true);
select is((select count(*)::int from audit.log), 0, 'a user (even claiming admin in user_metadata) reads no audit row');
reset role;
set local role service_role;
select is((select count(*)::int from audit.log where id = :entry), 1, 'service_role reads the audit');
reset role;
set local role anon;
select throws_ok('select count(*) from audit.log', '42501', null, 'anon cannot read the audit');
reset role;

select is(
  (select array_agg(privilege_type::text order by privilege_type) from information_schema.role_table_grants
    where table_schema = 'audit' and table_name = 'log' and grantee in ('anon', 'authenticated', 'service_role')),
  array['SELECT', 'SELECT'], 'the API roles hold nothing on audit.log but SELECT (authenticated, service_role)');

select * from finish();
rollback;
