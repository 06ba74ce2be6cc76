-- Cash-outs to MTN MoMo (docs/PAYMENTS.md, "Cash-outs"): a user's withdrawal from its wallet
-- to a mobile-money number. The funds are held first (a pending withdrawal towards the
-- clearing:momo:<currency> account), the payments function asks MoMo Disbursements for the
-- transfer, and only a status confirmed with MoMo's API settles the hold: SUCCESSFUL captures
-- it, FAILED voids it. One cash-out row per request records every step.
--
-- cashout_create lives in schema api_private (not exposed by PostgREST, like the payments
-- function's idempotency records): only the payments function, which sends the transfer
-- right after, creates cash-outs, so no hold is ever made for a transfer nobody sends.
--
-- The hold is the user's own: cashout_create runs as the signed-in user, checks that the
-- account is the caller's, and records the withdrawal in the caller's idempotency scope
-- (wallet_transactions.initiated_by = auth.uid()), so the ledger, the audit trail and the
-- per-user limits see a user-initiated withdrawal. It does not go through wallet_withdraw
-- (service-only, service scope) but through the same ledger steps (wallet_record, then
-- wallet_apply reserving the amount). A cash-out hold never expires on its own: MoMo may
-- have paid it, so only MoMo's confirmed answer releases it.
--
-- The one exception is the momo-poll job's verdict not_accepted, for a transfer MoMo still
-- does not know at the end of the accept window. It is sound only if no send can reach MoMo
-- after the look-up it rests on, so every send is recorded on the row before its POST
-- (cashout_send_begin, last_sent_at), momo-poll closes the sending before that look-up
-- (cashout_close_sending, sending_closed_at; not while a send is recent enough for MoMo to be
-- still showing it), no send is recorded once closed, and the verdict needs the sending closed
-- (cashout_not_accepted). These are the sending rules of every MoMo transfer, a MoMo refund's
-- too: private.momo_transfer_sendable, momo_transfer_closable and require_momo_sending_closed
-- hold them, and each kind of transfer applies them to its own row.

insert into private.status_transitions (table_name, from_status, to_status) values
  ('cashouts', 'pending', 'paid'),
  ('cashouts', 'pending', 'failed');

create table public.cashouts (
  id uuid primary key default gen_random_uuid(),
  -- MoMo's X-Reference-Id for the transfer (a UUID v4), the same on every retry.
  reference_id uuid not null unique default gen_random_uuid(),
  user_id uuid not null references auth.users (id),
  account_id uuid not null references public.wallet_accounts (id),
  -- The pending withdrawal; captured when paid, voided when failed.
  hold_id uuid not null unique references public.wallet_transactions (id),
  msisdn text not null check (msisdn ~ '^[1-9][0-9]{7,14}$'),
  amount bigint not null check (amount > 0),
  currency text not null check (currency ~ '^[A-Z]{3}$'),
  status text not null default 'pending' check (status in ('pending', 'paid', 'failed')),
  reason text check (length(reason) <= 500),
  idempotency_key text not null check (length(idempotency_key) between 1 and 255),
  -- When a transfer of it was last about to be sent (recorded before each POST), and when
  -- momo-poll closed its sending past the accept window (no send after that).
  last_sent_at timestamptz,
  sending_closed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  settled_at timestamptz,
  -- The admin who settled it when no job could (cashout_resolve), and their note.
  resolved_by uuid references auth.users (id),
  resolution_reason text check (length(resolution_reason) <= 1000),
  constraint cashouts_idempotency_key unique (user_id, idempotency_key),
  constraint cashouts_settled check ((status = 'pending') = (settled_at is null)),
  constraint cashouts_resolved check ((resolved_by is null) = (resolution_reason is null) and (resolved_by is null or status <> 'pending')),
  constraint cashouts_reference_is_v4 check (
    reference_id::text ~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$')
);
comment on table public.cashouts is
  'Cash-outs to MoMo: pending -> paid | failed. Written only by cashout_create, cashout_send_begin, '
  'cashout_close_sending, cashout_settle, cashout_not_accepted and cashout_resolve.';
create index cashouts_user_idx on public.cashouts (user_id);
create index cashouts_account_idx on public.cashouts (account_id);
-- The momo-poll job's scan: cash-outs still pending, oldest first.
create index cashouts_pending_idx on public.cashouts (created_at) where status = 'pending';

create trigger cashouts_status before update of status on public.cashouts
  for each row when (old.status is distinct from new.status)
  execute function private.enforce_status_transition('status');
create trigger cashouts_touch before update on public.cashouts
  for each row execute function private.touch_updated_at();
select audit.attach('public.cashouts');

revoke all on table public.cashouts from public, anon, authenticated, service_role;
grant select on table public.cashouts to authenticated, service_role;
alter table public.cashouts enable row level security;
alter table public.cashouts force row level security;
create policy cashouts_select on public.cashouts for select to authenticated
  using (user_id = (select auth.uid()) or (select private.caller_reads_all()));

-- Holds p_amount of the caller's account p_account for a MoMo transfer to p_msisdn and
-- records the cash-out. The same p_idempotency_key again returns the same cash-out (WL005
-- with other parameters). Refusals: 42501 not the caller's account (the same whether it
-- exists or not), WL002 currency, WL004 account not active, WL001 insufficient funds,
-- WL006 amount, 22023 malformed argument.
create function api_private.cashout_create(
  p_account uuid,
  p_amount bigint,
  p_currency text,
  p_msisdn text,
  p_idempotency_key text
)
returns public.cashouts
language plpgsql
security definer set search_path = ''
as $$
declare
  v_user uuid;
  v_cashout public.cashouts;
  v_id uuid := gen_random_uuid();
  v_hold uuid;
begin
  perform private.require_caller(array['user', 'admin'], 'cash out');
  v_user := auth.uid();
  perform private.require_within(p_msisdn, 'identifier', 'p_msisdn');
  perform private.require_within(p_currency, 'identifier', 'p_currency');
  perform private.require_text(p_idempotency_key, 'identifier', 'idempotency key');
  perform private.require_amount(p_amount);
  perform private.require_msisdn(p_msisdn);
  perform private.require_currency(p_currency);

  -- A concurrent call with the same key waits here, then finds the first one's cash-out.
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended(v_user::text || ':cashout:' || p_idempotency_key, 0));
  select c.* into v_cashout from public.cashouts c where c.user_id = v_user and c.idempotency_key = p_idempotency_key;
  if found then
    perform private.require_same_parameters(
      (v_cashout.account_id, v_cashout.amount, v_cashout.currency, v_cashout.msisdn)
        is not distinct from (p_account, p_amount, p_currency, p_msisdn),
      p_idempotency_key);
    return v_cashout;
  end if;

  perform private.require_user_account(p_account, v_user, p_currency, 'cash out of');

  -- The withdrawal in the user's scope, keyed by the cash-out (the request's key is the
  -- cash-out's own, above).
  select r.tx_id into v_hold
    from private.wallet_record(v_user, 'withdrawal', array[p_account],
                               array[private.wallet_system_account('clearing:momo', p_currency)], array[p_amount],
                               array[p_currency], array['cashout:' || v_id], array[null::text],
                               array[pg_catalog.jsonb_build_object('cashout_msisdn', p_msisdn)]) r;
  perform private.wallet_apply(array[p_account], array[0::bigint], array[-p_amount], false, false);
  -- A cash-out is a payment the user starts: its tier's limits apply (WL009), counted once,
  -- after wallet_apply has locked the account row.
  perform private.wallet_check_limits(p_account, p_amount, p_currency);

  insert into public.cashouts (id, user_id, account_id, hold_id, msisdn, amount, currency, idempotency_key)
  values (v_id, v_user, p_account, v_hold, p_msisdn, p_amount, p_currency, p_idempotency_key)
  returning * into v_cashout;
  return v_cashout;
