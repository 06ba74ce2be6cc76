-- Admin API, part 3: operations on payments and webhooks (docs/ADMIN_API.md): the event an
-- admin replays, and the reconciliation of provider records against ledger credits.

-- ---------------------------------------------------------------------------------------
-- Webhook replay
-- ---------------------------------------------------------------------------------------

-- The failed or dead event an admin replays, locked until the replay commits so that a
-- provider retry of the same event (webhook_event_begin) waits and then sees its outcome.
-- The admin API then applies it with the provider's own effect code and records the
-- outcome with webhook_event_finish, in the same transaction.
create function api_private.webhook_event_for_replay(p_id uuid)
returns public.webhook_events
language plpgsql
security definer set search_path = ''
as $$
declare
  v_event public.webhook_events;
begin
  perform private.require_caller(array['service', 'admin'], 'replay a webhook event');
  select e.* into v_event from public.webhook_events e where e.id = p_id for update;
  perform private.require_found(found, format('webhook event %s', p_id));
  if v_event.status not in ('failed', 'dead') then
    perform private.fail('WL008',
      format('webhook event %s is %s; only failed or dead events are replayed', p_id, v_event.status));
  end if;
  return v_event;
end;
$$;
grant execute on function api_private.webhook_event_for_replay(uuid) to authenticated;

-- ---------------------------------------------------------------------------------------
-- Reconciliation
-- ---------------------------------------------------------------------------------------

