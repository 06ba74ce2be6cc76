-- The local Supabase bootstrap reproduces what RLS depends on: the API roles with Supabase's
-- attributes, the claim helpers reading what PostgREST sets per request, and the CLI's
-- migration history.
begin;
select plan(17);

select ok((select not rolcanlogin and not rolinherit and not rolbypassrls from pg_roles where rolname = 'anon'),
  'anon: nologin, noinherit, no BYPASSRLS');
select ok((select not rolcanlogin and not rolinherit and not rolbypassrls from pg_roles where rolname = 'authenticated'),
  'authenticated: nologin, noinherit, no BYPASSRLS');
select ok((select not rolcanlogin and rolbypassrls from pg_roles where rolname = 'service_role'),
  'service_role: nologin, BYPASSRLS');
select ok((select rolcanlogin and not rolinherit from pg_roles where rolname = 'authenticator'),
  'authenticator: login, noinherit');
select ok(pg_has_role('authenticator', 'anon', 'member') and pg_has_role('authenticator', 'authenticated', 'member')
  and pg_has_role('authenticator', 'service_role', 'member'), 'authenticator can switch to the three API roles');

select has_schema('auth');
select has_schema('extensions');
select has_table('auth', 'users', 'auth.users exists');
select has_table('supabase_migrations', 'schema_migrations', 'the Supabase CLI recorded its migration history');
select ok((select count(*) > 0 from supabase_migrations.schema_migrations), 'migrations were applied through the CLI');

-- A PostgREST request: switch role, then set the claims for this transaction only.
set local role authenticated;
select set_config('request.jwt.claims',
  '{"sub":"11111111-1111-4111-8111-111111111111","role":"authenticated","email":"alice@mfuko.test","app_metadata":{"role":"admin"}}', true);
select is(auth.uid(), '11111111-1111-4111-8111-111111111111'::uuid, 'auth.uid() is the sub claim');
select is(auth.role(), 'authenticated', 'auth.role() is the role claim');
select is(auth.email(), 'alice@mfuko.test', 'auth.email() is the email claim');
select is(auth.jwt() -> 'app_metadata' ->> 'role', 'admin', 'auth.jwt() exposes app_metadata');
select is(current_user::text, 'authenticated', 'the request runs as authenticated');

-- The older per-claim setting still wins when both are set, as in Supabase's definition.
select set_config('request.jwt.claim.sub', '22222222-2222-4222-8222-222222222222', true);
select is(auth.uid(), '22222222-2222-4222-8222-222222222222'::uuid, 'request.jwt.claim.sub is honoured first');

reset role;
select set_config('request.jwt.claims', '', true);
select set_config('request.jwt.claim.sub', '', true);
select is(auth.uid(), null, 'no claims: auth.uid() is null');

select * from finish();
rollback;
