-- Payments, part 2: the functions that write intents, payments and refunds (docs/PAYMENTS.md).
--
-- Each is security definer with an empty search_path, checks its caller with the ledger's
-- private.require_caller, and is idempotent. Money moves only through the ledger's
-- functions (wallet_deposit; wallet_reverse's body, private.wallet_reverse) in the same
-- transaction as the row that explains it. Errors reuse the ledger's codes (WL002 currency,
-- WL004 account not active, WL005 replay with other parameters, WL006 amount, WL007 not
-- found, WL008 state, 42501 caller, 22023 malformed argument) plus PA001..PA002
-- (docs/PAYMENTS.md).
--
-- Functions that signed-in users may call follow the ledger's wrapper rule
-- (20261122100200_ledger_functions.sql): body in `api_private`, wrapper in public.

-- The user account p_account, which p_owner (any owner when null) may p_action (top up, cash
-- out of): 42501 when it is not a user account of p_owner's, whether or not it exists (a user
-- hears nothing about another's account), WL002 when it does not hold p_currency, WL004 when
-- it is not active.
create function private.require_user_account(p_account uuid, p_owner uuid, p_currency text, p_action text)
returns public.wallet_accounts
language plpgsql
stable
set search_path = ''
as $$
declare
  v_account public.wallet_accounts := (select a from public.wallet_accounts a where a.id = p_account);
begin
  if v_account.id is null or v_account.kind <> 'user' or v_account.owner_id is distinct from coalesce(p_owner, v_account.owner_id) then
    perform private.fail('42501', pg_catalog.format('not allowed to %s wallet account %s', p_action, p_account));
  end if;
  if v_account.currency <> p_currency then
    perform private.fail('WL002', pg_catalog.format('wallet account %s holds %s, not %s',
      p_account, v_account.currency, p_currency));
  end if;
  if v_account.status <> 'active' then
    perform private.fail('WL004', pg_catalog.format('wallet account %s is %s', p_account, v_account.status));
  end if;
  return v_account;
end;
$$;

-- The intent p_intent, locked until the caller's transaction ends (WL007 when unknown): the start
-- of the service's functions that move an intent on (attach, failure, a Stripe cancellation).
create function private.payment_intent_lock(p_intent uuid) returns public.payment_intents
language plpgsql
set search_path = ''
as $$
declare
  v_intent public.payment_intents;
begin
  select i.* into v_intent from public.payment_intents i where i.id = p_intent for update;
  perform private.require_found(found, pg_catalog.format('payment intent %s', p_intent));
  return v_intent;
end;
$$;

-- A refund as recorded, succeeded (refund_record), pending (refund_record_pending), or failed
-- or canceled when the provider reports the failure of one never recorded.
create function private.refund_insert(
  p_payment public.payments,
  p_amount bigint,
  p_provider_refund_id text,
  p_status text,
  p_reason text,
  p_id uuid default gen_random_uuid(),
  p_reversal uuid default null,
  p_forced boolean default false,
  p_borne_by_platform boolean default false
)
returns public.refunds
language plpgsql
set search_path = ''
as $$
declare
  v_refund public.refunds;
begin
  insert into public.refunds (id, payment_id, provider, provider_refund_id, user_id, amount, currency, status,
                              reason, wallet_transaction_id, forced, borne_by_platform, created_by)
  values (p_id, p_payment.id, p_payment.provider, p_provider_refund_id, p_payment.user_id, p_amount, p_payment.currency,
          p_status, p_reason, p_reversal, p_forced, p_borne_by_platform, auth.uid())
  returning * into v_refund;
  return v_refund;
end;
$$;

-- The users whose number p_msisdn (E.164 digits) is: as their Auth phone or a WhatsApp number.
-- What MoMo pays to that number is theirs: an admin's own money when one of them is the admin
-- (a MoMo refund to the payer's number, a cash-out's transfer).
create function private.msisdn_holders(p_msisdn text) returns uuid[]
language plpgsql
stable
set search_path = ''
as $$
begin
  return array(
    select u.id from auth.users u where u.phone = p_msisdn
    union
    -- whatsapp_contacts comes with the WhatsApp migration (20261207000000), resolved when this runs.
    select c.user_id from public.whatsapp_contacts c where c.wa_id = p_msisdn);
end;
$$;