end;
$$;
grant execute on function api_private.cashout_create(uuid, bigint, text, text, text) to authenticated;

-- The state a MoMo transfer's confirmed status moves its record to: p_paid for SUCCESSFUL,
-- failed for FAILED, pending for PENDING (nothing to do); 22023 for a status MoMo does not have
-- (a longer one than an identifier names the bound). Cash-outs and MoMo refunds are both MoMo
-- transfers and settle by the same words.
create function private.momo_transfer_target(p_status text, p_paid text) returns text
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_to text := case p_status when 'SUCCESSFUL' then p_paid when 'FAILED' then 'failed' when 'PENDING' then 'pending' end;
begin
  perform private.require_within(p_status, 'identifier', 'p_status');
  if v_to is null then
    perform private.fail('22023', pg_catalog.format('status %s is not one of PENDING, SUCCESSFUL, FAILED',
      coalesce(p_status, 'null')));
  end if;
  return v_to;
end;
$$;

-- Whether a send of a MoMo transfer (a cash-out's or a refund's) in the state p_status, its
-- sending closed at p_sending_closed_at, may be recorded and POSTed: exactly while it is
-- pending and momo-poll has not closed its sending.
create function private.momo_transfer_sendable(p_status text, p_sending_closed_at timestamptz) returns boolean
language plpgsql
immutable
set search_path = ''
as $$
begin
  return p_status = 'pending' and p_sending_closed_at is null;
