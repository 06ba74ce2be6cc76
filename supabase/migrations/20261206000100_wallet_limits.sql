-- Limits per account tier, in each currency (docs/LEDGER.md, "Limits"): the largest single
-- payment, the total sent per UTC day and the number of payments per hour. A payment the
-- account's owner makes (wallet_transfer as a signed-in user; a cash-out through
-- private.wallet_check_limits) is checked in its own transaction; moves the service or an admin
-- makes (deposits, refunds, reversals, captures, adjustments) are not limited.

-- The tiers an account can be in.
create table public.wallet_limit_tiers (
  tier text primary key check (tier in ('standard', 'verified', 'merchant'))
);
comment on table public.wallet_limit_tiers is 'The limit tiers an account can be in; their limits are in wallet_tier_limits.';
insert into public.wallet_limit_tiers (tier) values ('standard'), ('verified'), ('merchant');

-- A tier's limits in one currency. Amounts are minor units of that currency, so each currency
-- has limits of its own: 500,000 minor units are 5,000 US dollars but 500,000 Rwandan francs
-- (about 350 dollars), and one figure for every currency would be far too high in some and far
-- too low in others. An account whose tier has no limits in its currency has its owner's
-- payments refused (WL009) until an admin sets them: no limit is ever assumed.
create table public.wallet_tier_limits (
  id uuid primary key default gen_random_uuid(),
  tier text not null references public.wallet_limit_tiers (tier),
  currency text not null check (currency ~ '^[A-Z]{3}$'),
  max_single bigint not null check (max_single > 0),
  max_daily bigint not null check (max_daily >= max_single),
  max_per_hour integer not null check (max_per_hour > 0),
  updated_at timestamptz not null default now(),
  unique (tier, currency)
);
comment on table public.wallet_tier_limits is
  'Limits of a tier in one currency: largest single payment, total sent per UTC day (minor units '
  'of the currency), payments per hour. Changed only through wallet_set_tier_limits.';

-- The currencies mfuko serves at launch: the East African mobile-money ones with limits near
-- those of their markets' mobile-money wallets, and the card currencies (Stripe, Revolut).
-- Admins add a currency, or change these, with wallet_set_tier_limits.
insert into public.wallet_tier_limits (tier, currency, max_single, max_daily, max_per_hour) values
  ('standard', 'RWF', 1000000, 2000000, 60),
  ('verified', 'RWF', 5000000, 15000000, 300),
  ('merchant', 'RWF', 50000000, 500000000, 3000),
  ('standard', 'UGX', 5000000, 10000000, 60),
  ('verified', 'UGX', 20000000, 60000000, 300),
  ('merchant', 'UGX', 200000000, 2000000000, 3000),
  ('standard', 'KES', 25000000, 50000000, 60),
  ('verified', 'KES', 100000000, 300000000, 300),
  ('merchant', 'KES', 1000000000, 10000000000, 3000),
  ('standard', 'TZS', 300000000, 500000000, 60),
  ('verified', 'TZS', 1000000000, 3000000000, 300),
  ('merchant', 'TZS', 10000000000, 100000000000, 3000),
  ('standard', 'USD', 500000, 2000000, 60),
  ('verified', 'USD', 5000000, 20000000, 300),
  ('merchant', 'USD', 50000000, 500000000, 3000),
  ('standard', 'EUR', 500000, 2000000, 60),
  ('verified', 'EUR', 5000000, 20000000, 300),
  ('merchant', 'EUR', 50000000, 500000000, 3000),
  ('standard', 'GBP', 400000, 1600000, 60),
  ('verified', 'GBP', 4000000, 16000000, 300),
  ('merchant', 'GBP', 40000000, 400000000, 3000);

alter table public.wallet_accounts
  add column limit_tier text not null default 'standard' references public.wallet_limit_tiers (tier);
-- Attached again so that its audit update trigger covers the new column (audit.attach).
select audit.attach('public.wallet_accounts', p_explained_columns => array['balance', 'available', 'updated_at']);

