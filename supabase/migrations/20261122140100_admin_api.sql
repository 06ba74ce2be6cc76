-- Admin API, part 2: what the `admin` edge function needs in the database besides the
-- ledger (docs/ADMIN_API.md): the idempotency record of every mutating call (shared with the
-- `payments` function) and a reader for the audit trail.
--
-- The function runs every query as `authenticated` with the admin's JWT claims, exactly as
-- PostgREST would. Reads of the public tables go through RLS (admin and support read all);
-- what lives outside the API (audit.log, the idempotency records) is reached through the
-- security definer functions of schema `api_private`. That schema is not in the API's exposed
-- schemas (config.toml [api] schemas), so nothing here is an RPC endpoint; each function
-- still checks its caller itself.

-- ---------------------------------------------------------------------------------------
-- Idempotency of mutating calls
-- ---------------------------------------------------------------------------------------

-- One row per mutating call of a signed-in caller to an edge function, keyed by the caller
-- and the Idempotency-Key it sent: the first answer, replayed to every retry of the same
-- request. request_hash (SHA-256 of method, path and body) tells a replay from the reuse of
-- a key for another request. A claim comes in two kinds:
--   for this transaction (lease_until null): the admin API claims the key, does the work and
--     stores the answer in one transaction. A concurrent call with the same key waits on the
--     unique index and then replays the committed answer; a call that fails with a server
--     error rolls back and leaves no row, so its retry runs again.
--   as a lease: a top-up spans several transactions (the intent is committed before the
--     provider is called, so that a retry finds it again). The request that holds the lease
--     calls the provider and completes the claim with the answer; a concurrent retry is told
--     to wait (in_progress); a request that ended without an answer (provider unavailable,
--     or a crash) releases the claim or lets its lease run out, and the next retry resumes
--     it with the same intent (docs/PAYMENTS.md).
-- Audited, so the audit trail shows every admin action (with actor, correlation id and
-- client) next to the rows it changed; the answer is recorded redacted (a top-up's carries
-- a Stripe client_secret).
-- The record's shape, checked by the table's one CHECK constraint (decision 0011): every
-- mutating call claims its key (an insert) and stores its answer (an update), and each of those
-- statements read back and prepared 6 separate check expressions.
create function private.api_request_shape_ok(p_idempotency_key text, p_request_hash text, p_method text, p_path text,
                                             p_response_status integer, p_response_body jsonb,
                                             p_completed_at timestamptz) returns boolean
language plpgsql
immutable
set search_path = ''
as $$
begin
  return length(p_idempotency_key) between 1 and 255
     and p_request_hash ~ '^[0-9a-f]{64}$'
     and p_method in ('POST', 'PUT', 'PATCH', 'DELETE')
     and length(p_path) between 1 and 2048
     and p_response_status between 200 and 599
     -- A completed call has its answer, status and body, and the time it was stored.
     and (p_response_status is null) = (p_completed_at is null)
     and (p_response_status is null) = (p_response_body is null);
end;
$$;

create table private.api_requests (
  id bigint generated always as identity primary key,
  caller_id uuid not null,
  idempotency_key text not null,
  request_hash text not null,
  method text not null,
  path text not null,
  response_status integer,
  response_body jsonb,
  lease_until timestamptz,
  correlation_id text,
  created_at timestamptz not null default now(),
  completed_at timestamptz,
  constraint api_requests_caller_key unique (caller_id, idempotency_key),
  -- Key, request hash, method, path and the answer: private.api_request_shape_ok.
  constraint api_requests_shape check (
    private.api_request_shape_ok(idempotency_key, request_hash, method, path, response_status, response_body, completed_at))
);
comment on table private.api_requests is
  'Idempotency records of the edge functions: the first answer to each (caller, Idempotency-Key). '
  'Written only by api_private.request_claim / request_complete / request_release.';
create index api_requests_created_at_idx on private.api_requests using brin (created_at);

-- No API role reads or writes the table directly; the functions below key every access by
-- auth.uid(). RLS is forced so that a grant added by mistake still exposes nothing.
revoke all on table private.api_requests from public, anon, authenticated, service_role;
alter table private.api_requests enable row level security;
alter table private.api_requests force row level security;

select audit.attach('private.api_requests', array['response_body']);

-- Claims p_key for the signed-in caller (a user or an admin), for this transaction when
-- p_lease_seconds is null, else as a lease of that many seconds (1 to 600). outcome:
--   'new'         the key is fresh: do the work, then request_complete (or request_release);
--   'resumed'     an earlier request with this key ended without an answer: do the work again;
--   'in_progress' another request holds the key's lease right now;
--   'replay'      the same request was answered before: response_status/response_body are it;
--   'mismatch'    the key was used for a different request (method, path or body).
create function api_private.request_claim(
  p_key text, p_request_hash text, p_method text, p_path text, p_lease_seconds integer default null
)
returns table (outcome text, response_status integer, response_body jsonb)
language plpgsql
security definer set search_path = ''
as $$
declare
  v_caller uuid;
  v_row private.api_requests;
  v_lease_until timestamptz := now() + pg_catalog.make_interval(secs => p_lease_seconds);