-- 42501 when an admin refunds money of their own (private.require_not_own): a payment into
-- their wallet, or a MoMo payment paid from their own number (private.msisdn_holders) into
-- another wallet, whose refund MoMo pays to that number. Checked by every function that
-- prepares or records a refund, since each is reachable alone (supabase.rpc, api_private).
create function private.refund_require_not_own(p_payment public.payments) returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if private.caller() is distinct from 'admin' then
    return;
  end if;
  perform private.require_not_own(array[p_payment.user_id] || coalesce(
    (select private.msisdn_holders(m.payer_msisdn) from public.momo_transactions m
      where p_payment.provider = 'momo' and m.reference_id::text = p_payment.provider_payment_id), '{}'), 'refund a payment');
end;
$$;

-- The payment of a refund, locked for the caller's transaction (WL007 when unknown), and the
-- refund already stored under the provider's refund id, if any (WL005 when it is stored for
-- another payment or amount; 42501 when the admin calling refunds their own payment,
-- private.refund_require_not_own): the start of every function that records a refund. Every
-- refund is recorded under the provider's own id, so the provider's reports of one refund
-- (an admin's call, its webhooks, a poll's read-back) all find the same row. The id is locked
-- too: the payment's lock serializes the refunds of one payment, and this one the recordings of
-- one id for two payments (an admin's chargeback and a dispute's, a mistyped id), so that the
-- second reads the first's row and is WL005 instead of failing on the unique key.
create function private.refund_lookup(
  p_payment uuid,
  p_amount bigint,
  p_provider_refund_id text,
  out payment public.payments,
  out refund public.refunds
)
language plpgsql
set search_path = ''
as $$
begin
  perform private.require_text(p_provider_refund_id, 'provider_id', 'provider refund id');
  perform private.require_amount(p_amount);
  select p.* into payment from public.payments p where p.id = p_payment for update;
  perform private.require_found(found, pg_catalog.format('payment %s', p_payment));
  perform private.refund_require_not_own(payment);
  perform pg_catalog.pg_advisory_xact_lock(
    pg_catalog.hashtextextended(pg_catalog.format('%s-refund:%s', payment.provider, p_provider_refund_id), 0));
  select r.* into refund from public.refunds r
   where r.provider = payment.provider and r.provider_refund_id = p_provider_refund_id;
  if found then
    if (refund.payment_id, refund.amount) is distinct from (p_payment, p_amount) then
      perform private.fail('WL005', pg_catalog.format(
        '%s refund %s was already recorded with different parameters', payment.provider, p_provider_refund_id));
    end if;
  end if;
end;
$$;

-- The refund p_refund locked for the caller's transaction, its payment locked first: the order
-- of private.refund_lookup, which every function that records a refund starts with. A function
-- that moves a refund on without recording it (its request id or provider id learnt, a payout,
-- MoMo's report, an admin's settlement) takes its locks here, so that it waits for those
-- functions instead of deadlocking with them (40P01). Null for no such refund.
create function private.refund_for_update(p_refund uuid) returns public.refunds
language plpgsql
set search_path = ''
as $$
declare
  v_refund public.refunds;
begin
  perform 1 from public.payments p where p.id = (select r.payment_id from public.refunds r where r.id = p_refund) for update;
  select r.* into v_refund from public.refunds r where r.id = p_refund for update;
  return v_refund;
end;
$$;

-- A user asks to top up one of its accounts; the service may ask for any user account.
create function api_private.payment_intent_create(
  p_provider text,
  p_account uuid,
  p_amount bigint,
  p_currency text,
  p_idempotency_key text
)
returns public.payment_intents
language plpgsql
security definer set search_path = ''
as $$
declare
  v_caller text := private.require_caller(array['user', 'admin', 'service'], 'create a payment intent');
  v_scope uuid;
  v_account public.wallet_accounts;
  v_intent public.payment_intents;
