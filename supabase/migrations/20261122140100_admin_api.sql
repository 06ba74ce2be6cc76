-- Admin API, part 2: what the `admin` edge function needs in the database besides the
-- ledger (docs/ADMIN_API.md): who the caller is, the idempotency record of every mutating
-- call, and a reader for the audit trail.
--
-- The function runs every query as `authenticated` with the admin's JWT claims, exactly as
-- PostgREST would. Reads of the public tables go through RLS (admin and support read all);
-- what lives outside the API (audit.log, the idempotency records) is reached through the
-- security definer functions of schema `api_private`. That schema is not in the API's exposed
-- schemas (config.toml [api] schemas), so nothing here is an RPC endpoint; each function
-- still checks its caller itself.

-- ---------------------------------------------------------------------------------------
-- Who is asking
-- ---------------------------------------------------------------------------------------

-- 'service', 'admin', 'support' or null (anyone else). Support is a signed-in user whose
-- app_metadata.role is support; user_metadata is never read.
create function private.admin_api_caller() returns text
language sql
stable
set search_path = ''
as $$
  select nullif(private.wallet_caller(), 'user')
$$;

-- The caller class, or 42501: admins and the service may do anything, support only read.
create function private.admin_api_require(p_write boolean, p_what text) returns text
language plpgsql
stable
set search_path = ''
as $$
declare
  v_caller text := private.admin_api_caller();
begin
  if v_caller is null or (p_write and v_caller = 'support') then
    perform private.wallet_fail('42501', format('not allowed to %s', p_what));
  end if;
  return v_caller;
end;
$$;

revoke all on function private.admin_api_caller(), private.admin_api_require(boolean, text)
  from public, anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------
-- Idempotency of mutating admin calls
-- ---------------------------------------------------------------------------------------

-- One row per mutating admin call, keyed by the admin and the Idempotency-Key they sent.
-- The row is inserted before the call does its work and completed with the response in the
-- same transaction: a concurrent call with the same key waits on the unique index and then
-- replays the committed response; a call that fails with a server error rolls back and
-- leaves no row, so its retry runs again. request_hash (SHA-256 of method, path and body)
-- tells a replay from the reuse of a key for another request. Audited, so the audit trail
-- shows every admin action (with actor, correlation id and client) next to the rows it
-- changed.
create table private.admin_requests (
  id bigint generated always as identity primary key,
  admin_id uuid not null,
  idempotency_key text not null check (length(idempotency_key) between 1 and 255),
  request_hash text not null check (request_hash ~ '^[0-9a-f]{64}$'),
  method text not null check (method in ('POST', 'PUT', 'PATCH', 'DELETE')),
  path text not null check (length(path) between 1 and 2048),
  response_status integer check (response_status between 200 and 599),
  response_body jsonb,
  correlation_id text,
  created_at timestamptz not null default now(),
  completed_at timestamptz,
  constraint admin_requests_admin_key unique (admin_id, idempotency_key),
  constraint admin_requests_completed check ((response_status is null) = (completed_at is null)
                                             and (response_status is null) = (response_body is null))
);
comment on table private.admin_requests is
  'Idempotency records of the admin API: the first response to each (admin, Idempotency-Key). '
  'Written only by api_private.idempotency_claim / idempotency_complete.';
create index admin_requests_created_at_idx on private.admin_requests using brin (created_at);

-- No API role reads or writes the table directly; the functions below key every access by
-- auth.uid(). RLS is forced so that a grant added by mistake still exposes nothing.
revoke all on table private.admin_requests from public, anon, authenticated, service_role;
alter table private.admin_requests enable row level security;
alter table private.admin_requests force row level security;

select audit.attach('private.admin_requests');

-- Claims p_key for the calling admin. outcome:
--   'new'      the key is fresh: do the work, then call idempotency_complete;
--   'replay'   the same request was answered before: response_status/response_body are it;
--   'mismatch' the key was used for a different request (method, path or body).
create function api_private.idempotency_claim(p_key text, p_request_hash text, p_method text, p_path text)
returns table (outcome text, response_status integer, response_body jsonb)
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_admin uuid;
  v_row private.admin_requests;
