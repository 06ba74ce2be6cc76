-- The WhatsApp conversation (docs/WHATSAPP.md, "The conversation"): payments proposed in a
-- chat and confirmed with a button, the sender's history, and the notifications that tell a
-- contact what happened to its money, written in the same transaction as the effect.

-- The ISO 4217 exponent of a currency: how many minor units make one major unit (UGX and RWF
-- have none, most currencies two). The same table as the functions' minorUnitDigits.
create function private.currency_exponent(p_currency text) returns integer
language plpgsql
immutable
set search_path = ''
as $$
begin
  return case
    when p_currency in ('BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG', 'RWF', 'UGX', 'VND', 'VUV',
                        'XAF', 'XOF', 'XPF') then 0
    when p_currency in ('BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND') then 3
    else 2
  end;
end;
$$;

-- An amount of minor units as a person reads it: 500000 UGX -> '500,000 UGX', 1250 EUR -> '12.50 EUR'.
create function private.money_text(p_amount bigint, p_currency text) returns text
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_exponent integer := private.currency_exponent(p_currency);
  v_scale bigint := (10::bigint ^ v_exponent)::bigint;
  v_whole text := pg_catalog.to_char(abs(p_amount) / v_scale, 'FM999,999,999,999,999,990');
begin
  return case when p_amount < 0 then '-' else '' end || v_whole
      || case when v_exponent > 0 then '.' || pg_catalog.lpad((abs(p_amount) % v_scale)::text, v_exponent, '0') else '' end
      || ' ' || p_currency;
end;
$$;

