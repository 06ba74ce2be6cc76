-- RLS and security audit: one read-only query that returns every finding as
-- (check, severity, schema, object, detail, remediation).
--
-- Runs with psql alone, on PostgreSQL 15 and 17, without extensions and without creating
-- anything. Settings (all optional, read with current_setting(..., true)):
--   rls_audit.schemas           exposed schemas, comma separated
--                               (default: public plus pgrst.db_schemas when set)
--   rls_audit.financial_tables  tables that must force RLS and give anon nothing,
--                               `table` (in public) or `schema.table`
--                               (default: the ten financial tables of docs/PAYMENTS.md,
--                               wallet_balance_shards, wallet_limit_tiers, wallet_tier_limits
--                               and cashouts)
--   rls_audit.append_only       ledger tables no API role may write
--                               (default: wallet_accounts, wallet_transactions, wallet_entries,
--                               wallet_balance_shards, wallet_limit_tiers, wallet_tier_limits)
--   rls_audit.bypassrls_roles   roles allowed to bypass RLS
--                               (default: service_role, postgres, supabase_admin)
-- Example (turn JIT off: on a database whose catalog statistics are stale, such as one just
-- built from migrations, the planner's estimates can make JIT compilation take longer than
-- the whole audit):
--   psql "$DATABASE_URL" -c "set jit = off" \
--        -c "select set_config('rls_audit.schemas', 'public,api', false)" -f sql/rls-audit.sql
--
-- Each check starts with a `-- check: <id>` line; the CLI uses these lines to point SARIF
-- results at the check that produced them.

