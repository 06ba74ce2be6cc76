-- Admin refunds through the providers and the resolution of needs_review payments.
--
-- A refund moves the ledger only when the provider confirms it (refund_record). Before the
-- provider is asked, the admin's refund is recorded as pending and committed
-- (api_private.refund_begin for Stripe and Revolut, api_private.momo_refund_transfer for
-- MoMo), so that no lock is held while the provider answers and an answer that is lost leaves
-- a row for the polls to heal. Both check the refund first (private.refund_prepare): it locks
-- the payment for the recording transaction, so two concurrent refunds of one payment are
-- decided one after the other, and refuses, before the provider pays anything, every refund
-- that refund_record could not then record: an amount beyond what remains once the recorded
-- and the pending refunds are counted, or one whose reversal of the credit the ledger would
-- refuse. A pending refund reserves its amount and is completed by the provider's report
-- (webhook or poll), never counted twice. The reservation holds in the ledger too, so that
-- refund_record can always record the refund once the provider has paid it: until the
-- refund is completed or fails, no other reversal takes the part of the credit it reserves
-- (private.refund_reserved, which wallet_reverse leaves), and no account of the credit is
-- closed (private.refund_check_close, which wallet_set_status calls); both refuse with WL008.
--
-- payment_resolve closes a needs_review payment: credit posts the provider's amount to the
-- intent's account with the deposit key the automatic path uses (payment:<provider>:<id>),
-- so the money can never be credited twice; reject records why. Both are audited (the
-- payments table is) with the admin as actor.

-- Serialises the refunds of the payments whose credit went through p_account with the
-- account's closing: a refund being recorded holds this lock shared until its transaction
-- ends, and a close holds it exclusively. So a close waits for the refunds being recorded and
-- then sees them pending, and a refund recorded during a close sees the account closed. Advisory, so that neither the
-- account's row nor anything that moves its money waits for a refund.
create function private.refund_lock_account(p_account uuid, p_exclusive boolean) returns void
language plpgsql
set search_path = ''
as $$
declare
  v_key constant bigint := pg_catalog.hashtextextended('refund-account:' || p_account::text, 0);
begin
  if p_exclusive then
    perform pg_catalog.pg_advisory_xact_lock(v_key);
  else
    perform pg_catalog.pg_advisory_xact_lock_shared(v_key);
  end if;
end;
$$;

-- The payment to refund, locked, with what is left to refund (of the payment and of its
-- credit). WL007 unknown payment, WL006 an amount beyond what remains of the payment. A
-- credited payment's refund reverses its credit (refund_record), so it is refused here when
-- that reversal would be: WL004 when an account of the credit is closed (a closed account
-- takes nothing), WL008 when less of the credit remains to reverse than the pending refunds
-- and this one need (an admin reversed it through the ledger). The credit is locked as
-- wallet_reverse locks it, and its accounts against closing (private.refund_lock_account), so
-- that no reversal of it and no close comes in between until the recording transaction ends:
-- the refund is pending by then. An admin never refunds a payment of their own (42501,
-- private.refund_require_not_own). Private: only the functions that record a refund call it
-- (api_private.refund_begin, api_private.momo_refund_transfer), and no API role executes it.
create function private.refund_prepare(p_payment uuid, p_amount bigint)
returns table (provider text, provider_payment_id text, currency text, remaining bigint)
language plpgsql
security definer set search_path = ''
as $$
declare
  v_payment public.payments;
  v_pending bigint;
  v_remaining bigint;
  v_credit public.wallet_transactions;
  v_closed uuid;
  v_reversible bigint;
