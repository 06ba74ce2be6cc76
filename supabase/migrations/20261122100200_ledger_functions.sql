-- Wallet ledger, part 3: the API (docs/LEDGER.md). Each function is security definer with an
-- empty search_path, decides itself who may call it (private.require_caller), and is
-- executable only by the roles docs/LEDGER.md lists. Errors follow its WL001..WL009 / 42501
-- table; malformed arguments (missing key, bad currency code, unknown status) are 22023.
--
-- The wrapper rule, which every later migration follows: a function that signed-in users may
-- call keeps its security definer body in `api_private` (not exposed by PostgREST, EXECUTE
-- only for the roles that may call it) behind a security invoker wrapper in public with the
-- public name, arguments and return type: Supabase's linter (splinter 0029) flags every
-- security definer function in an exposed schema that `authenticated` can execute. The
-- wrapper changes no privilege, so inside the body current_setting('role') and the JWT
-- claims are still the caller's and the caller checks hold as before; it is granted to the
-- same roles as its body. Every wrapper is PL/pgSQL, not SQL: a SQL function with a SET
-- clause is never inlined and is parsed and planned again on every call, while a PL/pgSQL
-- one keeps its plan for the session (0.1 ms of a 2 ms transfer, docs/BENCHMARKS.md).
-- Service-only functions are not executable by `authenticated` and stay in public.

create schema if not exists api_private;
revoke all on schema api_private from public;
grant usage on schema api_private to authenticated, service_role;

-- WL005 unless p_same: a call that reuses the idempotency key p_key repeats the parameters of
-- the key's first use (a replay), or is refused. For the entry points that compare a replay
-- themselves: a capture, a reversal, a top-up intent, a cash-out.
create function private.require_same_parameters(p_same boolean, p_key text) returns void
language plpgsql
set search_path = ''
as $$
begin
  if not coalesce(p_same, false) then
    perform private.fail('WL005', pg_catalog.format('idempotency key %s was already used with different parameters', p_key));
  end if;
end;
$$;

create function api_private.wallet_open_account(p_currency text)
returns public.wallet_accounts
language plpgsql
security definer set search_path = ''
as $$
declare
  v_owner uuid;
  v_account public.wallet_accounts;
begin
  perform private.require_caller(array['user', 'admin'], 'open a wallet account');
  v_owner := auth.uid();
  perform private.require_currency(p_currency);
  insert into public.wallet_accounts (owner_id, kind, currency)
  values (v_owner, 'user', p_currency)
  on conflict (owner_id, currency) do nothing
  returning * into v_account;
  if v_account.id is null then
    -- Already open (or frozen, or closed: closing is final and not undone here).
    select a.* into v_account from public.wallet_accounts a
     where a.owner_id = v_owner and a.currency = p_currency;
  end if;
  return v_account;
end;
$$;
grant execute on function api_private.wallet_open_account(text) to authenticated;

-- A signed-in user pays only out of an account it owns, and only to user accounts (system
-- accounts are moved by the service). The sender is never taken from anything but the
-- JWT: initiated_by is auth.uid(), which also scopes the idempotency key. A user learns
-- nothing about a recipient it does not own: one that does not exist, is frozen or closed,
-- is a system account or holds another currency gets one answer (WL007, the same message),
-- checked before anything else about the transfer, so that no other error tells them
-- apart. Only a call that reuses the user's own key for a transfer to this same recipient
-- goes on, to be recognised as a replay (or refused, WL005): the user paid that account, so
-- the checks after it tell nothing new. Any other reuse of a key gets the one answer too,
-- since wallet_post_one's checks would say whether the recipient exists and its currency.
create function api_private.wallet_transfer(
  p_from uuid,
  p_to uuid,
  p_amount bigint,
  p_currency text,
  p_idempotency_key text,
  p_description text default null,
  p_metadata jsonb default '{}'
)
returns public.wallet_transactions
language plpgsql
security definer set search_path = ''
as $$
declare
  v_caller text := private.require_caller(array['service', 'admin', 'user'], 'transfer');
  v_scope uuid;
  v_owns_from boolean;
  v_to_is_system boolean;
  v_to_receives boolean;