-- Why a top-up (p_side 'payer') or a cash-out (p_side 'payee') failed, as its owner is told:
-- a provider's code in words (MoMo's reasons, Stripe's decline codes, Revolut's failure
-- events), the provider's name before it ('momo: ') and MoMo's message after it (': ...') set
-- aside; a sentence (Stripe's message, written for cardholders) as the provider wrote it,
-- without its final full stop, which the notice puts. Null for a code with no words here: the
-- person is told that it failed, and support reads the code on the row. A code means another
-- thing on each side: MoMo's NOT_ENOUGH_FUNDS is the payer's on a top-up and our own
-- disbursement account's on a cash-out.
create function private.failure_words(p_reason text, p_side text) returns text
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_text text := pg_catalog.btrim(pg_catalog.regexp_replace(p_reason, '^(momo|stripe|revolut): ', ''));
  v_code text := pg_catalog.upper(pg_catalog.split_part(v_text, ':', 1));
begin
  if v_code !~ '^[A-Z]+(_[A-Z]+)*$' then
    return nullif(pg_catalog.rtrim(pg_catalog.left(v_text, 200), '.'), '');
  end if;
  return case p_side || ':' || v_code
    when 'payer:APPROVAL_REJECTED' then 'it was declined on the phone'
    when 'payer:EXPIRED' then 'it was not approved on the phone in time'
    when 'payer:PAYMENT_NOT_APPROVED' then 'it was not approved on the phone in time'
    when 'payer:COULD_NOT_PERFORM_TRANSACTION' then 'it was not approved on the phone in time'
    when 'payer:NOT_ENOUGH_FUNDS' then 'there was not enough money on the MoMo account'
    when 'payer:PAYER_LIMIT_REACHED' then 'the MoMo account''s limit was reached'
    when 'payer:PAYER_NOT_FOUND' then 'the number is not registered for MoMo'
    when 'payer:TRANSACTION_CANCELED' then 'it was cancelled'
    when 'payer:CARD_DECLINED' then 'the card was declined'
    when 'payer:EXPIRED_CARD' then 'the card has expired'
    when 'payer:INSUFFICIENT_FUNDS' then 'the card has insufficient funds'
    when 'payer:INCORRECT_CVC' then 'the card''s security code was wrong'
    when 'payer:ORDER_FAILED' then 'the card payment did not go through'
    when 'payer:ORDER_CANCELLED' then 'it was cancelled'
    when 'payee:PAYEE_NOT_FOUND' then 'the number is not registered for MoMo'
    when 'payee:PAYEE_NOT_ALLOWED_TO_RECEIVE' then 'the MoMo account cannot receive money'
    when 'payee:NOT_ACCEPTED' then 'MoMo never took it'
    when 'payee:NOT_ENOUGH_FUNDS' then 'MoMo could not complete it'
    when 'payee:INTERNAL_PROCESSING_ERROR' then 'MoMo could not complete it'
    when 'payee:COULD_NOT_PERFORM_TRANSACTION' then 'MoMo could not complete it'
    when 'payee:SERVICE_UNAVAILABLE' then 'MoMo could not complete it'
  end;
end;
$$;
-- The conversation words a provider's refusal with it when it answers the person at once.
grant execute on function private.failure_words(text, text) to service_role;

-- A Cloud API text message (an outbox body).
create function private.text_message(p_body text) returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
begin
  return pg_catalog.jsonb_build_object('type', 'text', 'text', pg_catalog.jsonb_build_object('body', p_body));
end;
$$;

-- ---------------------------------------------------------------------------------------
-- Pending payments: what a sender asked to pay (kind send) or cash out (kind cashout), until
-- its Confirm button, pressed by the sender within five minutes, makes it happen once. A
-- sender has one request at a time: a newer one replaces the one still pending.
-- ---------------------------------------------------------------------------------------

create table public.whatsapp_pending_payments (
  -- Random, not time-ordered: it travels in the Confirm button's id.
  id uuid primary key default gen_random_uuid(),
  kind text not null check (kind in ('send', 'cashout')),
  payer_id uuid not null references auth.users (id),
  from_account_id uuid not null references public.wallet_accounts (id),
  -- send: whom to pay; cashout: none (the payer's own number is paid).
  recipient_wa_id text check (recipient_wa_id ~ '^[1-9][0-9]{6,14}$'),
  to_account_id uuid references public.wallet_accounts (id),
  -- cashout: the MoMo number paid (the payer's wa_id).
  msisdn text check (msisdn ~ '^[1-9][0-9]{7,14}$'),
  amount bigint not null check (amount > 0),
  currency text not null check (currency ~ '^[A-Z]{3}$'),
  -- pending until decided; a pending payment past expires_at is expired and can only be refused.
  status text not null default 'pending' check (status in ('pending', 'confirmed', 'canceled')),
  expires_at timestamptz not null default now() + interval '5 minutes',
  transaction_id uuid references public.wallet_transactions (id),
  cashout_id uuid references public.cashouts (id),
  -- The payer's newer request that canceled this one while it was pending.
  replaced_by uuid references public.whatsapp_pending_payments (id),
  created_at timestamptz not null default now(),
  decided_at timestamptz,
  constraint whatsapp_pending_payments_shape check (
    (kind = 'send') = (recipient_wa_id is not null and to_account_id is not null)
    and (kind = 'cashout') = (msisdn is not null)),
  constraint whatsapp_pending_payments_decided check (
    (status = 'pending') = (decided_at is null) and (replaced_by is null or status = 'canceled')),
  constraint whatsapp_pending_payments_effect check (
    status <> 'confirmed' or (kind = 'send' and transaction_id is not null) or (kind = 'cashout' and cashout_id is not null))
);
comment on table public.whatsapp_pending_payments is
  'Payments and cash-outs asked for on WhatsApp, waiting for their Confirm button (5 minutes, once, '
  'by the payer; a newer request of the payer replaces a pending one). Written only by '
  'whatsapp_payment_propose and whatsapp_payment_decide.';
create index whatsapp_pending_payments_payer_idx on public.whatsapp_pending_payments (payer_id, created_at);

revoke all on table public.whatsapp_pending_payments from public, anon, authenticated, service_role;
grant select on table public.whatsapp_pending_payments to authenticated, service_role;
alter table public.whatsapp_pending_payments enable row level security;
alter table public.whatsapp_pending_payments force row level security;
create policy whatsapp_pending_payments_select on public.whatsapp_pending_payments for select to authenticated
  using (payer_id = (select auth.uid()) or (select private.caller_reads_all()));
select audit.attach('public.whatsapp_pending_payments');

-- The active user account p_owner holds in p_currency (null when none): where a WhatsApp
-- payment is paid from, and where it is paid to.
create function private.active_user_account(p_owner uuid, p_currency text) returns uuid
language plpgsql
stable
set search_path = ''
as $$
begin
  -- At most one: an owner holds one account per currency.
  return (select a.id from public.wallet_accounts a
           where a.owner_id = p_owner and a.currency = p_currency and a.kind = 'user' and a.status = 'active');
end;
$$;

-- The caller (a signed-in user, on WhatsApp the sender) asks to pay p_amount of p_currency to
-- the contact p_recipient_wa_id (kind send) or to cash it out to its own number (kind
-- cashout). Nothing moves. Outcomes: proposed (with the pending payment's id and, for a send,
-- the recipient's WhatsApp profile name, for the payer to see whom the number reaches before
-- confirming: a mistyped number is otherwise paid to a stranger), no_account
-- (the caller holds no active account in p_currency), unknown_recipient (no contact with
-- that wa_id, or it cannot receive p_currency: one answer, so that it tells nothing more
-- about a stranger's wallet), self (the recipient is the caller), no_momo_number (a cash-out
-- to a WhatsApp number shorter than MoMo pays). WL006 for an amount out of
-- range, WL001 for more than the caller's available balance, 22023 for a malformed argument. A proposal replaces the caller's request still
-- pending (canceled, replaced_by the new one): one request at a time, so that a "send" written
-- twice, or an older question's Confirm, cannot move money a second time. The request it
-- replaced comes back with it (replaced_kind, _amount, _currency, _recipient_wa_id; null when
-- none waited), for the new question to say that the earlier one was dropped. Proposals of one
-- caller are serialised (an advisory lock on the caller), so two at once leave one pending.
create function api_private.whatsapp_payment_propose(
  p_kind text,
  p_amount bigint,
  p_currency text,
  p_recipient_wa_id text default null
)
returns table (outcome text, pending_id uuid, expires_at timestamptz, recipient_name text, replaced_kind text,
               replaced_amount bigint, replaced_currency text, replaced_recipient_wa_id text)
language plpgsql
security definer set search_path = ''
as $$
declare
  v_replaced public.whatsapp_pending_payments;
  v_payer uuid;
  v_payer_wa_id text;
  v_from uuid;
  v_recipient uuid;
  v_recipient_name text;
  v_to uuid;
  v_pending public.whatsapp_pending_payments;
  v_refusal text;
begin
  perform private.require_caller(array['user'], 'propose a WhatsApp payment');
  v_payer := auth.uid();
  perform private.require_within(p_kind, 'identifier', 'p_kind');
  perform private.require_within(p_currency, 'identifier', 'p_currency');
  perform private.require_within(p_recipient_wa_id, 'identifier', 'p_recipient_wa_id');
  if p_kind is null or p_kind not in ('send', 'cashout') then
    perform private.fail('22023', 'p_kind must be send or cashout');
  end if;
  perform private.require_currency(p_currency);
  if (p_kind = 'send') <> (p_recipient_wa_id is not null) then
    perform private.fail('22023', 'p_recipient_wa_id is required for send and only for send');
  end if;
  perform private.require_amount(p_amount);

  v_from := private.active_user_account(v_payer, p_currency);
  select c.wa_id into v_payer_wa_id from public.whatsapp_contacts c where c.user_id = v_payer;
  if p_kind = 'send' then
    select c.user_id, c.profile_name into v_recipient, v_recipient_name
      from public.whatsapp_contacts c where c.wa_id = p_recipient_wa_id;
    v_to := private.active_user_account(v_recipient, p_currency);
  end if;
  -- The outcomes that propose nothing; the first that applies is the answer.
  v_refusal := case
    when v_from is null then 'no_account'
    when p_kind = 'send' and v_recipient = v_payer then 'self'
    when p_kind = 'send' and v_to is null then 'unknown_recipient'
    -- A cash-out pays the payer's own WhatsApp number: without one there is nowhere to pay.
    when p_kind = 'cashout' and v_payer_wa_id is null then 'no_account'
    -- WhatsApp serves numbers of 7 digits (Niue's +683 xxxx); MoMo pays 8 to 15 (cashout_create).
    when p_kind = 'cashout' and v_payer_wa_id !~ '^[1-9][0-9]{7,14}$' then 'no_momo_number'
  end;
  if v_refusal is not null then
    return query select v_refusal, null::uuid, null::timestamptz, null::text, null::text, null::bigint, null::text, null::text;
    return;
  end if;

  -- More than the account holds, or than its tier's limits let it pay, is refused now, not asked
  -- to be confirmed and refused then. The confirmation checks again: the balance can fall in the
  -- five minutes, and other payments can use up a limit.
  if (select b.available from public.wallet_account_balances b where b.account_id = v_from) < p_amount then
    perform private.fail('WL001', pg_catalog.format('insufficient funds in wallet account %s', v_from));
  end if;
  perform private.wallet_require_within_limits(v_from, p_amount, p_currency);

  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('whatsapp-pending-payment:' || v_payer::text, 0));
  insert into public.whatsapp_pending_payments (kind, payer_id, from_account_id, recipient_wa_id, to_account_id, msisdn,
                                                amount, currency)
  values (p_kind, v_payer, v_from, p_recipient_wa_id, v_to, case when p_kind = 'cashout' then v_payer_wa_id end,
          p_amount, p_currency)
  returning * into v_pending;
  -- A confirmation in flight holds its row: this waits for it, and skips the row it confirmed.
  -- One at most is pending (the lock above), the latest named if ever more were.
  with replaced as (
    update public.whatsapp_pending_payments p
       set status = 'canceled', decided_at = now(), replaced_by = v_pending.id
     where p.payer_id = v_payer and p.status = 'pending' and p.expires_at > now() and p.id <> v_pending.id
    returning p.*)
  select r.* into v_replaced from replaced r order by r.created_at desc limit 1;
  return query select 'proposed'::text, v_pending.id, v_pending.expires_at, v_recipient_name, v_replaced.kind,
                      v_replaced.amount, v_replaced.currency, v_replaced.recipient_wa_id;
end;
$$;
grant execute on function api_private.whatsapp_payment_propose(text, bigint, text, text) to authenticated;

-- The caller confirms (p_confirm) or cancels its pending payment p_id. Confirmed, a send is
-- wallet_transfer as the caller (its RLS, limits and audit; idempotency key whatsapp:<id>)
-- and a cash-out is cashout_create (the hold; MoMo is asked after commit). The row is locked
-- first, so that of two confirmations the second waits and finds it decided: it happens
-- once. Outcomes: confirmed, canceled, already_confirmed, already_canceled, replaced (a newer
-- request of the caller canceled it), expired (past its five minutes), not_found (no such
-- pending payment, or another person's: one answer), number_changed (a cash-out whose MoMo
-- number is no longer the caller's WhatsApp number: Meta's notice moved them since the
-- question, and the old number may be someone else's soon; it is canceled, nothing is made).
-- Only confirmed and canceled change anything. The ledger's refusals (WL001 insufficient
-- funds, WL009 over a limit, WL004 account not active) are raised and leave the payment
-- pending, to be confirmed again within its time.
create function api_private.whatsapp_payment_decide(p_id uuid, p_confirm boolean)
returns table (outcome text, kind text, amount bigint, currency text, recipient_wa_id text, transaction_id uuid,
               cashout_id uuid)
language plpgsql
security definer set search_path = ''
as $$
declare
  v_pending public.whatsapp_pending_payments;
  v_transaction public.wallet_transactions;
  v_cashout public.cashouts;
begin
  perform private.require_caller(array['user'], 'decide a WhatsApp payment');
  if p_confirm is null then
    perform private.fail('22023', 'p_confirm must be true or false');
  end if;
  select p.* into v_pending from public.whatsapp_pending_payments p where p.id = p_id for update;
  if v_pending.id is null or v_pending.payer_id <> auth.uid() then
    return query select 'not_found'::text, null::text, null::bigint, null::text, null::text, null::uuid, null::uuid;
    return;
  end if;
  if v_pending.status <> 'pending' or v_pending.expires_at <= now() then
    return query select case when v_pending.status = 'confirmed' then 'already_confirmed'
                             when v_pending.replaced_by is not null then 'replaced'
                             when v_pending.status = 'canceled' then 'already_canceled'
                             else 'expired' end,
                        v_pending.kind, v_pending.amount, v_pending.currency, v_pending.recipient_wa_id,
                        v_pending.transaction_id, v_pending.cashout_id;
    return;
  end if;
  if not p_confirm then
    update public.whatsapp_pending_payments p set status = 'canceled', decided_at = now() where p.id = p_id;
    return query select 'canceled'::text, v_pending.kind, v_pending.amount, v_pending.currency, v_pending.recipient_wa_id,
                        null::uuid, null::uuid;
    return;
  end if;
  if v_pending.kind = 'cashout' and v_pending.msisdn is distinct from
     (select c.wa_id from public.whatsapp_contacts c where c.user_id = v_pending.payer_id) then
    update public.whatsapp_pending_payments p set status = 'canceled', decided_at = now() where p.id = p_id;
    return query select 'number_changed'::text, v_pending.kind, v_pending.amount, v_pending.currency,
                        v_pending.recipient_wa_id, null::uuid, null::uuid;
    return;
  end if;
  if v_pending.kind = 'send' then
    v_transaction := api_private.wallet_transfer(v_pending.from_account_id, v_pending.to_account_id, v_pending.amount,
                                                 v_pending.currency, 'whatsapp:' || v_pending.id, 'WhatsApp payment',
                                                 pg_catalog.jsonb_build_object('whatsapp_pending_payment', v_pending.id));
  else
    v_cashout := api_private.cashout_create(v_pending.from_account_id, v_pending.amount, v_pending.currency,
                                             v_pending.msisdn, 'whatsapp:' || v_pending.id);
  end if;
  update public.whatsapp_pending_payments p
     set status = 'confirmed', decided_at = now(), transaction_id = v_transaction.id, cashout_id = v_cashout.id
   where p.id = p_id;
  return query select 'confirmed'::text, v_pending.kind, v_pending.amount, v_pending.currency, v_pending.recipient_wa_id,
                      v_transaction.id, v_cashout.id;
end;
$$;
grant execute on function api_private.whatsapp_payment_decide(uuid, boolean) to authenticated;

-- The caller's latest p_limit (1..20) transactions across its accounts, newest first, with
-- the other side's WhatsApp number where a payment between two contacts has one. Holds that
-- were voided (a cash-out MoMo refused) are left out: no money moved.
create function api_private.whatsapp_history(p_limit integer)
returns table (id uuid, kind text, status text, incoming boolean, amount bigint, currency text, counterparty_wa_id text,
               created_at timestamptz)
language plpgsql
stable
security definer set search_path = ''
as $$
declare
  v_accounts uuid[];
begin
  perform private.require_caller(array['user'], 'read its WhatsApp history');
  if p_limit is null or p_limit not between 1 and 20 then
    perform private.fail('22023', 'p_limit must be between 1 and 20');
  end if;
  v_accounts := private.caller_account_ids();
  return query
    select t.id, t.kind, t.status, not (t.from_account_id = any (v_accounts)), t.amount, t.currency,
           (select c.wa_id
              from public.wallet_accounts a
              join public.whatsapp_contacts c on c.user_id = a.owner_id
             where t.kind = 'transfer'
               and a.id = case when t.from_account_id = any (v_accounts) then t.to_account_id else t.from_account_id end),
           t.created_at
      from (select x.* from public.wallet_transactions x where x.from_account_id = any (v_accounts) and x.status <> 'voided'
            union
            select x.* from public.wallet_transactions x where x.to_account_id = any (v_accounts) and x.status <> 'voided') t
     order by t.created_at desc, t.id desc
     limit p_limit;
end;
$$;
grant execute on function api_private.whatsapp_history(integer) to authenticated;

-- The caller's user accounts as the balance command shows them: per account its balance and
-- available amount, and what its pending holds reserve, one row per purpose (held_for:
-- 'cashout', a cash-out under way; 'dispute', a card payment its payer disputed, held by the
-- Stripe webhook under dispute:<provider>:<id>; 'other'), held_for null when nothing is held.
-- balance = available + the account's held. The caller's own user accounts only (owner_id =
-- auth.uid(), as the owner RLS policy of wallet_accounts reads them), and only their holds.
create function api_private.whatsapp_balances()
returns table (currency text, status text, balance bigint, available bigint, held_for text, held bigint, holds integer)
language plpgsql
stable
security definer set search_path = ''
as $$
begin
  perform private.require_caller(array['user'], 'read its WhatsApp balance');
  return query
    select b.currency, b.status, b.balance, b.available, h.held_for, h.held, h.holds
      from public.wallet_account_balances b
      left join lateral (
        select case when t.kind = 'withdrawal' then 'cashout'
                    when t.initiated_by is null and t.idempotency_key like 'dispute:%' then 'dispute'
                    else 'other' end as held_for,
               sum(t.hold_amount)::bigint as held, count(*)::integer as holds
          from public.wallet_transactions t
         where t.from_account_id = b.account_id and t.status = 'pending'
         group by 1) h on true
     where b.owner_id = auth.uid() and b.kind = 'user'
     order by b.currency, h.held_for;
end;
$$;
grant execute on function api_private.whatsapp_balances() to authenticated;

-- The stop and start commands: p_wa_id's contact opts out of notifications, or back in.
-- Answers to its own messages still come (whatsapp_enqueue sends every reply). WL007 for a
-- wa_id without a contact.
create function private.whatsapp_set_opted_out(p_wa_id text, p_opted_out boolean) returns void
language plpgsql
security definer set search_path = ''
as $$
begin
  perform private.require_caller(array['service'], 'change WhatsApp notifications');
  perform private.require_within(p_wa_id, 'identifier', 'p_wa_id');
  if p_opted_out is null then
    perform private.fail('22023', 'p_opted_out must be true or false');
  end if;
  update public.whatsapp_contacts c set opted_out = p_opted_out where c.wa_id = p_wa_id and c.opted_out <> p_opted_out;
  if not found and not exists (select 1 from public.whatsapp_contacts c where c.wa_id = p_wa_id) then
    perform private.fail('WL007', pg_catalog.format('no WhatsApp contact %s', p_wa_id));
  end if;
end;
$$;
grant execute on function private.whatsapp_set_opted_out(text, boolean) to service_role;

-- ---------------------------------------------------------------------------------------
-- Notifications, written by triggers on the tables where each effect commits, so that a
-- notification exists if and only if its effect committed, whichever function (the payments
-- API, a provider webhook, the momo-poll job, an admin) committed it
-- (private.whatsapp_notify_user writes nothing for a user without a contact or opted out).
-- ---------------------------------------------------------------------------------------

-- Notifies p_user with p_body, unless the conversation is answering p_user in this very
-- transaction (it names the user in app.whatsapp_answering: a top-up or cash-out MoMo refused
-- right away is answered as a reply, which comes even to a contact who opted out), so that
-- the person is told once.
create function private.notify_contact(p_user uuid, p_body jsonb) returns void
language plpgsql
set search_path = ''
as $$
begin
  if p_user::text is distinct from nullif(current_setting('app.whatsapp_answering', true), '') then
    perform private.whatsapp_notify_user(p_user, p_body);
  end if;
end;
$$;

-- Money received: every posted transfer into another user's account, one statement's rows
-- at once (a batch of transfers costs one query). Only recipients with a contact are looked at.
-- The kind and status are tested in the CASE, not in the WHERE clause: the transition table has
-- no statistics, so a filter on its columns makes the planner expect one row of a batch's 100,
-- and that plan scanned the accounts again for each row (docs/BENCHMARKS.md, History). Without
-- the filter it plans for the rows the table holds.
create function private.whatsapp_notify_transfers() returns trigger
language plpgsql
security definer set search_path = ''
as $$
begin
  perform case when t.kind = 'transfer' and t.status = 'posted' then
            private.notify_contact(r.owner_id, private.text_message(
              'You received ' || private.money_text(t.amount, t.currency)
              || coalesce(' from +' || pc.wa_id, '') || '. Write "balance" to see what you have.')) end
     from new_transactions t
     join public.wallet_accounts r on r.id = t.to_account_id and r.kind = 'user'
     join public.whatsapp_contacts rc on rc.user_id = r.owner_id and not rc.opted_out
     join public.wallet_accounts f on f.id = t.from_account_id
     left join public.whatsapp_contacts pc on pc.user_id = f.owner_id
    where f.owner_id is distinct from r.owner_id;
  return null;
end;
$$;
create trigger wallet_transactions_whatsapp_notify after insert on public.wallet_transactions
  referencing new table as new_transactions
  for each statement execute function private.whatsapp_notify_transfers();

-- A top-up credited or failed, a cash-out paid or failed, a refund of a top-up that the
-- provider confirmed, or that failed after it was confirmed (the ledger moved with each; a
-- refund of a payment never credited moved nothing, and its failure gives nothing back, but
-- the person told it was returned is told it was not; one the platform bore for a closed
-- wallet took nothing from it and gives nothing back to it; one whose wallet closed since is
-- kept for the person, who is sent to support), and a payment the provider took that
-- is held for review or that an admin then rejected (nothing moved in the ledger, but the
-- money left the person's MoMo account or card, and silence reads as money lost): one row
-- trigger for the four tables, the notice chosen by table and status. The row is read as JSON because each table
-- has its own columns (a cash-out's msisdn, a refund's provider). A top-up is told as
-- credited from its payment, when the deposit reaches the wallet, with the payment's amount:
-- an admin's credit of a payment held for review moves what the provider took, which may
-- differ from the intent's amount, and can credit an intent that had succeeded (a second
-- payment) or was canceled.
create function private.whatsapp_notify_row() returns trigger
language plpgsql
security definer set search_path = ''
as $$
declare
  v_row jsonb := pg_catalog.to_jsonb(new);
  v_money text := private.money_text((v_row ->> 'amount')::bigint, v_row ->> 'currency');
  v_provider text := case v_row ->> 'provider' when 'momo' then 'MoMo' when 'stripe' then 'Stripe' when 'revolut' then 'Revolut' end;
begin
  -- Each branch builds only its own text: a credited top-up, the most frequent notice (every
  -- webhook delivery of a payment), asks for no failure words and no refund text.
  perform private.notify_contact((v_row ->> 'user_id')::uuid, private.text_message(case
    when tg_table_name = 'payments' and new.status = 'needs_review'
      then 'Your ' || v_provider || ' payment of ' || v_money || ' arrived, but it needs a check by our team before it '
           || 'reaches your wallet. We will tell you when it does, or when the money is returned to you.'
    when tg_table_name = 'payments' and new.status = 'rejected'
      then 'After a check, your ' || v_provider || ' payment of ' || v_money || ' will not be put in your wallet. '
           || 'If it is returned to you, we will tell you.'
    when tg_table_name = 'payments' then 'Top-up received: ' || v_money || ' is in your wallet.'
    when tg_table_name = 'payment_intents' then 'Your top-up of ' || v_money || ' failed'
      || coalesce(': ' || private.failure_words(v_row ->> 'failure_reason', 'payer'), '') || '. No money was taken.'
    when tg_table_name = 'cashouts' and new.status = 'paid'
      then 'Cash-out paid: MoMo sent ' || v_money || ' to +' || (v_row ->> 'msisdn') || '.'
    when tg_table_name = 'cashouts' then 'Your cash-out of ' || v_money || ' failed'
      || coalesce(': ' || private.failure_words(v_row ->> 'reason', 'payee'), '') || '. The money is back in your wallet.'
    -- Refunds. A payment held for review never reached the wallet: its refund takes nothing from it.
    when new.status = 'succeeded' and v_row ->> 'wallet_transaction_id' is null
      then 'Refund: ' || v_provider || ' returned ' || v_money || ' of a payment that never reached your wallet.'
    -- One of a wallet closed since is borne by the platform (decision 0026): nothing is taken.
    when new.status = 'succeeded' and (v_row ->> 'borne_by_platform')::boolean
      then 'Refund: ' || v_money || ' of your ' || v_provider || ' top-up was returned to you there. Your wallet is closed: '
           || 'nothing was taken from it.'
    when new.status = 'succeeded'
      then 'Refund: ' || v_money || ' of your ' || v_provider || ' top-up was returned to you there and taken from your wallet.'
    -- Failed or canceled. One whose reversal took the money from the wallet gives it back; one of
    -- a payment never credited gives nothing back, but the person was told it was returned.
    when v_row ->> 'wallet_transaction_id' is null
      then 'The refund of ' || v_money || ' by ' || v_provider || ', of a payment that never reached your wallet, did not go through: '
           || v_provider || ' has not returned it to you. Your wallet is unchanged.'
    -- One the platform bore gives the losses account its money back, nothing to the closed wallet.
    when (v_row ->> 'borne_by_platform')::boolean
      then 'The refund of ' || v_money || ' of your ' || v_provider || ' top-up did not go through: ' || v_provider
           || ' has not returned it to you. Your wallet is closed and unchanged.'
    -- Such money, paid to the person by an admin another way (api_private.refund_paid_out): how,
    -- and the payout's own reference, which the person can find on their statement; never the
    -- admin's note.
    when (v_row ->> 'paid_out_transaction_id') is not null
      then 'We paid you ' || private.money_text((v_row ->> 'paid_out_amount')::bigint, v_row ->> 'currency')
           || ', the money we kept for you after the refund of your ' || v_provider || ' top-up did not go through'
           || case v_row ->> 'payout_method' when 'bank_transfer' then ', by bank transfer'
                when 'mobile_money' then ', by mobile money' when 'cash' then ', in cash' else '' end
           || ' (reference ' || (v_row ->> 'payout_reference') || '). Nothing more is owed to you for it.'
    -- One taken from a wallet closed since: the closed wallet takes nothing back, the money is
    -- owed to the person on the unclaimed account (decision 0027), and support pays it out.
    when (v_row ->> 'owed_to_closed_account')::boolean
      then 'The refund of ' || v_money || ' of your ' || v_provider || ' top-up did not go through, so ' || v_provider
           || ' has the money back. Your wallet is closed, so we keep it for you: please contact mfuko support to have it paid to you.'
    else 'The refund of ' || v_money || ' of your ' || v_provider
         || ' top-up did not go through, so the money is back in your wallet.'
  end));
  return null;
end;
$$;
create trigger payments_whatsapp_notify_insert after insert on public.payments
  for each row when ((new.wallet_transaction_id is not null or new.status = 'needs_review') and new.user_id is not null)
  execute function private.whatsapp_notify_row();
-- Credited after review, or rejected: a rejection of a payment the provider has already
-- refunded (in part or whole) says nothing more, its refund was told.
create trigger payments_whatsapp_notify_update after update of wallet_transaction_id, status on public.payments
  for each row when (new.user_id is not null
                     and ((old.wallet_transaction_id is null and new.wallet_transaction_id is not null)
                          or (old.status = 'needs_review' and new.status = 'rejected' and new.amount_refunded = 0)))
  execute function private.whatsapp_notify_row();
create trigger payment_intents_whatsapp_notify after update of status on public.payment_intents
  for each row when (old.status is distinct from new.status and new.status = 'failed')
  execute function private.whatsapp_notify_row();
create trigger cashouts_whatsapp_notify after update of status on public.cashouts
  for each row when (old.status is distinct from new.status and new.status in ('paid', 'failed'))
  execute function private.whatsapp_notify_row();
create trigger refunds_whatsapp_notify_insert after insert on public.refunds
  for each row when (new.status = 'succeeded' and new.user_id is not null)
  execute function private.whatsapp_notify_row();
create trigger refunds_whatsapp_notify_update after update of status on public.refunds
  for each row when (old.status is distinct from new.status and new.user_id is not null
                     and (new.status = 'succeeded'
                          or (old.status = 'succeeded' and new.status in ('failed', 'canceled'))))
  execute function private.whatsapp_notify_row();
create trigger refunds_whatsapp_notify_paid_out after update of paid_out_transaction_id on public.refunds
  for each row when (old.paid_out_transaction_id is null and new.paid_out_transaction_id is not null
                     and new.user_id is not null)
  execute function private.whatsapp_notify_row();

-- An admin's correction of a user's money, told to each user it moved: a reversal (of a
-- payment between users, a top-up, a cash-out, an earlier correction) or an adjustment. The
-- admin API calls it in the transaction of the correction, once: a replayed request returns
-- its stored answer and calls nothing. Not a trigger, unlike the notices above: the ledger's
-- insert trigger runs on the path of every transfer (docs/BENCHMARKS.md), and the reversals
-- that refunds post are told by the refund's own notice. The admin's reason is an internal
-- note and is not sent. Admins only (42501 for anyone else); WL007 for an unknown
-- transaction, 22023 for one that is not a reversal or an adjustment.
create function api_private.whatsapp_notify_correction(p_transaction uuid)
returns void
language plpgsql
security definer set search_path = ''
as $$
declare
  v_correction public.wallet_transactions;
  v_original public.wallet_transactions;
  v_money text;
  v_debited uuid;
  v_credited uuid;
  v_original_money text;
  v_what text;
begin
  perform private.require_caller(array['admin'], 'tell a correction');
  select t.* into v_correction from public.wallet_transactions t where t.id = p_transaction;
  perform private.require_found(found, pg_catalog.format('transaction %s', p_transaction));
  if v_correction.kind not in ('reversal', 'adjustment') then
    perform private.fail('22023', pg_catalog.format('transaction %s is a %s, not a reversal or an adjustment',
                                                    p_transaction, v_correction.kind));
  end if;
  v_money := private.money_text(v_correction.amount, v_correction.currency);
  select a.owner_id into v_debited from public.wallet_accounts a
   where a.id = v_correction.from_account_id and a.kind = 'user';
  select a.owner_id into v_credited from public.wallet_accounts a
   where a.id = v_correction.to_account_id and a.kind = 'user';

  if v_correction.kind = 'adjustment' then
    perform private.notify_contact(v_debited, private.text_message('Our team took ' || v_money || ' from your wallet.'));
    perform private.notify_contact(v_credited, private.text_message('Our team added ' || v_money || ' to your wallet.'));
    return;
  end if;

  -- A reversal moves money back the way the original came: its payer is the original's payee.
  select t.* into v_original from public.wallet_transactions t where t.id = v_correction.reverses_id;
  v_original_money := private.money_text(v_original.amount, v_original.currency);
  if v_original.kind = 'transfer' then
    perform private.notify_contact(v_debited, private.text_message(
      'Our team reversed the payment of ' || v_original_money || ' you received'
      || coalesce(' from +' || (select c.wa_id from public.whatsapp_contacts c where c.user_id = v_credited), '')
      || ': ' || v_money || ' was taken from your wallet.'));
    perform private.notify_contact(v_credited, private.text_message(
      'Our team reversed your payment of ' || v_original_money
      || coalesce(' to +' || (select c.wa_id from public.whatsapp_contacts c where c.user_id = v_debited), '')
      || ': ' || v_money || ' is back in your wallet.'));
    return;
  end if;
  v_what := case v_original.kind
              when 'deposit' then 'your top-up'
              when 'withdrawal' then 'your cash-out'
              when 'adjustment' then 'an earlier correction'
              else 'a payment'
            end || ' of ' || v_original_money;
  perform private.notify_contact(v_debited, private.text_message('Our team took back ' || v_money || ' of ' || v_what || '.'));
  perform private.notify_contact(v_credited, private.text_message(
    'Our team gave back ' || v_money || ' of ' || v_what || ': it is in your wallet.'));
end;
$$;
grant execute on function api_private.whatsapp_notify_correction(uuid) to authenticated;
