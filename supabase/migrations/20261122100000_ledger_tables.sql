-- Wallet ledger, part 1: the tables, who may read them, and what may never change.
--
-- A double-entry ledger in integer minor units (docs/LEDGER.md explains the design).
-- wallet_accounts carries the posted balance a frontend reads; wallet_transactions is one row
-- per movement of money (or per hold); wallet_entries are the postings, two per transaction,
-- summing to zero. Every write goes through the security definer functions of the next
-- migrations: the API roles only ever get SELECT, filtered by RLS.

-- `private` is not exposed by PostgREST. Policies call the helpers below by OID, so the API
-- roles need EXECUTE on them but no USAGE on the schema.
create schema if not exists private;
revoke all on schema private from public;

-- No function is executable by anyone but its owner until a grant says so: every later
-- migration grants each function, right after its definition, to exactly the roles that
-- may call it. PostgreSQL grants EXECUTE on every new function to PUBLIC, and Supabase adds
-- anon, authenticated and service_role for functions in public; both defaults belong to the
-- role that creates the functions, the one that applies the migrations (postgres), so they
-- are revoked for that role, the one running this statement.
alter default privileges revoke execute on functions from public;
alter default privileges in schema public revoke execute on functions from anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------
-- Settings
-- ---------------------------------------------------------------------------------------

-- One row of ledger limits an operator can change with an UPDATE (no redeploy). A table, not
-- a GUC: a session could override a GUC, nobody but the owner can change this row.
create table private.wallet_settings (
  singleton boolean primary key default true check (singleton),
  max_amount bigint not null check (max_amount > 0)
);
comment on table private.wallet_settings is
  'Ledger limits. max_amount: largest amount (minor units) of one transfer, deposit, hold, '
  'capture or reversal; above it the functions fail with WL006.';
-- 100,000,000.00 in a two-decimal currency.
insert into private.wallet_settings (max_amount) values (10000000000);
revoke all on table private.wallet_settings from public, anon, authenticated, service_role;

-- Time-ordered ids for wallet_transactions (the UUID version 7 layout: 48 bits of Unix time in
-- milliseconds, then random bits). Random v4 ids put every new transaction on a random page of
-- its primary key and of every other index on a transaction id (when this was measured:
-- wallet_entries' transaction_id and the audit's record index); after each checkpoint those
-- pages are written to the WAL in full. With ids that grow, the
-- inserts land on the right-hand pages: at 150,000 transactions 12 s of the transfer benchmark
-- wrote 36 % less WAL and a quarter of the full-page images (docs/BENCHMARKS.md). PostgreSQL 15 has no
-- built-in v7; this keeps gen_random_uuid's randomness and overwrites the first 48 bits and
-- the version nibble.
create function private.uuid_v7() returns uuid
language plpgsql
volatile
set search_path = ''
as $$
begin
  return pg_catalog.encode(
    pg_catalog.set_bit(pg_catalog.set_bit(
      overlay(pg_catalog.uuid_send(pg_catalog.gen_random_uuid())
              placing substring(pg_catalog.int8send((extract(epoch from pg_catalog.clock_timestamp()) * 1000)::bigint) from 3)
              from 1 for 6),
      52, 1), 53, 1),  -- version 4 (0100) becomes 7 (0111)
    'hex')::uuid;
end;
$$;

-- The shape of the ledger's rows, checked by one CHECK constraint per table that calls these.
-- PostgreSQL reads a table's check expressions back from their stored text and prepares them
-- again for every INSERT or UPDATE statement: with the rules below written as 13 and 7 check
-- expressions, that was about a third of a transfer's work inside the database (two account
-- updates and one transaction insert per transfer; docs/BENCHMARKS.md, History). A PL/pgSQL
-- function keeps its compiled conditions for the session, and the constraint still holds
-- whatever code writes the row. A NULL result passes, as it would in the separate checks.
create function private.wallet_account_shape_ok(p_kind text, p_owner_id uuid, p_code text, p_currency text,
                                                p_balance bigint, p_available bigint, p_status text,
                                                p_balance_shards smallint) returns boolean