-- What an account's owner has sent in the current UTC day and hour: one row per account,
-- updated under its row lock by the payment it counts, so that concurrent payments queue on
-- it and the check is exact and O(1) whatever the day's volume. A payment that fails later
-- rolls its count back with it. A counter, not a record (the ledger is the record): not
-- audited, no API role reads it.
create table private.wallet_limit_usage (
  account_id uuid primary key references public.wallet_accounts (id),
  day date not null,
  sent_today bigint not null,
  hour timestamptz not null,
  sent_this_hour integer not null
);
revoke all on table private.wallet_limit_usage from public, anon, authenticated, service_role;
alter table private.wallet_limit_usage enable row level security;
alter table private.wallet_limit_usage force row level security;

-- The tiers never change and are read through their limits, which change only through
-- wallet_set_tier_limits, audited. Staff read every tier's limits; a user reads those that
-- apply to an account of theirs (its tier in its currency), so that an app can show them.
revoke all on table public.wallet_limit_tiers from public, anon, authenticated, service_role;
alter table public.wallet_limit_tiers enable row level security;
alter table public.wallet_limit_tiers force row level security;

revoke all on table public.wallet_tier_limits from public, anon, authenticated, service_role;
grant select on table public.wallet_tier_limits to authenticated, service_role;
alter table public.wallet_tier_limits enable row level security;
alter table public.wallet_tier_limits force row level security;

-- The limits that apply to the caller's own accounts, read once per query by the policy (an
-- init plan), as private.caller_account_ids is for the ledger's tables.
create function private.caller_tier_limit_ids() returns uuid[]
language plpgsql
stable
security definer set search_path = ''
as $$
begin
  return array(select l.id
                 from public.wallet_accounts a
                 join public.wallet_tier_limits l on l.tier = a.limit_tier and l.currency = a.currency
                where a.owner_id = auth.uid());
end;
$$;
grant execute on function private.caller_tier_limit_ids() to authenticated;

create policy wallet_tier_limits_select on public.wallet_tier_limits
  for select to authenticated
  using (id = any ((select private.caller_tier_limit_ids())::uuid[]) or (select private.caller_reads_all()));

select audit.attach('public.wallet_tier_limits');

-- What the caller may still send now from each of its own accounts: its tier's limits in the
-- account's currency and what is left of them in the current UTC day and hour, as
-- private.wallet_check_limits will count the next payment. Limits are null (and so is what is
-- left) where the tier has none in the currency: the owner cannot pay from it yet. For the
-- WhatsApp "limits" answer and apps, which cannot read the usage counter. Signed-in callers
-- only, staff included: staff paying from their own wallets are limited like everyone.
create function api_private.wallet_limits_left()
returns table (account_id uuid, currency text, tier text, max_single bigint, max_daily bigint, left_today bigint,
               max_per_hour integer, left_this_hour integer)
language plpgsql
stable
security definer set search_path = ''
as $$
begin
  perform private.require_caller(array['user', 'admin', 'support'], 'read its limits');
  return query
    select a.id, a.currency, a.limit_tier, l.max_single, l.max_daily,
           -- A counter of this day or hour counts, as the check rolls it (a later one too: the
           -- clock stepped back); least() keeps what is left at zero or more, and null where
           -- there is no limit.
           l.max_daily - least(l.max_daily, case when u.day >= (now() at time zone 'UTC')::date then u.sent_today else 0 end),
           l.max_per_hour,
           l.max_per_hour - least(l.max_per_hour, case when u.hour >= date_trunc('hour', now(), 'UTC') then u.sent_this_hour else 0 end)
      from public.wallet_accounts a
      left join public.wallet_tier_limits l on l.tier = a.limit_tier and l.currency = a.currency
      left join private.wallet_limit_usage u on u.account_id = a.id
     where a.owner_id = auth.uid()
     order by a.currency, a.id;
end;
$$;
grant execute on function api_private.wallet_limits_left() to authenticated;

-- 22023 unless p_tier (an API argument, bounded first) is one of the tiers.
create function private.require_limit_tier(p_tier text) returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  perform private.require_within(p_tier, 'identifier', 'p_tier');
  if not exists (select 1 from public.wallet_limit_tiers t where t.tier = p_tier) then
    perform private.fail('22023', format('tier %s is not one of standard, verified, merchant', coalesce(p_tier, 'null')));
  end if;
end;
$$;

