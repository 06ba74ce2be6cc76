-- Wallet ledger, part 2: the machinery every public wallet function is built from.
--
-- Writing a movement of money is always the same three steps:
--   1. wallet_record   insert the transaction rows under their idempotency keys (replays
--                      find the original, different parameters fail with WL005);
--   2. entries         two postings per transaction;
--   3. wallet_apply    lock the accounts in id order and change their balances, refusing
--                      frozen/closed accounts and overdrafts. Last, so that an account row
--                      lock is held for as little as possible before the commit: on a hot
--                      account that lock is what every transfer queues for.
-- A failure in step 3 rolls back steps 1 and 2 with it.
-- Sets all the way down, so that a batch of 1000 costs a handful of statements.
-- None of these functions is callable through the API.
--
-- The functions on every transfer's path set plan_cache_mode = force_generic_plan: their
-- queries take array and uuid parameters, for which PostgreSQL otherwise keeps building a
-- custom plan on every call (the grouping query of wallet_apply: 170 us planned each time,
-- 44 us with its cached generic plan; docs/BENCHMARKS.md). Every one of these queries is an
-- index lookup by key whatever the parameter values, so the generic plan is the right one.

-- ---------------------------------------------------------------------------------------
-- The checks every function makes: its caller, then its arguments, each refusal with the
-- contract's SQLSTATE
-- ---------------------------------------------------------------------------------------

-- Raises the stable error contract: SQLSTATE plus a message naming the account or key.
create function private.fail(p_code text, p_message text) returns void
language plpgsql
set search_path = ''
as $$
begin
  raise exception '%', p_message using errcode = p_code;
end;
$$;

-- The largest value any API function accepts for a free-text or JSON argument, written down
-- once (docs/LEDGER.md, "Sizes of arguments"). Without a bound, a one-unit transfer could
-- carry megabytes of description or metadata into rows and an audit trail that never shrink.
--   identifier   idempotency keys, event ids and types, phone numbers                 (characters)
--   provider_id  a provider's id of a payment, refund or intent; short enough that the
--                ledger key derived from it (refund:<provider>:<id>) is an identifier (characters)
--   description  what a transfer says it is for                                      (characters)
--   reason       why an admin or the service changed something                       (characters)
--   path         the request path of an admin call                                   (characters)
--   metadata     a caller's JSON metadata                                      (bytes of JSON text)
--   document     a provider's payload, a stored response                       (bytes of JSON text)
-- document sits above the largest HTTP body a function accepts (3 MiB) with room for the
-- spaces jsonb adds when it prints a compact body.
create function private.input_limit(p_kind text) returns integer
language plpgsql
immutable
set search_path = ''
as $$
begin
  return case p_kind
    when 'identifier' then 255
    when 'provider_id' then 200
    when 'description' then 500
    when 'reason' then 1000
    when 'path' then 2048
    when 'metadata' then 4096
    when 'document' then 8388608
  end;
end;
$$;

-- 22023 naming the argument and its bound when p_value is longer than the limit of p_kind:
-- a text in characters, JSON (metadata, document) in bytes of its JSON text. Null passes:
-- whether an argument is required is for its function to say.
create function private.require_within(p_value text, p_kind text, p_argument text) returns void
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_unit text := 'characters';
  v_size integer := pg_catalog.length(p_value);
begin
  if p_kind in ('metadata', 'document') then
    v_unit := 'bytes of JSON';
    v_size := pg_catalog.octet_length(p_value);
  end if;
  if v_size > private.input_limit(p_kind) then
    perform private.fail('22023',
      pg_catalog.format('%s must be at most %s %s', p_argument, private.input_limit(p_kind), v_unit));
  end if;
end;
$$;

create function private.require_within(p_value jsonb, p_kind text, p_argument text) returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  perform private.require_within(p_value::text, p_kind, p_argument);
end;
$$;

-- A required text argument: 1 to input_limit(p_kind) characters, or 22023.
create function private.require_text(p_value text, p_kind text, p_argument text) returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_value is null or pg_catalog.length(p_value) not between 1 and private.input_limit(p_kind) then
    perform private.fail('22023',
      pg_catalog.format('%s must be 1 to %s characters', p_argument, private.input_limit(p_kind)));
  end if;
end;
$$;

-- A required number within [p_min, p_max], or 22023 naming the argument.
create function private.require_between(p_value integer, p_min integer, p_max integer, p_argument text) returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_value is null or p_value < p_min or p_value > p_max then
    perform private.fail('22023', pg_catalog.format('%s must be between %s and %s', p_argument, p_min, p_max));
  end if;
end;
$$;

-- WL007 '<p_what> not found' unless p_found: the check after a lookup by id, given FOUND.
-- Volatile, as every function that raises: an immutable one may be run while a query is
-- planned.
create function private.require_found(p_found boolean, p_what text) returns void
language plpgsql
set search_path = ''
as $$
begin
  if not p_found then
    perform private.fail('WL007', p_what || ' not found');
  end if;
end;
$$;

