-- The scheduled jobs' SQL (docs/ARCHITECTURE.md, "Scheduled jobs"): the ledger invariants as
-- one function, the leases that keep two runners of a job off the same item, and one
-- function per job step. The `jobs` edge function calls them as service_role; pg_cron calls
-- the pure-SQL one (expire-holds) directly (next migration).
--
-- Every job function is bounded per run (p_batch), takes its items with FOR UPDATE SKIP
-- LOCKED so that concurrent runners divide the work instead of waiting for it, and is
-- idempotent: an item a run has dealt with no longer matches the next run's query.
--
-- The job functions live in schema `api_private` (not exposed by PostgREST) and only
-- service_role may execute them.

-- ---------------------------------------------------------------------------------------
-- The ledger invariants (docs/LEDGER.md), one row per violation
-- ---------------------------------------------------------------------------------------

-- Used by the reconcile job, the ledger tests, the benchmarks and the drills. Empty when the
-- ledger is sound.
create function private.ledger_invariants()
returns table (invariant text, detail text)
language plpgsql
stable
set search_path = ''
as $$
begin
  return query
  select '1. every transaction''s entries sum to zero (posted: one debit of from, one credit of to; others: none)',
         format('transaction %s (%s, %s): %s entries summing to %s', t.id, t.kind, t.status,
                count(e.id), coalesce(sum(e.amount), 0))
    from public.wallet_transactions t
    left join public.wallet_entries e on e.transaction_id = t.id
   group by t.id
  having coalesce(sum(e.amount), 0) <> 0
      or (t.status = 'posted') <> (count(e.id) = 2)
      or (t.status = 'posted' and (
            count(*) filter (where e.account_id = t.from_account_id and e.amount = -t.amount) <> 1
         or count(*) filter (where e.account_id = t.to_account_id and e.amount = t.amount) <> 1))
  union all
  select '2. every account''s balance (what wallet_balance and a frontend read) equals the sum of its entries',
         format('account %s: balance %s (view), wallet_balance %s, entries sum %s',
                b.account_id, b.balance, public.wallet_balance(b.account_id), coalesce(s.total, 0))
    from public.wallet_account_balances b
    left join (select e.account_id, sum(e.amount) as total from public.wallet_entries e group by e.account_id) s
      on s.account_id = b.account_id
   where b.balance <> coalesce(s.total, 0) or public.wallet_balance(b.account_id) <> b.balance
  union all
  select '2a. an account without balance shards holds nothing in shards (so its row is its balance)',
         format('account %s (balance_shards %s): shard %s holds %s', a.id, a.balance_shards, s.shard, s.balance)
    from public.wallet_accounts a
    join public.wallet_balance_shards s on s.account_id = a.id
   where a.balance_shards = 0 and s.balance <> 0
  union all
  select '2b. available equals balance minus the pending holds',
         format('account %s: available %s, balance %s, pending holds %s', a.id, a.available, a.balance, coalesce(h.held, 0))
    from public.wallet_accounts a
    left join (select t.from_account_id, sum(t.hold_amount) as held from public.wallet_transactions t
                where t.status = 'pending' group by t.from_account_id) h
      on h.from_account_id = a.id
   where a.available <> a.balance - coalesce(h.held, 0)
  union all
  select '3. the balances of every currency sum to zero',
         format('currency %s sums to %s', b.currency, sum(b.balance))
    from public.wallet_account_balances b
   group by b.currency
  having sum(b.balance) <> 0
  union all
  select '4. no account without allow_negative is negative unless a forced reversal debited it',
         format('account %s has balance %s without a forced reversal', b.account_id, b.balance)
    from public.wallet_account_balances b
    join public.wallet_accounts a on a.id = b.account_id
   where not a.allow_negative
     and b.balance < 0
     and not exists (select 1 from public.wallet_transactions t
                      where t.kind = 'reversal' and t.from_account_id = a.id
                        and (t.metadata ->> 'force')::boolean)
  union all
  select '4c. a closed account holds nothing, in its row or its shards',
         format('closed account %s: balance %s, available %s', b.account_id, b.balance, b.available)
    from public.wallet_account_balances b
   where b.status = 'closed' and (b.balance <> 0 or b.available <> 0)
  union all
  select '4b. the reversals of a transaction, net of those undone (a refund that failed), never exceed it',
         format('transaction %s moved %s, reversed %s net', o.id, o.amount, sum(r.amount - coalesce(u.undone, 0)))
    from public.wallet_transactions o
    join public.wallet_transactions r on r.reverses_id = o.id
    left join lateral (select sum(x.amount) as undone from public.wallet_transactions x where x.reverses_id = r.id) u on true
   group by o.id, o.amount
  having sum(r.amount - coalesce(u.undone, 0)) > o.amount
  union all
  select '5. an idempotency key has one transaction per caller scope',
         format('key %s of %s used by %s transactions', t.idempotency_key, coalesce(t.initiated_by::text, 'service'), count(*))
    from public.wallet_transactions t
   group by t.idempotency_key, t.initiated_by
  having count(*) > 1;
