-- The migrations write their functions in PL/pgSQL. Each function sets its search_path, and
-- a SQL-language function with a SET clause is never inlined: PostgreSQL 15 parses and plans
-- its body again in every query, and in every transaction of a PL/pgSQL caller, that calls it.
-- A PL/pgSQL function keeps its plans for the session (docs/decisions/0006). A webhook
-- delivery called the payload scrubber twice and paid about 0.3 ms for its plans.
begin;
select plan(8);

select is(array(select n.nspname || '.' || p.proname
                  from pg_proc p
                  join pg_namespace n on n.oid = p.pronamespace
                  join pg_language l on l.oid = p.prolang
                 where n.nspname in ('public', 'private', 'api_private', 'audit', 'api_hooks')
                   and l.lanname = 'sql' and p.proconfig is not null
                   and not exists (select 1 from pg_depend d
                                    where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
                 order by 1),
  '{}'::text[], 'no function of the migrations is SQL-language with a SET clause');

-- The scrubber, rewritten in PL/pgSQL, removes the same keys.
select is(private.scrub_secrets('{"id": "pi_1", "amount": 5, "metadata": {"note": "token-free"}}'),
  '{"id": "pi_1", "amount": 5, "metadata": {"note": "token-free"}}'::jsonb,
  'a payload naming no credential key comes back unchanged (a value that mentions one is not a key)');
select is(private.scrub_secrets('{"data": {"object": {"id": "pi_1", "Client_Secret": "pi_1_secret_x"}}}'),
  '{"data": {"object": {"id": "pi_1"}}}'::jsonb, 'a credential key is removed at any depth, whatever its case');
select is(private.scrub_secrets('{"items": [{"token": "t", "n": 1}, [{"cvc": "123"}], "secret"]}'),
  '{"items": [{"n": 1}, [{}], "secret"]}'::jsonb, 'inside arrays too, in order; a string element stays');
select is(private.scrub_secrets('[{"password": "p"}]'), '[{}]'::jsonb, 'a top-level array is walked');
select is(private.scrub_secrets('{"cvv": 4, "a": {"Token": 1, "b": [1, {"pin": 2, "c": 3}, {"d": "pin"}]}, "e": {"f": 5}, "g": [{"h": 6}]}'),
  '{"a": {"b": [1, {"c": 3}, {"d": "pin"}]}, "e": {"f": 5}, "g": [{"h": 6}]}'::jsonb,
  'credential keys at several depths of one payload all go; every other key, value and element stays where it was');
select is(private.scrub_secrets('{"signature": "s"}'), '{}'::jsonb, 'an object of credentials becomes empty');
select is(private.scrub_secrets(null), null, 'null stays null');

select * from finish();
rollback;