end;
$$;

-- Whether momo-poll may close the sending of a MoMo transfer now: it may still be sent
-- (momo_transfer_sendable) and its last send, if any, is older than p_quiet_seconds. A transfer
-- MoMo took but whose answer was lost shows in MoMo's status within that time, so a look-up
-- that finds nothing after the close means that none of its sends reached MoMo.
create function private.momo_transfer_closable(
  p_status text,
  p_last_sent_at timestamptz,
  p_sending_closed_at timestamptz,
  p_quiet_seconds integer
)
returns boolean
language plpgsql
stable
set search_path = ''
as $$
begin
  return private.momo_transfer_sendable(p_status, p_sending_closed_at)
     and (p_last_sent_at is null or p_last_sent_at < now() - make_interval(secs => p_quiet_seconds));
end;
$$;

-- momo-poll's verdict not_accepted on the MoMo transfer p_what (a cash-out or a refund, in
-- the state p_status) rests on a look-up after which no send may reach MoMo: WL008 while it is
-- pending with its sending open (a send may have reached MoMo after that look-up and be
-- paid). A settled transfer passes: its settle function decides.
create function private.require_momo_sending_closed(p_status text, p_sending_closed_at timestamptz, p_what text) returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if private.momo_transfer_sendable(p_status, p_sending_closed_at) then
    perform private.fail('WL008', pg_catalog.format(
      '%s may still be sent: MoMo not knowing it fails it only once its sending is closed', p_what));
  end if;
end;
$$;

-- An admin settles a MoMo transfer (p_what, in the state p_status) by hand only while it is
-- pending and once momo-poll has closed its sending, so that no send of it can reach MoMo after
-- the admin's look-up: WL008 for a settled transfer and for one whose sending is open.
create function private.require_momo_resolvable(p_status text, p_sending_closed_at timestamptz, p_what text) returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_status <> 'pending' then
    perform private.fail('WL008', pg_catalog.format('%s is already %s', p_what, p_status));
  end if;
  perform private.require_momo_sending_closed(p_status, p_sending_closed_at, p_what);
end;
$$;

-- Whether a MoMo transfer in the state p_status (p_what: a cash-out or a refund) settles now to
-- p_to, the state momo_transfer_target gives its confirmed status: not when it has that state
-- already or p_to is pending (the settle returns it unchanged), WL008 when it has settled the
-- other way (a transfer is never both paid and failed).
create function private.momo_transfer_settles(p_status text, p_to text, p_what text) returns boolean
language plpgsql
set search_path = ''
as $$
begin
  if p_status = p_to or p_to = 'pending' then
    return false;
  end if;
  if p_status <> 'pending' then
    perform private.fail('WL008', pg_catalog.format('%s is already %s', p_what, p_status));
  end if;
  return true;