end;
$$;

-- ---------------------------------------------------------------------------------------
-- Leases
-- ---------------------------------------------------------------------------------------

-- One row per (job, item) a runner has taken, until leased_until. A job that calls a
-- provider takes its items here in a short transaction, then calls the provider outside any
-- transaction: another runner meanwhile finds the lease and skips the item. The lease also
-- spaces the questions about one item (a MoMo payment still PENDING is asked again once its
-- lease has run out).
create table private.job_leases (
  job text not null check (job in ('momo-poll', 'revolut-poll', 'stripe-poll')),
  item_id uuid not null,
  leased_until timestamptz not null,
  primary key (job, item_id)
);
comment on table private.job_leases is
  'Items a scheduled job has taken, so that two runners never process the same one. '
  'Written only by private.job_lease_take.';
revoke all on table private.job_leases from public, anon, authenticated, service_role;
alter table private.job_leases enable row level security;
alter table private.job_leases force row level security;

-- Takes the lease of each of p_items whose lease is free (none, or run out), each for its
-- p_seconds, and returns the ones taken. Two runners offering the same item: the second waits on the
-- first's row and then finds it leased, so exactly one of them gets it. Leases run out long
-- before they are swept (a day later).
create function private.job_lease_take(p_job text, p_items uuid[], p_seconds integer[]) returns setof uuid
language plpgsql
set search_path = ''
as $$
begin
  delete from private.job_leases l where l.job = p_job and l.leased_until < now() - interval '1 day';
  return query
    insert into private.job_leases as l (job, item_id, leased_until)
    select p_job, u.item, now() + make_interval(secs => u.seconds)
      from unnest(p_items, p_seconds) as u(item, seconds)
     order by u.item
    on conflict (job, item_id) do update set leased_until = excluded.leased_until
     where l.leased_until <= now()
    returning l.item_id;
end;
$$;

-- ---------------------------------------------------------------------------------------
-- momo-poll: MoMo payments whose callback has not come
-- ---------------------------------------------------------------------------------------

-- What momo-poll asks MoMo about, one view a kind of MoMo payment: the rows still waiting for
-- MoMo's answer, since when they wait, and the reference MoMo knows them by. Top-up intents
-- (requires_payment or processing, with the reference of a request-to-pay, recorded before
-- MoMo is asked so that one whose answer was lost is asked about too) wait since their last
-- change; cash-outs and MoMo refunds (Disbursement transfers, pending) since they were made.
-- Simple views, so that poll_take locks the rows it takes through them.
--
-- The intents of every poll are those still waiting for their provider's answer: sent to it (a
-- provider reference) and no payment of that reference recorded. One whose payment is recorded
-- is answered, though it waits on: the payment is held for an admin's review (another sum than
-- asked, an account not active), whose resolution ends the intent. Asked about again, it would
-- answer the same at every run and, oldest first, take the share of the batch that the intents
-- still unanswered need.
create view private.intents_unanswered as
  select i.* from public.payment_intents i
   where i.provider_ref is not null
     and not exists (select from public.payments p where p.provider = i.provider and p.provider_payment_id = i.provider_ref);
create view private.momo_poll_intents as
  select i.id, i.provider_ref as reference_id, i.updated_at as waiting_since
    from private.intents_unanswered i where i.provider = 'momo' and i.status in ('requires_payment', 'processing');
create view private.momo_poll_cashouts as
  select c.id, c.reference_id::text as reference_id, c.created_at as waiting_since
    from public.cashouts c
   where c.status = 'pending';
create view private.momo_poll_refunds as
  select r.id, r.provider_refund_id as reference_id, r.created_at as waiting_since
    from public.refunds r
   where r.provider = 'momo' and r.status = 'pending';
revoke all on table private.intents_unanswered, private.momo_poll_intents, private.momo_poll_cashouts, private.momo_poll_refunds
  from public, anon, authenticated, service_role;

-- They are taken by api_private.poll_take('momo-poll', kind, ...) (20261208040000_revolut_poll.sql),
-- the one take of every polling job.

-- ---------------------------------------------------------------------------------------
-- expire-intents
-- ---------------------------------------------------------------------------------------

