-- audit.log is append-only for every role the API can use, and even for its owner; only
-- admin and support can read it through the API, and the trail (audit.trail) with it.
begin;
select plan(27);

select tests.create_users('{user}', admins => '{admin}', support => '{support}');
insert into public.subscriptions (stripe_subscription_id, stripe_customer_id, status)
  values ('sub_immutable', 'cus_immutable', 'active');
select coalesce(max(id), 0) as entry from audit.log \gset

-- UPDATE, DELETE and TRUNCATE of audit.log fail with p_code for p_caller (a tests.as_caller
-- name; null: the owner), p_who in the descriptions, and so does writing a row of its own
-- when p_insert_code is given.
create function pg_temp.audit_refuses(p_caller text, p_who text, p_code text, p_insert_code text, p_entry bigint)
returns setof text
language plpgsql
as $$
begin
  if p_caller is not null then
    perform tests.as_caller(p_caller);
  end if;
  return next throws_ok(format('update audit.log set actor_role = %L where id = %s', 'x', p_entry), p_code, null,
    p_who || ' cannot update audit rows');
  return next throws_ok(format('delete from audit.log where id = %s', p_entry), p_code, null, p_who || ' cannot delete audit rows');
  return next throws_ok('truncate audit.log', p_code, null, p_who || ' cannot truncate the audit');
  if p_insert_code is not null then
    return next throws_ok($i$insert into audit.log (schema_name, table_name, operation, record_id) values ('public', 'x', 'INSERT', '1')$i$,
      p_insert_code, null, p_who || ' cannot write audit rows');
  end if;
  perform tests.reset_role();
end;
$$;

-- Each API role: UPDATE, DELETE and TRUNCATE fail, and so does writing a row of its own.
select pg_temp.audit_refuses('anon', 'anon', '42501', '42501', :entry);
select pg_temp.audit_refuses('admin', 'authenticated (even an admin)', '42501', '42501', :entry);
select pg_temp.audit_refuses('service', 'service_role', '42501', '42501', :entry);

-- The owner is stopped by the triggers, not only by grants.
select pg_temp.audit_refuses(null, 'the owner', 'AU001', null, :entry);
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
