-- Refunds of MoMo payments (docs/PAYMENTS.md, "Admin refunds through the providers"). MoMo has
-- no refund call: the money goes back as a Disbursement transfer to the payer's number, with
-- an X-Reference-Id chosen by us. The admin API records the refund as pending under that
-- reference (momo_refund_transfer) in a transaction that commits before MoMo's answer decides
-- anything, so a retried request, the callback and momo-poll all find the same refund and
-- the same reference, and MoMo's 409 for a reference it has keeps the payer from being paid
-- twice. Only a status MoMo's API confirms settles it (momo_refund_settle): SUCCESSFUL
-- records the refund (refund_record: the deposit reversed, forced if spent), FAILED closes it
-- with no ledger effect (refund_record_failure).
--
-- The one exception is the momo-poll job's verdict not_accepted, for a refund's transfer MoMo
-- still does not know at the end of the accept window: the refund is closed failed, with no
-- ledger effect. A refund's transfer keeps the sending rules of every MoMo transfer (the
-- cash-outs' migration, private.momo_transfer_sendable and the functions beside it), so that the
-- verdict never follows a send that reached MoMo after the look-up it rests on: every send, the
-- admin's request, its retries and momo-poll's re-sends alike, is recorded on the refund before
-- its POST (momo_refund_send_begin, last_sent_at), momo-poll closes the sending before that
-- look-up (momo_refund_close_sending, sending_closed_at; not while a send is recent enough for
-- MoMo to be still showing it), no send is recorded once closed, and the verdict needs the
-- sending closed (momo_refund_not_accepted).

-- When a MoMo refund's transfer was last about to be sent (recorded before each POST), and when
-- momo-poll closed its sending past the accept window (no send after that). Null for the other
-- providers' refunds, which are no transfers of ours.
alter table public.refunds
  add column last_sent_at timestamptz,
  add column sending_closed_at timestamptz;

-- The admin who settled a MoMo refund no job could (momo_refund_resolve), and their note: both
-- or neither, and only on a settled refund.
alter table public.refunds
  add column resolved_by uuid references auth.users (id),
  add column resolution_reason text check (length(resolution_reason) <= 1000),
  add constraint refunds_resolved check (
    (resolved_by is null) = (resolution_reason is null) and (resolved_by is null or status <> 'pending'));

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
    perform private.refund_prepare(p_payment, p_amount);
    v_refund := api_private.refund_record_pending(p_payment, p_amount, p_reference::text, p_reason);
  end if;
  return query select pg_catalog.to_jsonb(v_refund), v_msisdn;
end;
$$;
grant execute on function api_private.momo_refund_transfer(uuid, bigint, uuid, text) to authenticated, service_role;

-- The MoMo refund of the transfer p_reference, locked to the end of the caller's transaction:
-- what every function that moves a MoMo refund on starts with, so that a callback and momo-poll
-- confirming the same transfer at once settle it once, and no send is recorded beside a close.
-- Its payment is locked first (private.refund_for_update): taking the refund first, MoMo's
-- report deadlocked with an admin's payout on the same payment, and one of them failed 40P01.
-- WL007 for an unknown reference.
create function private.momo_refund_for_update(p_reference uuid) returns public.refunds
language plpgsql
set search_path = ''
as $$
declare
  v_refund public.refunds;
begin
  v_refund := private.refund_for_update(
    (select r.id from public.refunds r where r.provider = 'momo' and r.provider_refund_id = p_reference::text));
  perform private.require_found(v_refund.id is not null, pg_catalog.format('MoMo refund %s', p_reference));
  return v_refund;
end;
$$;

