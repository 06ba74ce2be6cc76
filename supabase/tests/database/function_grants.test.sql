-- EXECUTE on the migrations' functions: nobody holds it unless a grant beside the function
-- names them. The first migration takes PostgreSQL's grant to PUBLIC and Supabase's grants
-- to the API roles away from every function created after it; the grants of each function
-- are tested where the function is.
begin;
select plan(4);

-- The functions the migrations create (not an extension's, not the tests' own).
create temporary view migration_functions as
select p.oid, n.nspname, p.proname, p.proacl
  from pg_proc p
  join pg_namespace n on n.oid = p.pronamespace
 where n.nspname in ('public', 'private', 'api_private', 'audit', 'api_hooks')
   and not exists (select 1 from pg_depend d
                    where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e');

select cmp_ok((select count(*) from migration_functions), '>', 100::bigint,
  'the migrations create their functions in public, private, api_private, audit and api_hooks');
-- A null ACL is the built-in default, which includes EXECUTE for PUBLIC.
select is(array(select nspname || '.' || proname from migration_functions
                 where proacl is null or exists (select 1 from aclexplode(proacl) a where a.grantee = 0)
                 order by 1),
  '{}'::text[], 'no function is executable by PUBLIC');
select is(array(select nspname || '.' || proname from migration_functions
                 where has_function_privilege('anon', oid, 'execute') and nspname <> 'api_hooks'
                 order by 1),
  '{}'::text[], 'anon executes none of them (but the PostgREST pre-request hook)');
select is(array(select nspname || '.' || proname from migration_functions
                 where nspname = 'private' and has_function_privilege('authenticated', oid, 'execute')
                 order by 1),
  array['private.caller_account_ids', 'private.caller_reads_all', 'private.caller_tier_limit_ids'],
  'authenticated executes only the policy helpers of schema private');

select * from finish();
rollback;