begin
  perform private.require_caller(array['service', 'admin'], 'refund payments');
  perform private.require_amount(p_amount);
  select p.* into v_payment from public.payments p where p.id = p_payment for update;
  perform private.require_found(found, pg_catalog.format('payment %s', p_payment));
  perform private.refund_require_not_own(v_payment);
  v_pending := coalesce((select sum(r.amount) from public.refunds r where r.payment_id = p_payment and r.status = 'pending'), 0);
  v_remaining := v_payment.amount - v_payment.amount_refunded - v_pending;
  if p_amount > v_remaining then
    perform private.fail('WL006', pg_catalog.format(
      'refund of %s exceeds what remains of payment %s (%s, counting pending refunds)', p_amount, p_payment, v_remaining));
  end if;
  if v_payment.wallet_transaction_id is not null then
    select t.* into v_credit from public.wallet_transactions t where t.id = v_payment.wallet_transaction_id for no key update;
    perform private.refund_lock_account(v_credit.from_account_id, false);
    perform private.refund_lock_account(v_credit.to_account_id, false);
    select a.id into v_closed from public.wallet_accounts a
     where a.id in (v_credit.from_account_id, v_credit.to_account_id) and a.status = 'closed'
     order by a.id
     limit 1;
    if v_closed is not null then
      perform private.fail('WL004', pg_catalog.format(
        'wallet account %s is closed: the refund of payment %s could not be taken from it', v_closed, p_payment));
    end if;
    v_reversible := private.wallet_reversible(v_credit) - v_pending;
    if p_amount > v_reversible then
      perform private.fail('WL008', pg_catalog.format(
        'refund of %s exceeds what remains of the credit of payment %s (%s, counting pending refunds): it was reversed in the ledger',
        p_amount, p_payment, v_reversible));
    end if;
    v_remaining := least(v_remaining, v_reversible);
  end if;
  return query select v_payment.provider, v_payment.provider_payment_id, v_payment.currency, v_remaining;
end;
$$;

-- A refund the provider accepted and has not completed: stored as pending with no ledger
-- effect; refund_record completes it, refund_record_failure closes it. Idempotent on the
-- provider's refund id: a refund recorded already (the provider's webhook reported it first)
-- is returned as it is. The functions that record an admin's refund call it (refund_begin,
-- momo_refund_transfer), and so does Stripe's webhook for a refund Stripe reports pending (one
-- made in its dashboard).
create function api_private.refund_record_pending(
  p_payment uuid,
  p_amount bigint,
  p_provider_refund_id text,
  p_reason text
)
returns public.refunds
language plpgsql
security definer set search_path = ''
as $$
declare
  v_lookup record;
begin
  perform private.require_caller(array['service', 'admin'], 'refund payments');
  perform private.require_within(p_reason, 'reason', 'p_reason');
  v_lookup := private.refund_lookup(p_payment, p_amount, p_provider_refund_id);
  if (v_lookup.refund).id is not null then
    return v_lookup.refund;
  end if;
  return private.refund_insert(v_lookup.payment, p_amount, p_provider_refund_id, 'pending', p_reason);
end;
$$;
grant execute on function api_private.refund_record_pending(uuid, bigint, text, text) to authenticated, service_role;

-- What the pending refunds of the payment credited by p_credit reserve of that credit, but
-- p_refund's own part (the refund refund_record is completing): what wallet_reverse
-- (private.wallet_reverse) leaves of the credit for them. 0 for a transaction that credited
-- no payment.
create function private.refund_reserved(p_credit uuid, p_refund uuid) returns bigint
language plpgsql
stable
set search_path = ''
as $$
begin
  return coalesce((
    select sum(r.amount)
      from public.payments p
      join public.refunds r on r.payment_id = p.id
     where p.wallet_transaction_id = p_credit and r.status = 'pending' and r.id is distinct from p_refund), 0);
end;
$$;

-- The pending refunds: few at any time, read by refund_check_close.
create index refunds_pending_idx on public.refunds (payment_id) where status = 'pending';

-- Closing p_account (wallet_set_status): waits for the refunds being prepared of payments
-- whose credit went through it (private.refund_lock_account, held until the close's
-- transaction ends), then refuses (WL008) while one of those refunds is pending: it will
-- reverse the credit through the account when the provider confirms it, and a closed account
-- takes nothing.
create function private.refund_check_close(p_account uuid) returns void
language plpgsql
set search_path = ''
as $$
declare
  v_payment uuid;
