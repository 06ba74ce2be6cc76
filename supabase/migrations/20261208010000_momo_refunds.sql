-- Refunds of MoMo payments (docs/PAYMENTS.md, "Admin refunds through the providers"). MoMo has
-- no refund call: the money goes back as a Disbursement transfer to the payer's number, with
-- an X-Reference-Id chosen by us. The admin API records the refund as pending under that
-- reference (momo_refund_transfer) in a transaction that commits before MoMo's answer decides
-- anything, so a retried request, the callback and momo-poll all find the same refund and
-- the same reference, and MoMo's 409 for a reference it has keeps the payer from being paid
-- twice. Only a status MoMo's API confirms settles it (momo_refund_settle): SUCCESSFUL
-- records the refund (refund_record: the deposit reversed, forced if spent), FAILED closes it
-- with no ledger effect (refund_record_failure).

-- The pending refund of p_amount of the MoMo payment p_payment under the transfer reference
-- p_reference, recorded once (the same reference again returns it: WL005 with another payment
-- or amount), and the payer's number to send it to. A new refund is checked like every admin
-- refund (refund_prepare: WL007 unknown payment, WL006 beyond what remains counting the
-- pending refunds, WL004 or WL008 when the ledger could not record it). WL008 for a payment
-- that is not MoMo's or whose payer MoMo never named.
create function api_private.momo_refund_transfer(p_payment uuid, p_amount bigint, p_reference uuid, p_reason text)
returns table (refund jsonb, payee_msisdn text)
language plpgsql
security definer set search_path = ''
as $$
declare
  v_lookup record;
  v_payment public.payments;
  v_refund public.refunds;
  v_msisdn text;
begin
  perform private.require_caller(array['service', 'admin'], 'refund payments');
  perform private.require_within(p_reason, 'reason', 'p_reason');
  if p_reference is null then
    perform private.fail('22023', 'the transfer reference is required');
  end if;
  v_lookup := private.refund_lookup(p_payment, p_amount, p_reference::text);
  v_payment := v_lookup.payment;
  v_refund := v_lookup.refund;
  if v_payment.provider <> 'momo' then
    perform private.fail('WL008', pg_catalog.format('payment %s is a %s payment, not a MoMo one', p_payment, v_payment.provider));
  end if;
  select m.payer_msisdn into v_msisdn from public.momo_transactions m where m.reference_id::text = v_payment.provider_payment_id;
  if v_msisdn is null then
    perform private.fail('WL008', pg_catalog.format('MoMo never named the payer of payment %s: there is no number to refund', p_payment));
  end if;
  if v_refund.id is null then
    perform api_private.refund_prepare(p_payment, p_amount);
    v_refund := api_private.refund_record_pending(p_payment, p_amount, p_reference::text, p_reason);
  end if;
  return query select pg_catalog.to_jsonb(v_refund), v_msisdn;
end;
$$;
grant execute on function api_private.momo_refund_transfer(uuid, bigint, uuid, text) to authenticated, service_role;

-- Applies MoMo's confirmed status of the refund transfer p_reference: SUCCESSFUL records the
-- refund (the ledger moves once), FAILED closes it as failed (nothing had moved), PENDING
-- changes nothing. Idempotent: the status a refund already has returns it unchanged; the other
-- final status is WL008 (a refund is never both paid and failed). 22023 for a status MoMo does
-- not have, WL007 for an unknown reference. Service only.
create function public.momo_refund_settle(p_reference uuid, p_status text, p_reason text default null)
returns public.refunds
language plpgsql
security definer set search_path = ''
as $$
declare
  v_refund public.refunds;
  v_to text;
begin
  perform private.require_caller(array['service'], 'settle a MoMo refund');
  perform private.require_within(p_reason, 'reason', 'p_reason');
  v_to := private.momo_transfer_target(p_status, 'succeeded');
  -- Locked, so a callback and momo-poll confirming the same transfer at once settle it once.
  select r.* into v_refund
    from public.refunds r
   where r.provider = 'momo' and r.provider_refund_id = p_reference::text
     for update;
  perform private.require_found(found, pg_catalog.format('MoMo refund %s', p_reference));
  if v_refund.status = v_to or v_to = 'pending' then
    return v_refund;
  end if;
  if v_refund.status <> 'pending' then
    perform private.fail('WL008', pg_catalog.format('MoMo refund %s is already %s', p_reference, v_refund.status));
  end if;
  if v_to = 'succeeded' then
    return api_private.refund_record(v_refund.payment_id, v_refund.amount, v_refund.provider_refund_id, v_refund.reason);
  end if;
  return public.refund_record_failure(v_refund.payment_id, v_refund.provider_refund_id, v_refund.amount, 'failed',
                                      coalesce(p_reason, 'FAILED'));
end;
$$;
grant execute on function public.momo_refund_settle(uuid, text, text) to service_role;

-- momo-poll's scan of MoMo refunds still waiting for MoMo's answer, oldest first.
create index refunds_momo_pending_idx on public.refunds (created_at) where provider = 'momo' and status = 'pending';