begin
  perform private.require_caller(array['user', 'admin'], 'make changes');
  v_caller := auth.uid();
  if p_key is null or length(p_key) not between 1 and private.input_limit('identifier') then
    perform private.fail('22023',
      format('idempotency key is required (1 to %s characters)', private.input_limit('identifier')));
  end if;
  if p_request_hash is null or p_request_hash !~ '^[0-9a-f]{64}$' then
    perform private.fail('22023', 'p_request_hash must be 64 lower-case hex digits (SHA-256)');
  end if;
  if p_method is null or p_method not in ('POST', 'PUT', 'PATCH', 'DELETE') then
    perform private.fail('22023', 'p_method must be one of POST, PUT, PATCH, DELETE');
  end if;
  if p_path is null or p_path = '' then
    perform private.fail('22023', 'p_path is required');
  end if;
  perform private.require_within(p_path, 'path', 'p_path');
  if p_lease_seconds is not null then
    perform private.require_between(p_lease_seconds, 1, 600, 'the lease in seconds');
  end if;

  insert into private.api_requests (caller_id, idempotency_key, request_hash, method, path, lease_until, correlation_id)
  values (v_caller, p_key, p_request_hash, p_method, p_path, v_lease_until,
          nullif(pg_catalog.current_setting('app.correlation_id', true), ''))
  on conflict (caller_id, idempotency_key) do nothing;
  if found then
    return query select 'new'::text, null::integer, null::jsonb;
    return;
  end if;

  select r.* into v_row from private.api_requests r
   where r.caller_id = v_caller and r.idempotency_key = p_key
   for update;
  if v_row.request_hash <> p_request_hash then
    return query select 'mismatch'::text, null::integer, null::jsonb;
  elsif v_row.completed_at is not null then
    return query select 'replay'::text, v_row.response_status, v_row.response_body;
  elsif v_row.lease_until > pg_catalog.clock_timestamp() then
    return query select 'in_progress'::text, null::integer, null::jsonb;
  else
    update private.api_requests r set lease_until = v_lease_until where r.id = v_row.id;
    return query select 'resumed'::text, null::integer, null::jsonb;
  end if;
end;
$$;
grant execute on function api_private.request_claim(text, text, text, text, integer) to authenticated;

-- The id of the signed-in caller's request p_key that has no answer yet, locked so that it stays
-- open until the caller's transaction ends; null when there is none. What request_complete and
-- request_release change: 42501 for a caller that is neither a user nor an admin, 22023 for a
-- key longer than an identifier.
create function private.open_request_for_update(p_key text) returns bigint
language plpgsql
set search_path = ''
as $$
begin
  perform private.require_caller(array['user', 'admin'], 'make changes');
  perform private.require_within(p_key, 'identifier', 'p_key');
  return (select r.id from private.api_requests r
           where r.caller_id = auth.uid() and r.idempotency_key = p_key and r.completed_at is null
             for update);
end;
$$;

-- Stores the answer of the request that claimed p_key.
create function api_private.request_complete(p_key text, p_status integer, p_body jsonb)
returns void
language plpgsql
security definer set search_path = ''
as $$
declare
  v_request bigint := private.open_request_for_update(p_key);
begin
  perform private.require_within(p_body, 'document', 'p_body');
  update private.api_requests r
     set response_status = p_status, response_body = p_body, completed_at = now()
   where r.id = v_request;
  if not found then
    perform private.fail('WL008', format('idempotency key %s has no open request to complete', p_key));
  end if;
end;
$$;
grant execute on function api_private.request_complete(text, integer, jsonb) to authenticated;

-- Ends the lease of a request that ended without an answer, so that a retry may resume it now.
create function api_private.request_release(p_key text)
returns void
language plpgsql
security definer set search_path = ''
as $$
declare
  -- Assigned first, so that the caller's checks run whether or not any request row exists.
  v_request bigint := private.open_request_for_update(p_key);
begin
  update private.api_requests r set lease_until = now() where r.id = v_request;
end;
$$;
grant execute on function api_private.request_release(text) to authenticated;

-- ---------------------------------------------------------------------------------------
-- Reading the audit trail
-- ---------------------------------------------------------------------------------------

-- Audit rows, newest first, filtered by table, record id, actor and time range [p_from,
-- p_to); keyset pagination on id (p_before_id: the last id of the previous page; the API
-- asks for one row more than a page to know whether another follows). Admin and support
-- only. Rows are returned as JSON objects with the columns of audit.log.
create function api_private.audit_log(
  p_table text default null,
  p_record_id text default null,
  p_actor_id uuid default null,
  p_from timestamptz default null,
  p_to timestamptz default null,
  p_before_id bigint default null,
  p_limit integer default 50
)
returns setof jsonb
language plpgsql
stable
security definer set search_path = ''
as $$
declare
  -- The record id as the key of a ledger row: a transaction's uuid, an entry's bigint.
  v_transaction uuid := case when p_table = 'wallet_transactions'
                               and p_record_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                             then p_record_id::uuid end;
  v_entry bigint := case when p_table = 'wallet_entries' and p_record_id ~ '^[0-9]{1,18}$' then p_record_id::bigint end;