begin
  perform private.admin_api_require(true, 'make admin changes');
  v_admin := auth.uid();
  if v_admin is null then
    perform private.wallet_fail('42501', 'admin changes need a signed-in admin');
  end if;
  if p_key is null or length(p_key) not between 1 and private.input_limit('identifier') then
    perform private.wallet_fail('22023',
      format('idempotency key is required (1 to %s characters)', private.input_limit('identifier')));
  end if;
  if p_request_hash is null or p_request_hash !~ '^[0-9a-f]{64}$' then
    perform private.wallet_fail('22023', 'p_request_hash must be 64 lower-case hex digits (SHA-256)');
  end if;
  if p_method is null or p_method not in ('POST', 'PUT', 'PATCH', 'DELETE') then
    perform private.wallet_fail('22023', 'p_method must be one of POST, PUT, PATCH, DELETE');
  end if;
  if p_path is null or p_path = '' then
    perform private.wallet_fail('22023', 'p_path is required');
  end if;
  perform private.require_within(p_path, 'path', 'p_path');

  insert into private.admin_requests (admin_id, idempotency_key, request_hash, method, path, correlation_id)
  values (v_admin, p_key, p_request_hash, p_method, p_path,
          nullif(pg_catalog.current_setting('app.correlation_id', true), ''))
  on conflict (admin_id, idempotency_key) do nothing;
  if found then
    return query select 'new'::text, null::integer, null::jsonb;
    return;
  end if;

  select r.* into v_row from private.admin_requests r
   where r.admin_id = v_admin and r.idempotency_key = p_key;
  if v_row.request_hash <> p_request_hash then
    return query select 'mismatch'::text, null::integer, null::jsonb;
  else
    return query select 'replay'::text, v_row.response_status, v_row.response_body;
  end if;
end;
$$;

-- Stores the response of the call that claimed p_key in this transaction.
create function api_private.idempotency_complete(p_key text, p_status integer, p_body jsonb)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform private.admin_api_require(true, 'make admin changes');
  perform private.require_within(p_key, 'identifier', 'p_key');
  perform private.require_within(p_body, 'document', 'p_body');
  update private.admin_requests r
     set response_status = p_status, response_body = p_body, completed_at = now()
   where r.admin_id = auth.uid() and r.idempotency_key = p_key and r.response_status is null;
  if not found then
    perform private.wallet_fail('WL008', format('idempotency key %s has no open request to complete', p_key));
  end if;
end;
$$;

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
security definer
set search_path = ''
as $$
begin
  perform private.admin_api_require(false, 'read the audit trail');
  if p_limit is null or p_limit not between 1 and 1000 then
    perform private.wallet_fail('22023', format('limit %s is not between 1 and 1000', coalesce(p_limit::text, 'null')));
  end if;
  if p_record_id is not null and p_table is null then
    perform private.wallet_fail('22023', 'record_id needs table');
  end if;
  perform private.require_within(p_table, 'identifier', 'p_table');
  perform private.require_within(p_record_id, 'identifier', 'p_record_id');
  return query
    select pg_catalog.to_jsonb(l)
      from audit.log l
     where (p_table is null or l.table_name = p_table)
       and (p_record_id is null or l.record_id = p_record_id)
       and (p_actor_id is null or l.actor_id = p_actor_id)
       and (p_from is null or l.occurred_at >= p_from)
       and (p_to is null or l.occurred_at < p_to)
       and (p_before_id is null or l.id < p_before_id)
     order by l.id desc
     limit p_limit;
end;
$$;

revoke all on function
  api_private.idempotency_claim(text, text, text, text),
  api_private.idempotency_complete(text, integer, jsonb),
  api_private.audit_log(text, text, uuid, timestamptz, timestamptz, bigint, integer)
  from public, anon, authenticated, service_role;
grant execute on function
  api_private.idempotency_claim(text, text, text, text),
  api_private.idempotency_complete(text, integer, jsonb),
  api_private.audit_log(text, text, uuid, timestamptz, timestamptz, bigint, integer)
  to authenticated;

-- ---------------------------------------------------------------------------------------
-- Account listing
-- ---------------------------------------------------------------------------------------

-- GET /admin/accounts pages newest first by (created_at, id).
create index if not exists wallet_accounts_created_at_id_idx on public.wallet_accounts (created_at desc, id desc);
