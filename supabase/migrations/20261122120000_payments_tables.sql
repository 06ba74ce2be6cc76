-- Payments, part 1: the payment tables, their state machines and who may read them.
--
-- Money enters a wallet through a payment intent (a user's top-up request) that a provider
-- confirms as a payment; refunds give it back. The provider mirror tables (MoMo, Revolut,
-- Stripe subscriptions and invoices) keep what the providers told us. docs/PAYMENTS.md has
-- the design; the functions that write intents, payments and refunds are in the next file.

-- ---------------------------------------------------------------------------------------
-- State machines: one table of allowed moves, one trigger for every status column
-- ---------------------------------------------------------------------------------------

create table private.status_transitions (
  table_name text not null,
  from_status text not null,
  to_status text not null,
  primary key (table_name, from_status, to_status)
);
comment on table private.status_transitions is
  'Allowed status moves per table. A status change that is not listed is rejected (PA001).';
revoke all on table private.status_transitions from public, anon, authenticated, service_role;

insert into private.status_transitions (table_name, from_status, to_status) values
  -- A failed intent may still succeed: Stripe lets the customer retry a PaymentIntent
  -- after payment_intent.payment_failed, and money the provider took is credited.
  ('payment_intents', 'requires_payment', 'processing'),
  ('payment_intents', 'requires_payment', 'succeeded'),
  ('payment_intents', 'requires_payment', 'failed'),
  ('payment_intents', 'requires_payment', 'canceled'),
  ('payment_intents', 'processing', 'succeeded'),
  ('payment_intents', 'processing', 'failed'),
  ('payment_intents', 'processing', 'canceled'),
  ('payment_intents', 'failed', 'succeeded'),
  -- A failed Stripe intent whose PaymentIntent stripe-poll canceled at Stripe past the TTL
  -- (api_private.expire_intents): nothing can pay it any more.
  ('payment_intents', 'failed', 'canceled'),
  -- needs_review is closed by an admin (api_private.payment_resolve): credited or rejected.
  ('payments', 'needs_review', 'succeeded'),
  ('payments', 'needs_review', 'rejected'),
  ('payments', 'succeeded', 'partially_refunded'),
  ('payments', 'succeeded', 'refunded'),
  ('payments', 'partially_refunded', 'refunded'),
  -- A refund that fails after it was recorded gives its amount back (refund_record_failure).
  ('payments', 'refunded', 'partially_refunded'),
  ('payments', 'refunded', 'succeeded'),
  ('payments', 'partially_refunded', 'succeeded'),
  -- Stripe can fail a refund after reporting it succeeded (closed card), or cancel one that
  -- was still pending (recorded as succeeded: its money had left the wallet).
  ('refunds', 'pending', 'succeeded'),
  ('refunds', 'pending', 'failed'),
  ('refunds', 'pending', 'canceled'),
  ('refunds', 'succeeded', 'failed'),
  ('refunds', 'succeeded', 'canceled'),
  ('momo_transactions', 'PENDING', 'SUCCESSFUL'),
  ('momo_transactions', 'PENDING', 'FAILED'),
  -- Revolut orders (pending -> processing -> authorised -> completed, or cancelled/failed)
  -- and business transactions (created -> pending -> completed/declined/failed, completed
  -- -> reverted) share the column.
  ('revolut_transactions', 'created', 'pending'),
  ('revolut_transactions', 'created', 'completed'),
  ('revolut_transactions', 'created', 'declined'),
  ('revolut_transactions', 'created', 'failed'),
  ('revolut_transactions', 'pending', 'processing'),
  ('revolut_transactions', 'pending', 'authorised'),
  ('revolut_transactions', 'pending', 'completed'),
  ('revolut_transactions', 'pending', 'declined'),
  ('revolut_transactions', 'pending', 'cancelled'),
  ('revolut_transactions', 'pending', 'failed'),
  ('revolut_transactions', 'processing', 'authorised'),
  ('revolut_transactions', 'processing', 'completed'),
  ('revolut_transactions', 'processing', 'cancelled'),
  ('revolut_transactions', 'processing', 'failed'),
  ('revolut_transactions', 'authorised', 'completed'),
  ('revolut_transactions', 'authorised', 'cancelled'),
  ('revolut_transactions', 'authorised', 'failed'),
  ('revolut_transactions', 'completed', 'reverted'),
  -- Stripe subscription lifecycle; past_due and unpaid return to active once paid.
  ('subscriptions', 'incomplete', 'active'),
  ('subscriptions', 'incomplete', 'trialing'),
  ('subscriptions', 'incomplete', 'incomplete_expired'),
  ('subscriptions', 'incomplete', 'canceled'),
  ('subscriptions', 'trialing', 'active'),
  ('subscriptions', 'trialing', 'past_due'),
  ('subscriptions', 'trialing', 'unpaid'),
  ('subscriptions', 'trialing', 'paused'),
  ('subscriptions', 'trialing', 'canceled'),
  ('subscriptions', 'active', 'past_due'),
  ('subscriptions', 'active', 'unpaid'),
  ('subscriptions', 'active', 'paused'),
  ('subscriptions', 'active', 'canceled'),
  ('subscriptions', 'past_due', 'active'),
  ('subscriptions', 'past_due', 'unpaid'),
  ('subscriptions', 'past_due', 'paused'),
  ('subscriptions', 'past_due', 'canceled'),
  ('subscriptions', 'unpaid', 'active'),
  ('subscriptions', 'unpaid', 'canceled'),
  ('subscriptions', 'paused', 'active'),
  ('subscriptions', 'paused', 'canceled'),
  ('invoices', 'draft', 'open'),
  ('invoices', 'draft', 'paid'),
  ('invoices', 'open', 'paid'),
  ('invoices', 'open', 'void'),
  ('invoices', 'open', 'uncollectible'),
  ('invoices', 'uncollectible', 'paid'),
  ('invoices', 'uncollectible', 'void');

-- Whether a status may move from p_from to p_to. Also for writers of the mirror tables that
-- receive provider events out of order: `on conflict ... do update ... where
-- private.status_transition_allowed(...)` keeps a late, older status from overwriting.
create function private.status_transition_allowed(p_table text, p_from text, p_to text) returns boolean
language plpgsql
stable
security definer set search_path = ''
as $$
begin
  return p_from is not distinct from p_to
      or exists (select 1 from private.status_transitions t
                  where t.table_name = p_table and t.from_status = p_from and t.to_status = p_to);
end;
$$;
-- Mirror writers (webhooks, as service_role) use it in their upserts.
grant execute on function private.status_transition_allowed(text, text, text) to service_role;

-- Trigger argument: the status column.
create function private.enforce_status_transition() returns trigger
language plpgsql
security definer set search_path = ''
as $$
declare
  v_from text := pg_catalog.to_jsonb(old) ->> tg_argv[0];
  v_to text := pg_catalog.to_jsonb(new) ->> tg_argv[0];
begin
  if not private.status_transition_allowed(tg_table_name, v_from, v_to) then
    raise exception '%.% cannot move from % to %', tg_table_name, tg_argv[0], v_from, v_to
      using errcode = 'PA001';
  end if;
  return new;
end;
$$;

-- ---------------------------------------------------------------------------------------
-- Provider payloads never keep credentials
-- ---------------------------------------------------------------------------------------

-- The keys under which providers send credentials (Stripe's client_secret, Revolut's checkout
-- token, anything named like a secret or signature), in lower case. The webhooks drop the same
-- keys before a payload reaches the database (storablePayload; a test compares the lists).
create function private.credential_keys() returns text[]
language plpgsql
immutable
set search_path = ''
as $$
begin
  return array['client_secret', 'secret', 'password', 'token', 'access_token', 'refresh_token',
               'api_key', 'apikey', 'authorization', 'signature', 'cvc', 'cvv', 'card_number', 'pin'];
end;
$$;

-- Removes the credential keys from a payload at any depth.
-- Most payloads hold none of them, and a key whose lower case is one of them shows quoted in
-- the lower-cased text: one look at the text spares the walk through every value. A payload
-- that holds one is changed in place, not rebuilt: the credential keys of this level are
-- deleted, and only the objects and arrays under it whose own text shows such a key are walked
-- and set back. A Stripe payment_intent.succeeded event names client_secret, and rebuilding each
-- of its levels called this function again for every one of its fifty-odd values (0.26 ms a
-- payload, twice in each delivery, against 0.15 ms now: docs/BENCHMARKS.md, History). The
-- webhooks now drop these keys before they send a payload, so a delivery's payloads take the
-- look only; the walk is for whatever else brings a credential.
create function private.scrub_secrets(p_value jsonb) returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_names constant text[] := private.credential_keys();
  v_pattern constant text := '"(' || pg_catalog.array_to_string(v_names, '|') || ')"';
  v_result jsonb := p_value;
  v_step text;
begin
  if pg_catalog.lower(p_value::text) !~ v_pattern then
    return p_value;
  end if;
  if pg_catalog.jsonb_typeof(p_value) = 'object' then
    v_result := p_value - coalesce((select pg_catalog.array_agg(k) from pg_catalog.jsonb_object_keys(p_value) k
                                     where pg_catalog.lower(k) = any (v_names)), '{}');
    for v_step in select e.key from pg_catalog.jsonb_each(v_result) e
                   where pg_catalog.jsonb_typeof(e.value) in ('object', 'array')
                     and pg_catalog.lower(e.value::text) ~ v_pattern loop
      v_result := pg_catalog.jsonb_set(v_result, array[v_step], private.scrub_secrets(v_result -> v_step));
    end loop;
  elsif pg_catalog.jsonb_typeof(p_value) = 'array' then
    for v_step in select (a.n - 1)::text from pg_catalog.jsonb_array_elements(p_value) with ordinality a (value, n)
                   where pg_catalog.jsonb_typeof(a.value) in ('object', 'array')
                     and pg_catalog.lower(a.value::text) ~ v_pattern loop
      v_result := pg_catalog.jsonb_set(v_result, array[v_step], private.scrub_secrets(v_result -> v_step::integer));
    end loop;
  end if;
  return v_result;
end;
$$;

-- Trigger arguments: the payload columns to scrub.
create function private.scrub_payload_columns() returns trigger
language plpgsql
security definer set search_path = ''
as $$
declare
  v_changes jsonb := '{}'::jsonb;
  v_row jsonb := pg_catalog.to_jsonb(new);
begin
  for i in 0 .. tg_nargs - 1 loop
    v_changes := v_changes || pg_catalog.jsonb_build_object(tg_argv[i], private.scrub_secrets(v_row -> tg_argv[i]));
  end loop;
  return pg_catalog.jsonb_populate_record(new, v_changes);
end;
$$;

create function private.touch_updated_at() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := pg_catalog.now();
  return new;
end;
$$;

-- The shape of payment intents and payments, checked by one CHECK constraint per table that
-- calls these, as the ledger's rows are (docs/decisions/0011): PostgreSQL reads a table's check
-- expressions back from their stored text and prepares them again in every INSERT or UPDATE,
-- and the two tables' 19 separate expressions (22 KB of stored text) were a tenth of a webhook
-- delivery's instructions in the database. A NULL result passes, as it would in the separate
-- checks.
create function private.payment_intent_shape_ok(p_provider text, p_provider_ref text, p_amount bigint, p_currency text,
                                                p_status text, p_idempotency_key text) returns boolean
language plpgsql
immutable
set search_path = ''
as $$
begin
  return p_amount > 0
     and p_currency ~ '^[A-Z]{3}$'
     and p_status in ('requires_payment', 'processing', 'succeeded', 'failed', 'canceled')
     and length(p_idempotency_key) between 1 and 255
     -- The provider and the reference it gave; a MoMo reference is the X-Reference-Id we
     -- generated, a lower-case UUIDv4.
     and p_provider = any (private.payment_providers())
     and length(p_provider_ref) between 1 and 255
     and (p_provider <> 'momo' or p_provider_ref is null
          or p_provider_ref ~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$');
end;
$$;

create function private.payment_shape_ok(p_provider text, p_provider_payment_id text, p_amount bigint, p_currency text,
                                         p_fee bigint, p_amount_refunded bigint, p_status text, p_review_reason text,
                                         p_wallet_transaction_id uuid, p_resolution text, p_resolution_reason text,
                                         p_resolved_at timestamptz) returns boolean
language plpgsql
immutable
set search_path = ''
as $$
begin
  return p_provider = any (private.payment_providers())
     and length(p_provider_payment_id) between 1 and 255
     and p_amount > 0
     and p_currency ~ '^[A-Z]{3}$'
     and p_fee >= 0 and p_fee <= p_amount
     and p_amount_refunded >= 0 and p_amount_refunded <= p_amount
     and p_status in ('succeeded', 'needs_review', 'rejected', 'partially_refunded', 'refunded')
     and p_review_reason in ('unknown_intent', 'provider_mismatch', 'amount_mismatch', 'currency_mismatch',
                             'intent_canceled', 'intent_already_paid', 'account_not_active')
     and p_resolution in ('credited', 'rejected')
     -- A payment is credited exactly when it is neither under review nor rejected; the review
     -- reason stays on a resolved payment as its history.
     and (p_status in ('needs_review', 'rejected')) = (p_wallet_transaction_id is null)
     and (p_status = 'needs_review' or p_resolution is not null) = (p_review_reason is not null)
     -- An admin's resolution comes with its reason and time, and only a rejection rejects.
     and (p_resolution is null) = (p_resolved_at is null)
     and (p_resolution is null) = (p_resolution_reason is null)
     and (p_status = 'rejected') = (p_resolution is not distinct from 'rejected')
     -- The status follows the refunded amount.
     and (p_status in ('needs_review', 'rejected')
          or (p_status = 'succeeded' and p_amount_refunded = 0)
          or (p_status = 'partially_refunded' and p_amount_refunded > 0 and p_amount_refunded < p_amount)
          or (p_status = 'refunded' and p_amount_refunded = p_amount));
end;
$$;

-- ---------------------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------------------

create table public.payment_intents (
  id uuid primary key default gen_random_uuid(),
  provider text not null,
  -- Stripe PaymentIntent id, MoMo X-Reference-Id, Revolut order id; set once the provider
  -- call returned (payment_intent_attach).
  provider_ref text,
  user_id uuid not null references auth.users (id),
  account_id uuid not null references public.wallet_accounts (id),
  amount bigint not null,
  currency text not null,
  status text not null default 'requires_payment',
  failure_reason text,
  idempotency_key text not null,
  -- auth.uid() of the caller, null for the service; the idempotency scope.
  created_by uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint payment_intents_provider_ref_key unique (provider, provider_ref),
  constraint payment_intents_idempotency_key unique nulls not distinct (created_by, idempotency_key),
  -- Provider, reference, amount, currency, status, key: private.payment_intent_shape_ok.
  constraint payment_intents_shape check (
    private.payment_intent_shape_ok(provider, provider_ref, amount, currency, status, idempotency_key))
);
comment on table public.payment_intents is
  'Top-up requests: requires_payment -> processing -> succeeded | failed | canceled. '
  'Written only by the payment_* functions.';
create index payment_intents_user_idx on public.payment_intents (user_id);
create index payment_intents_account_idx on public.payment_intents (account_id);

create table public.payments (
  id uuid primary key default gen_random_uuid(),
  provider text not null,
  provider_payment_id text not null,
  -- Null when the provider reported a payment for no intent we know.
  intent_id uuid references public.payment_intents (id),
  user_id uuid references auth.users (id),
  amount bigint not null,
  currency text not null,
  fee bigint not null default 0,
  amount_refunded bigint not null default 0,
  status text not null,
  review_reason text,
  -- The credit; committed in the same transaction as this row.
  wallet_transaction_id uuid references public.wallet_transactions (id),
  raw jsonb not null default '{}',
  -- An admin's decision on a needs_review payment (credit or reject), why, by whom, when.
  resolution text,
  resolution_reason text,
  resolved_by uuid,
  resolved_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint payments_provider_payment_key unique (provider, provider_payment_id),
  -- Provider, amounts, status and review, credit, resolution and refunds agree:
  -- private.payment_shape_ok.
  constraint payments_shape check (
    private.payment_shape_ok(provider, provider_payment_id, amount, currency, fee, amount_refunded, status,
                             review_reason, wallet_transaction_id, resolution, resolution_reason, resolved_at))
);
comment on table public.payments is
  'Money a provider confirmed. Credited payments carry their wallet deposit; a payment that '
  'does not match its intent is stored as needs_review and never credited.';
create index payments_user_idx on public.payments (user_id);
create index payments_intent_idx on public.payments (intent_id);
create index payments_wallet_transaction_idx on public.payments (wallet_transaction_id);
-- One automatically credited payment per intent: a second provider payment for it goes to
-- review, and only an admin's resolution can credit it too.
create unique index payments_one_credit_per_intent on public.payments (intent_id)
  where status not in ('needs_review', 'rejected') and resolution is null;

create table public.refunds (
  id uuid primary key default gen_random_uuid(),
  payment_id uuid not null references public.payments (id),
  provider text not null check (provider in ('stripe', 'momo', 'revolut')),
  provider_refund_id text not null check (length(provider_refund_id) between 1 and 255),
  user_id uuid references auth.users (id),
  amount bigint not null check (amount > 0),
  currency text not null check (currency ~ '^[A-Z]{3}$'),
  status text not null check (status in ('pending', 'succeeded', 'failed', 'canceled')),
  reason text,
  -- The reversal of the credit; null when the payment was never credited (needs_review).
  wallet_transaction_id uuid references public.wallet_transactions (id),
  -- The reversal took the account below zero: the money had been spent.
  forced boolean not null default false,
  -- The credited account was closed when the provider took the money back: a closed account
  -- holds nothing for good, so the reversal debited the currency's losses account
  -- (losses:<CUR>) instead, and the platform bore the refund (private.refund_complete).
  borne_by_platform boolean not null default false,
  -- The refund failed after its reversal took the money from an account closed since: a closed
  -- account takes nothing for good, so what the failure gave back was credited to the
  -- currency's unclaimed account (unclaimed:<CUR>), owed to the account's former owner
  -- (refund_record_failure).
  owed_to_closed_account boolean not null default false
    check (not owed_to_closed_account or status in ('failed', 'canceled')),
  -- An admin paid what was still owed on it to the former owner outside the providers
  -- (api_private.refund_paid_out): the amount, the ledger transaction that took it from
  -- unclaimed:<CUR> to clearing:manual:<CUR>, who, when, how, the payout's own reference and why.
  paid_out_amount bigint check (paid_out_amount > 0 and paid_out_amount <= amount),
  paid_out_transaction_id uuid unique references public.wallet_transactions (id),
  paid_out_by uuid references auth.users (id),
  paid_out_at timestamptz,
  payout_method text check (payout_method in ('bank_transfer', 'mobile_money', 'cash', 'other')),
  payout_reference text check (length(payout_reference) between 1 and 255),
  payout_reason text check (length(payout_reason) between 1 and 1000),
  created_by uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint refunds_provider_refund_key unique (provider, provider_refund_id),
  -- A payout is recorded whole or not at all, and only on money owed to a former owner.
  constraint refunds_paid_out check (
    num_nulls(paid_out_amount, paid_out_transaction_id, paid_out_by, paid_out_at, payout_method, payout_reference,
              payout_reason) in (0, 7)
    and (paid_out_amount is null or owed_to_closed_account))
);
comment on table public.refunds is
  'Refunds of payments; their sum per payment never exceeds the payment (payments.amount_refunded).';
create index refunds_payment_idx on public.refunds (payment_id);
create index refunds_user_idx on public.refunds (user_id);
create index refunds_wallet_transaction_idx on public.refunds (wallet_transaction_id);

create table public.momo_transactions (
  id uuid primary key default gen_random_uuid(),
  reference_id uuid not null unique,
  intent_id uuid references public.payment_intents (id),
  user_id uuid references auth.users (id),
  external_id text,
  financial_transaction_id text,
  payer_msisdn text,
  amount bigint not null check (amount > 0),
  currency text not null check (currency ~ '^[A-Z]{3}$'),
  status text not null default 'PENDING' check (status in ('PENDING', 'SUCCESSFUL', 'FAILED')),
  reason text,
  raw_callback jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.momo_transactions is
  'One row per MTN MoMo request-to-pay, mirrored from the callbacks and status checks.';
create index momo_transactions_intent_idx on public.momo_transactions (intent_id);
create index momo_transactions_user_idx on public.momo_transactions (user_id);

create table public.revolut_transactions (
  id uuid primary key default gen_random_uuid(),
  revolut_id text not null unique check (length(revolut_id) between 1 and 255),
  kind text not null default 'order' check (kind in ('order', 'transaction')),
  intent_id uuid references public.payment_intents (id),
  user_id uuid references auth.users (id),
  event text,
  state text not null check (state in ('created', 'pending', 'processing', 'authorised', 'completed',
    'declined', 'cancelled', 'failed', 'reverted')),
  amount bigint check (amount > 0),
  currency text check (currency ~ '^[A-Z]{3}$'),
  raw_payload jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.revolut_transactions is
  'Revolut orders and business transactions, mirrored from webhooks. state is lower case.';
create index revolut_transactions_intent_idx on public.revolut_transactions (intent_id);
create index revolut_transactions_user_idx on public.revolut_transactions (user_id);

create table public.subscriptions (
  id uuid primary key default gen_random_uuid(),
  stripe_subscription_id text not null unique check (stripe_subscription_id like 'sub_%'),
  stripe_customer_id text not null,
  user_id uuid references auth.users (id),
  status text not null check (status in ('incomplete', 'incomplete_expired', 'trialing', 'active',
    'past_due', 'unpaid', 'paused', 'canceled')),
  price_id text,
  current_period_start timestamptz,
  current_period_end timestamptz,
  cancel_at_period_end boolean not null default false,
  -- created time of the Stripe event last applied; older events are skipped by the writer.
  last_event_at timestamptz,
  raw jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.subscriptions is 'Mirror of Stripe subscriptions (customer.subscription.*).';
create index subscriptions_user_idx on public.subscriptions (user_id);
create index subscriptions_customer_idx on public.subscriptions (stripe_customer_id);

create table public.invoices (
  id uuid primary key default gen_random_uuid(),
  stripe_invoice_id text not null unique check (stripe_invoice_id like 'in_%'),
  stripe_customer_id text not null,
  stripe_subscription_id text,
  user_id uuid references auth.users (id),
  status text not null check (status in ('draft', 'open', 'paid', 'void', 'uncollectible')),
  amount_due bigint not null default 0 check (amount_due >= 0),
  amount_paid bigint not null default 0 check (amount_paid >= 0),
  currency text not null check (currency ~ '^[A-Z]{3}$'),
  last_event_at timestamptz,
  raw jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.invoices is 'Mirror of Stripe invoices (invoice.*).';
create index invoices_user_idx on public.invoices (user_id);
create index invoices_subscription_idx on public.invoices (stripe_subscription_id);

-- A MoMo or Revolut row belongs to the user of its intent. The writer may leave intent_id
-- out: it is found by the provider reference, and user_id always follows the intent, so a
-- mirror row can never be shown to anyone but the intent's owner.
create function private.mirror_link_intent() returns trigger
language plpgsql
security definer set search_path = ''
as $$
declare
  v_ref text := pg_catalog.to_jsonb(new) ->> tg_argv[1];
begin
  if new.intent_id is null then
    select i.id into new.intent_id
      from public.payment_intents i
     where i.provider = tg_argv[0] and i.provider_ref = v_ref;
  end if;
  select i.user_id into new.user_id from public.payment_intents i where i.id = new.intent_id;
  return new;
end;
$$;

-- ---------------------------------------------------------------------------------------
-- Triggers: status machines, payload scrubbing, updated_at, audit
-- ---------------------------------------------------------------------------------------

create trigger payment_intents_status before update of status on public.payment_intents
  for each row when (old.status is distinct from new.status)
  execute function private.enforce_status_transition('status');
create trigger payments_status before update of status on public.payments
  for each row when (old.status is distinct from new.status)
  execute function private.enforce_status_transition('status');
create trigger refunds_status before update of status on public.refunds
  for each row when (old.status is distinct from new.status)
  execute function private.enforce_status_transition('status');
create trigger momo_transactions_status before update of status on public.momo_transactions
  for each row when (old.status is distinct from new.status)
  execute function private.enforce_status_transition('status');
create trigger revolut_transactions_state before update of state on public.revolut_transactions
  for each row when (old.state is distinct from new.state)
  execute function private.enforce_status_transition('state');
create trigger subscriptions_status before update of status on public.subscriptions
  for each row when (old.status is distinct from new.status)
  execute function private.enforce_status_transition('status');
create trigger invoices_status before update of status on public.invoices
  for each row when (old.status is distinct from new.status)
  execute function private.enforce_status_transition('status');

create trigger payments_scrub before insert or update of raw on public.payments
  for each row execute function private.scrub_payload_columns('raw');
create trigger momo_transactions_scrub before insert or update of raw_callback on public.momo_transactions
  for each row execute function private.scrub_payload_columns('raw_callback');
create trigger revolut_transactions_scrub before insert or update of raw_payload on public.revolut_transactions
  for each row execute function private.scrub_payload_columns('raw_payload');
create trigger subscriptions_scrub before insert or update of raw on public.subscriptions
  for each row execute function private.scrub_payload_columns('raw');
create trigger invoices_scrub before insert or update of raw on public.invoices
  for each row execute function private.scrub_payload_columns('raw');

create trigger momo_transactions_link_intent before insert or update on public.momo_transactions
  for each row execute function private.mirror_link_intent('momo', 'reference_id');
create trigger revolut_transactions_link_intent before insert or update on public.revolut_transactions
  for each row execute function private.mirror_link_intent('revolut', 'revolut_id');

create trigger payment_intents_touch before update on public.payment_intents
  for each row execute function private.touch_updated_at();
create trigger payments_touch before update on public.payments
  for each row execute function private.touch_updated_at();
create trigger refunds_touch before update on public.refunds
  for each row execute function private.touch_updated_at();
create trigger momo_transactions_touch before update on public.momo_transactions
  for each row execute function private.touch_updated_at();
create trigger revolut_transactions_touch before update on public.revolut_transactions
  for each row execute function private.touch_updated_at();
create trigger subscriptions_touch before update on public.subscriptions
  for each row execute function private.touch_updated_at();
create trigger invoices_touch before update on public.invoices
  for each row execute function private.touch_updated_at();

-- Provider payloads are kept scrubbed in the tables and left out of the audit altogether
-- (docs/AUDIT.md): the audit shows that they changed, not what they hold.
select audit.attach('public.payment_intents');
select audit.attach('public.payments', array['raw']);
select audit.attach('public.refunds');
select audit.attach('public.momo_transactions', array['raw_callback']);
select audit.attach('public.revolut_transactions', array['raw_payload']);
select audit.attach('public.subscriptions', array['raw']);
select audit.attach('public.invoices', array['raw']);

grant usage on schema private to service_role;

-- ---------------------------------------------------------------------------------------
-- Access (docs/PAYMENTS.md, RLS matrix): anon nothing; a user reads its own rows; admin
-- and support read everything; writes to intents, payments and refunds only through the
-- payment functions; service_role may write the provider mirror tables directly. Nobody
-- deletes or truncates.
-- ---------------------------------------------------------------------------------------

revoke all on table public.payment_intents, public.payments, public.refunds,
  public.momo_transactions, public.revolut_transactions, public.subscriptions, public.invoices
  from public, anon, authenticated, service_role;
grant select on table public.payment_intents, public.payments, public.refunds,
  public.momo_transactions, public.revolut_transactions, public.subscriptions, public.invoices
  to authenticated, service_role;
grant insert, update on table public.momo_transactions, public.revolut_transactions,
  public.subscriptions, public.invoices
  to service_role;

alter table public.payment_intents enable row level security;
alter table public.payment_intents force row level security;
alter table public.payments enable row level security;
alter table public.payments force row level security;
alter table public.refunds enable row level security;
alter table public.refunds force row level security;
alter table public.momo_transactions enable row level security;
alter table public.momo_transactions force row level security;
alter table public.revolut_transactions enable row level security;
alter table public.revolut_transactions force row level security;
alter table public.subscriptions enable row level security;
alter table public.subscriptions force row level security;
alter table public.invoices enable row level security;
alter table public.invoices force row level security;

create policy payment_intents_select on public.payment_intents for select to authenticated
  using (user_id = (select auth.uid()) or (select private.caller_reads_all()));
create policy payments_select on public.payments for select to authenticated
  using (user_id = (select auth.uid()) or (select private.caller_reads_all()));
create policy refunds_select on public.refunds for select to authenticated
  using (user_id = (select auth.uid()) or (select private.caller_reads_all()));
create policy momo_transactions_select on public.momo_transactions for select to authenticated
  using (user_id = (select auth.uid()) or (select private.caller_reads_all()));
create policy revolut_transactions_select on public.revolut_transactions for select to authenticated
  using (user_id = (select auth.uid()) or (select private.caller_reads_all()));
create policy subscriptions_select on public.subscriptions for select to authenticated
  using (user_id = (select auth.uid()) or (select private.caller_reads_all()));
create policy invoices_select on public.invoices for select to authenticated
  using (user_id = (select auth.uid()) or (select private.caller_reads_all()));
