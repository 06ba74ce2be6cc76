-- The `payments` edge function's idempotency records (docs/PAYMENTS.md): the first answer to
-- each (user, Idempotency-Key) of POST /payments/topups, replayed to every retry of the same
-- request. Unlike the admin API's records, a top-up spans several transactions (the intent is
-- committed before the provider is called, so that a retry finds it again), so a claim is a
-- lease: the request that holds it calls the provider and completes it with the answer; a
-- concurrent retry is told to wait (in_progress); a request that ended without an answer
-- (provider unavailable, or a crash) releases the claim or lets its lease run out, and the
-- next retry resumes it with the same intent.
--
-- Reached only through the security definer functions of schema `api_private`, which is not
-- in the API's exposed schemas (config.toml [api] schemas) and keys every row by auth.uid().

create table private.payments_requests (
  id bigint generated always as identity primary key,
  user_id uuid not null,
  idempotency_key text not null check (length(idempotency_key) between 1 and 255),
  request_hash text not null check (request_hash ~ '^[0-9a-f]{64}$'),
  method text not null check (method in ('POST', 'PUT', 'PATCH', 'DELETE')),
  path text not null check (length(path) between 1 and 2048),
  -- The answer; it may carry a Stripe client_secret, so the audit records it redacted.
  response_status integer check (response_status between 200 and 599),
  response_body jsonb,
  lease_until timestamptz not null,
  correlation_id text,
  created_at timestamptz not null default now(),
  completed_at timestamptz,
  constraint payments_requests_user_key unique (user_id, idempotency_key),
  constraint payments_requests_completed check ((response_status is null) = (completed_at is null)
                                                and (response_status is null) = (response_body is null))
);
comment on table private.payments_requests is
  'Idempotency records of the payments function: the first answer to each (user, Idempotency-Key). '
  'Written only by api_private.request_claim / request_complete / request_release.';
create index payments_requests_created_at_idx on private.payments_requests using brin (created_at);

revoke all on table private.payments_requests from public, anon, authenticated, service_role;
alter table private.payments_requests enable row level security;
alter table private.payments_requests force row level security;

select audit.attach('private.payments_requests', array['response_body']);

-- The signed-in user, or 42501.
create function private.payments_api_user() returns uuid
language plpgsql
stable
set search_path = ''
as $$
begin
  if private.wallet_caller() is distinct from 'user' and private.wallet_caller() is distinct from 'admin' then
    perform private.wallet_fail('42501', 'top-ups need a signed-in user');
  end if;
  return auth.uid();
end;
$$;
revoke all on function private.payments_api_user() from public, anon, authenticated, service_role;

-- Claims p_key for the calling user. outcome:
--   'new'         the key is fresh: do the work, then request_complete or request_release;
--   'resumed'     an earlier request with this key ended without an answer: do the work again;
--   'in_progress' another request holds the key right now (for p_lease_seconds at most);
--   'replay'      the same request was answered before: response_status/response_body are it;
--   'mismatch'    the key was used for a different request (method, path or body).
create function api_private.request_claim(
  p_key text, p_request_hash text, p_method text, p_path text, p_lease_seconds integer
)
returns table (outcome text, response_status integer, response_body jsonb)
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_user uuid := private.payments_api_user();
  v_row private.payments_requests;
begin
  if p_key is null or length(p_key) not between 1 and private.input_limit('identifier') then
    perform private.wallet_fail('22023',
      pg_catalog.format('idempotency key is required (1 to %s characters)', private.input_limit('identifier')));
  end if;
  perform private.require_within(p_request_hash, 'identifier', 'p_request_hash');
  perform private.require_within(p_method, 'identifier', 'p_method');
  perform private.require_within(p_path, 'path', 'p_path');
  if p_lease_seconds is null or p_lease_seconds not between 1 and 600 then
    perform private.wallet_fail('22023', 'the lease must be 1 to 600 seconds');
  end if;

  insert into private.payments_requests (user_id, idempotency_key, request_hash, method, path, lease_until, correlation_id)
  values (v_user, p_key, p_request_hash, p_method, p_path, now() + pg_catalog.make_interval(secs => p_lease_seconds),
          nullif(pg_catalog.current_setting('app.correlation_id', true), ''))
  on conflict (user_id, idempotency_key) do nothing;
  if found then
    return query select 'new'::text, null::integer, null::jsonb;
    return;
  end if;

  select r.* into v_row from private.payments_requests r
   where r.user_id = v_user and r.idempotency_key = p_key
   for update;
  if v_row.request_hash <> p_request_hash then
    return query select 'mismatch'::text, null::integer, null::jsonb;
  elsif v_row.completed_at is not null then
    return query select 'replay'::text, v_row.response_status, v_row.response_body;
  elsif v_row.lease_until > pg_catalog.clock_timestamp() then
    return query select 'in_progress'::text, null::integer, null::jsonb;
  else
    update private.payments_requests r
       set lease_until = now() + pg_catalog.make_interval(secs => p_lease_seconds)
     where r.id = v_row.id;
    return query select 'resumed'::text, null::integer, null::jsonb;
  end if;
end;
$$;

-- Stores the answer of the request that holds p_key.
create function api_private.request_complete(p_key text, p_status integer, p_body jsonb)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform private.require_within(p_body, 'document', 'p_body');
  update private.payments_requests r
     set response_status = p_status, response_body = p_body, completed_at = now()
   where r.user_id = private.payments_api_user() and r.idempotency_key = p_key and r.completed_at is null;
  if not found then
    perform private.wallet_fail('WL008', pg_catalog.format('idempotency key %s has no open request to complete', p_key));
  end if;
end;
$$;

-- Ends the lease of a request that ended without an answer, so that a retry may resume it now.
create function api_private.request_release(p_key text)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  update private.payments_requests r
     set lease_until = now()
   where r.user_id = private.payments_api_user() and r.idempotency_key = p_key and r.completed_at is null;
end;
$$;

revoke all on function
  api_private.request_claim(text, text, text, text, integer),
  api_private.request_complete(text, integer, jsonb),
  api_private.request_release(text)
  from public, anon, authenticated, service_role;
grant execute on function
  api_private.request_claim(text, text, text, text, integer),
  api_private.request_complete(text, integer, jsonb),
  api_private.request_release(text)
  to authenticated;
