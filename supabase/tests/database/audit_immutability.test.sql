-- audit.log is append-only for every role the API can use, and even for its owner; only
-- admin and support can read it through the API, and the trail (audit.trail) with it.
begin;
select plan(27);

select tests.create_user('user'),
       tests.create_user('admin', 'admin'),
       tests.create_user('support', 'support');
insert into public.subscriptions (stripe_subscription_id, stripe_customer_id, status)
  values ('sub_immutable', 'cus_immutable', 'active');
select coalesce(max(id), 0) as entry from audit.log \gset

-- Each API role: UPDATE, DELETE and TRUNCATE fail, and so does writing a row of its own.
select tests.as_anon();
select throws_ok(format('update audit.log set actor_role = %L where id = %s', 'x', :entry), '42501', null, 'anon cannot update audit rows');
select throws_ok(format('delete from audit.log where id = %s', :entry), '42501', null, 'anon cannot delete audit rows');
select throws_ok('truncate audit.log', '42501', null, 'anon cannot truncate the audit');
select throws_ok($$insert into audit.log (schema_name, table_name, operation, record_id) values ('public', 'x', 'INSERT', '1')$$,
  '42501', null, 'anon cannot write audit rows');
select tests.reset_role();

select tests.as_admin(tests.user_id('admin'));
select throws_ok(format('update audit.log set actor_role = %L where id = %s', 'x', :entry), '42501', null, 'authenticated (even an admin) cannot update audit rows');
select throws_ok(format('delete from audit.log where id = %s', :entry), '42501', null, 'authenticated cannot delete audit rows');
select throws_ok('truncate audit.log', '42501', null, 'authenticated cannot truncate the audit');
select throws_ok($$insert into audit.log (schema_name, table_name, operation, record_id) values ('public', 'x', 'INSERT', '1')$$,
  '42501', null, 'authenticated cannot write audit rows');
select tests.reset_role();

select tests.as_service();
select throws_ok(format('update audit.log set actor_role = %L where id = %s', 'x', :entry), '42501', null, 'service_role cannot update audit rows');
select throws_ok(format('delete from audit.log where id = %s', :entry), '42501', null, 'service_role cannot delete audit rows');
select throws_ok('truncate audit.log', '42501', null, 'service_role cannot truncate the audit');
select throws_ok($$insert into audit.log (schema_name, table_name, operation, record_id) values ('public', 'x', 'INSERT', '1')$$,
  '42501', null, 'service_role cannot write audit rows');
select tests.reset_role();

-- The owner is stopped by the triggers, not only by grants.
select throws_ok(format('update audit.log set actor_role = %L where id = %s', 'x', :entry), 'AU001', null, 'the owner cannot update audit rows');
select throws_ok(format('delete from audit.log where id = %s', :entry), 'AU001', null, 'the owner cannot delete audit rows');
select throws_ok('truncate audit.log', 'AU001', null, 'the owner cannot truncate the audit');
select is((select actor_role from audit.log where id = :entry), 'postgres', 'the audit row is unchanged');

-- Reading: admin and support read everything, other users nothing, anon not at all.
select tests.as_admin(tests.user_id('admin'));
select is((select count(*)::int from audit.log where id = :entry), 1, 'an admin reads the audit');
select tests.as_support(tests.user_id('support'));
select is((select count(*)::int from audit.log where id = :entry), 1, 'support reads the audit');
select tests.as_user(tests.user_id('user'), '{"user_metadata": {"role": "admin"}}');
select is((select count(*)::int from audit.log), 0, 'a user (even claiming admin in user_metadata) reads no audit row');
select tests.as_service();
select is((select count(*)::int from audit.log where id = :entry), 1, 'service_role reads the audit');
select tests.as_anon();
select throws_ok('select count(*) from audit.log', '42501', null, 'anon cannot read the audit');
select tests.reset_role();

select is(
  (select array_agg(privilege_type::text order by privilege_type) from information_schema.role_table_grants
    where table_schema = 'audit' and table_name = 'log' and grantee in ('anon', 'authenticated', 'service_role')),
  array['SELECT', 'SELECT'], 'the API roles hold nothing on audit.log but SELECT (authenticated, service_role)');

-- audit.trail, the one query interface (audit.log and the ledger's own records), is read by
-- service_role and, through the admin API's reader, by admin and support; no one writes through it.
select tests.as_service();
select is((select count(*)::int from audit.trail where id = :entry), 1, 'service_role reads the trail');
select tests.reset_role();
select is((select count(*)::int from unnest(array['anon', 'authenticated', 'service_role']) r
            where has_table_privilege(r, 'audit.trail', 'insert, update, delete, truncate')), 0,
  'no API role holds a write privilege on the trail');
select tests.as_admin(tests.user_id('admin'));
select throws_ok('select count(*) from audit.trail', '42501', null,
  'authenticated reads the trail only through the admin API''s reader, not directly');
select is((select count(*)::int from api_private.audit_log('subscriptions', p_limit => 1000) r where (r ->> 'id')::bigint = :entry), 1,
  'an admin reads it through that reader');
select tests.as_anon();
select throws_ok('select count(*) from audit.trail', '42501', null, 'anon cannot read the trail');
select tests.reset_role();

select * from finish();
rollback;