end;
$$;

-- A MoMo transfer (p_what) that MoMo's API confirms SUCCESSFUL paid out the sum it names
-- (p_amount in minor units of p_currency), which must be the sum we sent (p_sent of
-- p_sent_currency): the hold or the refund accounts for that sum and no other. A transfer MoMo
-- reports for another sum is WL008 and changes nothing: it stays pending (a cash-out's hold
-- kept), its event fails and goes dead, and an operator settles it once MoMo says what moved.
-- 22023 without the confirmed sum.
create function private.require_momo_sum_sent(
  p_sent bigint,
  p_sent_currency text,
  p_amount bigint,
  p_currency text,
  p_what text
)
returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  perform private.require_within(p_currency, 'identifier', 'p_currency');
  if p_amount is null or p_currency is null then
    perform private.fail('22023', pg_catalog.format('MoMo''s confirmed amount and currency are required to settle %s as paid', p_what));
  end if;
  if (p_amount, p_currency) is distinct from (p_sent, p_sent_currency) then
    perform private.fail('WL008', pg_catalog.format('MoMo confirmed %s %s for %s, which sent %s %s: settle it by hand once MoMo says what moved',
      p_amount, p_currency, p_what, p_sent, p_sent_currency));
  end if;
end;
$$;

-- The cash-out of the transfer p_reference, locked to the end of the caller's transaction:
-- what every function that moves a cash-out on starts with. 22023 without a reference, WL007
-- for an unknown one.
create function private.cashout_for_update(p_reference uuid) returns public.cashouts
language plpgsql
set search_path = ''
as $$
declare
  v_cashout public.cashouts;
begin
  if p_reference is null then
    perform private.fail('22023', 'the cash-out''s transfer reference is required');
  end if;
  select c.* into v_cashout from public.cashouts c where c.reference_id = p_reference for update;
  perform private.require_found(found, pg_catalog.format('cash-out %s', p_reference));
  return v_cashout;
end;
$$;

-- Records that a transfer of the cash-out p_reference is about to be sent (last_sent_at = now)
-- and returns the cash-out. A send is recorded, and the caller may POST the transfer, exactly
-- when the cash-out may still be sent (private.momo_transfer_sendable); otherwise it is returned
-- unchanged and nothing may be sent. Recorded before the POST under the row's lock, so that
-- momo-poll's not_accepted verdict never rests on a look-up older than a send
-- (cashout_close_sending). WL004, and no send, while the cash-out's account is not active: a
-- freeze stops the money leaving, so a transfer MoMo has not received yet (its first send
-- unanswered, a user's retry, momo-poll's re-send) is not sent from a frozen account; the
-- cash-out stays pending with its hold, sent once the account is active again, or failed
-- not_accepted at the window's end (its hold voided). A transfer MoMo already has still settles
-- as MoMo reports it. 22023 without a reference, WL007 for an unknown one. Service only: the
-- payments function, the WhatsApp conversation and momo-poll send transfers.
create function api_private.cashout_send_begin(p_reference uuid)
returns public.cashouts
language plpgsql
security definer set search_path = ''
as $$
declare
  v_cashout public.cashouts;
  v_status text;
begin
  perform private.require_caller(array['service'], 'send a cash-out');
  v_cashout := private.cashout_for_update(p_reference);
  if private.momo_transfer_sendable(v_cashout.status, v_cashout.sending_closed_at) then
    select a.status into v_status from public.wallet_accounts a where a.id = v_cashout.account_id;
    if v_status <> 'active' then
      perform private.fail('WL004', pg_catalog.format(
        'wallet account %s is %s: cash-out %s is not sent to MoMo while it is, and stays pending with its amount held',
        v_cashout.account_id, v_status, v_cashout.id));
    end if;
    update public.cashouts c set last_sent_at = now() where c.id = v_cashout.id
    returning * into v_cashout;
  end if;
  return v_cashout;
