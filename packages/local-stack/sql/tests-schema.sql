-- The `tests` schema: helpers for the pgTAP suites in supabase/tests/database, installed by
-- the throwaway test stack right after pgTAP. No migration creates it, so no deployed
-- database has it. Idempotent, like the bootstrap.
--
-- The role switches are real: each helper is security invoker and sets `role` for the rest
-- of the test's transaction, like `set local role` (a function's SET clause reverts only the
-- settings it names, and none of these names `role`). The claims are what PostgREST
-- puts in `request.jwt.claims` for the same token. Every API role may call the helpers,
-- because a test switches from one caller to the next without going back to postgres. The
-- fixtures at the end act as the user or the service for their writes and put the caller back.

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

-- A user account in p_currency for each of p_users (up to six), written past the ledger's
-- functions with literal ids in the order of the names: <p_id_prefix>-0000-4000-8000-00000000000a
-- for the first, ...0b for the second, and so on, so that the ids read in the tests as whose
-- they are.
create or replace function tests.create_accounts(p_id_prefix text, p_currency text, p_users text[]) returns void
language sql
set search_path = ''
as $$
  insert into public.wallet_accounts (id, owner_id, kind, currency)
  select (p_id_prefix || '-0000-4000-8000-00000000000' || chr(96 + u.n::integer))::uuid, tests.user_id(u.name), 'user', p_currency
    from unnest(p_users) with ordinality as u (name, n);
$$;

-- The ledger suites' fixture: users alice and bob, an account each in p_currency
-- (<p_id_prefix>-0000-4000-8000-00000000000a and ...0b) and alice's in EUR (...0e).
create or replace function tests.create_two_user_ledger(p_id_prefix text, p_currency text) returns void
language sql
set search_path = ''
as $$
  select tests.create_users(array['alice', 'bob']);
  select tests.create_accounts(p_id_prefix, p_currency, array['alice', 'bob']);
  insert into public.wallet_accounts (id, owner_id, kind, currency)
  values ((p_id_prefix || '-0000-4000-8000-00000000000e')::uuid, tests.user_id('alice'), 'user', 'EUR');
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

-- pgTAP's throws_ok for a row that the shape constraint of p_table refuses (decision 0011):
-- p_insert fails with 23514 naming <table>_shape. Its search_path is pgTAP's schema, where
-- pgTAP's functions find one another.
create or replace function tests.refuses_shape(p_table regclass, p_insert text, p_description text) returns text
language sql
set search_path = extensions
as $$
  select extensions.throws_ok(p_insert, '23514',
           pg_catalog.format('new row for relation "%s" violates check constraint "%s_shape"', c.relname, c.relname),
           p_description)
    from pg_catalog.pg_class c
   where c.oid = p_table
$$;

-- The app role tests.create_user gave a user (null for a plain user).
create or replace function tests.app_role(user_id uuid) returns text
language sql
stable
security definer set search_path = ''
as $$
  select u.raw_app_meta_data ->> 'role' from auth.users u where u.id = user_id
$$;

-- The seconds left, rounded, of the lease p_job holds on p_item (null when it holds none), for
-- the polling suites' lease checks. Security definer: the suite asks as the service, which
-- cannot read private.job_leases.
create or replace function tests.lease_seconds(p_job text, p_item uuid) returns integer
language plpgsql
stable
security definer set search_path = ''
as $$
begin
  return (select round(extract(epoch from l.leased_until - now()))::integer
            from private.job_leases l where l.job = p_job and l.item_id = p_item);
end;
$$;


-- private.refund_prepare for the refund suites, which check its decisions one by one as the
-- caller they switched to: no API role executes it (the functions that record a refund call
-- it). Security definer changes only the current user, not the `role` setting nor the claims,
-- so the function still sees the admin, support or user the test switched to.
create or replace function tests.refund_prepare(p_payment uuid, p_amount bigint)
returns table (provider text, provider_payment_id text, currency text, remaining bigint)
language plpgsql
security definer set search_path = ''
as $$
begin
  return query select * from private.refund_prepare(p_payment, p_amount);
