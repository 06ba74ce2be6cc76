-- Immutable audit trail for the financial tables.
--
-- Every INSERT, UPDATE and DELETE on an audited table writes one row to audit.log with the
-- request context PostgREST (or an edge function emulating it) put into the transaction:
-- who (JWT sub, role, session), which request (correlation id, client address, user agent)
-- and what (old and new row, changed columns). The correlation id and the client address are
-- the ones the server accepted (PostgREST's pre-request function below, or the edge function),
-- never what a client wrote in a header. The schema is not exposed through the API and
-- no API role can change or remove what is written. The append-only ledger rows carry the same
-- context themselves and their inserts write no audit row; audit.trail (20261122110100) reads
-- both in one shape. docs/AUDIT.md explains the choices, including why rows are recorded by a
-- row trigger (measured).

create schema if not exists audit;
revoke all on schema audit from public;

-- hstore's row difference gives an update's changed fields in C, without a query per row.
create extension if not exists hstore with schema extensions;

create table audit.log (
  id bigint generated always as identity primary key,
  occurred_at timestamptz not null default now(),
  txid bigint not null default pg_catalog.txid_current(),
  schema_name text not null,
  table_name text not null,
  -- INSERT, UPDATE, DELETE or TRUNCATE.
  operation text not null,
  record_id text,
  old_record jsonb,
  new_record jsonb,
  changed_fields text[],
  actor_id uuid,
  actor_role text,
  actor_app_role text,
  session_id text,
  correlation_id text,
  ip inet,
  user_agent text
  -- No CHECK constraints: only the two trigger functions below write here, and PostgreSQL
  -- prepares every check expression again for each INSERT statement, which is what a row
  -- trigger runs (26 us per audit row, five rows per transfer; docs/AUDIT.md). What they would
  -- check (operation, record_id null only for TRUNCATE, changed_fields only for UPDATE) is
  -- asserted by the audit tests instead.
);

comment on table audit.log is
  'Append-only record of every change to the financial tables, with the request context. '
  'Written only by audit triggers; UPDATE, DELETE and TRUNCATE are rejected for every role.';

create index log_table_record_idx on audit.log (table_name, record_id, id);
create index log_actor_idx on audit.log (actor_id, id) where actor_id is not null;
create index log_occurred_at_idx on audit.log using brin (occurred_at);

-- No API role writes or changes the log directly: the trigger functions below own the writes.
revoke all on table audit.log from public, anon, authenticated, service_role;

-- Immutability does not rest on grants alone: even the owner (and any role that is later
-- granted something by mistake) hits these triggers. Retention is an operator task that
-- must disable them explicitly, which itself leaves a trace in the server log.
create function audit.reject_change() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  raise exception 'audit.log is append-only: % is not allowed', tg_op
    using errcode = 'AU001',
          hint = 'Audit rows are never changed or removed through the API.';
end;
$$;

create trigger log_reject_update_delete
  before update or delete on audit.log
  for each row execute function audit.reject_change();

create trigger log_reject_truncate
  before truncate on audit.log
  for each statement execute function audit.reject_change();

-- A client address, or null when it does not parse: a bad value must never fail the audited
-- write. audit.request_context recognises plain IPv4 itself and only calls this for anything
-- else, so the common case does not pay for the exception handler's subtransaction.
create function audit.client_ip(p_hop text) returns inet
language plpgsql
immutable
set search_path = ''
as $$
begin
  return p_hop::inet;
exception
  when invalid_text_representation then
    return null;
end;
$$;

-- What the database knows about the proxies in front of PostgREST. A table, not a GUC: a
-- session could override a GUC, nobody but the owner can change this row.
create table audit.request_settings (
  singleton boolean primary key default true check (singleton),
  trusted_proxy_hops integer not null default 1 check (trusted_proxy_hops between 0 and 10)
);
comment on table audit.request_settings is
  'trusted_proxy_hops: how many x-forwarded-for hops, counted from the right, the proxies in front '
  'of PostgREST append; the client address is the leftmost of them. The edge functions read '
  'TRUSTED_PROXY_HOPS instead (same default, 1).';
insert into audit.request_settings default values;
revoke all on table audit.request_settings from public, anon, authenticated, service_role;

-- The correlation id the server accepts from x-correlation-id: 1 to 128 of A-Z a-z 0-9 . _ : -
-- (the edge functions' rule, _shared/correlation.ts); anything else, or none, gets a new UUID.
create function audit.accepted_correlation_id(p_offered text) returns text
language plpgsql
volatile
set search_path = ''
as $$
begin
  return case when p_offered ~ '^[A-Za-z0-9._:-]{1,128}$' then p_offered else pg_catalog.gen_random_uuid()::text end;
end;
$$;

-- The x-forwarded-for hop p_trusted_hops from the right: the address the first proxy we trust
-- saw (the edge functions' rule, _shared/client-address.ts). A client can write anything to
-- the left of it. Null without a trusted proxy or with fewer hops: PostgREST does not tell us
-- the peer's address.
create function audit.trusted_hop(p_forwarded text, p_trusted_hops integer) returns text
language plpgsql
immutable
set search_path = ''
as $$
begin
  return (select h.hops[pg_catalog.array_length(h.hops, 1) - p_trusted_hops + 1]
            from (select array(select pg_catalog.btrim(u.hop)
                                 from pg_catalog.unnest(pg_catalog.string_to_array(p_forwarded, ',')) with ordinality as u(hop, n)
                                where pg_catalog.btrim(u.hop) <> ''
                                order by u.n) as hops) as h
           where p_trusted_hops > 0);
end;
$$;

-- Who made the change and through which request. The actor comes from the JWT claims
-- PostgREST (or an edge function emulating it) set; the correlation id and the client address
-- only from app.correlation_id and app.client_address, which the server sets after deciding
-- them: PostgREST's pre-request function (api_hooks.pre_request), the edge functions'
-- withRequestContext, or a job. Request headers are what the client wrote and are never read
-- for either. One place for both trigger functions below.
create function audit.request_context(
  out actor_id uuid,
  out actor_role text,
  out actor_app_role text,
  out session_id text,
  out correlation_id text,
  out ip inet,
  out user_agent text
)
language plpgsql
stable
set search_path = ''
as $$
declare
  v_claims jsonb := nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb;
  v_address text := nullif(pg_catalog.current_setting('app.client_address', true), '');
begin
  actor_id := (v_claims ->> 'sub')::uuid;
  actor_role := coalesce(v_claims ->> 'role', nullif(pg_catalog.current_setting('role'), 'none'), session_user);
  actor_app_role := v_claims -> 'app_metadata' ->> 'role';
  -- The staff role the database honoured (private.caller, decision 0017): a token's claim that
  -- auth.users no longer backs acted as a user and is not recorded as staff. Users' rows never
  -- ask: nested, as in private.caller.
  if actor_app_role in ('admin', 'support') then
    if not private.staff_role_held(actor_app_role) then
      actor_app_role := null;
    end if;
  end if;
  session_id := v_claims ->> 'session_id';
  correlation_id := pg_catalog.left(nullif(pg_catalog.current_setting('app.correlation_id', true), ''), 128);
  if v_address ~ '^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$' then
    ip := v_address::inet;
  elsif v_address is not null then
    ip := audit.client_ip(v_address);
  end if;
  user_agent := pg_catalog.left(nullif(pg_catalog.current_setting('request.headers', true), '')::jsonb ->> 'user-agent', 512);
end;
$$;

-- A row image with the listed columns replaced by a marker where they hold a value, so the
-- audit shows that they were written or changed but not what they hold.
create function audit.redacted(p_image jsonb, p_columns text[]) returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
begin
  return p_image || coalesce((select pg_catalog.jsonb_object_agg(c.name, '[redacted]')
                                from pg_catalog.unnest(p_columns) as c(name)
                               where p_image ->> c.name is not null), '{}');
end;
$$;

-- One audit row per changed row, and one per TRUNCATE (a statement-level trigger: no row, so
-- no record id and no images). Trigger arguments: the primary-key column, then the columns
-- whose values must never reach the audit (provider payloads can carry tokens such as
-- Stripe's client_secret): they are replaced by a marker (audit.redacted). The body is one
-- INSERT because it runs for every audited row; docs/AUDIT.md has the measurements, including
-- why this is row-level.
create function audit.record_row_change() returns trigger
language plpgsql
security definer set search_path = ''
as $$
declare
  v_context record := audit.request_context();
  v_old jsonb;
  v_new jsonb;
begin
  if tg_op <> 'INSERT' then
    v_old := pg_catalog.to_jsonb(old);
  end if;
  if tg_op <> 'DELETE' then
    v_new := pg_catalog.to_jsonb(new);
  end if;

  insert into audit.log (
    schema_name, table_name, operation, record_id, old_record, new_record, changed_fields,
    actor_id, actor_role, actor_app_role, session_id, correlation_id, ip, user_agent
  ) values (
    tg_table_schema,
    tg_table_name,
    tg_op,
    coalesce(v_new, v_old) ->> tg_argv[0],
    case when tg_nargs > 1 then audit.redacted(v_old, tg_argv[1:]) else v_old end,
    case when tg_nargs > 1 then audit.redacted(v_new, tg_argv[1:]) else v_new end,
    case when tg_op = 'UPDATE' then
      extensions.akeys(extensions.hstore(new) operator(extensions.-) extensions.hstore(old))
    end,
    v_context.actor_id, v_context.actor_role, v_context.actor_app_role, v_context.session_id,
    v_context.correlation_id, v_context.ip, v_context.user_agent
  );
  return null;
end;
$$;

-- audit.attach('public.payments', array['raw']) puts a table under audit. The record id is the
-- table's single-column primary key; the listed columns are redacted.
--
-- p_record_inserts false: the table's rows carry their own attribution (the append-only ledger
-- rows, docs/AUDIT.md), so an INSERT writes no audit row; updates, deletes and truncates are
-- recorded as for any table, and audit.trail shows the inserts from the rows themselves.
--
-- p_explained_columns: columns whose changes another audited record already explains (an
-- account's balance moves only by ledger entries, which are attributed with their context). An
-- UPDATE that changes nothing but these writes no audit row; one that changes anything else
-- is recorded whole, as any update. Half of a transfer's audit rows were such balance updates
-- (docs/BENCHMARKS.md, "Where the time goes"). The update trigger is declared on every other
-- column (UPDATE OF), so that an UPDATE whose SET list names only explained columns, as every
-- balance change does, never reaches its condition: PostgreSQL reads a trigger's WHEN clause
-- back from its stored text and prepares it again in each statement, which cost a transfer a
-- tenth of its work. The condition still decides for an UPDATE that names another column. The
-- list is fixed when the table is attached: a column added later is attached by running this
-- again (audit_context.test.sql fails for a ledger table that was not), and a BEFORE UPDATE
-- trigger must not change a column its UPDATE does not name (none does on an audited table).
create function audit.attach(p_table regclass, p_redact text[] default '{}', p_record_inserts boolean default true,
                             p_explained_columns text[] default '{}')
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_pk text;
  v_args text;
  v_update_when text;
  v_update_columns text;
begin
  select a.attname
    into v_pk
    from pg_catalog.pg_index i
    join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
   where i.indrelid = p_table and i.indisprimary and i.indnatts = 1;
  if v_pk is null then
    raise exception 'audit.attach: % needs a single-column primary key', p_table
      using errcode = 'AU002';
  end if;
  if exists (
    select 1 from pg_catalog.unnest(p_redact || p_explained_columns) as c
    where not exists (
      select 1 from pg_catalog.pg_attribute a
      where a.attrelid = p_table and a.attname = c and a.attnum > 0 and not a.attisdropped
    )
  ) then
    raise exception 'audit.attach: a redacted or explained column of % does not exist: % / %', p_table, p_redact, p_explained_columns
      using errcode = 'AU002';
  end if;
  if v_pk = any (p_explained_columns) then
    raise exception 'audit.attach: the primary key of % identifies its records and cannot be explained', p_table
      using errcode = 'AU002';
  end if;
  -- hstore's difference in C: the row images without the explained columns differ.
  v_update_when := case when pg_catalog.cardinality(p_explained_columns) > 0 then pg_catalog.format(
    ' when ((extensions.hstore(old) operator(extensions.-) %1$L::text[]) operator(extensions.<>) (extensions.hstore(new) operator(extensions.-) %1$L::text[]))',
    p_explained_columns) else '' end;
  select pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' order by a.attnum)
    into v_update_columns
    from pg_catalog.pg_attribute a
   where a.attrelid = p_table and a.attnum > 0 and not a.attisdropped and a.attname <> all (p_explained_columns);
  v_args := (select pg_catalog.string_agg(pg_catalog.quote_literal(arg), ', ')
               from pg_catalog.unnest(array[v_pk] || p_redact) as arg);

  execute pg_catalog.format('drop trigger if exists audit_row_update on %s', p_table);
  -- A WHEN clause may not read OLD on INSERT or NEW on DELETE: with explained columns, updates
  -- get a trigger of their own.
  execute pg_catalog.format(
    'create or replace trigger audit_row_change after %s%s delete on %s '
    'for each row execute function audit.record_row_change(%s)',
    case when p_record_inserts then 'insert or ' else '' end,
    case when pg_catalog.cardinality(p_explained_columns) > 0 then '' else 'update or' end,
    p_table, v_args);
  if pg_catalog.cardinality(p_explained_columns) > 0 then
    execute pg_catalog.format(
      'create trigger audit_row_update after update of %s on %s for each row%s execute function audit.record_row_change(%s)',
      v_update_columns, p_table, v_update_when, v_args);
  end if;
  execute pg_catalog.format(
    'create or replace trigger audit_truncate after truncate on %s '
    'for each statement execute function audit.record_row_change(%s)',
    p_table, v_args
  );
end;
$$;

-- Reading the trail: the admin API queries it as `authenticated` with the caller's claims
-- (the schema stays out of PostgREST's exposed schemas). Admin and support see every row,
-- anyone else none; service_role reads for operators. Nobody is granted anything else.
grant usage on schema audit to authenticated, service_role;
grant select on table audit.log to authenticated, service_role;
alter table audit.log enable row level security;
create policy log_staff_read on audit.log for select to authenticated
  using ((select private.caller_reads_all()));

-- PostgREST's db-pre-request: PostgREST calls it in every API request's transaction, as the
-- request's role, after setting the claims and headers and before the query. It decides the
-- request's correlation id (x-correlation-id when acceptable, else a new one; returned in the
-- response's x-correlation-id) and client address (the trusted x-forwarded-for hop) and puts
-- them where the audit reads them. A client cannot override them: the API roles reach the
-- database only through PostgREST, which runs no SET or set_config a client asks for. The
-- schema is not exposed (not in the API's schemas), so this is no RPC; every API role may
-- execute it because PostgREST calls it for each of them.
create schema if not exists api_hooks;
revoke all on schema api_hooks from public;
grant usage on schema api_hooks to anon, authenticated, service_role;

create function api_hooks.pre_request() returns void
language plpgsql
volatile
security definer set search_path = ''
as $$
declare
  v_headers jsonb := nullif(pg_catalog.current_setting('request.headers', true), '')::jsonb;
  v_correlation_id text := audit.accepted_correlation_id(v_headers ->> 'x-correlation-id');
  v_hops integer := (select s.trusted_proxy_hops from audit.request_settings s where s.singleton);
begin
  perform pg_catalog.set_config('app.correlation_id', v_correlation_id, true);
  perform pg_catalog.set_config('app.client_address',
    coalesce(audit.trusted_hop(v_headers ->> 'x-forwarded-for', v_hops), ''), true);
  perform pg_catalog.set_config('response.headers',
    pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('x-correlation-id', v_correlation_id))::text, true);
end;
$$;
grant execute on function api_hooks.pre_request() to anon, authenticated, service_role;

-- PostgREST logs in as authenticator and reads its settings as configuration; the reload
-- makes a running PostgREST pick the function up.
alter role authenticator set pgrst.db_pre_request = 'api_hooks.pre_request';
notify pgrst, 'reload config';