-- WL009 when a payment of p_amount from p_account would pass a limit of its tier, else
-- counts it. Call it in the payment's transaction, once the payment is known to be new (a
-- replay must not count twice), after the account's row is locked (wallet_apply): the
-- counter row's lock then costs no wait, and either lock alone serialises the account's
-- payments until commit, so two concurrent payments never pass a cap together. A
-- transaction that began before a newer one (its now() is older) counts towards the newer
-- period.
create function private.wallet_check_limits(p_account uuid, p_amount bigint, p_currency text) returns void
language plpgsql
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
  v_tier text;
  v_currency text;
  v_max_single bigint;
  v_max_daily bigint;
  v_max_per_hour integer;
  v_today bigint;
  v_this_hour integer;
begin
  -- Two look-ups by key rather than one join: on a table of a few dozen limits the join is
  -- planned as a hash join, about 5 microseconds a call more (docs/BENCHMARKS.md, History).
  select a.limit_tier, a.currency into v_tier, v_currency from public.wallet_accounts a where a.id = p_account;
  select l.max_single, l.max_daily, l.max_per_hour into v_max_single, v_max_daily, v_max_per_hour
    from public.wallet_tier_limits l
   where l.tier = v_tier and l.currency = v_currency;
  if not found then
    perform private.fail('WL009', format('no limits are set for the %s tier in %s', v_tier, p_currency));
  end if;
  if p_amount > v_max_single then
    perform private.fail('WL009',
      format('single payment limit of %s %s would be exceeded', v_max_single, p_currency));
  end if;
  insert into private.wallet_limit_usage as u (account_id, day, sent_today, hour, sent_this_hour)
  values (p_account, (now() at time zone 'UTC')::date, p_amount, date_trunc('hour', now(), 'UTC'), 1)
  on conflict (account_id) do update
    set sent_today = case when u.day >= excluded.day then u.sent_today else 0 end + excluded.sent_today,
        day = greatest(u.day, excluded.day),
        sent_this_hour = case when u.hour >= excluded.hour then u.sent_this_hour else 0 end + 1,
        hour = greatest(u.hour, excluded.hour)
  returning u.sent_today, u.sent_this_hour into v_today, v_this_hour;
  if v_today > v_max_daily then
    perform private.fail('WL009',
      format('daily limit of %s %s would be exceeded', v_max_daily, p_currency));
  end if;
  if v_this_hour > v_max_per_hour then
    perform private.fail('WL009',
      format('hourly limit of %s payments would be exceeded', v_max_per_hour));
  end if;
end;
$$;

-- WL009 as private.wallet_check_limits would raise it for a payment of p_amount from p_account
-- now, counting nothing: the check runs in this block's subtransaction, which the sentinel
-- error WLCHK (never raised elsewhere) rolls back when the payment is within the limits. For a
-- question put before the payment (the WhatsApp Confirm), so that a payment over a limit is
-- refused when asked for, not after the person confirmed it; the payment is checked and
-- counted again when it is made.
create function private.wallet_require_within_limits(p_account uuid, p_amount bigint, p_currency text) returns void
language plpgsql
set search_path = ''
as $$
begin
  perform private.wallet_check_limits(p_account, p_amount, p_currency);
  raise exception 'within the limits' using errcode = 'WLCHK';
exception when sqlstate 'WLCHK' then
  null;
end;
$$;

-- Gives back what private.wallet_check_limits counted for a payment of p_amount from p_account
-- at p_counted_at that never left the wallet (a cash-out whose hold was voided: MoMo declined
-- it or never took it), so that a retry is not refused for money that never moved: the amount
-- from the day's total while the counter still counts that UTC day, one payment from the
-- hour's while it still counts that hour, never below zero. A counter that has moved on to a
-- later period keeps its count (the void gives back nothing of a period already over). Called
-- under the account's row lock, which the void takes, as the count was made. Only the void
-- paths call it, never a payment: the check above stays as it is. No grant: only the
-- cash-outs' security definer functions call it.
create function private.wallet_limit_usage_give_back(p_account uuid, p_amount bigint, p_counted_at timestamptz) returns void
language plpgsql
set search_path = ''
as $$
begin
  update private.wallet_limit_usage u
     set sent_today = case when u.day = (p_counted_at at time zone 'UTC')::date
                           then greatest(0, u.sent_today - p_amount) else u.sent_today end,
         sent_this_hour = case when u.hour = date_trunc('hour', p_counted_at, 'UTC')
                               then greatest(0, u.sent_this_hour - 1) else u.sent_this_hour end
   where u.account_id = p_account;