begin
  if v_caller <> 'service' then
    v_scope := auth.uid();
    select coalesce(bool_or(a.id = p_from and a.owner_id = v_scope), false),
           coalesce(bool_or(a.id = p_to and a.kind = 'system'), false),
           coalesce(bool_or(a.id = p_to and (a.owner_id = v_scope
                                             or (a.kind = 'user' and a.status = 'active' and a.currency = p_currency))), false)
      into v_owns_from, v_to_is_system, v_to_receives
      from public.wallet_accounts a
     where a.id in (p_from, p_to);
    if not v_owns_from then
      perform private.fail('42501', format('wallet account %s is not yours', p_from));
    end if;
    if v_caller = 'user' then
      if p_to is not null and not v_to_receives
         and not exists (select 1 from public.wallet_transactions t
                          where t.idempotency_key = p_idempotency_key and t.initiated_by = v_scope
                            and t.to_account_id = p_to) then
        perform private.wallet_raise_not_receivable(p_to);
      end if;
    elsif v_to_is_system then
      perform private.fail('42501', format('wallet account %s does not take user transfers', p_to));
    end if;
  end if;
  -- A signed-in caller pays only out of its own account (above): an admin or support agent
  -- paying from their own wallet is its owner paying, limited like any user.
  return private.wallet_post_one(v_scope, 'transfer', false, p_from, p_to, p_amount, p_currency,
                                 p_idempotency_key, p_description, p_metadata, v_caller <> 'service');
end;
$$;
grant execute on function api_private.wallet_transfer(uuid, uuid, bigint, text, text, text, jsonb) to authenticated, service_role;

-- Up to 1000 transfers in one transaction, all or nothing. Each element is an object with
-- the fields of wallet_transfer, named with or without the p_ prefix: from, to, amount,
-- currency, idempotency_key, description, metadata. Balances are checked on the net
-- effect of the batch per account. Accounts are locked in id order across the whole batch.
create function public.wallet_transfer_batch(p_transfers jsonb)
returns setof public.wallet_transactions
language plpgsql
security definer set search_path = ''
as $$
declare
  v_fields constant text[] := array['from', 'to', 'amount', 'currency', 'idempotency_key', 'description', 'metadata'];
  v_bad text;
  v_item bigint;
  v_field text;
  v_value text;