begin
  perform private.refund_lock_account(p_account, true);
  select p.id into v_payment
    from public.refunds r
    join public.payments p on p.id = r.payment_id
    join public.wallet_transactions t on t.id = p.wallet_transaction_id
   where r.status = 'pending' and p_account in (t.from_account_id, t.to_account_id)
   order by p.id
   limit 1;
  if v_payment is not null then
    perform private.fail('WL008', pg_catalog.format(
      'wallet account %s cannot be closed while a refund of payment %s is pending: the refund reverses the payment''s credit through the account when the provider completes it',
      p_account, v_payment));
  end if;
end;
$$;

-- Closes a needs_review payment. 'credit': the provider's amount goes to the intent's account
-- once (WL008 when the payment has no intent, or was refunded at the provider while under
-- review; WL004 when the account is not active). 'reject': the payment stays uncredited with
-- the admin's reason, and its intent, when it still waits for this provider's payment (the
-- amount or currency differed, the account was not active), is canceled with the reason
-- 'payment rejected after review': its provider payment is the one rejected, so nothing else
-- will end it, and it would read processing for good (the admin's own reason is not the user's
-- to read). A payment not under review is WL008. p_reason is required and bounded.
-- An admin never resolves a payment of their own or to an account of their own (42501).
create function api_private.payment_resolve(p_payment uuid, p_action text, p_reason text)
returns public.payments
language plpgsql
security definer set search_path = ''
as $$
declare
  v_payment public.payments;
  v_intent public.payment_intents;
  v_credit public.wallet_transactions;
begin
  perform private.require_caller(array['service', 'admin'], 'resolve payments');
  perform private.require_reason(p_reason, 'resolve a payment');
  perform private.require_choice(p_action, array['credit', 'reject'], 'action');
  select p.* into v_payment from public.payments p where p.id = p_payment for update;
  perform private.require_found(found, pg_catalog.format('payment %s', p_payment));
  perform private.require_not_own(array[v_payment.user_id,
    (select a.owner_id from public.payment_intents i join public.wallet_accounts a on a.id = i.account_id
      where i.id = v_payment.intent_id)], 'resolve a payment');
  if v_payment.status <> 'needs_review' then
    perform private.fail('WL008', pg_catalog.format(
      'payment %s is %s, not needs_review: only a payment under review can be resolved', p_payment, v_payment.status));
  end if;

  if p_action = 'reject' then
    update public.payments p
       set status = 'rejected', resolution = 'rejected', resolution_reason = p_reason,
           resolved_by = auth.uid(), resolved_at = now()
     where p.id = p_payment
    returning * into v_payment;
    update public.payment_intents i set status = 'canceled', failure_reason = 'payment rejected after review'
     where i.id = v_payment.intent_id and i.provider = v_payment.provider
       and i.status in ('requires_payment', 'processing', 'failed');
    return v_payment;
  end if;

  if v_payment.intent_id is null then
    perform private.fail('WL008', pg_catalog.format(
      'payment %s matches no payment intent, so there is no account to credit; reject it instead', p_payment));
  end if;
  if v_payment.amount_refunded > 0 then
    perform private.fail('WL008', pg_catalog.format(
      'payment %s was refunded at the provider while under review; reject it instead', p_payment));
  end if;
  -- The refund would reverse this credit when its provider completes it (forced, if the money
  -- was spent meanwhile): the payment is decided once the refund is.
  if exists (select from public.refunds r where r.payment_id = p_payment and r.status = 'pending') then
    perform private.fail('WL008', pg_catalog.format(
      'payment %s has a refund pending at its provider: credit it once the refund is settled, or reject it', p_payment));
  end if;
  select i.* into v_intent from public.payment_intents i where i.id = v_payment.intent_id for update;
  -- wallet_deposit's own posting (it is the service's to call), with its key.
  v_credit := private.wallet_post_one(null, 'deposit', false,
    private.wallet_system_account('clearing:' || v_payment.provider, v_payment.currency), v_intent.account_id, v_payment.amount,
    v_payment.currency, pg_catalog.format('payment:%s:%s', v_payment.provider, v_payment.provider_payment_id), null,
    pg_catalog.jsonb_build_object('payment_intent_id', v_intent.id, 'provider_payment_id', v_payment.provider_payment_id,
                                  'resolved_from_review', v_payment.review_reason));
  update public.payments p
     set status = 'succeeded', wallet_transaction_id = v_credit.id, resolution = 'credited',
         resolution_reason = p_reason, resolved_by = auth.uid(), resolved_at = now()
   where p.id = p_payment
  returning * into v_payment;
  if v_intent.status in ('requires_payment', 'processing', 'failed') then
    update public.payment_intents i set status = 'succeeded', failure_reason = null where i.id = v_intent.id;
  end if;
  return v_payment;
