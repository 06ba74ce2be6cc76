-- stripe-poll: Stripe top-ups and refunds whose webhooks were lost, and PaymentIntents that
-- must be canceled at Stripe before their intent expires. Stripe retries a webhook for three
-- days, but a PaymentIntent stays payable until it is canceled at Stripe (a customer finishing
-- 3-D Secure late, a delayed payment method, a client keeping its client_secret, a retry after a
-- failed attempt): an intent canceled here by age alone would leave its PaymentIntent open, and
-- a payment of it would go to review (intent_canceled) instead of the wallet. The jobs
-- function's stripe-poll reads those PaymentIntents back, and past the TTL cancels an unpaid one
-- at Stripe before its intent; api_private.expire_intents (20261206100000_scheduled_jobs.sql)
-- leaves these intents to it. It also reads back the refunds Stripe answered pending, which
-- only Stripe's webhooks would otherwise complete or close, and the disputes whose hold only
-- charge.dispute.closed would otherwise release.

-- What stripe-poll asks Stripe about, one view a kind. Top-up intents still open at Stripe,
-- with their PaymentIntent, since their last change: waiting for the payer (requires_payment,
-- processing), or failed (payment_intent.payment_failed: Stripe keeps the PaymentIntent payable,
-- the customer may retry with another card, and with the webhooks lost only this job would see
-- that payment; past the TTL the job cancels the PaymentIntent at Stripe, then the intent), and
-- unanswered (private.intents_unanswered). An intent without a PaymentIntent (Stripe did not answer its creation, nobody retried) has
-- nothing payable at Stripe and expires by age. And Stripe refunds still pending (an admin's
-- refund Stripe answered pending), since they were made: with their webhooks lost they would
-- stay pending, reserving their part of the credit, for good. And the holds of Stripe disputes
-- (charge.dispute.created, keyed dispute:stripe:<dispute id>) still pending, since they were
-- placed: only charge.dispute.closed releases one, and with its deliveries lost the user's money
-- would stay frozen for good. Simple views, so that poll_take (20261208040000_revolut_poll.sql)
-- locks the rows it takes through them.
create view private.stripe_poll_intents as
  select i.id, i.provider_ref as reference_id, i.updated_at as waiting_since
    from private.intents_unanswered i where i.provider = 'stripe' and i.status in ('requires_payment', 'processing', 'failed');
create view private.stripe_poll_refunds as
  select r.id, r.provider_refund_id as reference_id, r.created_at as waiting_since
    from public.refunds r
   where r.provider = 'stripe' and r.status = 'pending' and r.provider_refund_id is not null;
create view private.stripe_poll_disputes as
  select t.id, pg_catalog.substr(t.idempotency_key, pg_catalog.length('dispute:stripe:') + 1) as reference_id,
         t.created_at as waiting_since
    from public.wallet_transactions t
   where t.kind = 'hold' and t.status = 'pending' and t.initiated_by is null and t.idempotency_key like 'dispute:stripe:%';
revoke all on table private.stripe_poll_intents, private.stripe_poll_refunds, private.stripe_poll_disputes
  from public, anon, authenticated, service_role;

-- stripe-poll's scan of the dispute holds still pending, oldest first: partial, so that no
-- other movement of money maintains it.
create index wallet_transactions_dispute_holds_idx on public.wallet_transactions (created_at)
  where kind = 'hold' and status = 'pending' and initiated_by is null and idempotency_key like 'dispute:stripe:%';

-- Stripe canceled the PaymentIntent of intent p_intent (payment_intent.canceled, or stripe-poll
-- reading it back canceled without having canceled it itself): an operator in Stripe's
-- dashboard, or Stripe (an expired Checkout Session, an invoice voided). A canceled PaymentIntent
-- can never be paid (Stripe refuses to confirm it), so the intent is canceled at once, whatever
-- its age, with p_reason (naming Stripe's cancellation_reason), when it is still open to it
-- (private.intent_open: requires_payment, processing, or failed with its PaymentIntent) and no
-- payment is recorded for it: 'processed'. Otherwise 'ignored', and nothing changes: an intent
-- ended already (canceled by stripe-poll's own cancel past the TTL, succeeded), or one with a
-- payment (a needs_review payment waits for an admin). The intent's row lock serialises it with
-- payment_record_success. Service only; WL007 for an unknown intent, 22023 for an intent of
-- another provider or a reason that is empty or over its bound, writing nothing.
create function api_private.stripe_intent_canceled(p_intent uuid, p_reason text) returns text
language plpgsql
security definer set search_path = ''
as $$
declare
  v_intent public.payment_intents;
begin
  perform private.require_caller(array['service'], 'record a canceled Stripe PaymentIntent');
  perform private.require_text(p_reason, 'reason', 'p_reason');
  v_intent := private.payment_intent_lock(p_intent);
  if v_intent.provider <> 'stripe' then
    perform private.fail('22023', pg_catalog.format('payment intent %s is a %s top-up, not a Stripe one', p_intent, v_intent.provider));
  end if;
  if not private.intent_open(v_intent) or exists (select 1 from public.payments p where p.intent_id = p_intent) then
    return 'ignored';
  end if;
  update public.payment_intents i set status = 'canceled', failure_reason = p_reason where i.id = p_intent;
  return 'processed';
end;
$$;
grant execute on function api_private.stripe_intent_canceled(uuid, text) to service_role;