-- Every disagreement between what providers confirmed and what the ledger credited, for
-- one provider or all, among records created in [p_from, p_to):
--   missing_credit          a confirmed payment without a posted deposit (including payments
--                           kept as needs_review: money we hold that no wallet shows), or a
--                           provider mirror row that succeeded (MoMo SUCCESSFUL, Revolut
--                           order completed) with no payment recorded at all;
--   credit_without_payment  a deposit from a provider's clearing account that no payment
--                           points at;
--   amount_differs          a payment whose deposit, or whose provider mirror row, has
--                           another amount or currency;
--   rejected, credited      not mismatches: a needs_review payment an admin resolved
--                           (api_private.payment_resolve), with the admin's reason: rejected
--                           (nothing credited), or credited (its deposit is matched like any
--                           credited payment's, and the row says that a person decided it);
--   reversal_differs        a payment whose deposit the ledger reversed by another amount
--                           (net of reversals undone by failed refunds) than the payment's
--                           refunded amount: money moved back that the provider never
--                           returned (an admin reversal), or a refund the ledger never took;
--   refund_pending          a refund still pending at its provider two days after it was
--                           recorded: no job will end it (Revolut or Stripe lists no refund of
--                           its request: the request never reached the provider; Stripe does not
--                           know it; or the provider still answers pending), its amount stays
--                           reserved and the payer has not had the money back;
--   cashout_pending         a cash-out still pending two days after it was made (MoMo still
--                           answers PENDING past momo-poll's accept window): its hold keeps the
--                           user's money;
--   refund_borne            not a mismatch: a refund the platform bore (refunds.borne_by_platform),
--                           a provider's refund of a payment whose account was closed since,
--                           reversed from the currency's losses account; listed with the closed
--                           account so that an admin can see the loss and pursue it;
--   refund_failed_owed      not a mismatch: a refund that failed after its reversal took the
--                           money from an account closed since (refunds.owed_to_closed_account):
--                           the provider has the money back, the account's former owner never
--                           got it, and it is owed to them on the currency's unclaimed account;
--                           listed with the closed account, its owner and the credit-back, so
--                           that an admin pays the person out another way, until a later refund
--                           of the payment by its provider pays it (private.payment_unclaimed),
--                           or an admin records that they paid it;
--   refund_owed_paid_out    not a mismatch: such a refund an admin paid out another way
--                           (api_private.refund_paid_out), with the amount, how, the payout's
--                           reference, who and why: the debt left unclaimed:<CUR> for
--                           clearing:manual:<CUR>.
--   revolut_dispute_lost    a DISPUTE_LOST Revolut delivered (stored ignored: Revolut documents
--                           no body for it) that no recorded Revolut chargeback or refund names:
--                           Revolut took money back that the ledger still credits until an
--                           admin records the chargeback (POST /admin/payments/:id/chargeback,
--                           decision 0028). A refund names it when its provider id, the dispute's,
--                           appears in the event's body; the event's row and Revolut's id of it
--                           are listed, no payment or amount (the body names none documented).
-- refund_pending and cashout_pending read tables of later migrations (refund_request_id,
-- cashouts), which PL/pgSQL resolves when it runs. Admin and support only.
create function api_private.reconciliation(
  p_provider text default null,
  p_from timestamptz default null,
  p_to timestamptz default null
)
returns table (
  kind text,
  provider text,
  payment_id uuid,
  provider_payment_id text,
  wallet_transaction_id uuid,
  account_id uuid,
  currency text,
  provider_amount bigint,
  ledger_amount bigint,
  occurred_at timestamptz,
  detail text
)
language plpgsql
stable
security definer set search_path = ''
as $$
begin
  perform private.require_caller(array['service', 'admin', 'support'], 'reconcile payments');
  if p_provider is not null then
    perform private.require_provider(p_provider);
  end if;
  if p_from is not null and p_to is not null and p_from >= p_to then
    perform private.fail('22023', 'from must be before to');
  end if;

  return query
  with payments as (
    select p.* from public.payments p
     where (p_provider is null or p.provider = p_provider)
       and (p_from is null or p.created_at >= p_from)
       and (p_to is null or p.created_at < p_to)
  ),
  deposits as (
    select t.*, split_part(c.code, ':', 2) as provider
      from public.wallet_transactions t
      join public.wallet_accounts c on c.id = t.from_account_id
     where t.kind = 'deposit' and t.status = 'posted'
       and c.kind = 'system' and c.code like 'clearing:%'
       and (p_provider is null or c.code like 'clearing:' || p_provider || ':%')
       and (p_from is null or t.created_at >= p_from)
       and (p_to is null or t.created_at < p_to)
  )
  -- A payment with no posted deposit behind it.
  select 'missing_credit'::text, p.provider, p.id, p.provider_payment_id, p.wallet_transaction_id,
         i.account_id, p.currency, p.amount, null::bigint, p.created_at,
         case when p.status = 'needs_review' then 'payment needs review: ' || p.review_reason
              else 'the payment''s credit is not a posted deposit' end
    from payments p
    left join public.payment_intents i on i.id = p.intent_id
    left join public.wallet_transactions t on t.id = p.wallet_transaction_id
   where p.status = 'needs_review'
      or (p.status <> 'rejected' and (t.kind is distinct from 'deposit' or t.status is distinct from 'posted'))
  union all
  -- A payment an admin resolved: not a mismatch, listed with the admin's reason. Rejected,
  -- nothing is owed to a wallet and the money held for it is to be returned or accounted for;
  -- credited, the wallet has it through the deposit the resolution posted.
  select p.resolution, p.provider, p.id, p.provider_payment_id, p.wallet_transaction_id, i.account_id, p.currency, p.amount,
         null, p.created_at, p.resolution || ' by an admin: ' || p.resolution_reason
    from payments p
    left join public.payment_intents i on i.id = p.intent_id
   where p.resolution is not null
  union all
  -- A MoMo request-to-pay that succeeded but was never recorded as a payment.
  select 'missing_credit', 'momo', null, m.reference_id::text, null, i.account_id, m.currency, m.amount, null,
         m.created_at, 'MoMo transaction SUCCESSFUL without a payment'
    from public.momo_transactions m
    left join public.payment_intents i on i.id = m.intent_id
   where (p_provider is null or p_provider = 'momo')
     and m.status = 'SUCCESSFUL'
     and (p_from is null or m.created_at >= p_from)
     and (p_to is null or m.created_at < p_to)
     and not exists (
       select 1 from public.payments p
        where p.provider = 'momo'
          and (p.provider_payment_id in (m.reference_id::text, m.financial_transaction_id) or p.intent_id = m.intent_id))
  union all
  -- A completed Revolut order that was never recorded as a payment.
  select 'missing_credit', 'revolut', null, r.revolut_id, null, i.account_id, r.currency, r.amount, null,
         r.created_at, 'Revolut order completed without a payment'
    from public.revolut_transactions r
    left join public.payment_intents i on i.id = r.intent_id
   where (p_provider is null or p_provider = 'revolut')
     and r.kind = 'order' and r.state = 'completed'
     and (p_from is null or r.created_at >= p_from)
     and (p_to is null or r.created_at < p_to)
     and not exists (
       select 1 from public.payments p
        where p.provider = 'revolut' and (p.provider_payment_id = r.revolut_id or p.intent_id = r.intent_id))
  union all
  -- Money credited from a provider's clearing account that no payment accounts for.
  select 'credit_without_payment', d.provider, null, null, d.id, d.to_account_id, d.currency, null, d.amount,
         d.created_at, 'deposit ' || d.idempotency_key || ' has no payment'
    from deposits d
   where not exists (select 1 from public.payments p where p.wallet_transaction_id = d.id)
  union all
  -- A payment credited with another amount or currency than the provider confirmed.
  select 'amount_differs', p.provider, p.id, p.provider_payment_id, t.id, t.to_account_id, p.currency, p.amount,
         t.amount, p.created_at,
         format('provider %s %s, ledger %s %s', p.amount, p.currency, t.amount, t.currency)
    from payments p
    join public.wallet_transactions t on t.id = p.wallet_transaction_id
   where t.kind = 'deposit' and t.status = 'posted' and (t.amount, t.currency) is distinct from (p.amount, p.currency)
  union all
  -- A payment whose provider mirror row reports another amount or currency.
  select 'amount_differs', p.provider, p.id, p.provider_payment_id, p.wallet_transaction_id, m.account_id,
         p.currency, m.amount, p.amount, p.created_at,
         format('%s reports %s %s, payment %s %s', m.source, m.amount, m.currency, p.amount, p.currency)
    from payments p
    join lateral (
      select 'MoMo' as source, mm.amount, mm.currency, i.account_id
        from public.momo_transactions mm
        left join public.payment_intents i on i.id = mm.intent_id
       where p.provider = 'momo' and mm.status = 'SUCCESSFUL'
         and (p.provider_payment_id in (mm.reference_id::text, mm.financial_transaction_id) or p.intent_id = mm.intent_id)
      union all
      select 'Revolut', rr.amount, rr.currency, i.account_id
        from public.revolut_transactions rr
        left join public.payment_intents i on i.id = rr.intent_id
       where p.provider = 'revolut' and rr.kind = 'order' and rr.state = 'completed'
         and (p.provider_payment_id = rr.revolut_id or p.intent_id = rr.intent_id)
    ) m on (m.amount, m.currency) is distinct from (p.amount, p.currency)
  union all
  -- A payment whose deposit was reversed by another amount than its refunds add up to.
  select 'reversal_differs', p.provider, p.id, p.provider_payment_id, t.id, t.to_account_id, p.currency,
         p.amount_refunded, r.reversed, p.created_at,
         format('ledger reversed %s %s of the deposit, payment refunded %s', r.reversed, p.currency, p.amount_refunded)
    from payments p
    join public.wallet_transactions t on t.id = p.wallet_transaction_id and t.kind = 'deposit'
   cross join lateral (
     select coalesce(sum(x.amount - coalesce(u.undone, 0)), 0)::bigint as reversed
       from public.wallet_transactions x
       left join lateral (select sum(y.amount) as undone from public.wallet_transactions y where y.reverses_id = x.id) u on true
      where x.reverses_id = t.id
   ) r
   where r.reversed <> p.amount_refunded
  union all
  -- A refund no job will end: two days is past every poll's window (momo-poll's accept window is
  -- a day). One still under its request id never got its provider's refund (a Revolut refund
  -- order, a Stripe refund), though revolut-poll or stripe-poll sent the request again through
  -- its first day: only an admin asks the provider again now (POST /admin/refunds/:id/retry,
  -- or the retry of the request; an automatic close could close a refund the provider holds
  -- under a search that missed it; docs/PAYMENTS.md, "Revolut refunds", "Stripe refunds").
  select 'refund_pending', f.provider, p.id, p.provider_payment_id, null::uuid, t.to_account_id, f.currency,
         f.amount, null::bigint, f.created_at,
         case when f.refund_request_id = f.provider_refund_id
              then format('refund %s of %s %s pending since %s: %s lists no refund of request %s; '
                          'POST /admin/refunds/%s/retry asks %s again',
                          f.id, f.amount, f.currency, f.created_at, initcap(f.provider), f.refund_request_id,
                          f.id, initcap(f.provider))
              else format('refund %s of %s %s pending since %s at %s under %s',
                          f.id, f.amount, f.currency, f.created_at, f.provider, f.provider_refund_id) end
    from public.refunds f
    join public.payments p on p.id = f.payment_id
    left join public.wallet_transactions t on t.id = p.wallet_transaction_id
   where f.status = 'pending' and f.created_at < now() - interval '2 days'
     and (p_provider is null or f.provider = p_provider)
     and (p_from is null or f.created_at >= p_from)
     and (p_to is null or f.created_at < p_to)
  union all
  select 'cashout_pending', 'momo', null, c.reference_id::text, c.hold_id, c.account_id, c.currency, c.amount, c.amount,
         c.created_at, format('cash-out %s of %s %s to +%s pending since %s: its hold keeps the money',
                              c.id, c.amount, c.currency, c.msisdn, c.created_at)
    from public.cashouts c
   where c.status = 'pending' and c.created_at < now() - interval '2 days'
     and (p_provider is null or p_provider = 'momo')
     and (p_from is null or c.created_at >= p_from)
     and (p_to is null or c.created_at < p_to)
  union all
  -- A refund of a closed account's payment, taken from the losses account (decision 0026).
  select 'refund_borne', f.provider, p.id, p.provider_payment_id, f.wallet_transaction_id, t.to_account_id, f.currency,
         f.amount, x.amount, f.created_at,
         format('refund %s of %s %s (%s %s) borne by the platform: wallet account %s was closed',
                f.id, f.amount, f.currency, f.provider, f.provider_refund_id, t.to_account_id)
    from public.refunds f
    join public.payments p on p.id = f.payment_id
    join public.wallet_transactions t on t.id = p.wallet_transaction_id
    join public.wallet_transactions x on x.id = f.wallet_transaction_id
   where f.borne_by_platform and f.status = 'succeeded'
     and (p_provider is null or f.provider = p_provider)
     and (p_from is null or f.created_at >= p_from)
     and (p_to is null or f.created_at < p_to)
  union all
  -- A failed refund of a closed account, owed to its former owner on unclaimed:<CUR> (decision 0027).
  select 'refund_failed_owed', f.provider, p.id, p.provider_payment_id, y.id, x.from_account_id, f.currency,
         f.amount, y.amount, f.created_at,
         format('refund %s of %s %s (%s %s) %s after it was taken from wallet account %s, closed since: %s %s owed to '
                'its former owner, user %s, held on unclaimed:%s; pay it to them another way',
                f.id, f.amount, f.currency, f.provider, f.provider_refund_id, f.status, x.from_account_id, y.amount,
                y.currency, a.owner_id, f.currency)
    from public.refunds f
    join public.payments p on p.id = f.payment_id
    join public.wallet_transactions x on x.id = f.wallet_transaction_id
    join public.wallet_transactions y on y.reverses_id = x.id
    join public.wallet_accounts a on a.id = x.from_account_id
   where f.owed_to_closed_account and f.paid_out_transaction_id is null
     -- Until a later refund of the payment paid the person what was owed (refund_complete).
     and private.payment_unclaimed(x.reverses_id) > 0
     and (p_provider is null or f.provider = p_provider)
     and (p_from is null or f.created_at >= p_from)
     and (p_to is null or f.created_at < p_to)
  union all
  -- Such a refund an admin paid out another way (api_private.refund_paid_out).
  select 'refund_owed_paid_out', f.provider, p.id, p.provider_payment_id, f.paid_out_transaction_id, x.from_account_id,
         f.currency, f.amount, f.paid_out_amount, f.created_at,
         format('refund %s of %s %s (%s %s) %s after it was taken from wallet account %s, closed since: %s %s owed to '
                'its former owner, user %s, paid out by admin %s on %s by %s (reference %s): %s',
                f.id, f.amount, f.currency, f.provider, f.provider_refund_id, f.status, x.from_account_id,
                f.paid_out_amount, f.currency, a.owner_id, f.paid_out_by, f.paid_out_at, f.payout_method,
                f.payout_reference, f.payout_reason)
    from public.refunds f
    join public.payments p on p.id = f.payment_id
    join public.wallet_transactions x on x.id = f.wallet_transaction_id
    join public.wallet_accounts a on a.id = x.from_account_id
   where f.paid_out_transaction_id is not null
     and (p_provider is null or f.provider = p_provider)
     and (p_from is null or f.created_at >= p_from)
     and (p_to is null or f.created_at < p_to)
  union all
  -- A lost Revolut dispute that no chargeback names.
  select 'revolut_dispute_lost', e.provider, null::uuid, null::text, null::uuid, null::uuid, null::text, null::bigint,
         null::bigint, e.received_at,
         format('Revolut reported a dispute lost (webhook event %s, Revolut''s %s) and no chargeback recorded names it: '
                'the ledger still credits the money Revolut took back. Find the dispute in Revolut and record it with '
                'POST /admin/payments/:id/chargeback', e.id, e.event_id)
    from public.webhook_events e
   where e.provider = 'revolut' and e.type = 'DISPUTE_LOST'
     and not exists (select from public.refunds f
                      where f.provider = 'revolut' and pg_catalog.strpos(e.payload::text, f.provider_refund_id) > 0)
     and (p_provider is null or p_provider = 'revolut')
     and (p_from is null or e.received_at >= p_from)
     and (p_to is null or e.received_at < p_to)
   order by 10, 1, 3;