end;
$$;
grant execute on function api_private.cashout_send_begin(uuid) to service_role;

-- momo-poll, before it asks MoMo about a pending cash-out past its accept window: closes its
-- sending (sending_closed_at = now; no send is recorded after it), unless a send is more recent
-- than p_quiet_seconds (private.momo_transfer_closable). Returns the cash-out: its sending is
-- closed when sending_closed_at is set (a second close keeps the first time); a settled one is
-- returned unchanged. 22023 for a quiet period outside 1 to 3600 seconds or without a reference, WL007
-- for an unknown reference. Service only.
create function api_private.cashout_close_sending(p_reference uuid, p_quiet_seconds integer)
returns public.cashouts
language plpgsql
security definer set search_path = ''
as $$
declare
  v_cashout public.cashouts;
begin
  perform private.require_caller(array['service'], 'close the sending of a cash-out');
  perform private.require_between(p_quiet_seconds, 1, 3600, 'quiet_seconds');
  v_cashout := private.cashout_for_update(p_reference);
  if private.momo_transfer_closable(v_cashout.status, v_cashout.last_sent_at, v_cashout.sending_closed_at, p_quiet_seconds) then
    update public.cashouts c set sending_closed_at = now() where c.id = v_cashout.id
    returning * into v_cashout;
  end if;
  return v_cashout;
end;
$$;
grant execute on function api_private.cashout_close_sending(uuid, integer) to service_role;

-- Applies MoMo's confirmed status of the transfer p_reference: SUCCESSFUL for the amount and
-- currency sent captures the hold to the MoMo clearing account (paid; another sum is WL008,
-- private.require_momo_sum_sent), FAILED voids it (failed, with p_reason; the limits give back
-- what the cash-out counted), PENDING changes nothing. Idempotent: the status a cash-out
-- already has returns it unchanged; the other final status is WL008 (a cash-out is never both
-- paid and released). 22023 for a status MoMo does not have, without a reference, or a
-- SUCCESSFUL without MoMo's amount; WL007 for an unknown reference. Service only.
create function public.cashout_settle(
  p_reference uuid,
  p_status text,
  p_reason text default null,
  p_amount bigint default null,
  p_currency text default null
)
returns public.cashouts
language plpgsql
security definer set search_path = ''
as $$
declare
  v_cashout public.cashouts;
  v_to text;