-- Whether p_intent is still open to its poll's verdict: waiting for a payment
-- (requires_payment, processing), or a Stripe intent failed with its PaymentIntent
-- (private.stripe_poll_intents, 20261208050000_stripe_poll.sql: Stripe keeps the PaymentIntent
-- payable after a failed attempt until it is canceled there). A failed intent of another
-- provider is final. What expire_intents cancels past the TTL, and what Stripe canceling the
-- PaymentIntent cancels at once (api_private.stripe_intent_canceled). No grant.
create function private.intent_open(p_intent public.payment_intents) returns boolean
language plpgsql
stable
set search_path = ''
as $$
begin
  return p_intent.status in ('requires_payment', 'processing')
      or (p_intent.status = 'failed' and exists (select 1 from private.stripe_poll_intents s where s.id = p_intent.id));
end;
$$;

-- Whether p_intent is past its TTL of p_ttl_seconds (since it was created) and still open to
-- its poll's verdict (private.intent_open). The one statement of the TTL rule: expire_intents
-- cancels by it, and a poll asks it (api_private.intent_past_ttl) before it cancels the
-- provider's payment, which must stay payable until then. No grant: only the job functions
-- below call it.
create function private.intent_past_ttl(p_intent public.payment_intents, p_ttl_seconds integer) returns boolean
language plpgsql
stable
set search_path = ''
as $$
begin
  return p_intent.created_at < now() - make_interval(secs => p_ttl_seconds) and private.intent_open(p_intent);
end;
$$;

-- The caller and TTL checks of the expire-intents entry points: the service only, a TTL of a
-- minute to 30 days (22023 otherwise).
create function private.require_expire_intents(p_ttl_seconds integer) returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  perform private.require_caller(array['service'], 'run the expire-intents job');
  perform private.require_between(p_ttl_seconds, 60, 2592000, 'ttl_seconds');
end;
$$;

-- Whether intent p_intent is past its TTL of p_ttl_seconds (private.intent_past_ttl): what
-- expire_intents with p_intent would cancel now. False for an intent it does not find.
create function api_private.intent_past_ttl(p_ttl_seconds integer, p_intent uuid) returns boolean
language plpgsql
stable
security definer set search_path = ''
as $$
declare
  v_past boolean;
begin
  perform private.require_expire_intents(p_ttl_seconds);
  select private.intent_past_ttl(i, p_ttl_seconds) into v_past from public.payment_intents i where i.id = p_intent;
  return coalesce(v_past, false);
end;
$$;
grant execute on function api_private.intent_past_ttl(integer, uuid) to service_role;

-- Cancels up to p_batch intents still requires_payment or processing p_ttl_seconds after
-- they were created, oldest first, and returns how many: the intents no poll asks its
-- provider about. An intent that momo-poll, revolut-poll or stripe-poll asks about
-- (private.momo_poll_intents, private.revolut_poll_intents, private.stripe_poll_intents: its
-- provider has, or may have, a payment for it) is never canceled by age alone, because a
-- payment made shortly before the TTL whose callback or webhooks were lost is found only by its
-- poll, which then credits it as usual, and a Stripe PaymentIntent stays payable until it is
-- canceled at Stripe. Past the TTL such an intent ends when its poll learns the outcome: paid or
-- failed as the provider reports, or canceled here with p_intent when the provider answered
-- that no payment for it is underway (MoMo never received the request-to-pay; Revolut knows no
-- such order, or the payer never paid it; stripe-poll itself canceled the PaymentIntent at
-- Stripe, or Stripe does not know it); p_intent is canceled only if it is past its TTL
-- (private.intent_past_ttl). A PaymentIntent someone else canceled at Stripe cancels its intent
-- at once instead (api_private.stripe_intent_canceled, 20261208050000_stripe_poll.sql). A failed
-- Stripe intent with its PaymentIntent can be past its TTL too: Stripe keeps that PaymentIntent
-- payable until stripe-poll cancels it there. The user was told of the failure; the cancel that ends it
-- sends nothing (the notices of 20261207010000_whatsapp_conversation.sql are for failed). A
-- provider payment that arrives for a canceled intent later is stored for review
-- (intent_canceled), never credited.
create function api_private.expire_intents(p_ttl_seconds integer, p_batch integer, p_intent uuid default null)
returns integer
language plpgsql
security definer set search_path = ''
as $$
declare
  v_count integer;
