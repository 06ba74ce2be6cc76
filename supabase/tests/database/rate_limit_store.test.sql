-- The edge functions' rate-limit store: the sliding window's counters, input checks, and that no API
-- role other than service_role can reach it.
begin;
select plan(27);

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

-- Windows of a day (the longest allowed) keep every hit below inside one window, unless the
-- test runs across midnight UTC. The current window starts at the last multiple of the window
-- length since the epoch.
create temporary table day_window as
  select (extract(epoch from clock_timestamp()) * 1000)::bigint / 86400000 * 86400000 as start;
grant select on day_window to service_role;

-- The count for one key, independent of other keys, as service_role would call it.
-- (The key mentions n only so that the planner calls the function once per row.)
select tests.as_service();
select is(
  (select array_agg(allowed order by n) from generate_series(1, 4) as n,
     lateral private.rate_limit_hit('test:count' || left(n::text, 0), 3, 86400000)),
  array[true, true, true, false], 'the fourth hit inside the window is refused');
select is(
  (select remaining from private.rate_limit_hit('test:other', 3, 86400000)), 2, 'another key has its own window');
select is(
  (select reset_ms from private.rate_limit_hit('test:count', 3, 86400000)), (select start + 86400000 from day_window),
  'reset is the end of the current window');
-- The limiter calls it as a statement of its own: that statement's commit does not wait for
-- the WAL flush, so the key's lock is released sooner.
select is(current_setting('synchronous_commit'), 'off', 'a hit''s transaction commits without waiting for the WAL flush');
select tests.reset_role();
select is(
  (select (window_start, current_hits, previous_hits)::text from private.rate_limit_windows where key = 'test:count'),
  (select (start, 3, 0)::text from day_window), 'refused hits are not counted');

-- The previous window's hits weigh in by the share of it still inside the sliding window:
-- at most a day ago, 100,000 hits weigh at least one, whatever the time of day.
update private.rate_limit_windows
   set window_start = (select start - 86400000 from day_window), current_hits = 100000, previous_hits = 0
 where key = 'test:count';
select is(
  (select allowed from private.rate_limit_hit('test:count', 3, 86400000)), false,
  'a full previous window still fills this one');
select is(
  (select (window_start, current_hits, previous_hits)::text from private.rate_limit_windows where key = 'test:count'),
  (select (start, 0, 100000)::text from day_window), 'the ended window became the previous one');
-- A window that ended more than a window ago counts nothing.
update private.rate_limit_windows
   set window_start = (select start - 2 * 86400000 from day_window), current_hits = 100000, previous_hits = 100000
 where key = 'test:count';
select is(
  (select remaining from private.rate_limit_hit('test:count', 3, 86400000)), 2,
  'hits older than the window free it');
select is(
  (select (window_start, current_hits, previous_hits)::text from private.rate_limit_windows where key = 'test:count'),
  (select (start, 1, 0)::text from day_window), 'the old windows are dropped and this hit is counted');
-- A window later than the clock's (a clock stepped back) stays the current one.
update private.rate_limit_windows
   set window_start = (select start + 86400000 from day_window), current_hits = 1, previous_hits = 0
 where key = 'test:count';
select is(
  (select (remaining, reset_ms)::text from private.rate_limit_hit('test:count', 3, 86400000)),
  (select (1, start + 2 * 86400000)::text from day_window), 'a stored window ahead of the clock keeps its count');

-- A key's row does not grow with its hits: a hit costs the same at any limit.
select tests.as_service();
select count(*) from private.rate_limit_hit('test:size', 100000, 86400000);
select tests.reset_role();
create temporary table one_hit_size as
  select pg_column_size(w.*) as size from private.rate_limit_windows w where key = 'test:size';
select tests.as_service();
select count(*) from generate_series(1, 999) as n, lateral private.rate_limit_hit('test:size' || left(n::text, 0), 100000, 86400000);
select tests.reset_role();
select is(
  (select (current_hits, pg_column_size(w.*))::text from private.rate_limit_windows w where key = 'test:size'),
  (select (1000, size)::text from one_hit_size), 'a key''s row is as large after 1,000 hits as after one');

-- Bad input is refused with 22023 and writes nothing.
select throws_ok($$select private.rate_limit_hit('', 3, 60000)$$, '22023', 'p_key must be 1 to 255 characters');
select throws_ok($$select private.rate_limit_hit(repeat('k', 256), 3, 60000)$$, '22023', 'p_key must be 1 to 255 characters');
select throws_ok($$select private.rate_limit_hit('k', 0, 60000)$$, '22023', 'p_limit must be between 1 and 100000');
select throws_ok($$select private.rate_limit_hit('k', 3, 10)$$, '22023', 'p_window_ms must be between 1000 and 86400000');
select is((select count(*) from private.rate_limit_windows where key like 'k%'), 0::bigint,
  'refused arguments write no window');

-- Pruning drops windows whose hits all expired and keeps live ones.
insert into private.rate_limit_windows (key, window_start, current_hits, previous_hits, expires_at)
values ('test:stale', 0, 1, 0, now() - interval '1 second');
select is(private.rate_limit_prune(), 1, 'prune deletes the expired window');
select is(
  (select array_agg(key order by key) from private.rate_limit_windows where key like 'test:%'),
  array['test:count', 'test:other', 'test:size'], 'prune keeps the live windows');

select * from finish();
rollback;