begin
  perform private.require_caller(array['service', 'admin', 'support'], 'read the audit trail');
  perform private.require_between(p_limit, 1, 1000, 'limit');
  if p_record_id is not null and p_table is null then
    perform private.fail('22023', 'record_id needs table');
  end if;
  perform private.require_within(p_table, 'identifier', 'p_table');
  perform private.require_within(p_record_id, 'identifier', 'p_record_id');
  return query
    select pg_catalog.to_jsonb(l) - 'transaction_id'
      from audit.trail l
     where (p_table is null or l.table_name = p_table)
       and (p_record_id is null or l.record_id = p_record_id)
       -- The ledger's rows (those with a transaction_id) by their primary keys too, so that the
       -- lookup reads one row of each ledger table, not all of them.
       and (p_record_id is null or l.transaction_id is null
            or (p_table = 'wallet_transactions' and l.transaction_id = v_transaction)
            or (p_table = 'wallet_entries' and l.id = v_entry))
       and (p_actor_id is null or l.actor_id = p_actor_id)
       and (p_from is null or l.occurred_at >= p_from)
       and (p_to is null or l.occurred_at < p_to)
       and (p_before_id is null or l.id < p_before_id)
     order by l.id desc
     limit p_limit;
end;
$$;
grant execute on function api_private.audit_log(text, text, uuid, timestamptz, timestamptz, bigint, integer) to authenticated;

-- ---------------------------------------------------------------------------------------
-- Finding the person a support case is about
-- ---------------------------------------------------------------------------------------

-- The users a support case names by a phone number or an email address: a phone (any
-- spelling, '+250 788 123 456' or '250788123456': its digits, 7 to 15 of them, else 22023)
-- matches the Auth user's phone (Supabase Auth keeps E.164 digits without '+') and the
-- WhatsApp number of a contact; an email matches case-insensitively (Auth stores it in lower
-- case). Exactly one of the two (22023 otherwise). Each user comes with their WhatsApp
-- number, staff role and wallet accounts (with the balances the ledger shows). auth.users is
-- not the API's to read, hence security definer; admin and support only. Every lookup is an
-- equality on a unique key (auth.users' email or phone, whatsapp_contacts' wa_id);
-- whatsapp_contacts comes with the WhatsApp migration (20261207000000), resolved when this runs.
create function api_private.user_lookup(p_phone text, p_email text)
returns table (id uuid, email text, phone text, wa_id text, staff_role text, created_at timestamptz, accounts jsonb)
language plpgsql
stable
security definer set search_path = ''
as $$
declare
  v_digits text := pg_catalog.regexp_replace(p_phone, '[^0-9]', '', 'g');
  v_email text := pg_catalog.lower(pg_catalog.btrim(p_email));
begin
  perform private.require_caller(array['admin', 'support'], 'look users up');
  perform private.require_within(p_phone, 'identifier', 'p_phone');
  perform private.require_within(p_email, 'identifier', 'p_email');
  if (p_phone is null) = (p_email is null) then
    perform private.fail('22023', 'give exactly one of a phone number and an email address');
  end if;
  if p_phone is not null and v_digits !~ '^[0-9]{7,15}$' then
    perform private.fail('22023', 'a phone number has 7 to 15 digits');
  end if;
  if p_email is not null and v_email = '' then
    perform private.fail('22023', 'an email address is required');
  end if;
  return query
    select u.id, u.email::text, u.phone, c.wa_id, u.raw_app_meta_data ->> 'role', u.created_at,
           coalesce((select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                              'id', a.id, 'currency', a.currency, 'status', a.status, 'limit_tier', a.limit_tier,
                              'balance', b.balance, 'available', b.available, 'created_at', a.created_at)
                            order by a.created_at, a.id)
                       from public.wallet_accounts a
                       join public.wallet_account_balances b on b.account_id = a.id
                      where a.owner_id = u.id), '[]'::jsonb)
      from auth.users u
      left join public.whatsapp_contacts c on c.user_id = u.id
     where u.id in (select x.id from auth.users x where p_email is not null and x.email = v_email
                    union
                    select x.id from auth.users x where p_phone is not null and x.phone = v_digits
                    union
                    select w.user_id from public.whatsapp_contacts w where p_phone is not null and w.wa_id = v_digits)
     order by u.created_at, u.id;
end;
$$;
grant execute on function api_private.user_lookup(text, text) to authenticated;

-- ---------------------------------------------------------------------------------------
-- Account listing
-- ---------------------------------------------------------------------------------------

-- GET /admin/accounts pages newest first by (created_at, id).
create index if not exists wallet_accounts_created_at_id_idx on public.wallet_accounts (created_at desc, id desc);