language plpgsql
immutable
set search_path = ''
as $$
begin
  return p_kind in ('user', 'system')
     -- User accounts have an owner and no code; system accounts (clearing, fees) the reverse.
     and ((p_kind = 'user' and p_owner_id is not null and p_code is null)
          or (p_kind = 'system' and p_owner_id is null and p_code is not null))
     and p_currency ~ '^[A-Z]{3}$'
     -- available = balance - active holds, and holds are positive.
     and p_available <= p_balance
     and p_status in ('active', 'frozen', 'closed')
     and (p_status <> 'closed' or (p_balance = 0 and p_available = 0))
     and p_balance_shards between 0 and 64;
end;
$$;

create function private.wallet_transaction_shape_ok(p_kind text, p_status text, p_amount bigint, p_hold_amount bigint,
                                                    p_currency text, p_from_account_id uuid, p_to_account_id uuid,
                                                    p_idempotency_key text, p_reverses_id uuid,
                                                    p_posted_at timestamptz, p_expires_at timestamptz) returns boolean
language plpgsql
immutable
set search_path = ''
as $$
begin
  return p_kind in ('transfer', 'deposit', 'withdrawal', 'reversal', 'adjustment', 'hold')
     and p_status in ('pending', 'posted', 'voided')
     -- What moved, and what a hold reserved (hold_amount: holds and withdrawals only), which
     -- bounds what a capture moves.
     and p_amount > 0
     and p_hold_amount > 0
     and (p_hold_amount is not null) = (p_kind in ('hold', 'withdrawal'))
     and p_amount <= coalesce(p_hold_amount, p_amount)
     and p_currency ~ '^[A-Z]{3}$'
     and p_from_account_id <> p_to_account_id
     and length(p_idempotency_key) between 1 and 255
     and (p_status = 'posted') = (p_posted_at is not null)
     and (p_status <> 'pending' or p_hold_amount is not null)
     and (p_expires_at is null or p_hold_amount is not null)
     -- Only a pending or voided hold may lack a destination.
     and (p_to_account_id is not null or (p_kind = 'hold' and p_status <> 'posted'))
     and (p_reverses_id is not null) = (p_kind = 'reversal');
end;
$$;

-- ---------------------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------------------