end;
$$;

-- Sets a tier's limits in a currency, adding the currency when the tier has none in it yet.
-- Admins (and the service); audited through the limits row.
create function api_private.wallet_set_tier_limits(
  p_tier text,
  p_currency text,
  p_max_single bigint,
  p_max_daily bigint,
  p_max_per_hour integer
)
returns public.wallet_tier_limits
language plpgsql
security definer set search_path = ''
as $$
declare
  v_row public.wallet_tier_limits;
begin
  perform private.require_caller(array['service', 'admin'], 'change limits');
  perform private.require_limit_tier(p_tier);
  perform private.require_currency(p_currency);
  if p_max_single is null or p_max_daily is null or p_max_per_hour is null
     or p_max_single not between 1 and private.wallet_max_amount()
     or p_max_daily < p_max_single or p_max_per_hour < 1 then
    perform private.fail('22023', format(
      'limits must satisfy 0 < max_single <= %s, max_single <= max_daily, max_per_hour >= 1',
      private.wallet_max_amount()));
  end if;
  insert into public.wallet_tier_limits as l (tier, currency, max_single, max_daily, max_per_hour)
  values (p_tier, p_currency, p_max_single, p_max_daily, p_max_per_hour)
  on conflict (tier, currency) do update
    set max_single = excluded.max_single, max_daily = excluded.max_daily,
        max_per_hour = excluded.max_per_hour, updated_at = now()
  returning l.* into v_row;
  return v_row;
end;
$$;
grant execute on function api_private.wallet_set_tier_limits(text, text, bigint, bigint, integer) to authenticated, service_role;

-- Moves an account to another tier. Admins (and the service); audited through the account row.
-- An admin never moves an account of their own (42501): no one raises their own limits. A tier
-- with no limits in the account's currency is refused (22023): its owner could not pay at all.
create function api_private.wallet_set_limit_tier(p_account uuid, p_tier text)
returns public.wallet_accounts
language plpgsql
security definer set search_path = ''
as $$
declare
  v_account public.wallet_accounts;
begin
  perform private.require_caller(array['service', 'admin'], 'change an account tier');
  perform private.require_limit_tier(p_tier);
  perform private.require_not_own(array(select a.owner_id from public.wallet_accounts a where a.id = p_account),
                                  'change the tier of a wallet account');
  v_account := private.wallet_lock_account(p_account);
  if v_account.limit_tier = p_tier then
    return v_account;
  end if;
  if not exists (select 1 from public.wallet_tier_limits l where l.tier = p_tier and l.currency = v_account.currency) then
    perform private.fail('22023', format('the %s tier has no limits in %s: set them first', p_tier, v_account.currency));
  end if;
  update public.wallet_accounts a
     set limit_tier = p_tier, updated_at = now()
   where a.id = p_account
  returning a.* into v_account;
  return v_account;
end;
$$;
grant execute on function api_private.wallet_set_limit_tier(uuid, text) to authenticated, service_role;

create function public.wallet_limits_left()
returns table (account_id uuid, currency text, tier text, max_single bigint, max_daily bigint, left_today bigint,
               max_per_hour integer, left_this_hour integer)
language plpgsql
stable
security invoker
set search_path = ''
as $$
begin
  return query select * from api_private.wallet_limits_left();
end;
$$;
grant execute on function public.wallet_limits_left() to authenticated;

create function public.wallet_set_tier_limits(
  p_tier text,
  p_currency text,
  p_max_single bigint,
  p_max_daily bigint,
  p_max_per_hour integer
)
returns public.wallet_tier_limits
language plpgsql
security invoker
set search_path = ''
as $$
begin
  return api_private.wallet_set_tier_limits(p_tier, p_currency, p_max_single, p_max_daily, p_max_per_hour);
end;
$$;
grant execute on function public.wallet_set_tier_limits(text, text, bigint, bigint, integer) to authenticated, service_role;

create function public.wallet_set_limit_tier(p_account uuid, p_tier text)
returns public.wallet_accounts
language plpgsql
security invoker
set search_path = ''
as $$
begin
  return api_private.wallet_set_limit_tier(p_account, p_tier);
end;
$$;
grant execute on function public.wallet_set_limit_tier(uuid, text) to authenticated, service_role;