-- The reason an admin gives for changing an account or its money: required (22023 'a reason is
-- required to <p_action>' when missing or blank), and bounded like every reason. Volatile, as
-- require_found.
create function private.require_reason(p_reason text, p_action text) returns void
language plpgsql
set search_path = ''
as $$
begin
  if p_reason is null or pg_catalog.btrim(p_reason) = '' then
    perform private.fail('22023', pg_catalog.format('a reason is required to %s', p_action));
  end if;
  perform private.require_within(p_reason, 'reason', 'p_reason');
end;
$$;

-- The caller class, or 42501 when it is not one of p_allowed.
create function private.require_caller(p_allowed text[], p_what text) returns text
language plpgsql
stable
set search_path = ''
as $$
declare
  v_caller text := private.caller();
begin
  if v_caller is null or not (v_caller = any (p_allowed)) then
    perform private.fail('42501', format('not allowed to %s', p_what));
  end if;
  return v_caller;
end;
$$;

-- 42501 when an admin acts on money of their own: p_owners are the users whose wallets the
-- action moves or changes (the owners of its accounts, a payment's payer). An admin's power
-- over other people's wallets never extends to their own: another admin must act, so that no
-- one can credit, unfreeze or refund themselves. Service calls (jobs, webhooks, an admin's
-- replay of a provider event) are the provider's doing, not the admin's, and are not refused.
create function private.require_not_own(p_owners uuid[], p_what text) returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if private.caller() = 'admin' and auth.uid() = any (p_owners) then
    perform private.fail('42501', pg_catalog.format('an admin may not %s of their own: another admin must', p_what));
  end if;
end;
$$;

create function private.wallet_max_amount() returns bigint
language plpgsql
stable
set search_path = ''
as $$
begin
  return (select s.max_amount from private.wallet_settings s where s.singleton);
end;
$$;

-- An amount of money within (0, wallet_max_amount()], or WL006.
create function private.require_amount(p_amount bigint) returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if p_amount is null or p_amount <= 0 or p_amount > private.wallet_max_amount() then
    perform private.fail('WL006', pg_catalog.format('invalid amount %s', coalesce(p_amount::text, 'null')));
  end if;
end;
$$;

-- A currency given as an ISO 4217 code, or 22023. (The tables' checks and wallet_validate's
-- set-based check test the same pattern.)
create function private.require_currency(p_currency text) returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_currency is null or p_currency !~ '^[A-Z]{3}$' then
    perform private.fail('22023', pg_catalog.format('currency %s is not an ISO 4217 code', coalesce(p_currency, 'null')));
  end if;
end;
$$;

-- A mobile-money number (a MoMo payer or payee, a payee's phone) as E.164 digits with the
-- country code and no '+', 8 to 15 digits as MoMo pays them, or 22023.
create function private.require_msisdn(p_msisdn text) returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_msisdn is null or p_msisdn !~ '^[1-9][0-9]{7,14}$' then
    perform private.fail('22023', 'p_msisdn must be E.164 digits with the country code, no +');
  end if;
end;
$$;

-- The payment providers money comes in and goes out through (the payments tables' shape
-- checks call it too).
create function private.payment_providers() returns text[]
language plpgsql
immutable
set search_path = ''
as $$
begin
  return array['stripe', 'momo', 'revolut'];
end;
$$;

-- One of the payment providers, or 22023.
create function private.require_provider(p_provider text) returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_provider is null or not (p_provider = any (private.payment_providers())) then
    perform private.fail('22023', pg_catalog.format('unknown payment provider %s', coalesce(p_provider, 'null')));
  end if;
end;
$$;

-- An admin's choice among p_choices (p_argument names it: an action, an outcome), or 22023
-- naming the choices; longer than an identifier is 22023 naming the bound.
create function private.require_choice(p_value text, p_choices text[], p_argument text) returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  perform private.require_within(p_value, 'identifier', p_argument);
  if p_value is null or not (p_value = any (p_choices)) then
    perform private.fail('22023', pg_catalog.format('%s %s is not %s', p_argument, coalesce(p_value, 'null'),
                                                    pg_catalog.array_to_string(p_choices, ' or ')));
  end if;
end;
$$;

-- ---------------------------------------------------------------------------------------
-- The ledger's machinery
-- ---------------------------------------------------------------------------------------

-- What a signed-in user hears about an account it does not own that cannot take its
-- transfer, whatever the reason (none, frozen, closed, a system account, another currency):
-- one code and one message, so that errors tell nobody another user's account state.
create function private.wallet_raise_not_receivable(p_account uuid) returns void
language plpgsql
set search_path = ''
as $$
begin
  perform private.fail('WL007',
    format('wallet account %s not found or cannot receive this transfer', p_account));
end;
$$;

-- Why an account could not take a balance change: gone, not active (frozen counts as active
-- where p_frozen_ok), or short of funds. A signed-in user is told only about its own accounts.
create function private.wallet_raise_unavailable(p_account uuid, p_frozen_ok boolean) returns void
language plpgsql
set search_path = ''
as $$
declare
  v_status text;
  v_owner uuid;
begin
  select a.status, a.owner_id into v_status, v_owner from public.wallet_accounts a where a.id = p_account;
  if v_owner is distinct from auth.uid() and private.caller() = 'user' then
    perform private.wallet_raise_not_receivable(p_account);
  end if;
  if v_status is null then
    perform private.fail('WL007', format('wallet account %s not found', p_account));
  elsif v_status = 'closed' or (v_status = 'frozen' and not p_frozen_ok) then
    perform private.fail('WL004', format('wallet account %s is %s', p_account, v_status));
  end if;
  perform private.fail('WL001', format('insufficient funds in wallet account %s', p_account));
end;
$$;

-- Moves the balance shards of these accounts into their rows (the caller holds the row
-- locks): locks every shard, in (account, shard) order, so that the credits in flight on
-- them commit first, then adds their sum to balance and available and empties them.
create function private.wallet_fold_shards(p_accounts uuid[]) returns void
language plpgsql
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
begin
  perform 1
     from public.wallet_balance_shards s
    where s.account_id = any (p_accounts)
    order by s.account_id, s.shard
      for update;
  update public.wallet_accounts a
     set balance = a.balance + f.total, available = a.available + f.total, updated_at = now()
    from (select s.account_id, sum(s.balance)::bigint as total
            from public.wallet_balance_shards s
           where s.account_id = any (p_accounts)
           group by s.account_id) f
   where a.id = f.account_id and f.total <> 0;
  update public.wallet_balance_shards s
     set balance = 0, updated_at = now()
   where s.account_id = any (p_accounts) and s.balance <> 0;
end;
$$;

-- Gives an account p_count balance shards (it keeps those it has): the shard rows, then the
-- count on its row. The caller holds the row lock, which every fold and status change takes
-- first, so none of them can miss a shard created here.
create function private.wallet_add_shards(p_account uuid, p_count integer) returns void
language plpgsql
set search_path = ''
as $$
begin
  insert into public.wallet_balance_shards (account_id, shard)
  select p_account, n from generate_series(0, p_count - 1) as n
  on conflict (account_id, shard) do nothing;
  update public.wallet_accounts a
     set balance_shards = p_count, updated_at = now()
   where a.id = p_account and a.balance_shards <> p_count;
end;
$$;

-- Adds each credit to a shard of its account, then checks the accounts the way a row update
-- would. A credit takes the first shard nobody holds, looking from p_shards (pg_backend_pid()
-- mod the account's shards, so that concurrent creditors start apart; a shard the caller
-- locked already is its own), and waits for one only when every shard is held. Accounts are
-- taken in id order, the order of shard locks. A freeze or close locks every shard first, so
-- a credit that got its shard either committed before it or now sees it (READ COMMITTED only:
-- wallet_apply sends no credit here otherwise). An account whose shards were switched off
-- meanwhile (balance_shards = 0: every later change goes to the row and nothing folds these
-- again) refuses with 40001, and the transfer can be retried.
create function private.wallet_credit_shards(p_accounts uuid[], p_shards smallint[], p_amounts bigint[],
                                             p_frozen_ok boolean)
returns void
language plpgsql
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
  v_credit record;
  v_account public.wallet_accounts;
begin
  for v_credit in
    select c.account_id, c.shard, c.amount
      from unnest(p_accounts, p_shards, p_amounts) as c(account_id, shard, amount)
     order by c.account_id
  loop
    -- The start if nobody holds it: one index lookup, the common case.
    update public.wallet_balance_shards s
       set balance = s.balance + v_credit.amount, updated_at = now()
     where s.id = (select f.id
                     from public.wallet_balance_shards f
                    where f.account_id = v_credit.account_id and f.shard = v_credit.shard
                      for update skip locked);
    if not found then
      -- The start is held: the first free shard going round from it (shards are numbered
      -- below 64), or when all are held, the start's turn: the UPDATE waits for it. coalesce
      -- runs the second lookup only when the first finds nothing. A statement of its own, so
      -- that the common case does not prepare these lookups (docs/BENCHMARKS.md, History).
      update public.wallet_balance_shards s
         set balance = s.balance + v_credit.amount, updated_at = now()
       where s.id = coalesce((select f.id
                                from public.wallet_balance_shards f
                               where f.account_id = v_credit.account_id
                               order by (f.shard - v_credit.shard + 64) % 64
                               limit 1
                                 for update skip locked),
                             (select f.id
                                from public.wallet_balance_shards f
                               where f.account_id = v_credit.account_id
                               order by (f.shard - v_credit.shard + 64) % 64
                               limit 1));
      if not found then
        -- Shards are created before any credit is routed to them: only a hand edit gets here.
        perform private.fail('XX000', format('wallet account %s has no balance shard', v_credit.account_id));
      end if;
    end if;
  end loop;

  select a.* into v_account
    from public.wallet_accounts a
   where a.id = any (p_accounts)
     and (not (a.status = 'active' or (p_frozen_ok and a.status = 'frozen')) or a.balance_shards = 0)
   order by a.id
   limit 1;
  if found then
    if not (v_account.status = 'active' or (p_frozen_ok and v_account.status = 'frozen')) then
      perform private.wallet_raise_unavailable(v_account.id, p_frozen_ok);
    end if;
    perform private.fail('40001',
      format('wallet account %s stopped using balance shards during this call; retry it', v_account.id));
  end if;
end;
$$;

-- The locks-first half of wallet_apply (a batch, or a debit its account's row cannot cover
-- alone): the same entries, in lock order. Every row to change is locked first (in READ
-- COMMITTED a credit to an account with shards changes a shard instead, p_try); then, among
-- those rows, the accounts whose row cannot cover its change alone fold their shards; then
-- every shard, in (account, shard) order: all of an account that folds, the one a credit
-- starts from. Then one UPDATE with the checks changes all the rows: the accounts it did not
-- change are the refusals, the first in lock order reported. A statement per account was a
-- third of a batch's time (docs/LEDGER.md, "Batches").
create function private.wallet_apply_locked(p_ids uuid[], p_balance bigint[], p_available bigint[], p_try boolean[],
                                            p_shards smallint[], p_force boolean, p_frozen_ok boolean)
returns void
language plpgsql
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
  v_rows uuid[];
  v_fold uuid[];
  v_changed uuid[];
  v_refused uuid;
  v_credits record;
begin
  select coalesce(array_agg(d.id order by d.n), '{}')
    into v_rows
    from unnest(p_ids, p_try, p_shards) with ordinality as d(id, try, shards, n)
   where not (d.try and d.shards > 0);
  perform 1
     from public.wallet_accounts a
    where a.id = any (v_rows)
    order by a.kind = 'system', a.id
      for no key update;

  select coalesce(array_agg(a.id), '{}')
    into v_fold
    from unnest(p_ids, p_balance, p_available) as d(id, balance, available)
    join public.wallet_accounts a on a.id = d.id
   where a.id = any (v_rows)
     and a.balance_shards > 0
     and not (p_force or a.allow_negative)
     and ((d.available < 0 and a.available + d.available < 0) or (d.balance < 0 and a.balance + d.balance < 0));
  perform 1
     from public.wallet_balance_shards s
     join unnest(p_ids, p_try, p_shards) as d(id, try, shards) on s.account_id = d.id
    where s.account_id = any (v_fold)
       or (d.try and d.shards > 0 and s.shard = pg_backend_pid() % d.shards)
    order by s.account_id, s.shard
      for update of s;
  if cardinality(v_fold) > 0 then
    perform private.wallet_fold_shards(v_fold);
  end if;

  with changed as (
    update public.wallet_accounts a
       set balance = a.balance + d.balance,
           available = a.available + d.available,
           updated_at = now()
      from unnest(p_ids, p_balance, p_available) as d(id, balance, available)
     where a.id = d.id
       and a.id = any (v_rows)
       and (a.status = 'active' or (p_frozen_ok and a.status = 'frozen'))
       and (p_force or a.allow_negative
            or ((d.available >= 0 or a.available + d.available >= 0)
                and (d.balance >= 0 or a.balance + d.balance >= 0)))
    returning a.id
  )
  select coalesce(array_agg(c.id), '{}') into v_changed from changed c;

  select d.id into v_refused
    from unnest(v_rows) with ordinality as d(id, n)
   where d.id <> all (v_changed)
   order by d.n
   limit 1;
  if found then
    perform private.wallet_raise_unavailable(v_refused, p_frozen_ok);
  end if;

  select array_agg(d.id) as ids, array_agg((pg_backend_pid() % d.shards)::smallint) as shards, array_agg(d.balance) as amounts
    into v_credits
    from unnest(p_ids, p_balance, p_try, p_shards) as d(id, balance, try, shards)
   where d.try and d.shards > 0;
  if v_credits.ids is not null then
    perform private.wallet_credit_shards(v_credits.ids, v_credits.shards, v_credits.amounts, p_frozen_ok);
  end if;
end;
$$;

-- Step 3. Applies net balance/available changes in one global order: account rows first,
-- user accounts before system accounts, each by id (kind never changes, so the order is
-- total and fixed); then balance shards, by account and shard. Every writer in the ledger
-- takes its locks in this order, so two writers can wait for each other but never in a
-- cycle. System accounts (clearing, fees) are the hottest rows there are: every deposit of
-- a provider and currency touches one, so they come last and are held for the shortest time
-- before the commit.
-- A credit never waits for a busy row (docs/LEDGER.md, "Hot accounts"). In READ COMMITTED a
-- change that needs no funds check (balance and available up alike, or any change of an
-- account allowed to go negative) tries the row without waiting (skip locked): free, it
-- changes the row; held by another transaction, it goes to one of the account's balance
-- shards. An account without shards yet waits for its row this once and gets them, so that
-- the next credit finding the row busy does not wait. Outside READ COMMITTED a credit takes
-- the row: a shard credit checks the account after taking its shard, and a REPEATABLE READ
-- snapshot older than a freeze would not see it, where the row update fails with 40001.
-- Every other change takes its row, with the checks in the UPDATE's WHERE, re-evaluated on
-- the latest row version once the lock is granted (no lost update, no overdraft). A debit
-- the row cannot cover while the account has shards folds them in first (locks first, in
-- the order above: wallet_apply_locked), so the funds check sees the whole balance.
-- One or two accounts (every single transfer, deposit and capture): one UPDATE per account,
-- each taking its lock, and the second account is locked only for its own update
-- (wallet_apply_rows, which wallet_post_one calls directly with the order it read). More (a
-- batch): wallet_apply_locked.
-- p_force lets debits take a balance below zero (forced reversals). p_frozen_ok lets the
-- change post on a frozen account: a freeze stops what a user starts, not the recording of
-- money a provider already moved or a correction (docs/LEDGER.md, "Frozen accounts"). A closed
-- account takes nothing.
create function private.wallet_apply(p_accounts uuid[], p_balance bigint[], p_available bigint[], p_force boolean,
                                     p_frozen_ok boolean)
returns void
language plpgsql
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
  v_ids uuid[];
  v_balance bigint[];
  v_available bigint[];
  v_try boolean[];
  v_shards smallint[];
begin
  -- In lock order: an unknown account first (its refusal is WL007), then users, then system
  -- accounts, each by id.
  select array_agg(d.account_id order by d.lock_rank, d.account_id),
         array_agg(d.balance order by d.lock_rank, d.account_id),
         array_agg(d.available order by d.lock_rank, d.account_id),
         array_agg(d.try order by d.lock_rank, d.account_id),
         array_agg(d.shards order by d.lock_rank, d.account_id)
    into v_ids, v_balance, v_available, v_try, v_shards
    from (select g.account_id, g.balance, g.available, coalesce(k.balance_shards, 0) as shards,
                 case when k.kind = 'system' then 2 when k.kind = 'user' then 1 else 0 end as lock_rank,
                 coalesce(g.balance = g.available and (g.balance > 0 or k.allow_negative)
                          and current_setting('transaction_isolation') = 'read committed', false) as try
            from (select u.account_id, sum(u.balance)::bigint as balance, sum(u.available)::bigint as available
                    from unnest(p_accounts, p_balance, p_available) as u(account_id, balance, available)
                   group by u.account_id) g
            left join public.wallet_accounts k on k.id = g.account_id) d;

  if cardinality(v_ids) > 2 then
    perform private.wallet_apply_locked(v_ids, v_balance, v_available, v_try, v_shards, p_force, p_frozen_ok);
  else
    perform private.wallet_apply_rows(v_ids, v_balance, v_available, v_try, v_shards, p_force, p_frozen_ok);
  end if;
end;
$$;

-- The row path of wallet_apply for one or two accounts, given in lock order with their
-- changes, whether a credit may try its row without waiting (p_try) and their shard counts as
-- read: one UPDATE per account, each taking its own lock, with the checks in its WHERE.
create function private.wallet_apply_rows(p_ids uuid[], p_balance bigint[], p_available bigint[], p_try boolean[],
                                          p_shards smallint[], p_force boolean, p_frozen_ok boolean)
returns void
language plpgsql
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
  -- Shards a busy account gets: credits of up to this many transactions at once, plus the row's.
  c_auto_shards constant integer := 16;
  v_deferred integer[] := array[]::integer[];
  -- The deferred credits as wallet_credit_shards takes them, appended as they are deferred
  -- (plain assignments, where selecting them from v_deferred at the end took a query; null
  -- until the first, as appending to null starts an array).
  v_credit_ids uuid[];
  v_credit_shards smallint[];
  v_credit_amounts bigint[];
  v_wait boolean;
  v_count smallint;
begin
  for i in 1 .. cardinality(p_ids) loop
    v_wait := not p_try[i];
    loop
      update public.wallet_accounts a
         set balance = a.balance + p_balance[i],
             available = a.available + p_available[i],
             updated_at = now()
       where a.id = case when v_wait then p_ids[i]
                         else (select l.id from public.wallet_accounts l where l.id = p_ids[i] for no key update skip locked) end
         and (a.status = 'active' or (p_frozen_ok and a.status = 'frozen'))
         and (p_force or a.allow_negative
              or ((p_available[i] >= 0 or a.available + p_available[i] >= 0)
                  and (p_balance[i] >= 0 or a.balance + p_balance[i] >= 0)))
      returning a.balance_shards into v_count;
      -- A credit the row did not take goes to a shard, or, without shards yet, waits for the
      -- row this once.
      exit when found or v_wait or p_shards[i] > 0;
      v_wait := true;
    end loop;
    if found then
      if p_try[i] and v_wait and v_count = 0 then
        -- The row was busy and the account had no shards: it has them from now on.
        perform private.wallet_add_shards(p_ids[i], c_auto_shards);
      end if;
      continue;
    end if;
    if not v_wait then
      -- The shard credit checks the account's status once it holds its shard.
      v_deferred := v_deferred || i;
      v_credit_ids := v_credit_ids || p_ids[i];
      v_credit_shards := v_credit_shards || (pg_backend_pid() % p_shards[i])::smallint;
      v_credit_amounts := v_credit_amounts || p_balance[i];
      continue;
    end if;
    if not p_try[i] and exists (select 1 from public.wallet_accounts a where a.id = p_ids[i] and a.balance_shards > 0) then
      -- The row alone cannot cover this change: the rest of the call takes its locks first and
      -- folds the shards (the rows before this one are locked already, in order).
      perform private.wallet_apply_locked(
        array(select p_ids[j] from unnest(v_deferred) j) || p_ids[i:],
        array(select p_balance[j] from unnest(v_deferred) j) || p_balance[i:],
        array(select p_available[j] from unnest(v_deferred) j) || p_available[i:],
        array(select p_try[j] from unnest(v_deferred) j) || p_try[i:],
        array(select p_shards[j] from unnest(v_deferred) j) || p_shards[i:],
        p_force, p_frozen_ok);
      return;
    end if;
    perform private.wallet_raise_unavailable(p_ids[i], p_frozen_ok);
  end loop;

  if cardinality(v_deferred) > 0 then
    perform private.wallet_credit_shards(v_credit_ids, v_credit_shards, v_credit_amounts, p_frozen_ok);
  end if;
end;
$$;

-- The checks every requested transaction passes first, in this order (the first that fails
-- decides the error): key, accounts and currency present and well formed, metadata an
-- object, description (a reason, for reversals and adjustments) and metadata within their
-- bounds, amount within (0, p_max_amount], distinct accounts that exist (p_from_currency and
-- p_to_currency are their currencies, null for an account that does not exist) and share the
-- currency. Returns the error's SQLSTATE and message, or nulls. wallet_validate runs it for a
-- set and wallet_post_one for its one transaction, so both report the same error.
create function private.wallet_request_error(
  p_kind text,
  p_item bigint,
  p_from uuid,
  p_to uuid,
  p_amount bigint,
  p_currency text,
  p_key text,
  p_description text,
  p_metadata jsonb,
  p_max_amount bigint,
  p_from_currency text,
  p_to_currency text,
  out code text,
  out message text
)
language plpgsql
stable
set search_path = ''
as $$
declare
  v_text_kind constant text := case when p_kind in ('reversal', 'adjustment') then 'reason' else 'description' end;
  -- Constant arguments: each input_limit is evaluated once, when the expression is planned.
  v_max_text constant integer := case when p_kind in ('reversal', 'adjustment') then private.input_limit('reason')
                                      else private.input_limit('description') end;
begin
  if p_key is null or btrim(p_key) = '' or length(p_key) > private.input_limit('identifier') then
    code := '22023';
    message := format('idempotency key is required (1 to %s characters), item %s', private.input_limit('identifier'), p_item);
  elsif p_from is null or (p_to is null and p_kind <> 'hold') then
    code := '22023';
    message := format('from and to accounts are required, item %s', p_item);
  elsif p_currency is null or p_currency !~ '^[A-Z]{3}$' then
    code := '22023';
    message := format('currency %s is not an ISO 4217 code (key %s)', coalesce(p_currency, 'null'), p_key);
  elsif jsonb_typeof(p_metadata) <> 'object' then
    code := '22023';
    message := format('metadata must be a JSON object (key %s)', p_key);
  elsif length(p_description) > v_max_text then
    code := '22023';
    message := format('p_%s must be at most %s characters (key %s)', v_text_kind, v_max_text, p_key);
  elsif octet_length(p_metadata::text) > private.input_limit('metadata') then
    code := '22023';
    message := format('p_metadata must be at most %s bytes of JSON (key %s)', private.input_limit('metadata'), p_key);
  elsif p_amount is null or p_amount <= 0 or p_amount > p_max_amount then
    code := 'WL006';
    message := format('invalid amount %s: must be between 1 and %s (key %s)', coalesce(p_amount::text, 'null'), p_max_amount, p_key);
  elsif p_from = p_to then
    code := 'WL003';
    message := format('wallet account %s cannot pay itself (key %s)', p_from, p_key);
  elsif p_from_currency is null then
    code := 'WL007';
    message := format('wallet account %s not found', p_from);
  elsif p_to is not null and p_to_currency is null then
    code := 'WL007';
    message := format('wallet account %s not found', p_to);
  elsif p_from_currency <> p_currency or p_to_currency <> p_currency then
    code := 'WL002';
    message := format('currency %s does not match wallet accounts %s (%s) and %s (%s)',
                      p_currency, p_from, p_from_currency, p_to, p_to_currency);
  end if;
end;
$$;

-- wallet_request_error for a set of requested transactions, in input order: the first item
-- that fails decides the error.
create function private.wallet_validate(
  p_kind text,
  p_from uuid[],
  p_to uuid[],
  p_amount bigint[],
  p_currency text[],
  p_key text[],
  p_description text[],
  p_metadata jsonb[]
)
returns void
language plpgsql
stable
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
  v_max_amount bigint := private.wallet_max_amount();
  v_code text;
  v_message text;
begin
  select e.code, e.message
    into v_code, v_message
    from unnest(p_from, p_to, p_amount, p_currency, p_key, p_description, p_metadata)
         with ordinality as u(from_id, to_id, amount, currency, key, description, metadata, n)
    left join public.wallet_accounts fa on fa.id = u.from_id
    left join public.wallet_accounts ta on ta.id = u.to_id
   cross join lateral private.wallet_request_error(p_kind, u.n, u.from_id, u.to_id, u.amount, u.currency, u.key,
                                                   u.description, u.metadata, v_max_amount, fa.currency, ta.currency) e
   where e.code is not null
   order by u.n
   limit 1;
  if v_code is not null then
    perform private.fail(v_code, v_message);
  end if;
end;
$$;

-- Step 1. Validates the requested transactions (input order decides which error is
-- reported), inserts them under their keys and returns, per input, the transaction that
-- stands for it and whether it is new. A key that already exists in the caller's scope
-- returns the original when every parameter matches and fails with WL005 otherwise.
-- A concurrent call with the same key waits on the unique index until the first commits
-- (then it replays) or aborts (then it proceeds), so one key never has two effects.
-- Holds and withdrawals are recorded pending, everything else posted.
create function private.wallet_record(
  p_scope uuid,
  p_kind text,
  p_from uuid[],
  p_to uuid[],
  p_amount bigint[],
  p_currency text[],
  p_key text[],
  p_description text[],
  p_metadata jsonb[],
  p_reverses uuid default null,
  p_expires_at timestamptz default null
)
returns table (ord bigint, tx_id uuid, fresh boolean)
language plpgsql
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
  v_pending boolean := p_kind in ('hold', 'withdrawal');
  v_ids uuid[];
  v_new uuid[];
  v_message text;
begin
  perform private.wallet_validate(p_kind, p_from, p_to, p_amount, p_currency, p_key, p_description, p_metadata);

  v_ids := array(select private.uuid_v7() from generate_series(1, cardinality(p_key)));

  -- Keys in sorted order, so two batches sharing keys wait for each other without a cycle.
  with inserted as (
    insert into public.wallet_transactions as t
      (id, kind, status, amount, hold_amount, currency, from_account_id, to_account_id,
       idempotency_key, initiated_by, reverses_id, description, metadata, posted_at, expires_at,
       actor_id, actor_role, actor_app_role, session_id, correlation_id, client_ip, user_agent)
    select u.id, p_kind, case when v_pending then 'pending' else 'posted' end,
           u.amount, case when v_pending then u.amount end, u.currency, u.from_id, u.to_id,
           u.key, p_scope, p_reverses, u.description, coalesce(u.metadata, '{}'),
           case when not v_pending then now() end, p_expires_at,
           c.actor_id, c.actor_role, c.actor_app_role, c.session_id, c.correlation_id, c.ip, c.user_agent
      from unnest(v_ids, p_from, p_to, p_amount, p_currency, p_key, p_description, p_metadata)
           as u(id, from_id, to_id, amount, currency, key, description, metadata)
     cross join audit.request_context() c
     order by u.key
    on conflict (idempotency_key, initiated_by) do nothing
    returning t.id
  )
  select coalesce(array_agg(i.id), '{}') into v_new from inserted i;

  -- The common case: every key was new, and the result is the ids just inserted.
  if cardinality(v_new) = cardinality(v_ids) then
    return query select u.n, u.id, true from unnest(v_ids) with ordinality as u(id, n);
    return;
  end if;

  -- Some keys were taken: the existing rows must match what is asked now. (`= any (p_key)`
  -- keeps the lookup on the key index whatever the planner thinks of the table's size.)
  select u.key
    into v_message
    from unnest(v_ids, p_from, p_to, p_amount, p_currency, p_key, p_description, p_metadata)
         as u(id, from_id, to_id, amount, currency, key, description, metadata)
    join public.wallet_transactions t on t.idempotency_key = u.key
   where t.idempotency_key = any (p_key)
     and t.initiated_by is not distinct from p_scope
     and u.id <> all (v_new)
     and ((t.kind, t.from_account_id, coalesce(t.hold_amount, t.amount), t.currency,
           t.description, t.metadata, t.reverses_id, t.expires_at)
          is distinct from
          (p_kind, u.from_id, u.amount, u.currency, u.description, coalesce(u.metadata, '{}'), p_reverses, p_expires_at)
          -- a hold gets its destination when captured; the hold call names none
          or (p_kind <> 'hold' and t.to_account_id is distinct from u.to_id))
   limit 1;
  if found then
    perform private.fail('WL005',
      format('idempotency key %s was already used with different parameters', v_message));
  end if;

  return query
    select k.n, t.id, t.id = any (v_new)
      from unnest(p_key) with ordinality as k(key, n)
      join public.wallet_transactions t on t.idempotency_key = k.key
     where t.idempotency_key = any (p_key)
       and t.initiated_by is not distinct from p_scope
     order by k.n;
end;
$$;

-- Step 2 for posted transactions: the debit and the credit of each, in one INSERT.
create function private.wallet_write_entries(p_transactions uuid[]) returns void
language plpgsql
set search_path = ''
as $$
begin
  insert into public.wallet_entries (transaction_id, account_id, amount)
  select t.id, e.account_id, e.amount
    from public.wallet_transactions t
   cross join lateral (values (t.from_account_id, -t.amount), (t.to_account_id, t.amount)) as e(account_id, amount)
   where t.id = any (p_transactions)
   order by t.id, e.amount;
end;
$$;

-- Records and posts transfer-like transactions (transfer, deposit, reversal): all the new
-- ones take effect together or not at all; replays change nothing. Returns the
-- transactions in input order.
create function private.wallet_post(
  p_scope uuid,
  p_kind text,
  p_force boolean,
  p_from uuid[],
  p_to uuid[],
  p_amount bigint[],
  p_currency text[],
  p_key text[],
  p_description text[],
  p_metadata jsonb[],
  p_reverses uuid default null
)
returns setof public.wallet_transactions
language plpgsql
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
  v_order uuid[];
  v_fresh uuid[];
  v_accounts uuid[];
  v_deltas bigint[];
begin
  select array_agg(r.tx_id order by r.ord), coalesce(array_agg(distinct r.tx_id) filter (where r.fresh), '{}')
    into v_order, v_fresh
    from private.wallet_record(p_scope, p_kind, p_from, p_to, p_amount, p_currency, p_key,
                               p_description, p_metadata, p_reverses) r;

  -- The result is final once recorded (balances live in wallet_accounts), so it is read
  -- before the account locks are taken.
  return query
    select t.*
      from unnest(v_order) with ordinality as o(id, n)
      join public.wallet_transactions t on t.id = o.id
     order by o.n;

  if cardinality(v_fresh) > 0 then
    perform private.wallet_write_entries(v_fresh);
    select array_agg(e.account_id), array_agg(e.amount)
      into v_accounts, v_deltas
      from public.wallet_transactions t
     cross join lateral (values (t.from_account_id, -t.amount), (t.to_account_id, t.amount)) as e(account_id, amount)
     where t.id = any (v_fresh);
    -- A reversal records money going back (a provider's refund or chargeback, an admin's
    -- correction): it posts on frozen accounts too.
    perform private.wallet_apply(v_accounts, v_deltas, v_deltas, p_force, p_kind = 'reversal');
  end if;
end;
$$;

-- wallet_post for exactly one posted transaction, the shape of nearly every call: the same
-- checks, idempotency and account locking, without the arrays, the set-returning record
-- step and the re-reads of the transaction that batches need (docs/BENCHMARKS.md measures the
-- difference). One query reads both accounts and the configured maximum: what the checks
-- need (wallet_request_error) and the lock order, which wallet_apply_rows then follows
-- without the set path's grouping query. Accounts are never deleted and their kind,
-- currency and allow_negative never change, so reading them before their locks decides
-- nothing the locks could change; status and funds are checked by the updates that take the
-- locks. A replay returns the original and changes nothing. p_limited: a payment the
-- sender's owner made, checked against the limits of its tier once it is known to be new (a
-- replay is neither counted again nor refused) and its sender is locked;
-- private.wallet_check_limits.
create function private.wallet_post_one(
  p_scope uuid,
  p_kind text,
  p_force boolean,
  p_from uuid,
  p_to uuid,
  p_amount bigint,
  p_currency text,
  p_key text,
  p_description text,
  p_metadata jsonb,
  p_limited boolean default false
)
returns public.wallet_transactions
language plpgsql
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
  -- A credit tries its row without waiting in READ COMMITTED only (wallet_apply).
  v_read_committed constant boolean := current_setting('transaction_isolation') = 'read committed';
  v_max_amount bigint;
  v_from_currency text;
  v_from_system boolean;
  v_from_allow_negative boolean;
  v_from_shards smallint;
  v_to_currency text;
  v_to_system boolean;
  v_to_shards smallint;
  v_error record;
  v_result public.wallet_transactions;
begin
  select s.max_amount, f.currency, f.kind = 'system', f.allow_negative, f.balance_shards,
         t.currency, t.kind = 'system', t.balance_shards
    into v_max_amount, v_from_currency, v_from_system, v_from_allow_negative, v_from_shards,
         v_to_currency, v_to_system, v_to_shards
    from private.wallet_settings s
    left join public.wallet_accounts f on f.id = p_from
    left join public.wallet_accounts t on t.id = p_to
   where s.singleton;
  v_error := private.wallet_request_error(p_kind, 1, p_from, p_to, p_amount, p_currency, p_key, p_description,
                                          p_metadata, v_max_amount, v_from_currency, v_to_currency);
  if v_error.code is not null then
    perform private.fail(v_error.code, v_error.message);
  end if;

  insert into public.wallet_transactions as t
    (kind, status, amount, currency, from_account_id, to_account_id, idempotency_key, initiated_by,
     description, metadata, posted_at,
     actor_id, actor_role, actor_app_role, session_id, correlation_id, client_ip, user_agent)
  select p_kind, 'posted', p_amount, p_currency, p_from, p_to, p_key, p_scope,
         p_description, coalesce(p_metadata, '{}'), now(),
         c.actor_id, c.actor_role, c.actor_app_role, c.session_id, c.correlation_id, c.ip, c.user_agent
    from audit.request_context() c
  on conflict (idempotency_key, initiated_by) do nothing
  returning t.* into v_result;

  if v_result.id is null then
    -- The key is taken in this scope: the same call again replays, anything else is WL005.
    select t.* into v_result
      from public.wallet_transactions t
     where t.idempotency_key = p_key and t.initiated_by is not distinct from p_scope;
    if (v_result.kind, v_result.from_account_id, coalesce(v_result.hold_amount, v_result.amount), v_result.currency,
        v_result.description, v_result.metadata, v_result.reverses_id, v_result.to_account_id)
       is distinct from
       (p_kind, p_from, p_amount, p_currency, p_description, coalesce(p_metadata, '{}'), null::uuid, p_to) then
      perform private.fail('WL005',
        format('idempotency key %s was already used with different parameters', p_key));
    end if;
    return v_result;
  end if;

  insert into public.wallet_entries (transaction_id, account_id, amount)
  values (v_result.id, p_from, -p_amount), (v_result.id, p_to, p_amount);
  -- The two rows in the global lock order (users before system accounts, each by id). The
  -- debit tries its row without waiting only where it needs no funds check (allow_negative);
  -- the credit always may.
  if (v_from_system, p_from) < (v_to_system, p_to) then
    perform private.wallet_apply_rows(array[p_from, p_to], array[-p_amount, p_amount], array[-p_amount, p_amount],
                                      array[v_from_allow_negative and v_read_committed, v_read_committed],
                                      array[v_from_shards, v_to_shards], p_force, false);
  else
    perform private.wallet_apply_rows(array[p_to, p_from], array[p_amount, -p_amount], array[p_amount, -p_amount],
                                      array[v_read_committed, v_from_allow_negative and v_read_committed],
                                      array[v_to_shards, v_from_shards], p_force, false);
  end if;
  -- Under the sender's row lock, which the account's other payments wait for anyway: its
  -- usage counter is never waited for. A refusal rolls back everything above.
  if p_limited then
    perform private.wallet_check_limits(p_from, p_amount, p_currency);
  end if;
  return v_result;
end;
$$;

-- An account row, locked for a change of its status or shards, or WL007.
create function private.wallet_lock_account(p_account uuid) returns public.wallet_accounts
language plpgsql
set search_path = ''
as $$
declare
  v_account public.wallet_accounts;
begin
  select a.* into v_account from public.wallet_accounts a where a.id = p_account for no key update;
  perform private.require_found(found, format('wallet account %s', p_account));
  return v_account;
end;
$$;

-- A hold or withdrawal, locked for capture or void, or WL007. The hold row lock comes before
-- any account lock, as in wallet_reverse.
create function private.wallet_lock_hold(p_hold_id uuid) returns public.wallet_transactions
language plpgsql
set search_path = ''
as $$
declare
  v_hold public.wallet_transactions;
begin
  select t.* into v_hold from public.wallet_transactions t
   where t.id = p_hold_id and t.kind in ('hold', 'withdrawal')
     for no key update;
  perform private.require_found(found, format('hold %s', p_hold_id));
  return v_hold;
end;
$$;

-- Voids a pending hold the caller has locked: its reservation returns to available.
-- wallet_void and the expire-holds job release holds through it.
create function private.wallet_release_hold(p_hold public.wallet_transactions) returns public.wallet_transactions
language plpgsql
set search_path = ''
as $$
declare
  v_hold public.wallet_transactions;
begin
  update public.wallet_accounts a
     set available = a.available + p_hold.hold_amount, updated_at = now()
   where a.id = p_hold.from_account_id;
  update public.wallet_transactions t set status = 'voided'
   where t.id = p_hold.id
  returning t.* into v_hold;
  return v_hold;
end;
$$;

-- A hold's expiry, when given, lies in the future (22023 otherwise): a hold born expired
-- would be voided by the next expire-holds run. Checked for a new hold only
-- (private.wallet_reserve): the replay of a hold whose expiry has passed since returns it.
create function private.wallet_require_future_expiry(p_expires_at timestamptz) returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if p_expires_at is not null and p_expires_at <= now() then
    perform private.fail('22023', format('expires_at %s is not in the future', p_expires_at));
  end if;
end;
$$;

-- Records a hold or withdrawal (pending) and reserves its amount: available drops, balance
-- does not. An expiry that is not in the future refuses a new one (22023, which rolls back
-- its record); a replay returns the original whenever it comes, as every replay does, even
-- after the expiry it repeats has passed.
create function private.wallet_reserve(
  p_kind text,
  p_account uuid,
  p_to uuid,
  p_amount bigint,
  p_currency text,
  p_key text,
  p_metadata jsonb,
  p_expires_at timestamptz
)
returns public.wallet_transactions
language plpgsql
set search_path = ''
as $$
declare
  v_tx uuid;
  v_fresh boolean;
  v_result public.wallet_transactions;
begin
  select r.tx_id, r.fresh
    into v_tx, v_fresh
    from private.wallet_record(null, p_kind, array[p_account], array[p_to], array[p_amount],
                               array[p_currency], array[p_key], array[null::text], array[p_metadata],
                               null, p_expires_at) r;
  if v_fresh then
    perform private.wallet_require_future_expiry(p_expires_at);
    -- A hold only reserves (a provider's dispute holds the money it already took back), so
    -- it is placed on a frozen account too; a withdrawal is a payout the user asked for.
    perform private.wallet_apply(array[p_account], array[0::bigint], array[-p_amount], false, p_kind = 'hold');
  end if;
  select t.* into v_result from public.wallet_transactions t where t.id = v_tx;
  return v_result;
end;
$$;

-- The system account <p_code>:<p_currency>, created on first use: clearing:<provider>:<CUR>,
-- through which money enters or leaves via a provider (it mirrors what the provider holds
-- for us), adjustments:<CUR>, against which admins correct balances, losses:<CUR>, what the
-- platform bore, or unclaimed:<CUR>, what mfuko owes the former owners of closed accounts
-- (a refund that failed after they closed: refund_record_failure). A system account
-- may go negative, which is what keeps every currency summing to zero.
create function private.wallet_system_account(p_code text, p_currency text) returns uuid
language plpgsql
set search_path = ''
as $$
declare
  v_code text;
  v_id uuid;
begin
  if p_code is null or p_code !~ '^[a-z][a-z0-9_]{1,31}(:[a-z][a-z0-9_]{1,31})?$' then
    perform private.fail('22023',
      format('system account %s is not a valid name (lower-case letters, digits, _)', coalesce(p_code, 'null')));
  end if;
  perform private.require_currency(p_currency);
  v_code := p_code || ':' || p_currency;
  select a.id into v_id from public.wallet_accounts a where a.code = v_code;
  if v_id is null then
    insert into public.wallet_accounts (kind, code, currency, allow_negative)
    values ('system', v_code, p_currency, true)
    on conflict (code) do nothing
    returning id into v_id;
    if v_id is null then
      select a.id into v_id from public.wallet_accounts a where a.code = v_code;
    end if;
  end if;
  return v_id;
end;
$$;
