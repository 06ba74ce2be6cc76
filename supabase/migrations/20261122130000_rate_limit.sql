-- Rate limiter store for the edge functions (docs/EDGE_FUNCTIONS.md, "Rate limits").
-- A sliding window per caller key, counted as @upstash/ratelimit's slidingWindow counts in the
-- hosted store, so that both stores answer a caller alike: each key keeps the hits it was
-- allowed in its current window and in the window before (docs/decisions/0012). Two counters
-- cost a hit the same at any limit; a log of every hit in the window, the first design, made a
-- hit rewrite the whole log (docs/BENCHMARKS.md, History). The whole decision is one call to
-- private.rate_limit_hit, serialized per key with a transaction-scoped advisory lock, so the
-- count is exact within a window however many server processes share this database.

-- `private` is not in PostgREST's exposed schemas: nothing here is reachable over the API.
create schema if not exists private;
revoke all on schema private from public, anon, authenticated;
grant usage on schema private to service_role;

-- Unlogged: a hit is written on every request, and a count needs no crash safety. After a crash
-- (or on a promoted replica) the windows start empty, which lets each key at most one more
-- window's worth of hits through; the writes skip the WAL, and with it the flushes and the
-- WAL writer's lock that every durable commit of the database waits on.
create unlogged table private.rate_limit_windows (
  key           text primary key check (length(key) between 1 and 255),
  -- start of the key's current window, in epoch milliseconds: a multiple of the window length
  window_start  bigint not null,
  -- hits allowed in that window, and in the window before it
  current_hits  integer not null check (current_hits >= 0),
  previous_hits integer not null check (previous_hits >= 0),
  -- when the window after the current one ends: after that the row carries no information
  expires_at    timestamptz not null
)
-- A hit rewrites its key's row: free room on each page keeps that update on the page (HOT).
with (fillfactor = 50);
comment on table private.rate_limit_windows is
  'Sliding-window rate-limit counters of the edge functions (this window''s hits and the last '
  'window''s), written only by private.rate_limit_hit.';

create index rate_limit_windows_expires_at on private.rate_limit_windows (expires_at);

-- No API role reads or writes the windows; the only policy admits the owning role, which is the
-- identity private.rate_limit_hit runs as (security definer), even where it lacks BYPASSRLS.
revoke all on table private.rate_limit_windows from public, anon, authenticated, service_role;
alter table private.rate_limit_windows enable row level security;
alter table private.rate_limit_windows force row level security;
create policy rate_limit_windows_owner_only on private.rate_limit_windows
  for all to current_user using (true) with check (true);

-- Deletes up to 500 windows that ended more than a window ago; rows another caller holds are
-- skipped. Returns how many were deleted.
create function private.rate_limit_prune()
returns integer
language plpgsql
security definer set search_path = ''
as $$
declare
  v_deleted integer;
begin
  delete from private.rate_limit_windows as w
  where w.ctid = any (array(
    select e.ctid from private.rate_limit_windows as e
    where e.expires_at < clock_timestamp()
    limit 500
    for update skip locked
  ));
  get diagnostics v_deleted = row_count;
  return v_deleted;
end;
$$;
grant execute on function private.rate_limit_prune() to service_role;

-- Records one hit for p_key when the key's estimate for the last p_window_ms has room: the
-- hits of the current window plus those of the previous one weighted by the share of it still
-- inside the sliding window, rounded down. Windows start at multiples of p_window_ms since the
-- epoch. Returns whether the hit is allowed, the limit, the hits still available, and reset_ms:
-- the end of the current window, when the estimate next drops.
create function private.rate_limit_hit(p_key text, p_limit integer, p_window_ms integer)
returns table (allowed boolean, "limit" integer, remaining integer, reset_ms bigint)
language plpgsql
security definer set search_path = ''
as $$
declare
  v_now_ms bigint;
  v_window bigint;
  -- The key's row as read, then rolled forward to the clock's window (v_rolled).
  v_start bigint;
  v_current integer;
  v_previous integer;
  v_rolled boolean;
  v_weighted integer;
  v_allowed boolean;
begin
  -- The checks of private.require_text and require_between (a key is an identifier), written
  -- out: a hit comes with every request of every function, forged ones included, and the
  -- three calls cost 14 us of a hit's 0.1 ms (docs/BENCHMARKS.md, History).
  if p_key is null or length(p_key) not between 1 and 255 then
    perform private.fail('22023', 'p_key must be 1 to 255 characters');
  end if;
  if p_limit is null or p_limit not between 1 and 100000 then
    perform private.fail('22023', 'p_limit must be between 1 and 100000');
  end if;
  if p_window_ms is null or p_window_ms not between 1000 and 86400000 then
    perform private.fail('22023', 'p_window_ms must be between 1000 and 86400000');
  end if;

  -- A hit lost in a crash does not matter: the commit does not wait for the WAL flush, so the
  -- key's lock (held until commit) is held for less time.
  perform set_config('synchronous_commit', 'off', true);
  -- Serialize the callers of one key until commit; unrelated keys that share a hash only wait.
  perform pg_advisory_xact_lock(hashtextextended('private.rate_limit_hit:' || p_key, 0));

  -- Read the clock after the lock so that the hits of one key are counted in order.
  v_now_ms := (extract(epoch from clock_timestamp()) * 1000)::bigint;
  v_window := v_now_ms - v_now_ms % p_window_ms;

  select w.window_start, w.current_hits, w.previous_hits into v_start, v_current, v_previous
    from private.rate_limit_windows as w
   where w.key = p_key;
  -- A window that ended becomes the previous one; one that ended before that counts nothing.
  -- A stored window later than the clock's (the clock stepped back) stays the current one.
  v_rolled := not found or v_start < v_window;
  if v_rolled then
    v_previous := case when found and v_start >= v_window - p_window_ms then v_current else 0 end;
    v_current := 0;
    v_start := v_window;
  end if;

  v_weighted := floor(v_previous * (1 - least(greatest(v_now_ms - v_start, 0), p_window_ms)::numeric / p_window_ms));
  v_allowed := v_weighted + v_current < p_limit;
  if v_allowed then
    v_current := v_current + 1;
  end if;

  -- A refused hit in the same window changes nothing: skip the write.
  if v_allowed or v_rolled then
    insert into private.rate_limit_windows as w (key, window_start, current_hits, previous_hits, expires_at)
    values (p_key, v_start, v_current, v_previous, to_timestamp((v_start + 2 * p_window_ms) / 1000.0))
    on conflict (key) do update
      set window_start = excluded.window_start, current_hits = excluded.current_hits,
          previous_hits = excluded.previous_hits, expires_at = excluded.expires_at;
  end if;

  -- Keep the table small without a scheduler: now and then drop a batch of expired windows.
  if random() < 0.01 then
    perform private.rate_limit_prune();
  end if;

  return query select v_allowed, p_limit,
                      case when v_allowed then p_limit - v_weighted - v_current else 0 end,
                      v_start + p_window_ms;
end;
$$;
grant execute on function private.rate_limit_hit(text, integer, integer) to service_role;

comment on function private.rate_limit_hit(text, integer, integer) is
  'Sliding-window rate limit (two window counters, as Upstash''s slidingWindow): records one hit '
  'for the key when the window has room.';
