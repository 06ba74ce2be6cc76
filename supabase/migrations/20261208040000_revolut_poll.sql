-- revolut-poll: Revolut top-ups and refunds whose webhooks were all lost. Revolut delivers an
-- order's webhook at most three times, ten minutes apart; when none arrives, a completed order
-- would never be credited (its intent expires: the customer paid for nothing) and a refund
-- Revolut stored pending would never be recorded (the card gets the money back, the wallet
-- keeps it). The jobs function's revolut-poll reads those orders back from the Merchant API.
--
-- Also the one take of every polling job, api_private.poll_take, over the views of
-- 20261206100000_scheduled_jobs.sql (momo-poll), of this file (revolut-poll) and of
-- 20261208050000_stripe_poll.sql (stripe-poll).

-- What revolut-poll asks Revolut about, one view a kind: top-up intents still waiting for the
-- payer (requires_payment or processing, with their Revolut order and unanswered:
-- private.intents_unanswered) since their last change, and Revolut refunds still pending (their refund order) since they were made. Simple views,
-- so that poll_take locks the rows it takes through them.
create view private.revolut_poll_intents as
  select i.id, i.provider_ref as reference_id, i.updated_at as waiting_since
    from private.intents_unanswered i where i.provider = 'revolut' and i.status in ('requires_payment', 'processing');
create view private.revolut_poll_refunds as
  select r.id, r.provider_refund_id as reference_id, r.created_at as waiting_since
    from public.refunds r
   where r.provider = 'revolut' and r.status = 'pending' and r.provider_refund_id is not null;
-- And the events of a Revolut order that failed whenever Revolut delivered them, since first
-- received: Revolut stops after three deliveries, and a refund made in its dashboard is in no
-- table until its event applies (one of a top-up not credited yet, its own webhooks lost, waits
-- for revolut-poll's credit; one whose look-ups all failed waits for Revolut). The poll reads
-- the order back and applies the stored event, as a fourth delivery would. Dead ones are left
-- to the admins.
create view private.revolut_poll_events as
  select e.id, e.payload ->> 'order_id' as reference_id, e.received_at as waiting_since
    from public.webhook_events e
   where e.provider = 'revolut' and e.status = 'failed' and e.type like 'ORDER\_%' and e.payload ? 'order_id';
revoke all on table private.revolut_poll_intents, private.revolut_poll_refunds, private.revolut_poll_events
  from public, anon, authenticated, service_role;

-- The polls' scans of one provider's refunds still pending, oldest first (revolut-poll's here,
-- stripe-poll's and momo-poll's views too).
create index refunds_pending_by_provider_idx on public.refunds (provider, created_at) where status = 'pending';

-- Takes up to p_batch items of one polling job's kind (momo-poll: intents, cashouts, refunds;
-- revolut-poll: intents, refunds, events; stripe-poll: intents, refunds, disputes) waiting for more than p_pending_seconds
-- (0 to 7 days), oldest first, each leased to the job for p_lease_seconds (1 s to 1 h), or for
-- p_lease_growth (0 to 1) of the time it has waited when that is longer, never over an hour,
-- and returns them with the reference the provider knows them by, for the jobs function to ask
-- the provider about. Every
-- kind is taken by the one statement below, over the view private.<job>_<kind> (momo_poll_intents,
-- revolut_poll_refunds, ...); the pair is checked against the known ones first, so the view it
-- names is one of them. Leases are the job's: no two jobs share an item. A growing lease
-- asks less often about an item the longer it waits (a checkout the payer abandoned is asked
-- about some 30 times in its day, not every run), while a fresh one is asked about soon.
create function api_private.poll_take(
  p_job text,
  p_kind text,
  p_pending_seconds integer,
  p_lease_seconds integer,
  p_batch integer,
  p_lease_growth numeric default 0
)
returns table (item_id uuid, reference_id text)
language plpgsql
security definer set search_path = ''
as $$
begin
  perform private.require_caller(array['service'], 'run a polling job');
  if p_job is null or p_kind is null
     or (p_job, p_kind) not in (('momo-poll', 'intents'), ('momo-poll', 'cashouts'), ('momo-poll', 'refunds'),
                                ('revolut-poll', 'intents'), ('revolut-poll', 'refunds'), ('revolut-poll', 'events'),
                                ('stripe-poll', 'intents'),
                                ('stripe-poll', 'refunds'), ('stripe-poll', 'disputes')) then
    perform private.fail('22023', pg_catalog.format('%s has no kind %s: momo-poll takes intents, cashouts, refunds; '
      'revolut-poll takes intents, refunds, events; stripe-poll takes intents, refunds, disputes', coalesce(pg_catalog.left(p_job, 32), 'null'), coalesce(pg_catalog.left(p_kind, 32), 'null')));
  end if;
  perform private.require_between(p_pending_seconds, 0, 604800, 'pending_seconds');
  perform private.require_between(p_lease_seconds, 1, 3600, 'lease_seconds');
  perform private.require_between(p_batch, 1, 1000, 'batch');
  if p_lease_growth is null or p_lease_growth < 0 or p_lease_growth > 1 then
    perform private.fail('22023', 'lease_growth must be between 0 and 1');
  end if;
  return query execute pg_catalog.format($take$
    with waiting as (
      select w.id,
             least(3600, greatest($3, ($5 * extract(epoch from now() - w.waiting_since))::integer)) as lease_seconds
        from private.%1$I w
       where w.waiting_since < now() - make_interval(secs => $1)
         and not exists (select 1 from private.job_leases l
                          where l.job = $4 and l.item_id = w.id and l.leased_until > now())
       order by w.waiting_since
       limit $2
         for update skip locked
    )
    select w.id, w.reference_id
      from private.job_lease_take($4, array(select w.id from waiting w order by w.id),
                                  array(select w.lease_seconds from waiting w order by w.id)) as taken(id)
      join private.%1$I w on w.id = taken.id
    $take$, pg_catalog.replace(p_job, '-', '_') || '_' || p_kind)
    using p_pending_seconds, p_batch, p_lease_seconds, p_job, p_lease_growth;
end;
$$;
grant execute on function api_private.poll_take(text, text, integer, integer, integer, numeric) to service_role;
