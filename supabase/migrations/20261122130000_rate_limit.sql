-- Rate limiter store for the edge functions (docs/EDGE_FUNCTIONS.md, "Rate limits").
-- An exact sliding-log window per caller key: each key keeps the millisecond timestamps of the
-- hits it was allowed inside the current window (never more than the limit, so a row stays small).
-- The whole decision is one call to private.rate_limit_hit, serialized per key with a
-- transaction-scoped advisory lock, so the count is exact however many server processes share
-- this database.

-- `private` is not in PostgREST's exposed schemas: nothing here is reachable over the API.
create schema if not exists private;
revoke all on schema private from public, anon, authenticated;
grant usage on schema private to service_role;

-- Unlogged: a hit is written on every request, and a count needs no crash safety. After a crash
-- (or on a promoted replica) the windows start empty, which lets each key at most one more
-- window's worth of hits through; the writes skip the WAL, and with it the flushes and the
-- WAL writer's lock that every durable commit of the database waits on.
create unlogged table private.rate_limit_windows (
  key        text primary key check (length(key) between 1 and 256),
  -- allowed hits inside the window, oldest first, as unix epoch milliseconds
  hits       bigint[] not null default '{}',
  -- when the newest hit leaves the window: after that the row carries no information
  expires_at timestamptz not null
);
comment on table private.rate_limit_windows is
  'Sliding-log rate-limit windows of the edge functions, written only by private.rate_limit_hit.';

create index rate_limit_windows_expires_at on private.rate_limit_windows (expires_at);

-- No API role reads or writes the windows; the only policy admits the owning role, which is the
-- identity private.rate_limit_hit runs as (security definer), even where it lacks BYPASSRLS.
revoke all on table private.rate_limit_windows from public, anon, authenticated, service_role;
alter table private.rate_limit_windows enable row level security;
alter table private.rate_limit_windows force row level security;
create policy rate_limit_windows_owner_only on private.rate_limit_windows
  for all to current_user using (true) with check (true);

-- Deletes up to 500 windows whose hits have all left their window; rows another caller holds
-- are skipped. Returns how many were deleted.
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

-- Records one hit for p_key if fewer than p_limit hits happened in the last p_window_ms.
-- Returns whether the hit is allowed, the limit, the hits still available, and reset_ms: the
-- epoch millisecond at which the oldest counted hit leaves the window (one more hit frees up).
create function private.rate_limit_hit(p_key text, p_limit integer, p_window_ms integer)
returns table (allowed boolean, "limit" integer, remaining integer, reset_ms bigint)
language plpgsql
security definer set search_path = ''
as $$
declare
  v_now_ms bigint;
  v_hits bigint[];
  v_first integer := 1;
  v_last integer;
  v_probe integer;
  v_allowed boolean;
begin
  if p_key is null or length(p_key) not between 1 and 256 then
    raise exception 'rate limit key must be 1..256 characters' using errcode = '22023';
  end if;
  if p_limit is null or p_limit not between 1 and 100000 then
    raise exception 'rate limit must be between 1 and 100000 hits' using errcode = '22023';
  end if;
  if p_window_ms is null or p_window_ms not between 1000 and 86400000 then
    raise exception 'rate limit window must be between 1000 and 86400000 ms' using errcode = '22023';
  end if;

  -- A hit lost in a crash does not matter: the commit does not wait for the WAL flush, so the
  -- key's lock (held until commit) is held for less time.
  perform set_config('synchronous_commit', 'off', true);
  -- Serialize the callers of one key until commit; unrelated keys that share a hash only wait.
  perform pg_advisory_xact_lock(hashtextextended('private.rate_limit_hit:' || p_key, 0));

  -- Read the clock after the lock so that hits of one key are recorded in order.
  v_now_ms := (extract(epoch from clock_timestamp()) * 1000)::bigint;

  select w.hits into v_hits from private.rate_limit_windows as w where w.key = p_key;
  v_hits := coalesce(v_hits, '{}');
  -- The log is in order: the hits that left the window are a prefix, found by bisection, so a
  -- hit costs one slice of the log, not a sort of it (a high limit keeps thousands of hits).
  v_last := cardinality(v_hits) + 1;
  while v_first < v_last loop
    v_probe := (v_first + v_last) / 2;
    if v_hits[v_probe] > v_now_ms - p_window_ms then
      v_last := v_probe;
    else
      v_first := v_probe + 1;
    end if;
  end loop;
  if v_first > 1 then
    v_hits := v_hits[v_first:];
  end if;

  v_allowed := cardinality(v_hits) < p_limit;
  if v_allowed then
    -- A clock stepped back never puts a hit before the newest one: the log stays in order.
    v_hits := v_hits || greatest(v_now_ms, v_hits[cardinality(v_hits)]);
  end if;

  -- A refused hit that let no old hit expire changes nothing: skip the write.
  if v_allowed or v_first > 1 then
    insert into private.rate_limit_windows as w (key, hits, expires_at)
    values (p_key, v_hits, to_timestamp((v_hits[cardinality(v_hits)] + p_window_ms) / 1000.0))
    on conflict (key) do update set hits = excluded.hits, expires_at = excluded.expires_at;
  end if;

  -- Keep the table small without a scheduler: now and then drop a batch of expired windows.
  if random() < 0.01 then
    perform private.rate_limit_prune();
  end if;

  return query select v_allowed, p_limit, p_limit - cardinality(v_hits), v_hits[1] + p_window_ms;
end;
$$;
grant execute on function private.rate_limit_hit(text, integer, integer) to service_role;

comment on function private.rate_limit_hit(text, integer, integer) is
  'Exact sliding-window rate limit: records one hit for the key when the window has room.';