end;
$$;
grant execute on function api_private.payment_resolve(uuid, text, text) to authenticated;

-- Revolut and Stripe refunds are recorded before the provider is asked, as MoMo refunds are:
-- the admin's refund request id (rr_<hex>) is the refund's own reference, sent to the provider
-- with the refund (Revolut: the refund order's merchant_order_data.reference, which Revolut lets
-- us search by, GET /api/orders?merchant_order_data_reference=; Stripe: the refund's
-- metadata.refund_request_id, found among the payment's refunds). The pending refund is stored
-- under that reference (provider_refund_id = the request id) until the provider's refund is
-- known; then it takes the provider's id (refund_identify), so that the provider's webhooks and
-- polls find it. No lock is held while the provider answers: the pending refund, committed
-- first, reserves its amount. refund_request_id keeps the reference for good.
alter table public.refunds
  add column refund_request_id text check (length(refund_request_id) between 1 and 255);
create unique index refunds_request_key on public.refunds (provider, refund_request_id) where refund_request_id is not null;

-- The pending refund of p_amount of p_provider's (stripe or revolut) payment p_payment under
-- the admin's refund request p_request_id, recorded once before the provider is asked: the same
-- request again returns it (WL005 with another payment or amount), whatever has become of it
-- since. A new refund is checked like every admin refund (refund_prepare: WL007 unknown payment,
-- WL006 beyond what remains counting the pending refunds, WL004 or WL008 when the ledger could
-- not record it, 42501 an admin's own payment) and reserves its amount as every pending refund
-- does: refund_prepare's row lock lasts only this transaction, which commits before the
-- provider is called, and the next refund counts this one. WL008 for a payment of another
-- provider; 22023 for a provider that is not stripe or revolut (MoMo refunds are recorded by
-- api_private.momo_refund_transfer). Admins only, as refund_prepare: the refund request is theirs.
create function api_private.refund_begin(p_provider text, p_payment uuid, p_amount bigint, p_request_id text, p_reason text)
returns public.refunds
language plpgsql
security definer set search_path = ''
as $$
declare
  v_provider text;
  v_refund public.refunds;
begin
  perform private.require_caller(array['admin'], 'refund payments');
  if p_provider is null or p_provider not in ('stripe', 'revolut') then
    perform private.fail('22023', pg_catalog.format('refunds of provider %s are not recorded by request', coalesce(pg_catalog.left(p_provider, 32), 'null')));
  end if;
  perform private.require_within(p_reason, 'reason', 'p_reason');
  perform private.require_text(p_request_id, 'provider_id', 'refund request id');
  select r.* into v_refund from public.refunds r where r.provider = p_provider and r.refund_request_id = p_request_id;
  if found then
    if (v_refund.payment_id, v_refund.amount) is distinct from (p_payment, p_amount) then
      perform private.fail('WL005', pg_catalog.format(
        'refund request %s was already recorded with different parameters', p_request_id));
    end if;
    return v_refund;
  end if;
  select prepared.provider into v_provider from private.refund_prepare(p_payment, p_amount) prepared;
  if v_provider <> p_provider then
    perform private.fail('WL008', pg_catalog.format('payment %s is a %s payment, not a %s one', p_payment, v_provider, p_provider));
  end if;
  v_refund := api_private.refund_record_pending(p_payment, p_amount, p_request_id, p_reason);
  update public.refunds r set refund_request_id = p_request_id where r.id = v_refund.id
  returning * into v_refund;
  return v_refund;
end;
$$;
grant execute on function api_private.refund_begin(text, uuid, bigint, text, text) to authenticated;

-- An admin records a chargeback of a Revolut payment that mfuko lost: Revolut took p_amount of
-- the payment back after its dispute p_dispute_id ended lost (the admin API asks Revolut first,
-- GET /api/disputes/{id}, and calls this only for a dispute Revolut answers lost; Revolut
-- documents no body for its DISPUTE_* webhooks, nor the amount or order of a dispute, so the
-- admin gives the payment and the amount: decision 0028). Recorded as a lost Stripe dispute is
-- (charge.dispute.closed): a refund keyed by the dispute id whose reversal of the credit is
-- forced when the money was spent, borne by the losses account when the account was closed
-- since (private.refund_complete), so that the payment's refunded amount and reconciliation
-- count it. The refund carries the admin (created_by) and p_reason, as the audit trail does.
-- Idempotent on the dispute id: the same dispute again returns its refund and moves nothing;
-- WL005 for the same dispute with another payment or amount, or an id that names a refund
-- rather than a chargeback (one asked for by request, or not succeeded). WL008 for a payment
-- of another provider (Stripe's disputes are applied by its webhook and stripe-poll; MoMo has
-- none) or an amount beyond what remains of the payment once its pending refunds are counted
-- (a payment never credited included); 42501 for an admin's own payment
-- (private.refund_require_not_own) and any caller but an admin. The admin's scope keys the
-- reversal, as an admin's completion of a refund (refund_record).
create function api_private.revolut_chargeback_record(p_payment uuid, p_dispute_id text, p_amount bigint, p_reason text)
returns public.refunds
language plpgsql
security definer set search_path = ''
as $$
declare
  v_admin constant uuid := auth.uid();
  v_lookup record;
begin
  perform private.require_caller(array['admin'], 'record a chargeback');
  perform private.require_reason(p_reason, 'record a chargeback');
  v_lookup := private.refund_lookup(p_payment, p_amount, p_dispute_id);
  if (v_lookup.payment).provider <> 'revolut' then
    perform private.fail('WL008', pg_catalog.format(
      'payment %s is a %s payment, not a revolut one: only Revolut chargebacks are recorded by an admin',
      p_payment, (v_lookup.payment).provider));
  end if;
  if (v_lookup.refund).id is not null
     and ((v_lookup.refund).status <> 'succeeded' or (v_lookup.refund).refund_request_id is not null) then
    perform private.fail('WL005', pg_catalog.format(
      'revolut %s names a refund of payment %s, not a chargeback', p_dispute_id, p_payment));
  end if;
  -- The payment's pending refunds count: refund_complete's reversal leaves what they reserve of a
  -- credit, but a payment never credited (under review, rejected) has none to leave it from.
  if (v_lookup.refund).id is null and p_amount > (v_lookup.payment).amount - (v_lookup.payment).amount_refunded
       - coalesce((select sum(r.amount) from public.refunds r where r.payment_id = p_payment and r.status = 'pending'), 0) then
    perform private.fail('WL008', pg_catalog.format('chargeback of %s exceeds what remains of payment %s, counting pending refunds',
      p_amount, p_payment));
  end if;
  return private.refund_complete(v_admin, v_lookup.payment, v_lookup.refund, p_amount, p_dispute_id, p_reason);
end;
$$;
grant execute on function api_private.revolut_chargeback_record(uuid, text, bigint, text) to authenticated;

-- p_provider's refund p_provider_refund_id (a Revolut refund order, a Stripe re_...), of
-- p_amount of the payment p_refunded_payment_id (the order refunded, the PaymentIntent), carries
-- the request id p_request_id (Revolut: merchant_order_data.reference; Stripe:
-- metadata.refund_request_id): the refund recorded under that request takes the provider's id as
-- its provider_refund_id (once; the same id again returns it), so that refund_record and
-- refund_record_failure with that id complete or close it. No row when no refund of the provider
-- was recorded under the request (a refund made in the provider's dashboard). WL005 when the
-- provider's refund is not that refund's (another payment refunded, another amount, or the
-- refund already has another id). Admin (the refund request, with the provider's answer) or
-- service (the webhooks, the polls). Locks the payment, then the refund, until the caller's
-- transaction ends.
create function api_private.refund_identify(p_provider text, p_request_id text, p_provider_refund_id text, p_refunded_payment_id text, p_amount bigint)
returns setof public.refunds
language plpgsql
security definer set search_path = ''
as $$
declare
  v_refund public.refunds;
  v_refunded_payment text;
begin
  perform private.require_caller(array['service', 'admin'], 'record a refund');
  perform private.require_text(p_request_id, 'provider_id', 'refund request id');
  perform private.require_text(p_provider_refund_id, 'provider_id', 'provider refund id');
  perform private.require_within(p_refunded_payment_id, 'provider_id', 'p_refunded_payment_id');
  -- The payment before its refund, as Stripe's charge.refunded takes them too
  -- (api_private.payment_lock, then this for each refund it lists): locking the refund first
  -- deadlocked the admin's request recording Stripe's answer (this, then refund_record) with
  -- that webhook recording the same refund.
  v_refund := private.refund_for_update(
    (select r.id from public.refunds r where r.provider = p_provider and r.refund_request_id = p_request_id));
  if v_refund.id is null then
    return;
  end if;
  select p.provider_payment_id into v_refunded_payment from public.payments p where p.id = v_refund.payment_id;
  if v_refund.provider_refund_id not in (p_request_id, p_provider_refund_id)
     or (v_refunded_payment, v_refund.amount) is distinct from (p_refunded_payment_id, p_amount) then
    perform private.fail('WL005', pg_catalog.format(
      '%s refund %s is not the refund of request %s', p_provider, p_provider_refund_id, p_request_id));
  end if;
  if v_refund.provider_refund_id = p_request_id then
    update public.refunds r set provider_refund_id = p_provider_refund_id where r.id = v_refund.id
    returning * into v_refund;
  end if;
  return next v_refund;
end;
$$;
grant execute on function api_private.refund_identify(text, text, text, text, bigint) to authenticated, service_role;

-- The pending refund p_refund of a Revolut or Stripe payment, still under its request id (its
-- provider has never named a refund of it), for any admin to ask the provider again with the
-- request id, as the retry of the admin who asked for it does (POST /admin/refunds/:id/retry):
-- past the polls' first day only a retry asks again, and only the admin who made the request
-- holds its Idempotency-Key. Returned with the id of the payment at the provider. WL007 for an
-- unknown refund; WL008 for one that is not pending, or whose provider has named its refund (the
-- webhooks and the polls settle it), or a MoMo one (momo-poll sends its transfer again and ends
-- it); 42501 for an admin's own payment, as refund_prepare. Admins only.
create function api_private.refund_retry_begin(p_refund uuid)
returns table (refund jsonb, provider_payment_id text)
language plpgsql
security definer set search_path = ''
as $$
declare
  v_refund public.refunds;
  v_payment public.payments;
begin
  perform private.require_caller(array['admin'], 'refund payments');
  select r.* into v_refund from public.refunds r where r.id = p_refund;
  perform private.require_found(found, pg_catalog.format('refund %s', p_refund));
  select p.* into v_payment from public.payments p where p.id = v_refund.payment_id;
  perform private.refund_require_not_own(v_payment);
  if v_refund.status <> 'pending' or v_refund.refund_request_id is null
     or v_refund.provider_refund_id is distinct from v_refund.refund_request_id then
    perform private.fail('WL008', pg_catalog.format(
      'refund %s is not waiting for its provider to receive it: only a pending Revolut or Stripe refund its provider never named is asked again',
      p_refund));
  end if;
  return query select pg_catalog.to_jsonb(v_refund), v_payment.provider_payment_id;
end;
$$;
grant execute on function api_private.refund_retry_begin(uuid) to authenticated;

-- An admin records that they paid a former customer p_amount, outside the providers (a bank
-- transfer, a mobile-money send, cash, another way), what was still owed to them on the refund
-- p_refund: a refund that failed after the account it was taken from closed, whose money went to
-- unclaimed:<CUR> (refund_record_failure, decision 0027). One adjustment moves what is still owed
-- on it from unclaimed:<CUR> to clearing:manual:<CUR>, the mirror of money that left mfuko by hand
-- as clearing:<provider>:<CUR> mirrors a provider's; the refund records the amount, the
-- transaction, the admin, p_method, p_reference (the payout's own, e.g. the bank's) and p_reason,
-- and the audit trail records the change with the request's context. Still owed is the refund's
-- amount, or less when a later refund of the payment by its provider already paid part of the debt
-- (private.payment_unclaimed), so no payout exceeds what is owed. p_amount, what the admin says
-- they paid, must be exactly that (WL008 naming what is owed otherwise): a provider refund recorded
-- between the admin's look-up and the payout would else book less than the person got, and nothing
-- would say so. Locks the payment, as every refund and refund failure of it does, then the refund.
-- Once paid out it is WL008, as a settled cash-out is for cashout_resolve (the admin API's
-- Idempotency-Key replays the answer). WL008 also for a refund that owes nothing to a former owner,
-- or nothing any more; 22023 for a missing or oversized reason or reference, or another method;
-- WL006 for an amount that is not one; WL007 for an unknown refund; 42501 for any caller but an
-- admin, and for an admin who was the account's owner.
create function api_private.refund_paid_out(p_refund uuid, p_amount bigint, p_method text, p_reference text, p_reason text)
returns public.refunds
language plpgsql
security definer set search_path = ''
as $$
declare
  v_what text := pg_catalog.format('refund %s', p_refund);
  v_refund public.refunds;
  v_reversal public.wallet_transactions;
  v_owner uuid;
  v_owed bigint;
  v_payout public.wallet_transactions;
begin
  perform private.require_caller(array['admin'], 'record payouts of money owed');
  perform private.require_reason(p_reason, 'record a payout');
  perform private.require_choice(p_method, array['bank_transfer', 'mobile_money', 'cash', 'other'], 'method');
  perform private.require_text(p_reference, 'identifier', 'p_reference');
  perform private.require_amount(p_amount);
  v_refund := private.refund_for_update(p_refund);
  perform private.require_found(v_refund.id is not null, v_what);
  select x.* into v_reversal from public.wallet_transactions x where x.id = v_refund.wallet_transaction_id;
  select a.owner_id into v_owner from public.wallet_accounts a where a.id = v_reversal.from_account_id;
  perform private.require_not_own(array[v_owner], 'pay out a refund');
  if not v_refund.owed_to_closed_account then
    perform private.fail('WL008', pg_catalog.format('%s is %s and owes nothing to the former owner of a closed account',
                                                    v_what, v_refund.status));
  end if;
  if v_refund.paid_out_transaction_id is not null then
    perform private.fail('WL008', pg_catalog.format('%s was already paid out: %s %s by %s on %s (%s)', v_what,
                                                    v_refund.paid_out_amount, v_refund.currency, v_refund.payout_method,
                                                    v_refund.paid_out_at, v_refund.payout_reference));
  end if;
  v_owed := least(v_refund.amount, private.payment_unclaimed(v_reversal.reverses_id));
  if v_owed <= 0 then
    perform private.fail('WL008', pg_catalog.format(
      '%s owes nothing any more: a later refund of payment %s paid its former owner', v_what, v_refund.payment_id));
  end if;
  if p_amount <> v_owed then
    perform private.fail('WL008', pg_catalog.format('%s owes %s %s to its former owner, not %s: record what is owed',
                                                    v_what, v_owed, v_refund.currency, p_amount));
  end if;

  v_payout := private.wallet_post_one(auth.uid(), 'adjustment', false,
                                      private.wallet_system_account('unclaimed', v_refund.currency),
                                      private.wallet_system_account('clearing:manual', v_refund.currency),
                                      v_owed, v_refund.currency, pg_catalog.format('refund-paid-out:%s', v_refund.id), p_reason,
                                      pg_catalog.jsonb_build_object('refund_id', v_refund.id, 'method', p_method,
                                                                    'reference', p_reference,
                                                                    'closed_account', v_reversal.from_account_id));
  update public.refunds r
     set paid_out_amount = v_owed, paid_out_transaction_id = v_payout.id, paid_out_by = auth.uid(), paid_out_at = now(),
         payout_method = p_method, payout_reference = p_reference, payout_reason = p_reason
   where r.id = v_refund.id
  returning * into v_refund;
  return v_refund;
end;
$$;
grant execute on function api_private.refund_paid_out(uuid, bigint, text, text, text) to authenticated;