create table public.wallet_accounts (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid references auth.users (id),
  kind text not null,
  code text unique,
  currency text not null,
  balance bigint not null default 0,
  available bigint not null default 0,
  allow_negative boolean not null default false,
  status text not null default 'active',
  -- How many rows of wallet_balance_shards take this account's credits when its row is busy,
  -- so that transfers to a hot account do not queue for one row lock (docs/LEDGER.md, "Hot
  -- accounts"). 0 until a credit first finds the row busy: every change lands here.
  balance_shards smallint not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- kind, currency, status, shard count, owner or code by kind, available <= balance,
  -- closed only at zero: private.wallet_account_shape_ok.
  constraint wallet_accounts_shape check (
    private.wallet_account_shape_ok(kind, owner_id, code, currency, balance, available, status, balance_shards)
  ),
  -- One user account per (owner, currency); also the index behind the owner RLS filter.
  constraint wallet_accounts_owner_currency_key unique (owner_id, currency)
)
-- Every transfer rewrites two account rows. Free room on each page keeps those updates HOT
-- (new version on the same page, no index insert), which matters most on a hot account.
with (fillfactor = 50);
comment on table public.wallet_accounts is
  'Wallet accounts. balance is the posted balance (sum of entries), available is balance '
  'minus active holds; for an account with balance_shards > 0 both leave out the credits '
  'still in its shards, which wallet_balance() and wallet_account_balances add. Written only '
  'by the wallet_* functions.';

-- Why an account got its current status: an internal note (a fraud case, a support ticket)
-- that its owner must not read, so not a column of wallet_accounts, which owners read whole.
-- Written by wallet_set_status with the status; admin and support read it, users nothing.
create table public.wallet_status_reasons (
  account_id uuid primary key references public.wallet_accounts (id),
  status text not null check (status in ('active', 'frozen', 'closed')),
  reason text not null check (length(reason) between 1 and 1000),
  updated_at timestamptz not null default now()
);
comment on table public.wallet_status_reasons is
  'The reason given for each account''s current status (internal: staff read it, owners do not). '
  'Written only by wallet_set_status.';

create table public.wallet_transactions (
  id uuid primary key default private.uuid_v7(),
  kind text not null,
  status text not null,
  -- What moved (for a captured hold: what was captured).
  amount bigint not null,
  -- What a hold or withdrawal reserved; never changes.
  hold_amount bigint,
  currency text not null,
  -- No foreign keys to wallet_accounts here or in wallet_entries: every account id is checked
  -- by the functions under the account lock, accounts are never deleted (trigger below), and
  -- a foreign key check would take a KEY SHARE lock on a busy account row before its balance
  -- update (docs/LEDGER.md, hot accounts).
  from_account_id uuid not null,
  to_account_id uuid,
  idempotency_key text not null,
  -- auth.uid() of the caller; null for service calls. Also the idempotency scope.
  initiated_by uuid,
  reverses_id uuid references public.wallet_transactions (id),
  -- The key wallet_capture was called with, so that its replay can be recognised.
  capture_idempotency_key text,
  description text,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  posted_at timestamptz,
  -- A hold or withdrawal still pending after this time is voided by the expire-holds job.
  expires_at timestamptz,
  -- Attribution: the row is its own audit record (docs/AUDIT.md, "The ledger as its own
  -- record"), so inserting it writes no audit.log row. The posting code fills these from the
  -- request context the audit triggers read (audit.request_context): the actor's JWT sub,
  -- role, app role and session, the correlation id and client address the server accepted,
  -- the user agent. Never changed (the update guard below); owners do not read them (grants).
  -- A row the owner inserts by hand (maintenance, test fixtures) is attributed to its role.
  actor_id uuid,
  actor_role text not null default current_user,
  actor_app_role text,
  session_id text,
  correlation_id text,
  client_ip inet,
  user_agent text,
  txid bigint not null default pg_catalog.txid_current(),
  -- Its place in audit.trail, from audit.log's id sequence (the default is set where the
  -- audit is attached, 20261122110100_audit_ledger.sql).
  audit_id bigint not null,
  -- kind, status, amounts, currency, distinct accounts, key length, and the shape of holds,
  -- captures and reversals: private.wallet_transaction_shape_ok.
  constraint wallet_transactions_shape check (
    private.wallet_transaction_shape_ok(kind, status, amount, hold_amount, currency, from_account_id, to_account_id,
                                        idempotency_key, reverses_id, posted_at, expires_at)
  ),
  -- Idempotency: one transaction per key and caller (null = the service scope).
  constraint wallet_transactions_idempotency_key unique nulls not distinct (idempotency_key, initiated_by)
);
comment on table public.wallet_transactions is
  'One row per movement of money or hold. Only a pending hold ever changes: to posted '
  '(captured) or voided. Written only by the wallet_* functions.';

-- Every index here is maintained by some insert, so each is kept only for a query or a
-- constraint (docs/LEDGER.md, "Indexes"). A transfer maintains five: the primary key, the
-- idempotency key above, these two, which serve the RLS filter of a user's transactions (as
-- sender or receiver) and the WhatsApp history, and the audit trail's keyset on audit_id
-- (20261122110100_audit_ledger.sql); the partial ones cost it nothing.
create index wallet_transactions_from_account_idx on public.wallet_transactions (from_account_id);
create index wallet_transactions_to_account_idx on public.wallet_transactions (to_account_id);
-- What was already reversed of a transaction (wallet_reverse).
create index wallet_transactions_reverses_idx on public.wallet_transactions (reverses_id)
  where reverses_id is not null;
-- A capture key names one capture: reused on another hold it is WL005 (wallet_capture), and
-- this index settles two such captures racing on different holds.
create unique index wallet_transactions_capture_key_idx on public.wallet_transactions (capture_idempotency_key)
  where capture_idempotency_key is not null;