begin
  perform private.require_expire_intents(p_ttl_seconds);
  perform private.require_between(p_batch, 1, 10000, 'batch');
  with expired as (
    select i.id from public.payment_intents i
     -- The TTL rule is asked last in each branch (AND evaluates in order): the scan asks it
     -- about the intents still waiting only, not every intent ever made.
     where case when p_intent is null
                -- By age alone: only intents still waiting, none that a poll asks about, and
                -- none whose payment is held for review (its resolution ends the intent).
                then i.status in ('requires_payment', 'processing')
                 and not exists (select from public.payments p where p.provider = i.provider and p.provider_payment_id = i.provider_ref)
                 and not exists (select 1 from private.momo_poll_intents m where m.id = i.id)
                 and not exists (select 1 from private.revolut_poll_intents r where r.id = i.id)
                 and not exists (select 1 from private.stripe_poll_intents s where s.id = i.id)
                 and private.intent_past_ttl(i, p_ttl_seconds)
                else i.id = p_intent and private.intent_past_ttl(i, p_ttl_seconds) end
     order by i.created_at
     limit p_batch
       for update skip locked
  )
  update public.payment_intents i
     set status = 'canceled',
         failure_reason = format('expired: no payment within %s seconds', p_ttl_seconds)
    from expired e
   where i.id = e.id;
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;
grant execute on function api_private.expire_intents(integer, integer, uuid) to service_role;

-- ---------------------------------------------------------------------------------------
-- expire-holds (pure SQL: pg_cron runs it too)
-- ---------------------------------------------------------------------------------------

create index wallet_transactions_expiring_idx on public.wallet_transactions (expires_at)
  where status = 'pending' and expires_at is not null;

-- Voids up to p_batch pending holds and withdrawals whose expires_at has passed, earliest
-- first, and returns how many: their reservations return to available. The holds are locked
-- first (as wallet_capture and wallet_void lock theirs before any account), then the accounts
-- they reserve from, all of them in the ledger's global lock order (users before system
-- accounts, each by id; private.wallet_apply), and only then released: released one by one in
-- expiry order, each release took its account's row lock in that order, and a payment between
-- two of those accounts (which takes them by id) waited for the job while the job waited for
-- it, a deadlock that killed one of them.
create function api_private.expire_holds(p_batch integer) returns integer
language plpgsql
security definer set search_path = ''
as $$
declare
  v_holds public.wallet_transactions[];
  v_hold public.wallet_transactions;
begin
  perform private.require_caller(array['service'], 'run the expire-holds job');
  perform private.require_between(p_batch, 1, 10000, 'batch');
  select coalesce(array_agg(h order by h.expires_at), '{}')
    into v_holds
    from (select t.* from public.wallet_transactions t
           where t.status = 'pending' and t.expires_at is not null and t.expires_at <= now()
           order by t.expires_at
           limit p_batch
             for no key update skip locked) h;
  perform 1
     from public.wallet_accounts a
    where a.id = any (array(select h.from_account_id from unnest(v_holds) h))
    order by a.kind = 'system', a.id
      for no key update;
  foreach v_hold in array v_holds loop
    perform private.wallet_release_hold(v_hold);
  end loop;
  return cardinality(v_holds);
end;
$$;
grant execute on function api_private.expire_holds(integer) to service_role;

-- ---------------------------------------------------------------------------------------
-- reconcile: a dated report
-- ---------------------------------------------------------------------------------------

-- One report per UTC day (a second run that day replaces it): the ledger invariants'
-- violations, the provider-vs-ledger mismatches of api_private.reconciliation (its findings),
-- apart from them the payments an admin resolved (rejected or credited: decisions, neither
-- counted nor alerted on, or each would alert every day for ever), and how many
-- WhatsApp messages went dead since the last report of an earlier day
-- (private.reconcile_undelivered_messages): a notice a user never got waits for an admin's
-- replay, and nothing else tells the admins.
create table private.reconciliation_reports (
  report_date date primary key,
  created_at timestamptz not null default now(),
  invariant_violations jsonb not null check (jsonb_typeof(invariant_violations) = 'array'),
  reconciliation_findings jsonb not null check (jsonb_typeof(reconciliation_findings) = 'array'),
  resolutions jsonb not null default '[]' check (jsonb_typeof(resolutions) = 'array'),
  undelivered_messages integer not null default 0 check (undelivered_messages >= 0),
  findings integer not null generated always as
    (jsonb_array_length(invariant_violations) + jsonb_array_length(reconciliation_findings) + undelivered_messages) stored
);
comment on table private.reconciliation_reports is
  'The reconcile job''s daily report. Written only by api_private.reconcile; read by operators.';
revoke all on table private.reconciliation_reports from public, anon, authenticated, service_role;
alter table private.reconciliation_reports enable row level security;
alter table private.reconciliation_reports force row level security;
select audit.attach('private.reconciliation_reports');