begin
  perform private.require_caller(array['service'], 'settle a cash-out');
  perform private.require_within(p_reason, 'description', 'p_reason');
  v_to := private.momo_transfer_target(p_status, 'paid');
  v_cashout := private.cashout_for_update(p_reference);
  if not private.momo_transfer_settles(v_cashout.status, v_to, pg_catalog.format('cash-out %s', p_reference)) then
    return v_cashout;
  end if;
  if v_to = 'paid' then
    perform private.require_momo_sum_sent(v_cashout.amount, v_cashout.currency, p_amount, p_currency,
                                          pg_catalog.format('cash-out %s', p_reference));
    perform public.wallet_capture(v_cashout.hold_id, null, null, 'cashout:' || v_cashout.id);
  else
    perform public.wallet_void(v_cashout.hold_id);
    -- The money never left: the limits get back what cashout_create counted (its transaction's
    -- now() is the cash-out's created_at), under the account's row lock the void took.
    perform private.wallet_limit_usage_give_back(v_cashout.account_id, v_cashout.amount, v_cashout.created_at);
  end if;
  update public.cashouts c
     set status = v_to, settled_at = now(),
         reason = case when v_to = 'failed' then coalesce(p_reason, 'FAILED') end
   where c.id = v_cashout.id
  returning * into v_cashout;
  return v_cashout;
end;
$$;
grant execute on function public.cashout_settle(uuid, text, text, bigint, text) to service_role;

-- momo-poll's verdict on a cash-out MoMo still does not know at the end of the accept window:
-- failed with reason not_accepted, its hold voided (cashout_settle). Only once its sending is
-- closed (cashout_close_sending, before the look-up the verdict rests on): with the sending
-- open, a send may have reached MoMo after that look-up and be paid, so the verdict is WL008
-- and writes nothing. Idempotent like cashout_settle: a failed cash-out is returned unchanged,
-- a paid one is WL008. 22023 without a reference, WL007 for an unknown one. Service only.
create function api_private.cashout_not_accepted(p_reference uuid)
returns public.cashouts
language plpgsql
security definer set search_path = ''
as $$
declare
  v_cashout public.cashouts;
begin
  perform private.require_caller(array['service'], 'settle a cash-out');
  v_cashout := private.cashout_for_update(p_reference);
  perform private.require_momo_sending_closed(v_cashout.status, v_cashout.sending_closed_at,
                                              pg_catalog.format('cash-out %s', p_reference));
  return public.cashout_settle(p_reference, 'FAILED', 'not_accepted');
end;
$$;
grant execute on function api_private.cashout_not_accepted(uuid) to service_role;

-- An admin's settlement of a cash-out no job can settle: MoMo confirmed it for another sum than
-- the one sent (require_momo_sum_sent), or keeps answering PENDING. The admin learns from MoMo
-- what happened and records it: 'paid' captures the hold as a confirmed SUCCESSFUL does (a
-- difference between what MoMo moved and the cash-out is then an adjustment of its own, with
-- its own reason), 'failed' voids it and gives the limits back as a FAILED does (reason
-- 'resolved', so the person is told the money is back without the admin's note). Only once
-- momo-poll has closed its sending, so that no send of it can reach MoMo after the admin's
-- look-up: WL008 before that, and for a cash-out already settled. p_reason, the admin's note,
-- is required and bounded (22023); 22023 for another outcome; WL007 for an unknown cash-out;
-- 42501 for any caller but an admin, and for an admin's own cash-out or one paid to their own
-- number (private.msisdn_holders): failed, its money would be back in the wallet and with them.
create function api_private.cashout_resolve(p_cashout uuid, p_outcome text, p_reason text)
returns public.cashouts
language plpgsql
security definer set search_path = ''
as $$
declare
  v_cashout public.cashouts;
  v_what text := pg_catalog.format('cash-out %s', p_cashout);
begin
  perform private.require_caller(array['admin'], 'resolve cash-outs');
  perform private.require_reason(p_reason, 'resolve a cash-out');
  perform private.require_choice(p_outcome, array['paid', 'failed'], 'outcome');
  select c.* into v_cashout from public.cashouts c where c.id = p_cashout for update;
  perform private.require_found(found, v_what);
  perform private.require_not_own(v_cashout.user_id || private.msisdn_holders(v_cashout.msisdn), 'resolve a cash-out');
  perform private.require_momo_resolvable(v_cashout.status, v_cashout.sending_closed_at, v_what);
  if p_outcome = 'paid' then
    perform private.wallet_capture_hold(v_cashout.hold_id, null, null, 'cashout:' || v_cashout.id);
  else
    perform private.wallet_release_hold(private.wallet_lock_hold(v_cashout.hold_id));
    perform private.wallet_limit_usage_give_back(v_cashout.account_id, v_cashout.amount, v_cashout.created_at);
  end if;
  update public.cashouts c
     set status = p_outcome, settled_at = now(), reason = case when p_outcome = 'failed' then 'resolved' end,
         resolved_by = auth.uid(), resolution_reason = p_reason
   where c.id = v_cashout.id
  returning * into v_cashout;
  return v_cashout;
end;
$$;
grant execute on function api_private.cashout_resolve(uuid, text, text) to authenticated;