create table public.wallet_entries (
  -- From audit.log's id sequence, like wallet_transactions.audit_id: an entry's id is its place
  -- in audit.trail (default set in 20261122110100_audit_ledger.sql).
  id bigint primary key,
  transaction_id uuid not null references public.wallet_transactions (id),
  account_id uuid not null,
  amount bigint not null check (amount <> 0),
  created_at timestamptz not null default now()
);
comment on table public.wallet_entries is
  'Postings: credit > 0, debit < 0; the entries of a transaction sum to zero. Append-only.';

-- Statement pages: where account_id = ? order by id desc limit ? (keyset on id); also the
-- index behind the RLS filter.
create index wallet_entries_account_id_idx on public.wallet_entries (account_id, id);
-- A transaction's entries: what PostgREST runs per transaction when a frontend embeds them
-- (wallet_transactions(..., wallet_entries(...))).
create index wallet_entries_transaction_id_idx on public.wallet_entries (transaction_id);

-- Credits that found an account's row busy, not yet moved into its row. Such a credit adds
-- its amount to a free shard of the account without waiting for the row; money out that the
-- row cannot cover, and any status change, first locks the row and every shard and folds the
-- shards into the row. So at every commit the account's balance is its row's balance plus
-- the sum of its shards, exactly.
create table public.wallet_balance_shards (
  id bigint generated always as identity primary key,
  account_id uuid not null,
  shard smallint not null check (shard between 0 and 63),
  balance bigint not null default 0,
  updated_at timestamptz not null default now(),
  -- Also the index behind the RLS filter and every lookup by account.
  constraint wallet_balance_shards_account_shard_key unique (account_id, shard)
)
-- Every credit to a hot account rewrites one of these rows: room for HOT updates.
with (fillfactor = 50);
comment on table public.wallet_balance_shards is
  'Credits that found an account''s row busy (wallet_accounts.balance_shards > 0) not yet folded into its row. '
  'The account balance is its row plus these. Written only by the wallet_* functions.';

-- ---------------------------------------------------------------------------------------
-- Append-only: grants for the API roles, triggers for everyone else
-- ---------------------------------------------------------------------------------------

-- Supabase's default privileges grant ALL to the API roles; take it back and give SELECT only.
revoke all on table public.wallet_accounts, public.wallet_transactions, public.wallet_entries,
  public.wallet_balance_shards, public.wallet_status_reasons
  from public, anon, authenticated, service_role;
grant select on table public.wallet_accounts, public.wallet_transactions, public.wallet_entries,
  public.wallet_balance_shards, public.wallet_status_reasons
  to authenticated, service_role;
revoke all on sequence public.wallet_balance_shards_id_seq
  from public, anon, authenticated, service_role;
-- The attribution columns of a transaction say who asked and from where (address, session,
-- user agent): staff read them through the audit trail, the other party of a transfer must
-- not, so the API roles' SELECT on wallet_transactions leaves them out.
revoke select on table public.wallet_transactions from authenticated;
grant select (id, kind, status, amount, hold_amount, currency, from_account_id, to_account_id, idempotency_key,
              initiated_by, reverses_id, capture_idempotency_key, description, metadata, created_at, posted_at,
              expires_at)
  on table public.wallet_transactions to authenticated;

create function private.wallet_reject_change() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  raise exception '% is append-only: % is not allowed', tg_table_name, tg_op
    using errcode = '42501';
end;
$$;

create trigger wallet_entries_append_only
  before update or delete on public.wallet_entries
  for each row execute function private.wallet_reject_change();
create trigger wallet_entries_no_truncate
  before truncate on public.wallet_entries
  for each statement execute function private.wallet_reject_change();
create trigger wallet_transactions_no_delete
  before delete on public.wallet_transactions
  for each row execute function private.wallet_reject_change();
create trigger wallet_transactions_no_truncate
  before truncate on public.wallet_transactions
  for each statement execute function private.wallet_reject_change();
create trigger wallet_accounts_no_delete
  before delete on public.wallet_accounts
  for each row execute function private.wallet_reject_change();