end;
$$;
grant execute on function api_private.reconciliation(text, timestamptz, timestamptz) to authenticated;

-- Whether a row of api_private.reconciliation of kind p_kind is a mismatch: every kind but rejected
-- and credited, an admin's decisions, refund_borne, a loss the ledger recorded, refund_failed_owed,
-- a debt to a former customer the ledger recorded, and refund_owed_paid_out, such a debt an admin
-- paid (all in the reconcile job's resolutions, not its alerted findings). The one statement of it,
-- so that the admin API's mismatches (GET /admin/reconciliation) and the findings the reconcile job
-- counts and alerts on agree.
create function api_private.reconciliation_mismatch(p_kind text) returns boolean
language plpgsql
immutable
security definer set search_path = ''
as $$
begin
  return p_kind not in ('rejected', 'credited', 'refund_borne', 'refund_failed_owed', 'refund_owed_paid_out');
end;
$$;
grant execute on function api_private.reconciliation_mismatch(text) to authenticated;

-- The reconcile job's daily reports (private.reconciliation_reports, created with the
-- scheduled jobs' migration 20261206100000 and resolved when this runs), newest first: the
-- report of p_date alone when it is given, else those dated before p_before (all when null),
-- at most p_limit (1 to 201: a page of up to 200 and the one more that tells the admin API
-- whether another page follows). Admin and support, who act on them (docs/ADMIN_API.md); the
-- table itself is granted to no API role.
create function api_private.reconciliation_reports(p_date date, p_before date, p_limit integer)
returns setof jsonb
language plpgsql
stable
security definer set search_path = ''
as $$
begin
  perform private.require_caller(array['admin', 'support'], 'read the reconciliation reports');
  perform private.require_between(p_limit, 1, 201, 'limit');
  return query
    select pg_catalog.to_jsonb(r)
      from private.reconciliation_reports r
     where (p_date is null or r.report_date = p_date)
       and (p_before is null or r.report_date < p_before)
     order by r.report_date desc
     limit p_limit;
end;
$$;
grant execute on function api_private.reconciliation_reports(date, date, integer) to authenticated;