begin
  if v_caller <> 'service' then
    v_scope := auth.uid();
  end if;
  perform private.require_provider(p_provider);
  perform private.require_text(p_idempotency_key, 'identifier', 'idempotency key');
  perform private.require_amount(p_amount);
  perform private.require_currency(p_currency);

  -- Only an admin or the service hears that an account does not exist.
  if v_caller <> 'user' and not exists (select 1 from public.wallet_accounts a where a.id = p_account) then
    perform private.fail('WL007', pg_catalog.format('wallet account %s not found', p_account));
  end if;
  v_account := private.require_user_account(p_account, v_scope, p_currency, 'top up');

  insert into public.payment_intents (provider, user_id, account_id, amount, currency, idempotency_key, created_by)
  values (p_provider, v_account.owner_id, p_account, p_amount, p_currency, p_idempotency_key, v_scope)
  on conflict on constraint payment_intents_idempotency_key do nothing
  returning * into v_intent;
  if v_intent.id is null then
    select i.* into v_intent from public.payment_intents i
     where i.created_by is not distinct from v_scope and i.idempotency_key = p_idempotency_key;
    perform private.require_same_parameters(
      (v_intent.provider, v_intent.account_id, v_intent.amount, v_intent.currency)
        is not distinct from (p_provider, p_account, p_amount, p_currency),
      p_idempotency_key);
  end if;
  return v_intent;
end;
$$;
grant execute on function api_private.payment_intent_create(text, uuid, bigint, text, text) to authenticated, service_role;

-- The next step of the caller's own top-up p_intent as POST /payments/topups answered it (its
-- stored 201's next_action: Stripe's client_secret, the MoMo approval, Revolut's checkout URL)
-- while the intent still takes a payment, so that an app that left the checkout resumes it from
-- the intent's id (GET /payments/topups/:id). Null for an intent that no longer takes a payment,
-- one not started through the payments API, or another person's: the stored answer is found
-- by auth.uid(), so staff reading an intent never get its client_secret (and their read of the
-- intent through GET /payments/topups/:id still answers, with no next step). Null too once a
-- payment is recorded for the intent: the provider took the money (a payment held for review,
-- such as one paid into an account frozen meanwhile, leaves the intent processing), so there is
-- no checkout left to resume and the app must not ask the person to pay again. And null while
-- the intent's account is frozen or closed: no top-up starts then, and a payment resumed then
-- would only be held for review (the account takes no credit); unfrozen, it is offered again.
create function api_private.topup_next_action(p_intent uuid)
returns jsonb
language plpgsql
stable
security definer set search_path = ''
as $$
begin
  perform private.require_caller(array['user', 'admin', 'support'], 'read a top-up''s next step');
  return (
    select r.response_body -> 'next_action'
      from public.payment_intents i
      join private.api_requests r on r.caller_id = i.created_by and r.idempotency_key = i.idempotency_key
     where i.id = p_intent and i.created_by = auth.uid() and i.status in ('requires_payment', 'processing')
       and not exists (select 1 from public.payments p where p.intent_id = i.id)
       and exists (select 1 from public.wallet_accounts a where a.id = i.account_id and a.status = 'active')
       and r.method = 'POST' and r.path = '/payments/topups' and r.response_status = 201);
end;
$$;
grant execute on function api_private.topup_next_action(uuid) to authenticated;

-- Records the provider's id for the intent once the provider call returned.
create function public.payment_intent_attach(p_intent uuid, p_provider_ref text)
returns public.payment_intents
language plpgsql
security definer set search_path = ''
as $$
declare
  v_intent public.payment_intents;
begin
  perform private.require_caller(array['service'], 'attach a provider reference');
  perform private.require_text(p_provider_ref, 'provider_id', 'provider reference');
  v_intent := private.payment_intent_lock(p_intent);
  if v_intent.provider_ref = p_provider_ref then
    return v_intent;
  end if;
  if v_intent.provider_ref is not null then
    perform private.fail('PA002', pg_catalog.format('payment intent %s is already attached to %s',
      p_intent, v_intent.provider_ref));
  end if;
  if v_intent.provider = 'momo'
     and p_provider_ref !~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' then
    perform private.fail('22023', pg_catalog.format('MoMo reference %s is not a lower-case UUIDv4', p_provider_ref));
  end if;
  if v_intent.status <> 'requires_payment' then
    perform private.fail('WL008', pg_catalog.format('payment intent %s is %s', p_intent, v_intent.status));
  end if;
  if exists (select 1 from public.payment_intents i
              where i.provider = v_intent.provider and i.provider_ref = p_provider_ref) then
    perform private.fail('PA002', pg_catalog.format('%s reference %s belongs to another payment intent',
      v_intent.provider, p_provider_ref));
  end if;

  update public.payment_intents i set provider_ref = p_provider_ref, status = 'processing'
   where i.id = p_intent
  returning * into v_intent;
  return v_intent;
end;
$$;
grant execute on function public.payment_intent_attach(uuid, text) to service_role;

