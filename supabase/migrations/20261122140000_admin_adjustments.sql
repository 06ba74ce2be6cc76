-- Admin API, part 1: ledger adjustments (docs/ADMIN_API.md).
--
-- An adjustment corrects a balance by hand: a credit the ledger owes a user (a payment that
-- reached us but no wallet), or a debit of money credited by mistake. Like every movement it
-- is one balanced transaction, here against the system account `adjustments:<CUR>`, which
-- may go negative and so shows at any time how much money admins created or removed in that
-- currency. The ledger's own machinery (private.wallet_post) records, locks and posts it, so
-- idempotency, lock order and the overdraft rule are exactly those of every other movement.

-- Credits or debits p_account by p_amount against adjustments:<CUR>. A debit never takes an
-- account below zero (WL001): money already spent is taken back with a forced reversal of the
-- transaction that brought it, not with an adjustment. The reason is required and is kept as
-- the transaction's description; the direction is in its metadata. The idempotency key is
-- scoped by the admin (service calls share the service scope), as for every ledger call. An
-- admin never adjusts an account of their own (42501, private.require_not_own).
create function api_private.wallet_adjust(
  p_account uuid,
  p_amount bigint,
  p_direction text,
  p_reason text,
  p_idempotency_key text
)
returns public.wallet_transactions
language plpgsql
security definer set search_path = ''
as $$
declare
  v_scope uuid;
  v_currency text;
  v_owner uuid;
  v_adjustments uuid;
  v_result public.wallet_transactions;
begin
  if private.require_caller(array['service', 'admin'], 'adjust a balance') = 'admin' then
    v_scope := auth.uid();
  end if;
  if p_direction is null or p_direction not in ('credit', 'debit') then
    perform private.fail('22023',
      format('direction %s is not one of credit, debit', coalesce(p_direction, 'null')));
  end if;
  perform private.require_reason(p_reason, format('adjust wallet account %s', p_account));
  perform private.require_within(p_idempotency_key, 'identifier', 'p_idempotency_key');
  select a.currency, a.owner_id into v_currency, v_owner from public.wallet_accounts a where a.id = p_account;
  perform private.require_found(found, format('wallet account %s', p_account));
  perform private.require_not_own(array[v_owner], 'adjust a wallet account');
  v_adjustments := private.wallet_system_account('adjustments', v_currency);

  select t.* into v_result
    from private.wallet_post(
      v_scope, 'adjustment', false,
      array[case p_direction when 'credit' then v_adjustments else p_account end],
      array[case p_direction when 'credit' then p_account else v_adjustments end],
      array[p_amount], array[v_currency], array[p_idempotency_key], array[p_reason],
      array[jsonb_build_object('direction', p_direction)]) t;
  return v_result;
end;
$$;
grant execute on function api_private.wallet_adjust(uuid, bigint, text, text, text) to authenticated, service_role;

-- The API entry point (the ledger's wrapper rule).
create function public.wallet_adjust(
  p_account uuid,
  p_amount bigint,
  p_direction text,
  p_reason text,
  p_idempotency_key text
)
returns public.wallet_transactions
language plpgsql
security invoker
set search_path = ''
as $$
begin
  return api_private.wallet_adjust(p_account, p_amount, p_direction, p_reason, p_idempotency_key);
end;
$$;
grant execute on function public.wallet_adjust(uuid, bigint, text, text, text) to authenticated, service_role;
