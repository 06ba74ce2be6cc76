-- The edge functions' rate-limit store: exact sliding window, input checks, and that no API
-- role other than service_role can reach it.
begin;
select plan(22);

select has_function('private', 'rate_limit_hit', array['text', 'integer', 'integer']);
select is(
  (select prosecdef and proconfig @> array['search_path=""'] from pg_proc where oid = 'private.rate_limit_hit(text,integer,integer)'::regprocedure),
  true, 'rate_limit_hit is security definer with an empty search_path');
select ok(
  (select relrowsecurity and relforcerowsecurity from pg_class where oid = 'private.rate_limit_windows'::regclass),
  'RLS is enabled and forced on the windows');
select is(
  (select relpersistence from pg_class where oid = 'private.rate_limit_windows'::regclass), 'u',
  'the windows are unlogged: counts need no crash safety, and hits write no WAL');

-- Privileges: only service_role executes; no API role touches the table directly.
select ok(not has_function_privilege('anon', 'private.rate_limit_hit(text,integer,integer)', 'execute'), 'anon cannot execute');
select ok(not has_function_privilege('authenticated', 'private.rate_limit_hit(text,integer,integer)', 'execute'), 'authenticated cannot execute');
select ok(has_function_privilege('service_role', 'private.rate_limit_hit(text,integer,integer)', 'execute'), 'service_role can execute');
select ok(not has_table_privilege('service_role', 'private.rate_limit_windows', 'select,insert,update,delete'), 'service_role has no direct table access');
select ok(not has_schema_privilege('authenticated', 'private', 'usage'), 'authenticated has no usage on schema private');

-- Exact count for one key, independent of other keys, as service_role would call it.
-- (The key mentions n only so that the planner calls the function once per row.)
select tests.as_service();
select is(
  (select array_agg(allowed order by n) from generate_series(1, 4) as n,
     lateral private.rate_limit_hit('test:exact' || left(n::text, 0), 3, 60000)),
  array[true, true, true, false], 'the fourth hit inside the window is refused');
select is(
  (select remaining from private.rate_limit_hit('test:other', 3, 60000)), 2, 'another key has its own window');
select ok(
  (select reset_ms between (extract(epoch from now()) * 1000)::bigint + 59000 and (extract(epoch from clock_timestamp()) * 1000)::bigint + 60000
   from private.rate_limit_hit('test:exact', 3, 60000)),
  'reset is when the oldest counted hit leaves the window');
-- The limiter calls it as a statement of its own: that statement's commit does not wait for
-- the WAL flush, so the key's lock is released sooner.
select is(current_setting('synchronous_commit'), 'off', 'a hit''s transaction commits without waiting for the WAL flush');
select tests.reset_role();

-- Hits older than the window no longer count and are dropped from the row.
update private.rate_limit_windows set hits = array[1, 2, 3]::bigint[] where key = 'test:exact';
select is(
  (select allowed from private.rate_limit_hit('test:exact', 3, 60000)), true, 'expired hits free the window');
select is(
  (select cardinality(hits) from private.rate_limit_windows where key = 'test:exact'), 1, 'expired hits are removed from the log');
-- Exactly the hits that left the window are cut from the front of the log, the rest kept in order.
update private.rate_limit_windows
   set hits = array[1, 2, 3, (extract(epoch from clock_timestamp()) * 1000)::bigint - 2000,
                    (extract(epoch from clock_timestamp()) * 1000)::bigint - 1000]::bigint[]
 where key = 'test:exact';
select is(
  (select remaining from private.rate_limit_hit('test:exact', 4, 60000)), 1,
  'the two hits inside the window and this one count, the three older ones do not');
select ok(
  (select cardinality(hits) = 3 and hits[1] < hits[2] and hits[2] < hits[3] and hits[1] > 3
     from private.rate_limit_windows where key = 'test:exact'),
  'the log keeps the hits inside the window, oldest first, and this hit last');

-- Bad input is refused with 22023 and writes nothing.
select throws_ok($$select private.rate_limit_hit('', 3, 60000)$$, '22023', 'rate limit key must be 1..256 characters');
select throws_ok($$select private.rate_limit_hit('k', 0, 60000)$$, '22023', 'rate limit must be between 1 and 100000 hits');
select throws_ok($$select private.rate_limit_hit('k', 3, 10)$$, '22023', 'rate limit window must be between 1000 and 86400000 ms');

-- Pruning drops windows whose hits all expired and keeps live ones.
insert into private.rate_limit_windows (key, hits, expires_at) values ('test:stale', array[1]::bigint[], now() - interval '1 second');
select is(private.rate_limit_prune(), 1, 'prune deletes the expired window');
select is(
  (select array_agg(key order by key) from private.rate_limit_windows where key like 'test:%'),
  array['test:exact', 'test:other'], 'prune keeps the live windows');

select * from finish();
rollback;