-- Stores a payment the provider confirmed and credits the intent's account in the same
-- transaction. Anything that does not match the intent is stored as needs_review with no
-- credit. Concurrent deliveries of one payment are serialised on the intent row; the
-- deposit's idempotency key (payment:<provider>:<id>) is the second line of defence.
create function public.payment_record_success(
  p_provider text,
  p_provider_payment_id text,
  p_intent uuid,
  p_amount bigint,
  p_currency text,
  p_fee bigint default 0,
  p_raw jsonb default '{}'
)
returns public.payments
language plpgsql
security definer set search_path = ''
as $$
declare
  v_intent public.payment_intents;
  v_payment public.payments;
  v_review text;
  v_credit public.wallet_transactions;
begin
  perform private.require_caller(array['service'], 'record a payment');
  perform private.require_provider(p_provider);
  perform private.require_text(p_provider_payment_id, 'provider_id', 'provider payment id');
  perform private.require_amount(p_amount);
  perform private.require_currency(p_currency);
  perform private.require_within(p_raw, 'document', 'p_raw');
  if p_fee is null or p_fee < 0 or p_fee > p_amount then
    perform private.fail('WL006', pg_catalog.format('invalid fee %s for amount %s', coalesce(p_fee::text, 'null'), p_amount));
  end if;

  if p_intent is not null then
    select i.* into v_intent from public.payment_intents i where i.id = p_intent for update;
  end if;

  select p.* into v_payment from public.payments p
   where p.provider = p_provider and p.provider_payment_id = p_provider_payment_id;
  if found then
    if (v_payment.intent_id, v_payment.amount, v_payment.currency) is distinct from (v_intent.id, p_amount, p_currency) then
      perform private.fail('WL005', pg_catalog.format(
        '%s payment %s was already recorded with different parameters', p_provider, p_provider_payment_id));
    end if;
    return v_payment;
  end if;

  v_review := case
    when v_intent.id is null then 'unknown_intent'
    when v_intent.provider <> p_provider then 'provider_mismatch'
    when v_intent.currency <> p_currency then 'currency_mismatch'
    when v_intent.amount <> p_amount then 'amount_mismatch'
    when v_intent.status = 'canceled' then 'intent_canceled'
    when v_intent.status = 'succeeded' then 'intent_already_paid'
  end;

  if v_review is null then
    begin
      v_credit := public.wallet_deposit(v_intent.account_id, p_amount, p_currency, p_provider,
        pg_catalog.format('payment:%s:%s', p_provider, p_provider_payment_id),
        pg_catalog.jsonb_build_object('payment_intent_id', v_intent.id, 'provider_payment_id', p_provider_payment_id));
    exception
      when sqlstate 'WL004' then
        -- The money arrived but the account is frozen or closed: keep it for an operator.
        v_review := 'account_not_active';
    end;
  end if;

  insert into public.payments (provider, provider_payment_id, intent_id, user_id, amount, currency, fee,
                               status, review_reason, wallet_transaction_id, raw)
  values (p_provider, p_provider_payment_id, v_intent.id, v_intent.user_id, p_amount, p_currency, p_fee,
          case when v_review is null then 'succeeded' else 'needs_review' end, v_review, v_credit.id,
          coalesce(p_raw, '{}'))
  on conflict on constraint payments_provider_payment_key do nothing
  returning * into v_payment;
  if v_payment.id is null then
    -- A concurrent delivery without an intent to serialise on stored it first.
    select p.* into v_payment from public.payments p
     where p.provider = p_provider and p.provider_payment_id = p_provider_payment_id;
    if v_credit.id is not null and v_payment.wallet_transaction_id is distinct from v_credit.id then
      -- It stored the payment without our credit: roll the credit back rather than leave money
      -- with no payment behind it. 40001 tells the caller (the provider's retry) to try again.
      perform private.fail('40001', pg_catalog.format(
        '%s payment %s was recorded concurrently without this credit; retry', p_provider, p_provider_payment_id));
    end if;
    return v_payment;
  end if;

  if v_review is null then
    update public.payment_intents i set status = 'succeeded', failure_reason = null where i.id = v_intent.id;
  end if;
  return v_payment;
end;
$$;
grant execute on function public.payment_record_success(text, text, uuid, bigint, text, bigint, jsonb) to service_role;

-- The provider reported that the intent failed. A succeeded, failed or canceled intent is
-- returned unchanged: money already credited is never undone by a failure report.
create function public.payment_record_failure(p_intent uuid, p_reason text)
returns public.payment_intents
language plpgsql
security definer set search_path = ''
as $$
declare
  v_intent public.payment_intents;
begin
  perform private.require_caller(array['service'], 'record a payment failure');
  perform private.require_within(p_reason, 'reason', 'p_reason');
  v_intent := private.payment_intent_lock(p_intent);
  if v_intent.status in ('requires_payment', 'processing') then
    update public.payment_intents i set status = 'failed', failure_reason = p_reason
     where i.id = p_intent
    returning * into v_intent;
  end if;
  return v_intent;
end;
$$;
grant execute on function public.payment_record_failure(uuid, text) to service_role;

-- The payment p_provider_payment_id of p_provider (none when it is not recorded), locked until
-- the caller's transaction ends, as refund_lookup and refund_prepare lock it. A provider's
-- report of a refunded total (Stripe's charge.refunded) reads it here before working out what
-- the report adds to the refunds recorded, so that it waits for a refund being recorded (an
-- admin's, locked from refund_prepare until its transaction ends) and then counts it. The
-- webhooks may read payments but not lock them (FOR UPDATE needs the UPDATE privilege). Service
-- only; 22023 for a payment id over its bound.
create function api_private.payment_lock(p_provider text, p_provider_payment_id text)
returns setof public.payments
language plpgsql
security definer set search_path = ''
as $$
begin
  perform private.require_caller(array['service'], 'lock a payment');
  perform private.require_within(p_provider_payment_id, 'provider_id', 'p_provider_payment_id');
  return query
    select p.* from public.payments p
     where p.provider = p_provider and p.provider_payment_id = p_provider_payment_id
       for update;
end;
$$;
grant execute on function api_private.payment_lock(text, text) to service_role;

-- Moves the refunded amount of the payment p_payment by p_delta (a refund recorded, or one that
-- failed after it was) and its status with it: succeeded with nothing refunded, refunded in
-- full, partially_refunded between. A payment never credited (needs_review, rejected) keeps its
-- status.
create function private.payment_add_refunded(p_payment uuid, p_delta bigint) returns void
language plpgsql
set search_path = ''
as $$
begin
  update public.payments p
     set amount_refunded = p.amount_refunded + p_delta,
         status = case
           when p.status in ('needs_review', 'rejected') then p.status
           when p.amount_refunded + p_delta = 0 then 'succeeded'
           when p.amount_refunded + p_delta = p.amount then 'refunded'
           else 'partially_refunded'
         end
   where p.id = p_payment;
end;
$$;

-- What the currency's unclaimed account (unclaimed:<CUR>) still holds for the former owner of
-- the closed account that the payment credit p_credit went to: what refunds of it that failed
-- after the account closed gave back there (refund_record_failure), less what later refunds of
-- the same payment took from there, net of those that failed in turn, and less what admins paid
-- out on those failed refunds another way (api_private.refund_paid_out; decision 0027). 0 for a
-- credit nothing is owed for. Read by refund_complete, under the payment's row lock that every
-- refund and refund failure of it takes (private.refund_lookup), and by reconciliation
-- (refund_failed_owed).
create function private.payment_unclaimed(p_credit uuid) returns bigint
language plpgsql
stable
set search_path = ''
as $$
begin
  return coalesce((
    select sum(case when y.to_account_id = u.id then y.amount else 0 end)
         - sum(case when x.from_account_id = u.id then x.amount else 0 end)
         - coalesce(sum(f.paid_out_amount), 0)
      from public.wallet_transactions c
      join public.wallet_accounts u on u.code = 'unclaimed:' || c.currency
      join public.wallet_transactions x on x.reverses_id = c.id
      -- At most one undoes each reversal: the failure of its refund, keyed by the refund.
      left join public.wallet_transactions y on y.reverses_id = x.id
      -- Each reversal is one refund's.
      left join public.refunds f on f.wallet_transaction_id = x.id
     where c.id = p_credit), 0);
end;
$$;

-- Stores a refund and reverses its part of the credit. The refunds of a payment never add
-- up to more than it (checked under the payment's row lock, and by a constraint). When
-- the user already spent the money the reversal is forced: the account goes negative and
-- the refund is marked forced. A payment that was never credited (needs_review, rejected)
-- gets the refund recorded with no ledger effect. A refund stored as pending (an admin's
-- refund the provider accepted but has not completed: api_private.refund_record_pending) is
-- completed here when the provider confirms it, so the admin's call and the provider's
-- report of one refund are one row that moves the ledger once; its reversal takes the part
-- of the credit the refund reserved. A refund first recorded here takes no account of what the
-- payment's pending refunds reserve (decision 0030). A payment whose credited account was
-- closed since (only a refund made at the provider alone meets one: its dashboard, a lost
-- dispute) has its refund reversed from the currency's losses account instead: the provider
-- has taken the money back from us, a closed account holds nothing for good, so the platform
-- bears it, and the refund is marked borne_by_platform for reconciliation and the admins
-- (decision 0026). Unless the unclaimed account holds enough for the account's former owner
-- from an earlier refund of the payment that failed after the account closed
-- (private.payment_unclaimed, decision 0027): the new refund pays them what mfuko owed them,
-- so its reversal is taken from there and the platform bears nothing. A frozen account is
-- not closed: its refunds are taken from it as any other.
-- p_payment is locked and p_refund is its
-- refund of p_provider_refund_id, if recorded (private.refund_lookup); p_scope is the
-- reversal's key scope (the admin, or null for the service). The caller is checked by the
-- entry points: refund_record, and an admin's settlement of a MoMo refund (momo_refund_resolve).
create function private.refund_complete(
  p_scope uuid,
  p_payment public.payments,
  p_refund public.refunds,
  p_amount bigint,
  p_provider_refund_id text,
  p_reason text
)
returns public.refunds
language plpgsql
set search_path = ''
as $$
declare
  v_payment public.payments := p_payment;
  v_refund public.refunds := p_refund;
  v_refund_id uuid := gen_random_uuid();
  v_key text;
  v_reversal public.wallet_transactions;
  v_forced boolean := false;
  v_borne boolean := false;
  -- A refund first recorded here is one its provider made and reports (its dashboard, a lost
  -- dispute): the provider bounds its refunds by the payment, so a pending refund of ours that
  -- this one leaves no room for can no longer be paid there, and money the provider moved is
  -- recorded whatever that refund reserves (decision 0030).
  v_leave_reserved boolean := v_refund.id is not null;
begin
  if v_refund.id is not null then
    if v_refund.status <> 'pending' then
      return v_refund;
    end if;
    v_refund_id := v_refund.id;
  end if;

  if p_amount > v_payment.amount - v_payment.amount_refunded then
    perform private.fail('WL008', pg_catalog.format('refund of %s exceeds what remains of payment %s (%s)',
      p_amount, v_payment.id, v_payment.amount - v_payment.amount_refunded));
  end if;

  if v_payment.wallet_transaction_id is not null then
    -- Keyed by the refund row. Given the refund's id, the reversal may take what the refund
    -- reserved while pending.
    v_key := pg_catalog.format('refund:%s:%s', v_payment.provider, v_refund_id);
    -- Closed is final, so an account read closed here stays so. One closed by a transaction
    -- that commits after this read fails the reversal below with WL004; the provider's retry of
    -- its event then reads it closed.
    v_borne := coalesce((select a.status = 'closed'
                           from public.wallet_transactions t join public.wallet_accounts a on a.id = t.to_account_id
                          where t.id = v_payment.wallet_transaction_id), false);
    if v_borne then
      -- Read before wallet_reverse locks the credit: refund_lookup's lock on the payment
      -- already serialises every refund and failure of it.
      if private.payment_unclaimed(v_payment.wallet_transaction_id) >= p_amount then
        v_borne := false;
      end if;
      v_reversal := private.wallet_reverse(p_scope, v_payment.wallet_transaction_id, v_key, p_amount, p_reason, false, v_refund_id,
                                           private.wallet_system_account(case when v_borne then 'losses' else 'unclaimed' end,
                                                                         v_payment.currency),
                                           v_leave_reserved);
    else
      begin
        v_reversal := private.wallet_reverse(p_scope, v_payment.wallet_transaction_id, v_key, p_amount, p_reason, false, v_refund_id,
                                             p_leave_reserved => v_leave_reserved);
      exception
        when sqlstate 'WL001' then
          v_forced := true;
      end;
      if v_forced then
        v_reversal := private.wallet_reverse(p_scope, v_payment.wallet_transaction_id, v_key, p_amount, p_reason, true, v_refund_id,
                                             p_leave_reserved => v_leave_reserved);
      end if;
    end if;
  end if;

  if v_refund.id is null then
    v_refund := private.refund_insert(v_payment, p_amount, p_provider_refund_id, 'succeeded', p_reason,
                                      v_refund_id, v_reversal.id, v_forced, v_borne);
  else
    update public.refunds r
       set status = 'succeeded', wallet_transaction_id = v_reversal.id, forced = v_forced, borne_by_platform = v_borne
     where r.id = v_refund_id
    returning * into v_refund;
  end if;

  perform private.payment_add_refunded(v_payment.id, p_amount);
  return v_refund;
end;
$$;

-- A provider's report of a refund (the service: webhooks, polls), or the admin API completing a
-- refund its provider named in its answer (private.refund_complete).
create function api_private.refund_record(
  p_payment uuid,
  p_amount bigint,
  p_provider_refund_id text,
  p_reason text default null
)
returns public.refunds
language plpgsql
security definer set search_path = ''
as $$
declare
  v_caller text;
  v_scope uuid;
  v_lookup record;
begin
  -- The reversal's key scope, as wallet_reverse's: the admin, or none for the service.
  v_caller := private.require_caller(array['service', 'admin'], 'record a refund');
  if v_caller = 'admin' then
    v_scope := auth.uid();
  end if;
  perform private.require_within(p_reason, 'reason', 'p_reason');
  v_lookup := private.refund_lookup(p_payment, p_amount, p_provider_refund_id);
  -- An admin completes only a refund recorded before its provider was asked (the admin API's
  -- pending refund: refund_begin) once the provider named it (refund_identify), or one recorded
  -- already. A refund first recorded here is a provider's report, which the service makes
  -- (webhooks, polls): an admin's supabase.rpc could otherwise record a refund no provider made,
  -- or complete one still under its request id that the provider may never have received,
  -- reversing the payer's credit and marking the payment refunded, which leaves the
  -- reconciliation balanced where the same reversal through wallet_reverse is reported.
  if v_caller = 'admin' and ((v_lookup.refund).id is null
      or ((v_lookup.refund).status = 'pending' and (v_lookup.refund).provider_refund_id is not distinct from (v_lookup.refund).refund_request_id)) then
    perform private.fail('42501', pg_catalog.format(
      'an admin records no refund of payment %s its provider has not named: refunds go through the provider '
      '(POST /admin/payments/%s/refund), whose report records them', p_payment, p_payment));
  end if;
  -- A MoMo refund's reference is ours, named before MoMo is asked: only MoMo's confirmed status
  -- completes it (momo_refund_settle, with its sum checked), or an admin's settlement once its
  -- sending is closed (momo_refund_resolve).
  if v_caller = 'admin' and (v_lookup.payment).provider = 'momo' then
    perform private.fail('42501', pg_catalog.format(
      'an admin completes no MoMo refund of payment %s: MoMo''s confirmed status does, or POST /admin/refunds/:id/resolve '
      'once its sending is closed', p_payment));
  end if;
  return private.refund_complete(v_scope, v_lookup.payment, v_lookup.refund, p_amount, p_provider_refund_id, p_reason);
end;
$$;
grant execute on function api_private.refund_record(uuid, bigint, text, text) to authenticated, service_role;

-- The provider reports that a refund failed (or was canceled) after it was recorded: the
-- customer never got the money, so the wallet gets it back. The refund becomes p_status,
-- its reversal is reversed (the credit-back, keyed refund-failed:<provider>:<refunds.id>, so
-- the deposit can be reversed again by a later refund) and the payment's refunded amount
-- drops by it. The refund is found by its provider id. When the account the reversal debited
-- was closed since (at zero, after the refund was recorded), it takes nothing for good: the
-- money the provider has back is owed to the account's former owner, so the credit-back goes
-- to the currency's unclaimed account (unclaimed:<CUR>) instead, names the closed account in
-- its metadata (closed_account), and the refund is marked owed_to_closed_account for
-- reconciliation (refund_failed_owed) and the admins, who pay it out another way (decision
-- 0027). A frozen account is not closed and gets the money back; a refund borne by the
-- platform gives it back to the losses account it was taken from. A
-- failure of a refund never recorded moves no money (the ledger never took it) and is kept
-- as a failed refund, so that a late report of it as succeeded is not applied. A replay
-- returns the failed refund and changes nothing.
create function public.refund_record_failure(
  p_payment uuid,
  p_provider_refund_id text,
  p_amount bigint,
  p_status text default 'failed',
  p_reason text default null
)
returns public.refunds
language plpgsql
security definer set search_path = ''
as $$
declare
  v_payment public.payments;
  v_refund public.refunds;
  v_lookup record;
  v_reversal public.wallet_transactions;
  v_was_pending boolean;
  v_owed boolean := false;
  v_credit uuid;
begin
  perform private.require_caller(array['service'], 'record a refund failure');
  perform private.require_within(p_reason, 'reason', 'p_reason');
  if p_status is null or p_status not in ('failed', 'canceled') then
    perform private.fail('22023', pg_catalog.format('refund outcome %s is not failed or canceled', coalesce(p_status, 'null')));
  end if;
  v_lookup := private.refund_lookup(p_payment, p_amount, p_provider_refund_id);
  v_payment := v_lookup.payment;
  v_refund := v_lookup.refund;

  if v_refund.id is null then
    if p_amount > v_payment.amount then
      perform private.fail('WL006', pg_catalog.format('refund of %s exceeds payment %s (%s)', p_amount, p_payment, v_payment.amount));
    end if;
    return private.refund_insert(v_payment, p_amount, p_provider_refund_id, p_status, p_reason);
  end if;
  if v_refund.status in ('failed', 'canceled') then
    return v_refund;
  end if;
  v_was_pending := v_refund.status = 'pending';

  if v_refund.wallet_transaction_id is not null then
    -- Locked like wallet_reverse locks what it reverses: the deposit's remaining amount moves.
    perform 1 from public.wallet_transactions t
     where t.id = (select r.reverses_id from public.wallet_transactions r where r.id = v_refund.wallet_transaction_id)
       for no key update;
    select t.* into v_reversal from public.wallet_transactions t where t.id = v_refund.wallet_transaction_id;
    -- Closed is final, so an account read closed here stays so. One closed by a transaction
    -- that commits after this read fails the credit-back with WL004; the provider's retry of
    -- its event then reads it closed.
    v_owed := coalesce((select a.status = 'closed' from public.wallet_accounts a where a.id = v_reversal.from_account_id), false);
    v_credit := case when v_owed then private.wallet_system_account('unclaimed', v_reversal.currency)
                     else v_reversal.from_account_id end;
    perform private.wallet_post(null, 'reversal', false, array[v_reversal.to_account_id], array[v_credit],
                                array[v_refund.amount], array[v_reversal.currency],
                                array[pg_catalog.format('refund-failed:%s:%s', v_payment.provider, v_refund.id)],
                                array[p_reason],
                                array[pg_catalog.jsonb_build_object('refund_id', v_refund.id)
                                      || case when v_owed then pg_catalog.jsonb_build_object('closed_account', v_reversal.from_account_id)
                                              else '{}'::jsonb end],
                                v_reversal.id);
  end if;

  update public.refunds r set status = p_status, owed_to_closed_account = v_owed
   where r.id = v_refund.id
  returning * into v_refund;
  -- A pending refund was never counted in the payment's refunded amount nor taken from the
  -- wallet: failing it only closes it.
  if v_was_pending then
    return v_refund;
  end if;
  perform private.payment_add_refunded(p_payment, -v_refund.amount);
  return v_refund;
end;
$$;
grant execute on function public.refund_record_failure(uuid, text, bigint, text, text) to service_role;

-- The API entry points of the two functions above.
create function public.payment_intent_create(
  p_provider text,
  p_account uuid,
  p_amount bigint,
  p_currency text,
  p_idempotency_key text
)
returns public.payment_intents
language plpgsql
security invoker
set search_path = ''
as $$
begin
  return api_private.payment_intent_create(p_provider, p_account, p_amount, p_currency, p_idempotency_key);
end;
$$;
grant execute on function public.payment_intent_create(text, uuid, bigint, text, text) to authenticated, service_role;

create function public.refund_record(
  p_payment uuid,
  p_amount bigint,
  p_provider_refund_id text,
  p_reason text default null
)
returns public.refunds
language plpgsql
security invoker
set search_path = ''
as $$
begin
  return api_private.refund_record(p_payment, p_amount, p_provider_refund_id, p_reason);
end;
$$;
grant execute on function public.refund_record(uuid, bigint, text, text) to authenticated, service_role;