-- Queues the alert for p_report to every admin (app_metadata.role admin, which only the
-- server sets) who has a WhatsApp contact, in the caller's transaction, and returns how many
-- were queued: none for a report without a finding. An admin who opted out gets none
-- (private.whatsapp_notify_user writes nothing). The text names the date and the counts only, never an account or an amount: the
-- findings themselves stay in the report. The contacts, the outbox and private.text_message
-- come with the WhatsApp migrations (20261207...); PL/pgSQL resolves them when this runs.
-- No grant: only api_private.reconcile calls it.
create function private.reconcile_alert_admins(p_report private.reconciliation_reports) returns integer
language plpgsql
security definer set search_path = ''
as $$
declare
  v_body jsonb := private.text_message(pg_catalog.format(
    'mfuko reconcile %s: %s ledger invariant violation(s), %s provider reconciliation finding(s), '
    '%s WhatsApp message(s) dead since the last report (GET /admin/whatsapp-outbox?status=dead replays them). '
    'The day''s report is in private.reconciliation_reports.',
    pg_catalog.to_char(p_report.report_date, 'YYYY-MM-DD'), pg_catalog.jsonb_array_length(p_report.invariant_violations),
    pg_catalog.jsonb_array_length(p_report.reconciliation_findings), p_report.undelivered_messages));
  v_admin uuid;
  v_queued integer := 0;
begin
  for v_admin in
    select c.user_id from public.whatsapp_contacts c
      join auth.users u on u.id = c.user_id
     where u.raw_app_meta_data ->> 'role' = 'admin'
       and p_report.findings > 0
     order by c.user_id
  loop
    if private.whatsapp_notify_user(v_admin, v_body) is not null then
      v_queued := v_queued + 1;
    end if;
  end loop;
  return v_queued;
end;
$$;

-- The WhatsApp messages that went dead (every attempt failed; docs/WHATSAPP.md) after the
-- last report of an earlier day was made, all of them when there is none: each is counted by
-- the first report after it died, and again only if an admin's replay dies too. A dead row's
-- updated_at is when it died: only a replay moves it on (dead -> queued). The outbox comes
-- with the WhatsApp migrations (20261207...); PL/pgSQL resolves it when this runs.
create function private.reconcile_undelivered_messages() returns integer
language plpgsql
stable
set search_path = ''
as $$
begin
  return (select count(*) from public.whatsapp_outbox o
           where o.status = 'dead'
             and o.updated_at > coalesce((select max(r.created_at) from private.reconciliation_reports r
                                           where r.report_date < (now() at time zone 'utc')::date), '-infinity'));
end;
$$;

-- Runs the checks over the whole ledger and every payment, stores today's report (UTC) and,
-- when it has a finding, queues the admins' WhatsApp alert in the same transaction, so that
-- the alert exists exactly when the report does. Returns the report's counts and how many
-- alerts it queued. Every run with a finding alerts: a second run that day replaces the
-- report and tells the admins its counts.
create function api_private.reconcile()
returns table (report_date date, invariant_violations integer, reconciliation_findings integer,
               undelivered_messages integer, alerts_queued integer)
language plpgsql
security definer set search_path = ''
as $$
begin
  perform private.require_caller(array['service'], 'run the reconcile job');
  return query
    with found as (
      select to_jsonb(f) as finding, f.occurred_at, api_private.reconciliation_mismatch(f.kind) as mismatch
        from api_private.reconciliation() f
    ),
    stored as (
      insert into private.reconciliation_reports as r
        (report_date, created_at, invariant_violations, reconciliation_findings, resolutions, undelivered_messages)
      values ((now() at time zone 'utc')::date, now(),
              (select coalesce(jsonb_agg(to_jsonb(v)), '[]') from private.ledger_invariants() v),
              (select coalesce(jsonb_agg(f.finding order by f.occurred_at) filter (where f.mismatch), '[]') from found f),
              (select coalesce(jsonb_agg(f.finding order by f.occurred_at) filter (where not f.mismatch), '[]') from found f),
              private.reconcile_undelivered_messages())
      on conflict on constraint reconciliation_reports_pkey do update
         set created_at = excluded.created_at,
             invariant_violations = excluded.invariant_violations,
             reconciliation_findings = excluded.reconciliation_findings,
             resolutions = excluded.resolutions,
             undelivered_messages = excluded.undelivered_messages
      returning r as report
    )
    select (s.report).report_date, jsonb_array_length((s.report).invariant_violations),
           jsonb_array_length((s.report).reconciliation_findings), (s.report).undelivered_messages,
           private.reconcile_alert_admins(s.report)
      from stored s;
end;
$$;
grant execute on function api_private.reconcile() to service_role;