with recursive settings as (
  select
    coalesce(
      nullif(current_setting('rls_audit.schemas', true), ''),
      'public' || coalesce(',' || nullif(current_setting('pgrst.db_schemas', true), ''), '')
    ) as schemas,
    coalesce(
      nullif(current_setting('rls_audit.financial_tables', true), ''),
      'wallet_accounts,wallet_entries,wallet_transactions,payments,payment_intents,'
      'momo_transactions,revolut_transactions,invoices,subscriptions,refunds,wallet_balance_shards,'
      'wallet_limit_tiers,wallet_tier_limits,cashouts'
    ) as financial_tables,
    coalesce(
      nullif(current_setting('rls_audit.append_only', true), ''),
      'wallet_accounts,wallet_transactions,wallet_entries,wallet_balance_shards,wallet_limit_tiers,'
      'wallet_tier_limits'
    ) as append_only,
    coalesce(
      nullif(current_setting('rls_audit.bypassrls_roles', true), ''),
      'service_role,postgres,supabase_admin'
    ) as bypassrls_roles
),
config as (
  select
    array(
      select distinct btrim(s) from unnest(string_to_array(settings.schemas, ',')) s where btrim(s) <> ''
    ) as exposed_schemas,
    -- Table lists are normalised to `schema.table`; a bare name means public.
    array(
      select distinct case when btrim(s) like '%.%' then btrim(s) else 'public.' || btrim(s) end
      from unnest(string_to_array(settings.financial_tables, ',')) s where btrim(s) <> ''
    ) as financial_tables,
    array(
      select distinct case when btrim(s) like '%.%' then btrim(s) else 'public.' || btrim(s) end
      from unnest(string_to_array(settings.append_only, ',')) s where btrim(s) <> ''
    ) as append_only_tables,
    array(
      select distinct btrim(s) from unnest(string_to_array(settings.bypassrls_roles, ',')) s where btrim(s) <> ''
    ) as bypassrls_roles,
    -- Schemas that belong to Postgres or to the Supabase platform: not ours to audit
    -- unless they are listed as exposed.
    array[
      'pg_catalog', 'information_schema', 'pg_toast', 'auth', 'extensions', 'storage',
      'realtime', '_realtime', 'graphql', 'graphql_public', 'vault', 'pgsodium',
      'pgsodium_masks', 'net', 'cron', 'pgbouncer', 'supabase_functions',
      'supabase_migrations', '_analytics', 'pgtle', 'pgmq', 'repack', 'tiger', 'topology'
    ] as platform_schemas
  from settings
),
-- The roles PostgREST switches to for callers holding the anon key or a user JWT.
api_roles as (
  select oid, rolname from pg_catalog.pg_roles where rolname in ('anon', 'authenticated')
),
audited_namespaces as (
  select
    n.oid,
    n.nspname,
    n.nspname = any(config.exposed_schemas) as exposed
  from pg_catalog.pg_namespace n, config
  where n.nspname = any(config.exposed_schemas)
     or (n.nspname <> all(config.platform_schemas)
         and n.nspname not like 'pg\_temp\_%'
         and n.nspname not like 'pg\_toast\_temp\_%')
),
relations as materialized (
  select
    c.oid,
    ns.nspname,
    c.relname,
    c.relkind,
    c.relispartition,
    c.relrowsecurity,
    c.relforcerowsecurity,
    ns.exposed,
    coalesce((
      select o.option_value in ('true', 'on', '1', 'yes')
      from pg_catalog.pg_options_to_table(c.reloptions) o
      where o.option_name = 'security_invoker'
    ), false) as security_invoker,
    ns.nspname || '.' || c.relname as qualified
  from pg_catalog.pg_class c
  join audited_namespaces ns on ns.oid = c.relnamespace
  where c.relkind in ('r', 'p', 'v', 'm', 'f')
    -- Objects that belong to an extension are covered by extension-in-public.
    and not exists (
      select 1 from pg_catalog.pg_depend d
      where d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass and d.objid = c.oid and d.deptype = 'e'
    )
),
-- What anon and authenticated may do on each relation, table-wide or on some column.
relation_privileges as (
  select
    r.oid,
    ar.rolname,
    array(
      select p from unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) p
      where case when p in ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES')
                 then pg_catalog.has_any_column_privilege(ar.oid, r.oid, p)
                 else pg_catalog.has_table_privilege(ar.oid, r.oid, p) end
    ) as privileges
  from relations r cross join api_roles ar
),
api_access as (
  select
    r.oid,
    coalesce(bool_or(cardinality(rp.privileges) > 0), false) as any_privilege,
    coalesce(bool_or('SELECT' = any(rp.privileges)), false) as can_select,
    coalesce(string_agg(rp.rolname || ' (' || array_to_string(rp.privileges, ', ') || ')', ', '
                        order by rp.rolname) filter (where cardinality(rp.privileges) > 0), 'no API role') as summary
  from relations r
  left join relation_privileges rp on rp.oid = r.oid
  group by r.oid
),
financial as (
  select r.* from relations r, config
  where r.relkind in ('r', 'p') and r.qualified = any(config.financial_tables)
),
policies as materialized (
  select
    p.oid,
    p.polname,
    p.polrelid,
    p.polcmd,
    p.polpermissive,
    p.polroles,
    r.nspname,
    r.relname,
    r.relrowsecurity,
    pg_catalog.pg_get_expr(p.polqual, p.polrelid) as using_expr,
    pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) as check_expr,
    case p.polcmd when 'r' then 'SELECT' when 'a' then 'INSERT' when 'w' then 'UPDATE'
                  when 'd' then 'DELETE' else 'ALL' end as command,
    (select string_agg(case when role_oid = 0 then 'public' else role_oid::pg_catalog.regrole::text end, ', ')
     from unnest(p.polroles) role_oid) as role_list
  from pg_catalog.pg_policy p
  join relations r on r.oid = p.polrelid
),
-- Policy expressions as pg_get_expr prints them, and the parenthesis depth after each
-- opening parenthesis.
policy_expressions as materialized (
  select pol.oid, e.clause, e.expr
  from policies pol
  cross join lateral (values ('USING', pol.using_expr), ('WITH CHECK', pol.check_expr)) e(clause, expr)
  where e.expr is not null
),
expression_depths as materialized (
  select oid, clause, position, ch, depth
  from (
    select
      pe.oid,
      pe.clause,
      k as position,
      substr(pe.expr, k, 1) as ch,
      sum(case substr(pe.expr, k, 1) when '(' then 1 when ')' then -1 else 0 end)
        over (partition by pe.oid, pe.clause order by k) as depth
    from policy_expressions pe
    cross join lateral generate_series(1, length(pe.expr)) k
  ) chars
  where ch in ('(', ')')
),
-- Every call to a per-request value in a policy expression and its depth.
per_request_call_sites as (
  select
    pe.oid,
    pe.clause,
    pe.expr,
    call_pos,
    coalesce((select d.depth from expression_depths d
              where d.oid = pe.oid and d.clause = pe.clause and d.position < call_pos
              order by d.position desc limit 1), 0) as depth
  from policy_expressions pe
  cross join lateral generate_series(
    1, pg_catalog.regexp_count(pe.expr, 'auth\.(uid|jwt|role|email)\(\)|current_setting\(')) n
  cross join lateral pg_catalog.regexp_instr(pe.expr, 'auth\.(uid|jwt|role|email)\(\)|current_setting\(', 1, n) call_pos
),
-- A call is wrapped when one of the groups enclosing it (the last opening parenthesis before
-- it at each depth up to its own) is a `( SELECT ...)` group: evaluated once per statement as
-- an initPlan instead of once per row.
per_request_calls as (
  select
    site.oid,
    site.clause,
    substring(site.expr from site.call_pos for 24) as call,
    coalesce(bool_or(substr(site.expr, enclosing.open_pos, 8) = '( SELECT'), false) as wrapped
  from per_request_call_sites site
  left join lateral (
    select max(d.position) as open_pos
    from expression_depths d
    where d.oid = site.oid and d.clause = site.clause and d.ch = '('
      and d.position < site.call_pos and d.depth <= site.depth
    group by d.depth
  ) enclosing on true
  group by site.oid, site.clause, site.expr, site.call_pos
),
functions as (
  select
    p.oid,
    ns.nspname,
    ns.exposed,
    p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')' as signature,
    p.prosecdef,
    p.proacl,
    p.prorettype,
    (select substring(c from '^search_path=(.*)$') from unnest(p.proconfig) c where c like 'search_path=%') as search_path
  from pg_catalog.pg_proc p
  join audited_namespaces ns on ns.oid = p.pronamespace
  join pg_catalog.pg_language l on l.oid = p.prolang
  where p.prokind in ('f', 'p')
    and l.lanname not in ('c', 'internal')
    and not exists (
      select 1 from pg_catalog.pg_depend d
      where d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass and d.objid = p.oid and d.deptype = 'e'
    )
),
-- Relations each view reads, following views that read views.
view_reads as (
  select v.oid as view_oid, d.refobjid as read_oid
  from relations v
  join pg_catalog.pg_rewrite rw on rw.ev_class = v.oid
  join pg_catalog.pg_depend d on d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass and d.objid = rw.oid
       and d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass and d.refobjid <> v.oid
  where v.relkind in ('v', 'm')
  union
  select vr.view_oid, d.refobjid
  from view_reads vr
  join pg_catalog.pg_class inner_view on inner_view.oid = vr.read_oid and inner_view.relkind in ('v', 'm')
  join pg_catalog.pg_rewrite rw on rw.ev_class = inner_view.oid
  join pg_catalog.pg_depend d on d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass and d.objid = rw.oid
       and d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass and d.refobjid <> inner_view.oid
),
findings(check_id, severity, schema_name, object_name, detail, remediation) as (

  -- check: rls-disabled
  -- (text, not name: the union's column types come from this first branch)
  select 'rls-disabled', 'error', r.nspname::text, r.relname::text,
    format('%s %I.%I is in an exposed schema with row level security disabled; access: %s.',
           case when r.relkind = 'p' then 'Partitioned table' when r.relispartition then 'Partition'
                else 'Table' end,
           r.nspname, r.relname, a.summary),
    format('alter table %I.%I enable row level security; then add policies with a TO role list.',
           r.nspname, r.relname)
  from relations r join api_access a on a.oid = r.oid
  where r.exposed and r.relkind in ('r', 'p') and not r.relrowsecurity

  union all
  -- check: rls-no-policy
  select 'rls-no-policy', 'warn', r.nspname, r.relname,
    format('Table %I.%I has row level security enabled and no policy, yet %s hold privileges on it: every API request sees zero rows.',
           r.nspname, r.relname, a.summary),
    format('Add policies for the roles that should reach %I.%I, or revoke all on it from anon, authenticated if only service_role uses it.',
           r.nspname, r.relname)
  from relations r join api_access a on a.oid = r.oid
  where r.exposed and r.relkind in ('r', 'p') and r.relrowsecurity and a.any_privilege
    and not exists (select 1 from pg_catalog.pg_policy p where p.polrelid = r.oid)

  union all
  -- check: policy-rls-disabled
  select 'policy-rls-disabled', 'error', r.nspname, r.relname,
    format('Table %I.%I has policies (%s) but row level security is disabled, so none of them applies.',
           r.nspname, r.relname, string_agg(p.polname, ', ' order by p.polname)),
    format('alter table %I.%I enable row level security;', r.nspname, r.relname)
  from relations r join pg_catalog.pg_policy p on p.polrelid = r.oid
  where r.relkind in ('r', 'p') and not r.relrowsecurity
  group by r.nspname, r.relname

  union all
  -- check: force-rls-missing
  select 'force-rls-missing', 'error', f.nspname, f.relname,
    format('Financial table %I.%I does not force row level security: its owner (and any role that owns it through a migration) bypasses every policy.',
           f.nspname, f.relname),
    format('alter table %I.%I force row level security;', f.nspname, f.relname)
  from financial f
  where not f.relforcerowsecurity

  union all
  -- check: policy-always-true
  select 'policy-always-true',
    case when pol.polcmd = 'r' then 'warn' else 'error' end,
    pol.nspname, pol.relname || '.' || pol.polname,
    format('Permissive %s policy %I on %I.%I for %s allows every row: %s.',
           pol.command, pol.polname, pol.nspname, pol.relname, pol.role_list,
           concat_ws(' and ',
             case when t.using_true then 'USING is constant true' end,
             case when t.check_true then 'WITH CHECK is constant true' end)),
    format('Replace the constant with an ownership condition, e.g. using (owner_id = (select auth.uid())), on policy %I of %I.%I.',
           pol.polname, pol.nspname, pol.relname)
  from policies pol
  cross join lateral (
    select
      pol.polcmd <> 'a' and regexp_replace(lower(coalesce(pol.using_expr, 'true')), '[\s()]', '', 'g')
        in ('true', '1=1', 'true=true') as using_true,
      pol.polcmd <> 'r' and (
        (pol.polcmd = 'a' and pol.check_expr is null)
        or regexp_replace(lower(coalesce(pol.check_expr, case when pol.polcmd in ('w', '*') then pol.using_expr end, 'false')),
                          '[\s()]', '', 'g') in ('true', '1=1', 'true=true')) as check_true
  ) t
  where pol.polpermissive
    and pol.polroles && (array[0::oid] || array(select oid from api_roles))
    and (t.using_true or t.check_true)

  union all
  -- check: policy-user-metadata
  select 'policy-user-metadata', 'error', pol.nspname, pol.relname || '.' || pol.polname,
    format('Policy %I on %I.%I reads user_metadata%s; users can edit their own user_metadata, so it proves nothing.',
           pol.polname, pol.nspname, pol.relname,
           coalesce(' through ' || (
             select string_agg(fp.oid::pg_catalog.regprocedure::text, ', ')
             from pg_catalog.pg_depend d join pg_catalog.pg_proc fp on fp.oid = d.refobjid
             where d.classid = 'pg_catalog.pg_policy'::pg_catalog.regclass and d.objid = pol.oid
               and d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
               and fp.prosrc ~* 'user_metadata|raw_user_meta_data'), '')),
    'Decide on app_metadata (auth.jwt() -> ''app_metadata''), which only the service role can change.'
  from policies pol
  where coalesce(pol.using_expr, '') || ' ' || coalesce(pol.check_expr, '') ~* 'user_metadata|raw_user_meta_data'
     or exists (
       select 1
       from pg_catalog.pg_depend d join pg_catalog.pg_proc fp on fp.oid = d.refobjid
       where d.classid = 'pg_catalog.pg_policy'::pg_catalog.regclass and d.objid = pol.oid
         and d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
         and fp.prosrc ~* 'user_metadata|raw_user_meta_data')

  union all
  -- check: policy-missing-to
  select 'policy-missing-to', 'warn', pol.nspname, pol.relname || '.' || pol.polname,
    format('Policy %I on %I.%I has no TO role list, so it applies to public: every role, anon included, evaluates it.',
           pol.polname, pol.nspname, pol.relname),
    format('Recreate policy %I on %I.%I with TO authenticated (or the roles it is meant for).',
           pol.polname, pol.nspname, pol.relname)
  from policies pol
  where pol.polroles = array[0::oid]

  union all
  -- check: anon-financial-privilege
  select 'anon-financial-privilege', 'error', f.nspname, f.relname,
    format('anon holds %s on financial table %I.%I.', array_to_string(rp.privileges, ', '), f.nspname, f.relname),
    format('revoke all on table %I.%I from anon, public;', f.nspname, f.relname)
  from financial f
  join relation_privileges rp on rp.oid = f.oid and rp.rolname = 'anon'
  where cardinality(rp.privileges) > 0

  union all
  -- check: ledger-write-privilege
  select 'ledger-write-privilege', 'error', r.nspname, r.relname,
    format('Append-only ledger table %I.%I can be written directly: %s.', r.nspname, r.relname,
           string_agg(w.rolname || ' (' || array_to_string(w.privileges, ', ') || ')', ', ' order by w.rolname)),
    format('revoke insert, update, delete, truncate on table %I.%I from public, anon, authenticated, service_role; write through the wallet functions.',
           r.nspname, r.relname)
  from relations r
  cross join config
  cross join lateral (
    select ro.rolname,
      array(
        select p from unnest(array['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) p
        where case when p in ('INSERT', 'UPDATE') then pg_catalog.has_any_column_privilege(ro.oid, r.oid, p)
                   else pg_catalog.has_table_privilege(ro.oid, r.oid, p) end
      ) as privileges
    from pg_catalog.pg_roles ro
    where ro.rolname in ('anon', 'authenticated', 'service_role')
  ) w
  where r.relkind in ('r', 'p') and r.qualified = any(config.append_only_tables) and cardinality(w.privileges) > 0
  group by r.nspname, r.relname

  union all
  -- check: view-bypasses-rls
  select 'view-bypasses-rls', 'error', v.nspname, v.relname,
    format('View %I.%I runs with its owner''s rights (no security_invoker) and reads %s, which %s; %s can select from it.',
           v.nspname, v.relname, string_agg(format('%I.%I', tn.nspname, t.relname), ', ' order by tn.nspname, t.relname),
           case when count(*) > 1 then 'have row level security' else 'has row level security' end, a.summary),
    format('alter view %I.%I set (security_invoker = true);', v.nspname, v.relname)
  from relations v
  join api_access a on a.oid = v.oid
  join view_reads vr on vr.view_oid = v.oid
  -- Any schema: a view in the API that reads e.g. storage.objects exposes it too.
  join pg_catalog.pg_class t on t.oid = vr.read_oid and t.relkind in ('r', 'p') and t.relrowsecurity
  join pg_catalog.pg_namespace tn on tn.oid = t.relnamespace
  where v.relkind = 'v' and v.exposed and not v.security_invoker and a.can_select
  group by v.nspname, v.relname, a.summary

  union all
  -- check: auth-users-exposed
  select 'auth-users-exposed', 'error', v.nspname, v.relname,
    format('%s %I.%I reads auth.users with its owner''s rights and %s can select from it: emails, phones and metadata of every user are readable.',
           case when v.relkind = 'm' then 'Materialized view' else 'View' end, v.nspname, v.relname, a.summary),
    format('drop %s %I.%I, or revoke select on it from anon, authenticated and expose only the caller''s own row through a security_invoker view.',
           case when v.relkind = 'm' then 'materialized view' else 'view' end, v.nspname, v.relname)
  from relations v
  join api_access a on a.oid = v.oid
  where v.relkind in ('v', 'm') and v.exposed and a.can_select
    and (v.relkind = 'm' or not v.security_invoker)
    and exists (select 1 from view_reads vr where vr.view_oid = v.oid and vr.read_oid = pg_catalog.to_regclass('auth.users'))

  union all
  -- check: matview-foreign-table-exposed
  select 'matview-foreign-table-exposed', 'warn', r.nspname, r.relname,
    format('%s %I.%I is readable through the API by %s; row level security cannot protect it.',
           case when r.relkind = 'm' then 'Materialized view' else 'Foreign table' end, r.nspname, r.relname, a.summary),
    format('revoke select on %I.%I from anon, authenticated, or move it to a schema that is not exposed.',
           r.nspname, r.relname)
  from relations r join api_access a on a.oid = r.oid
  where r.exposed and r.relkind in ('m', 'f') and a.can_select

  union all
  -- check: secdef-search-path-missing
  select 'secdef-search-path-missing', 'error', f.nspname, f.signature,
    format('security definer function %I.%s has no fixed search_path: a caller''s search_path decides which objects it resolves, with the owner''s rights.',
           f.nspname, f.signature),
    format('alter function %I.%s set search_path = ''''; and qualify every name in its body.', f.nspname, f.signature)
  from functions f
  where f.prosecdef and f.search_path is null

  union all
  -- check: secdef-search-path-unsafe
  select 'secdef-search-path-unsafe', 'warn', f.nspname, f.signature,
    format('security definer function %I.%s sets search_path = %s, which %s.', f.nspname, f.signature, f.search_path,
           concat_ws(' and ',
             case when writable.schemas is not null then 'includes schemas API roles can create objects in (' || writable.schemas || ')' end,
             case when not f.search_path ~* 'pg_temp"?$' then 'searches pg_temp first, where any session can shadow its tables' end)),
    format('alter function %I.%s set search_path = ''''; and qualify every name in its body.', f.nspname, f.signature)
  from functions f
  cross join lateral (
    select string_agg(ns.nspname, ', ') as schemas
    from pg_catalog.pg_namespace ns
    where ns.nspname = any(array(select btrim(s, ' "') from unnest(string_to_array(f.search_path, ',')) s))
      and (exists (select 1 from api_roles ar where pg_catalog.has_schema_privilege(ar.oid, ns.oid, 'CREATE'))
           or exists (select 1 from pg_catalog.aclexplode(ns.nspacl) x where x.grantee = 0 and x.privilege_type = 'CREATE'))
  ) writable
  where f.prosecdef and f.search_path is not null and f.search_path not in ('""', '')
    and (writable.schemas is not null or not f.search_path ~* 'pg_temp"?$')

  union all
  -- check: secdef-executable
  select 'secdef-executable',
    case when x.public_exec or x.anon_exec then 'error' else 'warn' end,
    f.nspname, f.signature,
    format('security definer function %I.%s in an exposed schema is executable by %s through /rest/v1/rpc and runs with its owner''s rights.',
           f.nspname, f.signature,
           concat_ws(', ', case when x.public_exec then 'public' end, case when x.anon_exec then 'anon' end,
                           case when x.auth_exec then 'authenticated' end)),
    case when x.public_exec or x.anon_exec
      then format('revoke execute on function %I.%s from public, anon; grant it only to the roles that need it.', f.nspname, f.signature)
      else format('Check that %I.%s verifies its caller, then accept it in the allow-list with that reason; otherwise revoke execute from authenticated.', f.nspname, f.signature)
    end
  from functions f
  cross join lateral (
    select
      f.proacl is null or exists (select 1 from pg_catalog.aclexplode(f.proacl) a where a.grantee = 0 and a.privilege_type = 'EXECUTE') as public_exec,
      exists (select 1 from api_roles ar where ar.rolname = 'anon' and pg_catalog.has_function_privilege(ar.oid, f.oid, 'EXECUTE')) as anon_exec,
      exists (select 1 from api_roles ar where ar.rolname = 'authenticated' and pg_catalog.has_function_privilege(ar.oid, f.oid, 'EXECUTE')) as auth_exec
  ) x
  where f.prosecdef and f.exposed
    and f.prorettype not in ('pg_catalog.trigger'::pg_catalog.regtype, 'pg_catalog.event_trigger'::pg_catalog.regtype)
    and (x.public_exec or x.anon_exec or x.auth_exec)

  union all
  -- check: function-search-path-mutable
  select 'function-search-path-mutable', 'warn', f.nspname, f.signature,
    format('Function %I.%s has no fixed search_path, so what it resolves depends on the caller''s search_path.', f.nspname, f.signature),
    format('alter function %I.%s set search_path = ''''; and qualify every name in its body.', f.nspname, f.signature)
  from functions f
  where not f.prosecdef and f.search_path is null

  union all
  -- check: bypassrls-role
  select 'bypassrls-role', 'error', null, ro.rolname,
    format('Role %I %s, so every policy is skipped for it%s.', ro.rolname,
           case when ro.rolsuper then 'is a superuser' else 'has BYPASSRLS' end,
           case when ro.rolcanlogin then ' and it can log in' else '' end),
    format('alter role %I %s;', ro.rolname, case when ro.rolsuper then 'nosuperuser nobypassrls' else 'nobypassrls' end)
  from pg_catalog.pg_roles ro, config
  where (ro.rolbypassrls or ro.rolsuper)
    and ro.rolname <> all(config.bypassrls_roles)
    and ro.rolname not like 'pg\_%'

  union all
  -- check: policy-per-row-call
  select 'policy-per-row-call', 'warn', pol.nspname, pol.relname || '.' || pol.polname,
    format('Policy %I on %I.%I calls %s in %s once per row instead of once per statement.',
           pol.polname, pol.nspname, pol.relname,
           string_agg(distinct substring(c.call from '^(auth\.\w+\(\)|current_setting)'), ', '),
           string_agg(distinct c.clause, ' and ')),
    format('Wrap each call in a scalar subquery, e.g. (select auth.uid()), in policy %I of %I.%I.',
           pol.polname, pol.nspname, pol.relname)
  from policies pol join per_request_calls c on c.oid = pol.oid
  where not c.wrapped
  group by pol.nspname, pol.relname, pol.polname

  union all
  -- check: policy-column-unindexed
  select 'policy-column-unindexed', 'warn', t.nspname, t.relname || '.' || att.attname,
    format('Column %I.%I.%I is filtered by %s and no index starts with it, so each query scans the table.',
           t.nspname, t.relname, att.attname,
           string_agg(distinct format('policy %I on %I.%I', pol.polname, pol.nspname, pol.relname), ', ')),
    format('create index on %I.%I (%I);', t.nspname, t.relname, att.attname)
  from policies pol
  join pg_catalog.pg_depend d on d.classid = 'pg_catalog.pg_policy'::pg_catalog.regclass and d.objid = pol.oid
       and d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass and d.refobjsubid > 0
  join relations t on t.oid = d.refobjid and t.relkind in ('r', 'p')
  join pg_catalog.pg_attribute att on att.attrelid = t.oid and att.attnum = d.refobjsubid
  -- An INSERT policy only checks the new row; its own table's columns are not filtered.
  where not (pol.polcmd = 'a' and t.oid = pol.polrelid)
    and not exists (select 1 from pg_catalog.pg_index i where i.indrelid = t.oid and i.indkey[0] = att.attnum)
  group by t.nspname, t.relname, att.attname

  union all
  -- check: extension-in-public
  select 'extension-in-public', 'warn', ns.nspname, e.extname,
    format('Extension %I is installed in exposed schema %I, so its functions and tables are part of the API.', e.extname, ns.nspname),
    format('alter extension %I set schema extensions; (or drop and recreate it with schema extensions).', e.extname)
  from pg_catalog.pg_extension e
  join pg_catalog.pg_namespace ns on ns.oid = e.extnamespace
  cross join config
  where ns.nspname = any(config.exposed_schemas)
)
select
  check_id as "check",
  severity,
  schema_name as "schema",
  object_name as "object",
  detail,
  remediation
from findings
order by case severity when 'error' then 0 when 'warn' then 1 else 2 end, check_id, schema_name, object_name;