create trigger wallet_accounts_no_truncate
  before truncate on public.wallet_accounts
  for each statement execute function private.wallet_reject_change();
create trigger wallet_balance_shards_no_delete
  before delete on public.wallet_balance_shards
  for each row execute function private.wallet_reject_change();
create trigger wallet_balance_shards_no_truncate
  before truncate on public.wallet_balance_shards
  for each statement execute function private.wallet_reject_change();

-- The one change a transaction may see: a pending hold is captured (posted, with its
-- destination and an amount up to what it reserved) or voided. Anything else is refused.
create function private.wallet_transactions_guard_update() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if old.status = 'pending'
     and (
       (new.status = 'voided' and new.amount = old.amount and new.to_account_id is not distinct from old.to_account_id
        and new.posted_at is null and new.capture_idempotency_key is null)
       or (new.status = 'posted' and new.amount <= old.hold_amount and new.posted_at is not null
           and (old.to_account_id is null or new.to_account_id = old.to_account_id))
     )
     and (new.id, new.kind, new.hold_amount, new.currency, new.from_account_id, new.idempotency_key,
          new.initiated_by, new.reverses_id, new.description, new.metadata, new.created_at, new.expires_at,
          new.actor_id, new.actor_role, new.actor_app_role, new.session_id, new.correlation_id, new.client_ip,
          new.user_agent, new.txid, new.audit_id)
         is not distinct from
         (old.id, old.kind, old.hold_amount, old.currency, old.from_account_id, old.idempotency_key,
          old.initiated_by, old.reverses_id, old.description, old.metadata, old.created_at, old.expires_at,
          old.actor_id, old.actor_role, old.actor_app_role, old.session_id, old.correlation_id, old.client_ip,
          old.user_agent, old.txid, old.audit_id)
  then
    return new;
  end if;
  raise exception 'wallet_transactions is append-only: transaction % (%) cannot change this way', old.id, old.status
    using errcode = '42501';
end;
$$;

create trigger wallet_transactions_guard_update
  before update on public.wallet_transactions
  for each row execute function private.wallet_transactions_guard_update();

-- ---------------------------------------------------------------------------------------
-- Who is asking: the caller helpers of every policy and function
-- ---------------------------------------------------------------------------------------

-- PL/pgSQL rather than SQL for all of these: a non-inlined SQL function is planned again on
-- every call, a PL/pgSQL one keeps its plans for the session.

-- Whether auth.users still gives the signed-in user the staff role p_role its token names, and
-- the user is neither banned nor deleted: Supabase Auth writes app_metadata, banned_until and
-- deleted_at there, and the token only copies the role when it is issued.
-- Called by the two security definer functions below, as their owner; granted to nobody.
create function private.staff_role_held(p_role text) returns boolean
language plpgsql
stable
set search_path = ''
as $$
begin
  return exists (select 1 from auth.users u
                  where u.id = auth.uid() and u.raw_app_meta_data ->> 'role' = p_role
                    and (u.banned_until is null or u.banned_until <= now()) and u.deleted_at is null);
end;
$$;

-- The class of the caller: 'service' (service_role, or the database owner running
-- maintenance), 'admin', 'support', 'user' (any other signed-in user), or null. The class
-- of a signed-in user is its app_metadata.role, which only the server sets (user_metadata
-- is user-editable and never read). Support reads everything and writes nothing
-- (docs/LEDGER.md), so no function that changes money accepts it. SET ROLE (what PostgREST
-- does per request) survives the switch into a security definer function, current_user
-- does not, so the role is read from the setting.
-- A token's staff role counts only while auth.users still gives the user that role
-- (private.staff_role_held): a token outlives a demotion by up to its expiry (an hour by
-- default), and an admin taken off the role must lose the power at once. Users' calls never
-- read auth.users.
create function private.caller() returns text
language plpgsql
stable
security definer set search_path = ''
as $$
declare
  v_role text := current_setting('role');
  v_claimed text;
