-- The `tests` schema: helpers for the pgTAP suites in supabase/tests/database, installed by
-- the throwaway test stack right after pgTAP. No migration creates it, so no deployed
-- database has it. Idempotent, like the bootstrap.
--
-- The role switches are real: each helper is security invoker and sets `role` for the rest
-- of the test's transaction, like `set local role` (a function's SET clause reverts only the
-- settings it names, and none of these names `role`). The claims are what PostgREST
-- puts in `request.jwt.claims` for the same token. Every API role may call the helpers,
-- because a test switches from one caller to the next without going back to postgres.

create schema if not exists tests;
grant usage on schema tests to anon, authenticated, service_role;

-- A user as GoTrue stores one: `<name>@test.local`, with `app_role` (admin, support) in
-- raw_app_meta_data. Returns the new id; the suite reads it back with tests.user_id(name).
create or replace function tests.create_user(name text, app_role text default null) returns uuid
language sql
set search_path = ''
as $$
  insert into auth.users (id, email, raw_app_meta_data)
  values (gen_random_uuid(), name || '@test.local',
          case when app_role is null then '{}'::jsonb else jsonb_build_object('role', app_role) end)
  returning id
$$;

-- Several users at once, by name: plain users, admins and support staff.
create or replace function tests.create_users(users text[], admins text[] default '{}', support text[] default '{}')
returns void
language sql
set search_path = ''
as $$
  select tests.create_user(u.name, u.app_role)
    from (select name, null as app_role from unnest(users) as name
          union all select name, 'admin' from unnest(admins) as name
          union all select name, 'support' from unnest(support) as name) u
$$;

-- The id of a user made by tests.create_user; a name that was never created is an error, so
-- a typo cannot turn into a null caller. Security definer: a test asks while it is already
-- switched to an API role, which cannot read auth.users.
create or replace function tests.user_id(name text) returns uuid
language plpgsql
stable
security definer set search_path = ''
as $$
declare
  v_id uuid;
begin
  select u.id into v_id from auth.users u where u.email = name || '@test.local';
  if v_id is null then
    raise exception 'tests.user_id: no test user named %', name;
  end if;
  return v_id;
end;
$$;

-- The ledger suites' fixture: users alice and bob, an account each in p_currency
-- (<p_id_prefix>-0000-4000-8000-00000000000a and ...0b) and alice's in EUR (...0e), so that
-- the accounts' ids read in the tests as whose they are.
create or replace function tests.create_two_user_ledger(p_id_prefix text, p_currency text) returns void
language sql
set search_path = ''
as $$
  select tests.create_users(array['alice', 'bob']);
  insert into public.wallet_accounts (id, owner_id, kind, currency) values
    ((p_id_prefix || '-0000-4000-8000-00000000000a')::uuid, tests.user_id('alice'), 'user', p_currency),
    ((p_id_prefix || '-0000-4000-8000-00000000000b')::uuid, tests.user_id('bob'), 'user', p_currency),
    ((p_id_prefix || '-0000-4000-8000-00000000000e')::uuid, tests.user_id('alice'), 'user', 'EUR');
$$;

-- The statement that inserts a whole row, given as a JSON object keyed by column, into p_table
-- (missing columns are null): the row-shape suites write rows past every function, as the
-- owner, and break one rule at a time.
create or replace function tests.insert_row_sql(p_table regclass, p_row jsonb) returns text
language sql
set search_path = ''
as $$
  select format('insert into %s select * from jsonb_populate_record(null::%s, %L)', p_table, p_table, p_row)
$$;

-- The app role tests.create_user gave a user (null for a plain user).
create or replace function tests.app_role(user_id uuid) returns text
language sql
stable
security definer set search_path = ''
as $$
  select u.raw_app_meta_data ->> 'role' from auth.users u where u.id = user_id
$$;

-- What PostgREST does at the start of a request: the role and the token's claims, both set
-- with set_config(..., true), so both last to the end of the transaction.
create or replace function tests.switch_to(role_name text, claims jsonb) returns void
language sql
set search_path = ''
as $$
  select set_config('role', role_name, true), set_config('request.jwt.claims', claims::text, true)
$$;

-- A signed-in user's request. `extra_claims` adds to the token (e.g. user_metadata).
create or replace function tests.as_user(user_id uuid, extra_claims jsonb default '{}') returns void
language sql
set search_path = ''
as $$
  select tests.switch_to('authenticated', jsonb_build_object('sub', user_id, 'role', 'authenticated') || extra_claims)
$$;

-- Admin and support are signed-in users whose token carries app_metadata.role.
create or replace function tests.as_admin(user_id uuid) returns void
language sql
set search_path = ''
as $$
  select tests.as_user(user_id, '{"app_metadata": {"role": "admin"}}')
$$;

create or replace function tests.as_support(user_id uuid) returns void
language sql
set search_path = ''
as $$
  select tests.as_user(user_id, '{"app_metadata": {"role": "support"}}')
$$;

-- The edge functions' requests, made with the service_role key.
create or replace function tests.as_service() returns void
language sql
set search_path = ''
as $$
  select tests.switch_to('service_role', '{"role": "service_role"}')
$$;

-- A request with the anon key and no user.
create or replace function tests.as_anon() returns void
language sql
set search_path = ''
as $$
  select tests.switch_to('anon', '{"role": "anon"}')
$$;

-- One caller by name, for suites that loop over callers: 'anon', 'service', or a user made by
-- tests.create_user, as admin or support when it was created with that app role.
create or replace function tests.as_caller(name text) returns void
language plpgsql
set search_path = ''
as $$
declare
  v_id uuid;
  v_app_role text;
begin
  if name = 'anon' then
    perform tests.as_anon();
  elsif name = 'service' then
    perform tests.as_service();
  else
    v_id := tests.user_id(name);
    v_app_role := tests.app_role(v_id);
    if v_app_role = 'admin' then
      perform tests.as_admin(v_id);
    elsif v_app_role = 'support' then
      perform tests.as_support(v_id);
    else
      perform tests.as_user(v_id);
    end if;
  end if;
end;
$$;

-- Back to the superuser that runs the suite, with no request's claims left behind.
create or replace function tests.reset_role() returns void
language sql
set search_path = ''
as $$
  select set_config('role', 'none', true), set_config('request.jwt.claims', '', true)
$$;

grant execute on all functions in schema tests to anon, authenticated, service_role;