-- Applies MoMo's confirmed status of the refund transfer p_reference: SUCCESSFUL for the
-- amount and currency sent records the refund (the ledger moves once; another sum is WL008,
-- private.require_momo_sum_sent), FAILED closes it as failed (nothing had moved), PENDING
-- changes nothing. Idempotent: the status a refund already has returns it unchanged; the other
-- final status is WL008 (a refund is never both paid and failed). 22023 for a status MoMo does
-- not have or a SUCCESSFUL without MoMo's amount, WL007 for an unknown reference. Service only.
create function public.momo_refund_settle(
  p_reference uuid,
  p_status text,
  p_reason text default null,
  p_amount bigint default null,
  p_currency text default null
)
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
  v_refund := private.momo_refund_for_update(p_reference);
  if not private.momo_transfer_settles(v_refund.status, v_to, pg_catalog.format('MoMo refund %s', p_reference)) then
    return v_refund;
  end if;
  if v_to = 'succeeded' then
    perform private.require_momo_sum_sent(v_refund.amount, v_refund.currency, p_amount, p_currency,
                                          pg_catalog.format('MoMo refund %s', p_reference));
    return api_private.refund_record(v_refund.payment_id, v_refund.amount, v_refund.provider_refund_id, v_refund.reason);
  end if;
  return public.refund_record_failure(v_refund.payment_id, v_refund.provider_refund_id, v_refund.amount, 'failed',
                                      coalesce(p_reason, 'FAILED'));
end;
$$;
grant execute on function public.momo_refund_settle(uuid, text, text, bigint, text) to service_role;

-- Records that the transfer of the MoMo refund p_reference is about to be sent (last_sent_at =
-- now) and returns the refund. A send is recorded, and the caller may POST the transfer,
-- exactly when the refund may still be sent (private.momo_transfer_sendable: pending, its
-- sending not closed); otherwise it is returned unchanged and nothing may be sent. WL007 for an
-- unknown reference. Service only: the admin API sends a refund's transfer as the service, and
-- momo-poll sends it again.
create function api_private.momo_refund_send_begin(p_reference uuid)
returns public.refunds
language plpgsql
security definer set search_path = ''
as $$
declare
  v_refund public.refunds;
begin
  perform private.require_caller(array['service'], 'send a MoMo refund');
  v_refund := private.momo_refund_for_update(p_reference);
  if private.momo_transfer_sendable(v_refund.status, v_refund.sending_closed_at) then
    update public.refunds r set last_sent_at = now() where r.id = v_refund.id
    returning * into v_refund;
  end if;
  return v_refund;
end;
$$;
grant execute on function api_private.momo_refund_send_begin(uuid) to service_role;

-- momo-poll, before it asks MoMo about a pending MoMo refund past its accept window: closes its
-- sending (sending_closed_at = now; no send is recorded after it), unless a send is more recent
-- than p_quiet_seconds (private.momo_transfer_closable). Returns the refund: its sending is
-- closed when sending_closed_at is set (a second close keeps the first time); a settled one is
-- returned unchanged. 22023 for a quiet period outside 1 to 3600 seconds, WL007 for an unknown
-- reference. Service only.
create function api_private.momo_refund_close_sending(p_reference uuid, p_quiet_seconds integer)
returns public.refunds
language plpgsql
security definer set search_path = ''
as $$
declare
  v_refund public.refunds;
begin
  perform private.require_caller(array['service'], 'close the sending of a MoMo refund');
  perform private.require_between(p_quiet_seconds, 1, 3600, 'quiet_seconds');
  v_refund := private.momo_refund_for_update(p_reference);
  if private.momo_transfer_closable(v_refund.status, v_refund.last_sent_at, v_refund.sending_closed_at, p_quiet_seconds) then
    update public.refunds r set sending_closed_at = now() where r.id = v_refund.id
    returning * into v_refund;
  end if;
  return v_refund;
end;
$$;
grant execute on function api_private.momo_refund_close_sending(uuid, integer) to service_role;