begin
  if v_role = 'none' then
    v_role := session_user;
  end if;
  if v_role in ('service_role', 'postgres', 'supabase_admin') then
    return 'service';
  elsif v_role = 'authenticated' and auth.uid() is not null then
    v_claimed := auth.jwt() -> 'app_metadata' ->> 'role';
    -- Nested: a user's null claim must not reach the look-up (null AND x evaluates x).
    if v_claimed in ('admin', 'support') then
      if private.staff_role_held(v_claimed) then
        return v_claimed;
      end if;
    end if;
    return 'user';
  end if;
  return null;
end;
$$;

-- Admins and support read every financial row: the policies' test, run once per query.
create function private.caller_reads_all() returns boolean
language plpgsql
stable
security definer set search_path = ''
as $$
declare
  v_claimed text := auth.jwt() -> 'app_metadata' ->> 'role';
begin
  if v_claimed in ('admin', 'support') then
    return private.staff_role_held(v_claimed);
  end if;
  return false;
end;
$$;
grant execute on function private.caller_reads_all() to authenticated;

-- The caller's own wallet accounts, read once per query by the policies (an init plan).
create function private.caller_account_ids() returns uuid[]
language plpgsql
stable
security definer set search_path = ''
as $$
begin
  return array(select a.id from public.wallet_accounts a where a.owner_id = auth.uid());
end;
$$;
grant execute on function private.caller_account_ids() to authenticated;

-- ---------------------------------------------------------------------------------------
-- Row level security (docs/LEDGER.md): owners read their own rows, admin and support
-- read everything, anon nothing; service_role bypasses RLS. No write policies: writes are
-- not granted at all.
-- ---------------------------------------------------------------------------------------

alter table public.wallet_accounts enable row level security;
alter table public.wallet_accounts force row level security;
alter table public.wallet_transactions enable row level security;
alter table public.wallet_transactions force row level security;
alter table public.wallet_entries enable row level security;
alter table public.wallet_entries force row level security;
alter table public.wallet_balance_shards enable row level security;
alter table public.wallet_balance_shards force row level security;
alter table public.wallet_status_reasons enable row level security;
alter table public.wallet_status_reasons force row level security;

create policy wallet_accounts_select on public.wallet_accounts
  for select to authenticated
  using (owner_id = (select auth.uid()) or (select private.caller_reads_all()));

create policy wallet_transactions_select on public.wallet_transactions
  for select to authenticated
  using (
    from_account_id = any ((select private.caller_account_ids())::uuid[])
    or to_account_id = any ((select private.caller_account_ids())::uuid[])
    or (select private.caller_reads_all())
  );

create policy wallet_entries_select on public.wallet_entries
  for select to authenticated
  using (
    account_id = any ((select private.caller_account_ids())::uuid[])
    or (select private.caller_reads_all())
  );

create policy wallet_balance_shards_select on public.wallet_balance_shards
  for select to authenticated
  using (
    account_id = any ((select private.caller_account_ids())::uuid[])
    or (select private.caller_reads_all())
  );

-- Internal notes: staff only, not even the account's owner.
create policy wallet_status_reasons_select on public.wallet_status_reasons
  for select to authenticated
  using ((select private.caller_reads_all()));

-- What a frontend reads as an account's balance (docs/LEDGER.md, invariant 2): the row plus its
-- shards, read at one snapshot, so exact for hot accounts too. security_invoker: the RLS of
-- both tables applies to the reader, who sees its own accounts and nothing else.
create view public.wallet_account_balances with (security_invoker = true) as
select a.id as account_id, a.owner_id, a.kind, a.code, a.currency, a.status,
       a.balance + s.balance as balance,
       a.available + s.balance as available
  from public.wallet_accounts a
 cross join lateral (
   select coalesce(sum(x.balance), 0)::bigint as balance
     from public.wallet_balance_shards x
    where x.account_id = a.id
 ) s;
comment on view public.wallet_account_balances is
  'Exact balance and available amount of every account the caller may read: the account row '
  'plus its balance shards.';
revoke all on table public.wallet_account_balances from public, anon, authenticated, service_role;
grant select on table public.wallet_account_balances to authenticated, service_role;