end;
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

-- The one row of p_query, run as the caller named as tests.as_caller names them ('service', a
-- user by name), read into p_value, a null of the type wanted (null::uuid, null::public.payments),
-- and returned; the caller of before, role and claims, is put back. The fixtures below act as
-- the user or the service through it. No row or more than one is an error.
create or replace function tests.query_as(p_caller text, p_query text, p_value anyelement) returns anyelement
language plpgsql
set search_path = ''
as $$
declare
  v_role text := current_setting('role');
  v_claims text := coalesce(current_setting('request.jwt.claims', true), '');
begin
  perform tests.as_caller(p_caller);
  execute p_query into strict p_value;
  perform set_config('role', v_role, true), set_config('request.jwt.claims', v_claims, true);
  return p_value;
end;
$$;

-- A user's account in p_currency, opened as the user opens it: public.wallet_open_account,
-- called as that user, so through its grants and checks. Returns the account's id.
create or replace function tests.open_account(p_user text, p_currency text) returns uuid
language sql
set search_path = ''
as $$
  select tests.query_as(p_user, format('select id from public.wallet_open_account(%L)', p_currency), null::uuid)
$$;

-- A top-up intent for p_account that the service created and attached to the provider's
-- reference (payment_intent_create under the idempotency key <provider>:<reference>, then
-- payment_intent_attach: the intent is processing). Returns the intent's id.
create or replace function tests.attached_intent(p_provider text, p_account uuid, p_amount bigint, p_currency text,
                                                 p_provider_ref text) returns uuid
language sql
set search_path = ''
as $$
  select tests.query_as('service',
    format('select (public.payment_intent_attach(i.id, %L)).id from public.payment_intent_create(%L, %L, %s, %L, %L) i',
           p_provider_ref, p_provider, p_account, p_amount, p_currency, p_provider || ':' || p_provider_ref),
    null::uuid)
$$;

-- A top-up the provider paid in full: tests.attached_intent, then the provider's success
-- recorded as its webhook records it (payment_record_success as the service, the provider's
-- payment id being the reference), which credits the account. Returns the payment (its id,
-- intent_id and wallet_transaction_id, the credit). A payment left under review instead is an
-- error, so that a fixture never passes for a credit it is not.
create or replace function tests.credited_payment(p_provider text, p_account uuid, p_amount bigint, p_currency text,
                                                  p_provider_ref text) returns public.payments
language plpgsql
set search_path = ''
as $$
declare
  v_payment public.payments := tests.query_as('service',
    format('select * from public.payment_record_success(%L, %L, %L, %s, %L)', p_provider, p_provider_ref,
           tests.attached_intent(p_provider, p_account, p_amount, p_currency, p_provider_ref), p_amount, p_currency),
    null::public.payments);
begin
  if v_payment.status <> 'succeeded' then
    raise exception 'tests.credited_payment: % payment % is %, not credited', p_provider, p_provider_ref, v_payment.status;
  end if;
  return v_payment;
end;
$$;

-- A cash-out p_user asked for: api_private.cashout_create called as that user, so through its
-- grants and checks. The cash-out is pending with its amount held. Returns the cash-out (its
-- id, reference_id and hold_id).
create or replace function tests.pending_cashout(p_user text, p_account uuid, p_amount bigint, p_currency text,
                                                 p_msisdn text, p_key text) returns public.cashouts
language sql
set search_path = ''
as $$
  select tests.query_as(p_user,
    format('select * from api_private.cashout_create(%L, %s, %L, %L, %L)', p_account, p_amount, p_currency, p_msisdn, p_key),
    null::public.cashouts)
$$;

grant execute on all functions in schema tests to anon, authenticated, service_role;