-- momo-poll's verdict on a MoMo refund whose transfer MoMo still does not know at the end of the
-- accept window: closed failed with reason not_accepted, with no ledger effect
-- (momo_refund_settle FAILED). Only once its sending is closed (momo_refund_close_sending,
-- before the look-up the verdict rests on): with the sending open, a send may have reached MoMo
-- after that look-up and be paid, so the verdict is WL008 and writes nothing. Idempotent like
-- momo_refund_settle: a failed refund is returned unchanged, a succeeded one is WL008. WL007 for
-- an unknown reference. Service only.
create function api_private.momo_refund_not_accepted(p_reference uuid)
returns public.refunds
language plpgsql
security definer set search_path = ''
as $$
declare
  v_refund public.refunds;
begin
  perform private.require_caller(array['service'], 'settle a MoMo refund');
  v_refund := private.momo_refund_for_update(p_reference);
  perform private.require_momo_sending_closed(v_refund.status, v_refund.sending_closed_at,
                                              pg_catalog.format('MoMo refund %s', p_reference));
  return public.momo_refund_settle(p_reference, 'FAILED', 'not_accepted');
end;
$$;
grant execute on function api_private.momo_refund_not_accepted(uuid) to service_role;

-- An admin's settlement of a MoMo refund no job can settle: MoMo confirmed its transfer for
-- another sum than the one sent (require_momo_sum_sent), or keeps answering PENDING. Having
-- asked MoMo how it ended, the admin records it: 'succeeded' records the refund as MoMo's
-- confirmed SUCCESSFUL does (the payer's credit reversed once, forced if spent: refund_complete),
-- 'failed' closes it with no ledger effect as a FAILED does. The rules of cashout_resolve: only
-- once momo-poll has closed its sending (WL008 before, and for a settled refund); p_reason, the
-- admin's note, required and bounded (22023); 22023 for another outcome; WL007 for an unknown
-- refund; WL008 for another provider's refund (asked again with refund_retry_begin); 42501 for
-- any caller but an admin, and for a payment of the admin's own. Locks the payment, then the
-- refund, as momo_refund_settle does (private.refund_for_update).
create function api_private.momo_refund_resolve(p_refund uuid, p_outcome text, p_reason text)
returns public.refunds
language plpgsql
security definer set search_path = ''
as $$
declare
  v_refund public.refunds;
  v_lookup record;
begin
  perform private.require_caller(array['admin'], 'resolve MoMo refunds');
  perform private.require_reason(p_reason, 'resolve a MoMo refund');
  perform private.require_choice(p_outcome, array['succeeded', 'failed'], 'outcome');
  v_refund := private.refund_for_update(p_refund);
  perform private.require_found(v_refund.id is not null, pg_catalog.format('refund %s', p_refund));
  if v_refund.provider <> 'momo' then
    perform private.fail('WL008', pg_catalog.format(
      'refund %s is a %s refund, not a MoMo transfer: ask %s again (POST /admin/refunds/:id/retry)',
      p_refund, v_refund.provider, v_refund.provider));
  end if;
  v_lookup := private.refund_lookup(v_refund.payment_id, v_refund.amount, v_refund.provider_refund_id);
  perform private.require_momo_resolvable(v_refund.status, v_refund.sending_closed_at,
                                          pg_catalog.format('MoMo refund %s', v_refund.provider_refund_id));
  if p_outcome = 'succeeded' then
    v_refund := private.refund_complete(auth.uid(), v_lookup.payment, v_refund, v_refund.amount, v_refund.provider_refund_id,
                                        v_refund.reason);
  end if;
  update public.refunds r
     set status = p_outcome, resolved_by = auth.uid(), resolution_reason = p_reason
   where r.id = v_refund.id
  returning * into v_refund;
  return v_refund;
end;
$$;
grant execute on function api_private.momo_refund_resolve(uuid, text, text) to authenticated;

-- momo-poll's scan of MoMo refunds still waiting for MoMo's answer, oldest first.
create index refunds_momo_pending_idx on public.refunds (created_at) where provider = 'momo' and status = 'pending';