begin
  perform private.require_caller(array['service'], 'post a transfer batch');
  if p_transfers is null or jsonb_typeof(p_transfers) <> 'array'
     or jsonb_array_length(p_transfers) not between 1 and 1000 then
    perform private.fail('22023', 'p_transfers must be a JSON array of 1 to 1000 transfers');
  end if;
  -- Every element an object, every field known, no field given twice (with and without p_).
  select format('item %s: %s', e.n, coalesce(
           case when jsonb_typeof(e.item) <> 'object' then 'not an object' end,
           (select 'unknown or repeated field ' || k
              from jsonb_object_keys(e.item) k
             where not (k = any (v_fields) or (k like 'p\_%' and substr(k, 3) = any (v_fields)))
                or (k like 'p\_%' and e.item ? substr(k, 3))
             limit 1)))
    into v_bad
    from jsonb_array_elements(p_transfers) with ordinality as e(item, n)
   where jsonb_typeof(e.item) <> 'object'
      or exists (select 1 from jsonb_object_keys(e.item) k
                  where not (k = any (v_fields) or (k like 'p\_%' and substr(k, 3) = any (v_fields)))
                     or (k like 'p\_%' and e.item ? substr(k, 3)))
   order by e.n
   limit 1;
  if v_bad is not null then
    perform private.fail('22023', 'invalid transfer batch, ' || v_bad);
  end if;
  -- Every account id a uuid (22023) and every amount an integer of at most 18 digits, as a
  -- number or a string (WL006, as for an amount out of range): the casts below would
  -- otherwise refuse them with their own codes (22P02, 22003), which no caller branches on.
  -- A missing or null field is left to the checks of every transfer (wallet_request_error).
  select e.n, x.field, x.value #>> '{}'
    into v_item, v_field, v_value
    from jsonb_array_elements(p_transfers) with ordinality as e(item, n)
   cross join lateral (values (1, 'from', coalesce(e.item -> 'from', e.item -> 'p_from')),
                              (2, 'to', coalesce(e.item -> 'to', e.item -> 'p_to')),
                              (3, 'amount', coalesce(e.item -> 'amount', e.item -> 'p_amount'))) as x(pos, field, value)
   where x.value is not null and jsonb_typeof(x.value) <> 'null'
     and case when x.field = 'amount'
              then jsonb_typeof(x.value) not in ('number', 'string') or (x.value #>> '{}') !~ '^-?[0-9]{1,18}$'
              else jsonb_typeof(x.value) <> 'string'
                   or (x.value #>> '{}') !~* '^(\{[0-9a-f]{4}(-?[0-9a-f]{4}){7}\}|[0-9a-f]{4}(-?[0-9a-f]{4}){7})$' end
   order by e.n, x.pos
   limit 1;
  if v_field = 'amount' then
    perform private.fail('WL006', format('invalid transfer batch, item %s: invalid amount %s', v_item, left(v_value, 100)));
  elsif v_field is not null then
    perform private.fail('22023', format('invalid transfer batch, item %s: %s is not a wallet account id', v_item, v_field));
  end if;

  return query
    with fields as (
      select e.n,
             (coalesce(e.item ->> 'from', e.item ->> 'p_from'))::uuid as from_id,
             (coalesce(e.item ->> 'to', e.item ->> 'p_to'))::uuid as to_id,
             (coalesce(e.item ->> 'amount', e.item ->> 'p_amount'))::bigint as amount,
             coalesce(e.item ->> 'currency', e.item ->> 'p_currency') as currency,
             coalesce(e.item ->> 'idempotency_key', e.item ->> 'p_idempotency_key') as key,
             coalesce(e.item ->> 'description', e.item ->> 'p_description') as description,
             coalesce(e.item -> 'metadata', e.item -> 'p_metadata', '{}') as metadata
        from jsonb_array_elements(p_transfers) with ordinality as e(item, n)
    ),
    arrays as (
      select array_agg(f.from_id order by f.n) as from_ids, array_agg(f.to_id order by f.n) as to_ids,
             array_agg(f.amount order by f.n) as amounts, array_agg(f.currency order by f.n) as currencies,
             array_agg(f.key order by f.n) as keys, array_agg(f.description order by f.n) as descriptions,
             array_agg(f.metadata order by f.n) as metadata
        from fields f
    )
    select t.*
      from arrays a
     cross join lateral private.wallet_post(null, 'transfer', false, a.from_ids, a.to_ids, a.amounts,
                                            a.currencies, a.keys, a.descriptions, a.metadata) t;
end;
$$;
grant execute on function public.wallet_transfer_batch(jsonb) to service_role;

-- Money in from a provider: debits its clearing account, credits p_account.
create function public.wallet_deposit(
  p_account uuid,
  p_amount bigint,
  p_currency text,
  p_source text,
  p_idempotency_key text,
  p_metadata jsonb default '{}'
)
returns public.wallet_transactions
language plpgsql
security definer set search_path = ''
as $$
begin
  perform private.require_caller(array['service'], 'deposit');
  return private.wallet_post_one(null, 'deposit', false, private.wallet_system_account('clearing:' || p_source, p_currency),
                                 p_account, p_amount, p_currency, p_idempotency_key, null, p_metadata);
end;
$$;
grant execute on function public.wallet_deposit(uuid, bigint, text, text, text, jsonb) to service_role;

-- Money out to a provider, in two phases: this reserves the amount (a pending withdrawal
-- towards the destination's clearing account); wallet_capture posts it once the provider
-- confirms the payout, wallet_void releases it when the payout fails. A withdrawal or hold
-- with p_expires_at still pending then is voided by the expire-holds job; the expiry is one
-- of the parameters an idempotent replay must repeat (another one is WL005). A new hold's
-- expiry lies in the future (22023); a replay is answered after it too (private.wallet_reserve).
create function public.wallet_withdraw(
  p_account uuid,
  p_amount bigint,
  p_currency text,
  p_destination text,
  p_idempotency_key text,
  p_metadata jsonb default '{}',
  p_expires_at timestamptz default null
)
returns public.wallet_transactions
language plpgsql
security definer set search_path = ''
as $$
begin
  perform private.require_caller(array['service'], 'withdraw');
  return private.wallet_reserve('withdrawal', p_account,
                                private.wallet_system_account('clearing:' || p_destination, p_currency),
                                p_amount, p_currency, p_idempotency_key, p_metadata, p_expires_at);
end;
$$;
grant execute on function public.wallet_withdraw(uuid, bigint, text, text, text, jsonb, timestamptz) to service_role;

-- Reserves funds with no destination yet (card-style authorisation); wallet_capture names it.
create function public.wallet_hold(
  p_account uuid,
  p_amount bigint,
  p_currency text,
  p_idempotency_key text,
  p_metadata jsonb default '{}',
  p_expires_at timestamptz default null
)
returns public.wallet_transactions
language plpgsql
security definer set search_path = ''
as $$
begin
  perform private.require_caller(array['service'], 'hold funds');
  return private.wallet_reserve('hold', p_account, null, p_amount, p_currency, p_idempotency_key, p_metadata, p_expires_at);
end;
$$;
grant execute on function public.wallet_hold(uuid, bigint, text, text, jsonb, timestamptz) to service_role;

-- Posts all (p_amount null) or part of a pending hold; the rest of the reservation is
-- released. The hold row itself becomes the posted transaction. A hold is captured once:
-- a replay with the same p_idempotency_key and parameters returns it, anything else is WL008.
-- The key is optional; a blank one is 22023. The caller is checked by its entry points:
-- wallet_capture (the service) and an admin's resolution of a cash-out (cashout_resolve).
create function private.wallet_capture_hold(
  p_hold_id uuid,
  p_to uuid,
  p_amount bigint,
  p_idempotency_key text
)
returns public.wallet_transactions
language plpgsql
set search_path = ''
as $$
declare
  v_hold public.wallet_transactions;
  v_to uuid;
  v_amount bigint;
  v_to_currency text;
begin
  perform private.require_within(p_idempotency_key, 'identifier', 'p_idempotency_key');
  -- Optional, but a key when given: a blank one would name one capture like any other, and
  -- every later capture given it (an empty default) would be WL005.
  if btrim(p_idempotency_key) = '' then
    perform private.fail('22023', 'p_idempotency_key must not be blank');
  end if;
  v_hold := private.wallet_lock_hold(p_hold_id);

  if v_hold.status <> 'pending' then
    if p_idempotency_key is not null and v_hold.capture_idempotency_key = p_idempotency_key then
      perform private.require_same_parameters(
        (p_to is null or p_to = v_hold.to_account_id) and coalesce(p_amount, v_hold.hold_amount) = v_hold.amount,
        p_idempotency_key);
      return v_hold;
    end if;
    perform private.fail('WL008', format('hold %s is already %s', p_hold_id,
      case v_hold.status when 'posted' then 'captured' else v_hold.status end));
  end if;
  -- The key already captured another hold: one key, one effect (ledger invariant 5).
  perform private.require_same_parameters(
    not exists (select 1 from public.wallet_transactions t where t.capture_idempotency_key = p_idempotency_key),
    p_idempotency_key);

  if p_to is not null and v_hold.to_account_id is not null and p_to <> v_hold.to_account_id then
    perform private.fail('22023',
      format('hold %s pays wallet account %s, not %s', p_hold_id, v_hold.to_account_id, p_to));
  end if;
  v_to := coalesce(v_hold.to_account_id, p_to);
  if v_to is null then
    perform private.fail('22023', format('hold %s has no destination: pass p_to', p_hold_id));
  end if;
  if v_to = v_hold.from_account_id then
    perform private.fail('WL003', format('wallet account %s cannot pay itself (hold %s)', v_to, p_hold_id));
  end if;
  v_amount := coalesce(p_amount, v_hold.hold_amount);
  if v_amount <= 0 or v_amount > private.wallet_max_amount() then
    perform private.fail('WL006', format('invalid amount %s (hold %s)', v_amount, p_hold_id));
  end if;
  if v_amount > v_hold.hold_amount then
    perform private.fail('WL008',
      format('capture of %s exceeds hold %s of %s', v_amount, p_hold_id, v_hold.hold_amount));
  end if;
  select a.currency into v_to_currency from public.wallet_accounts a where a.id = v_to;
  perform private.require_found(found, format('wallet account %s', v_to));
  if v_to_currency <> v_hold.currency then
    perform private.fail('WL002',
      format('currency %s of hold %s does not match wallet account %s (%s)', v_hold.currency, p_hold_id, v_to, v_to_currency));
  end if;

  begin
    update public.wallet_transactions t
       set status = 'posted', amount = v_amount, to_account_id = v_to, posted_at = now(),
           capture_idempotency_key = p_idempotency_key
     where t.id = p_hold_id
    returning t.* into v_hold;
  exception when unique_violation then
    -- A concurrent capture of another hold committed this key first.
    perform private.require_same_parameters(false, p_idempotency_key);
  end;
  perform private.wallet_write_entries(array[p_hold_id]);
  -- Source: balance drops by the capture, the whole reservation is released. No funds check:
  -- the hold reserved the money, so only a forced reversal since (a refund of money reserved
  -- for a payout) can have taken it, and then the payout happened all the same. For the same
  -- reason a withdrawal posts on a frozen account: the provider has paid it out. A hold's
  -- capture is a payment, which a freeze stops.
  perform private.wallet_apply(array[v_hold.from_account_id, v_to],
                               array[-v_amount, v_amount],
                               array[v_hold.hold_amount - v_amount, v_amount],
                               true, v_hold.kind = 'withdrawal');
  return v_hold;
end;
$$;

-- The service's capture of a hold (private.wallet_capture_hold).
create function public.wallet_capture(
  p_hold_id uuid,
  p_to uuid default null,
  p_amount bigint default null,
  p_idempotency_key text default null
)
returns public.wallet_transactions
language plpgsql
security definer set search_path = ''
as $$
begin
  perform private.require_caller(array['service'], 'capture a hold');
  return private.wallet_capture_hold(p_hold_id, p_to, p_amount, p_idempotency_key);
end;
$$;
grant execute on function public.wallet_capture(uuid, uuid, bigint, text) to service_role;

-- Releases a pending hold. Allowed on a frozen account: releasing reserved money never
-- moves it.
create function public.wallet_void(p_hold_id uuid)
returns public.wallet_transactions
language plpgsql
security definer set search_path = ''
as $$
declare
  v_hold public.wallet_transactions;
begin
  perform private.require_caller(array['service'], 'void a hold');
  v_hold := private.wallet_lock_hold(p_hold_id);
  if v_hold.status <> 'pending' then
    perform private.fail('WL008', format('hold %s is already %s', p_hold_id,
      case v_hold.status when 'posted' then 'captured' else v_hold.status end));
  end if;
  return private.wallet_release_hold(v_hold);
end;
$$;
grant execute on function public.wallet_void(uuid) to service_role;

-- Sets how many balance shards an account's credits spread over when its row is busy
-- (docs/LEDGER.md, "Hot accounts"). The ledger gives an account 16 the first time a credit
-- finds its row busy; an operator may give one that more connections pay at once up to 64,
-- or 0, which folds them into the row until a credit next finds it busy. The shards are
-- folded into the row first, so the account's balance does not move.
create function public.wallet_set_balance_shards(p_account uuid, p_shards integer)
returns public.wallet_accounts
language plpgsql
security definer set search_path = ''
as $$
declare
  v_account public.wallet_accounts;
begin
  perform private.require_caller(array['service'], 'change balance shards');
  perform private.require_between(p_shards, 0, 64, 'balance shards');
  v_account := private.wallet_lock_account(p_account);
  if v_account.status = 'closed' then
    perform private.fail('WL004', format('wallet account %s is closed', p_account));
  end if;
  perform private.wallet_fold_shards(array[p_account]);
  perform private.wallet_add_shards(p_account, p_shards);
  select a.* into v_account from public.wallet_accounts a where a.id = p_account;
  return v_account;
end;
$$;
grant execute on function public.wallet_set_balance_shards(uuid, integer) to service_role;

-- What remains to reverse of p_transaction: its amount less its reversals, net of those
-- undone since (a refund that failed: refund_record_failure reverses its reversal). The bound
-- of wallet_reverse (less what pending refunds reserve), and what a provider refund checks
-- before the provider pays (private.refund_prepare).
create function private.wallet_reversible(p_transaction public.wallet_transactions) returns bigint
language plpgsql
stable
set search_path = ''
as $$
begin
  return p_transaction.amount - coalesce((
    select sum(r.amount - coalesce(u.undone, 0))
      from public.wallet_transactions r
      left join lateral (select sum(x.amount) as undone from public.wallet_transactions x where x.reverses_id = r.id) u on true
     where r.reverses_id = p_transaction.id), 0);
end;
$$;

-- Moves money back along a posted transaction: debits its receiver, credits its sender.
-- The reversals of one transaction never add up to more than it moved, net of reversals
-- that were undone since (a refund that failed: refund_record_failure reverses its
-- reversal, and the amount can be reversed again); concurrent reversals of it are
-- serialised by a lock on its row. Of a payment's credit, what the payment's pending refunds
-- reserve is left to them (private.refund_reserved, WL008 beyond the rest): their provider
-- has committed to pay the customer, and refund_record reverses each refund's part when the
-- provider confirms it. p_refund is the refund refund_record is recording, whose own part
-- this reversal takes; null for every other reversal. p_leave_reserved false takes no account
-- of the reservations: for a refund its provider made and reports with no pending row of ours
-- (refund_complete), which the provider bounds by the payment itself (decision 0030). p_force lets the debit take the
-- receiver below zero (refund or chargeback of money already spent); it is recorded in the
-- reversal's metadata. A replay is recognised before the remaining amount is checked. A
-- reversal posts on frozen accounts (private.wallet_post): it records money going back.
-- p_scope is the caller's key scope: the admin, or null for the service. p_debit, when given,
-- is the account debited in place of the original's receiver, which is closed and holds
-- nothing for good (refund_complete: the currency's losses account bears a provider's refund
-- of a closed account's credit); the metadata names the closed account.
create function private.wallet_reverse(
  p_scope uuid,
  p_transaction_id uuid,
  p_idempotency_key text,
  p_amount bigint,
  p_reason text,
  p_force boolean,
  p_refund uuid,
  p_debit uuid default null,
  p_leave_reserved boolean default true
)
returns public.wallet_transactions
language plpgsql
set search_path = ''
as $$
declare
  v_original public.wallet_transactions;
  v_existing public.wallet_transactions;
  v_metadata jsonb := jsonb_build_object('force', coalesce(p_force, false));
  v_remaining bigint;
  v_reserved bigint;
  v_amount bigint;
  v_result public.wallet_transactions;
begin
  select t.* into v_original from public.wallet_transactions t where t.id = p_transaction_id for no key update;
  perform private.require_found(found, format('transaction %s', p_transaction_id));
  if p_debit is not null then
    v_metadata := v_metadata || jsonb_build_object('closed_account', v_original.to_account_id);
  end if;

  select t.* into v_existing from public.wallet_transactions t
   where t.idempotency_key = p_idempotency_key and t.initiated_by is not distinct from p_scope;
  if found then
    perform private.require_same_parameters(
      v_existing.kind = 'reversal' and v_existing.reverses_id = p_transaction_id
        and (p_amount is null or v_existing.amount = p_amount)
        and v_existing.description is not distinct from p_reason and v_existing.metadata = v_metadata,
      p_idempotency_key);
    return v_existing;
  end if;

  if v_original.status <> 'posted' or v_original.kind = 'reversal' then
    perform private.fail('WL008', format('transaction %s (%s %s) cannot be reversed',
      p_transaction_id, v_original.status, v_original.kind));
  end if;
  -- Read under the original's lock, which refund_prepare holds until its refund is pending.
  v_reserved := case when p_leave_reserved then private.refund_reserved(p_transaction_id, p_refund) else 0 end;
  v_remaining := greatest(private.wallet_reversible(v_original) - v_reserved, 0);
  v_amount := coalesce(p_amount, v_remaining);
  if v_amount > v_remaining or v_remaining = 0 then
    perform private.fail('WL008', format('reversal of %s exceeds what remains of transaction %s (%s)%s',
      v_amount, p_transaction_id, v_remaining,
      case when v_reserved > 0 then format(': the pending refunds of its payment reserve %s more', v_reserved) else '' end));
  end if;

  select t.* into v_result
    from private.wallet_post(p_scope, 'reversal', coalesce(p_force, false),
                             array[coalesce(p_debit, v_original.to_account_id)], array[v_original.from_account_id],
                             array[v_amount], array[v_original.currency], array[p_idempotency_key],
                             array[p_reason], array[v_metadata], p_transaction_id) t;
  return v_result;
end;
$$;

-- The entry point of private.wallet_reverse, for the service and admins; an admin never
-- reverses a transaction that moved money of their own (42501).
create function api_private.wallet_reverse(
  p_transaction_id uuid,
  p_idempotency_key text,
  p_amount bigint default null,
  p_reason text default null,
  p_force boolean default false
)
returns public.wallet_transactions
language plpgsql
security definer set search_path = ''
as $$
declare
  v_scope uuid;
begin
  if private.require_caller(array['service', 'admin'], 'reverse a transaction') = 'admin' then
    v_scope := auth.uid();
  end if;
  perform private.require_within(p_idempotency_key, 'identifier', 'p_idempotency_key');
  perform private.require_within(p_reason, 'reason', 'p_reason');
  perform private.require_not_own(array(
    select a.owner_id from public.wallet_transactions t
      join public.wallet_accounts a on a.id in (t.from_account_id, t.to_account_id)
     where t.id = p_transaction_id), 'reverse a transaction');
  return private.wallet_reverse(v_scope, p_transaction_id, p_idempotency_key, p_amount, p_reason, p_force, null);
end;
$$;
grant execute on function api_private.wallet_reverse(uuid, text, bigint, text, boolean) to authenticated, service_role;

-- Freeze, unfreeze, close. Closing is final and needs a zero balance with no active hold,
-- and no pending refund that will reverse a credit through the account
-- (private.refund_check_close). The reason goes to wallet_status_reasons, which the
-- account's owner cannot read. An admin never changes the status of an account of their own
-- (42501): a frozen admin does not unfreeze themselves.
create function api_private.wallet_set_status(p_account uuid, p_status text, p_reason text)
returns public.wallet_accounts
language plpgsql
security definer set search_path = ''
as $$
declare
  v_account public.wallet_accounts;
begin
  perform private.require_caller(array['service', 'admin'], 'change an account status');
  if p_status is null or p_status not in ('active', 'frozen', 'closed') then
    perform private.fail('22023',
      format('status %s is not one of active, frozen, closed', coalesce(p_status, 'null')));
  end if;
  perform private.require_reason(p_reason, format('change wallet account %s', p_account));
  perform private.require_not_own(array(select a.owner_id from public.wallet_accounts a where a.id = p_account),
                                  'change the status of a wallet account');
  -- Before the account's lock: the refund the close may wait for takes that lock when its
  -- provider completes it at once (refund_record).
  if p_status = 'closed' then
    perform private.refund_check_close(p_account);
  end if;
  v_account := private.wallet_lock_account(p_account);
  if v_account.status = p_status then
    return v_account;
  end if;
  -- The credits in flight on a hot account's shards commit before the change, later ones
  -- see it; and a close sees the whole balance.
  if v_account.balance_shards > 0 then
    perform private.wallet_fold_shards(array[p_account]);
    select a.* into v_account from public.wallet_accounts a where a.id = p_account;
  end if;
  if v_account.status = 'closed' then
    perform private.fail('WL008', format('wallet account %s is closed for good', p_account));
  end if;
  if p_status = 'closed' and (v_account.balance <> 0 or v_account.available <> 0) then
    perform private.fail('WL008', format('wallet account %s has balance %s (available %s); it closes only at zero',
      p_account, v_account.balance, v_account.available));
  end if;
  update public.wallet_accounts a
     set status = p_status, updated_at = now()
   where a.id = p_account
  returning a.* into v_account;
  insert into public.wallet_status_reasons as r (account_id, status, reason)
  values (p_account, p_status, p_reason)
  on conflict (account_id) do update set status = excluded.status, reason = excluded.reason, updated_at = now();
  return v_account;
end;
$$;
grant execute on function api_private.wallet_set_status(uuid, text, text) to authenticated, service_role;

-- The posted balance: by construction equal to the sum of the account's entries, which for
-- a hot account are spread over its row and its shards; wallet_account_balances adds them
-- at one snapshot (this body runs as the owner, so RLS does not filter the view).
create function api_private.wallet_balance(p_account uuid)
returns bigint
language plpgsql
stable
security definer set search_path = ''
as $$
declare
  v_caller text := private.require_caller(array['service', 'admin', 'user'], 'read this balance');
  v_owner uuid;
  v_balance bigint;
begin
  select b.owner_id, b.balance into v_owner, v_balance from public.wallet_account_balances b where b.account_id = p_account;
  -- A user hears the same about an account that does not exist as about another's.
  if v_caller = 'user' and v_owner is distinct from auth.uid() then
    perform private.fail('42501', format('wallet account %s is not yours', p_account));
  end if;
  perform private.require_found(found, format('wallet account %s', p_account));
  return v_balance;
end;
$$;
grant execute on function api_private.wallet_balance(uuid) to authenticated, service_role;

-- The account a signed-in user pays when it pays the person with the phone number p_msisdn
-- (E.164 digits, no '+', as Supabase Auth stores auth.users.phone) in p_currency: that
-- person's active user account in the currency. Only a confirmed phone counts (the owner
-- proved it by OTP, or WhatsApp did: docs/WHATSAPP.md), so that nobody who signs up with
-- another person's number receives what is sent to that person. The one way an app learns a payee's account
-- id, since RLS shows a user only its own accounts. A number with no user, a user with no
-- account in the currency, or one whose account is frozen or closed is one answer, WL007 (as
-- wallet_transfer answers for such a recipient), so that it tells nothing more about a
-- stranger's wallet than that it takes this payment. Not exposed by PostgREST: only the
-- payments function calls it (GET /payments/payees), whose per-user rate limit bounds how
-- many numbers one user can try.
create function api_private.wallet_find_payee(p_msisdn text, p_currency text)
returns uuid
language plpgsql
stable
security definer set search_path = ''
as $$
declare
  v_account uuid;
begin
  perform private.require_caller(array['user', 'admin'], 'look up a payee');
  perform private.require_within(p_msisdn, 'identifier', 'p_msisdn');
  perform private.require_within(p_currency, 'identifier', 'p_currency');
  perform private.require_msisdn(p_msisdn);
  perform private.require_currency(p_currency);
  v_account := private.active_user_account((
    select u.id from auth.users u where u.phone = p_msisdn and u.phone_confirmed_at is not null), p_currency);
  if v_account is null then
    perform private.fail('WL007', pg_catalog.format('no wallet of %s takes %s', p_msisdn, p_currency));
  end if;
  return v_account;
end;
$$;
grant execute on function api_private.wallet_find_payee(text, text) to authenticated;

-- The API entry points of the five functions above (the wrapper rule, at the top).
create function public.wallet_open_account(p_currency text)
returns public.wallet_accounts
language plpgsql
security invoker
set search_path = ''
as $$
begin
  return api_private.wallet_open_account(p_currency);
end;
$$;
grant execute on function public.wallet_open_account(text) to authenticated;

create function public.wallet_transfer(
  p_from uuid,
  p_to uuid,
  p_amount bigint,
  p_currency text,
  p_idempotency_key text,
  p_description text default null,
  p_metadata jsonb default '{}'
)
returns public.wallet_transactions
language plpgsql
security invoker
set search_path = ''
as $$
begin
  return api_private.wallet_transfer(p_from, p_to, p_amount, p_currency, p_idempotency_key,
                                     p_description, p_metadata);
end;
$$;
grant execute on function public.wallet_transfer(uuid, uuid, bigint, text, text, text, jsonb) to authenticated, service_role;

create function public.wallet_reverse(
  p_transaction_id uuid,
  p_idempotency_key text,
  p_amount bigint default null,
  p_reason text default null,
  p_force boolean default false
)
returns public.wallet_transactions
language plpgsql
security invoker
set search_path = ''
as $$
begin
  return api_private.wallet_reverse(p_transaction_id, p_idempotency_key, p_amount, p_reason, p_force);
end;
$$;
grant execute on function public.wallet_reverse(uuid, text, bigint, text, boolean) to authenticated, service_role;

create function public.wallet_set_status(p_account uuid, p_status text, p_reason text)
returns public.wallet_accounts
language plpgsql
security invoker
set search_path = ''
as $$
begin
  return api_private.wallet_set_status(p_account, p_status, p_reason);
end;
$$;
grant execute on function public.wallet_set_status(uuid, text, text) to authenticated, service_role;

create function public.wallet_balance(p_account uuid)
returns bigint
language plpgsql
stable
security invoker
set search_path = ''
as $$
begin
  return api_private.wallet_balance(p_account);
end;
$$;
grant execute on function public.wallet_balance(uuid) to authenticated, service_role;
