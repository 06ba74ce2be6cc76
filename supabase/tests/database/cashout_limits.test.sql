-- A cash-out's count against its tier's limits (docs/LEDGER.md, "Limits per tier"): a
-- cash-out whose hold is voided (MoMo declined it, or never took it) gives back what it counted,
-- within the UTC day and hour it was counted in and never below zero, so that a retry is not
-- refused WL009 for money that never left; a paid cash-out keeps its count, and a second
-- report of the same failure gives nothing back twice.
begin;
select plan(12);

select tests.create_users('{casher}', admins => '{admin}');
select tests.create_accounts('ca100000', 'UGX', '{casher}');
select public.wallet_deposit('ca100000-0000-4000-8000-00000000000a', 1000000, 'UGX', 'momo', 'cashout-limits-fund');
select tests.as_admin(tests.user_id('admin'));
select public.wallet_set_tier_limits('standard', 'UGX', 100000, 150000, 10);
select tests.reset_role();

-- A cash-out of p_amount made as the casher; its reference.
create function pg_temp.cash_out(p_amount bigint, p_key text) returns uuid language sql as $$
  select (tests.pending_cashout('casher', 'ca100000-0000-4000-8000-00000000000a', p_amount, 'UGX', '256772123456', p_key)).reference_id
$$;
-- MoMo's confirmed status of a cash-out, applied as the service.
create function pg_temp.settle(p_reference uuid, p_status text) returns void language plpgsql as $$
begin
  perform tests.as_service();
  perform public.cashout_settle(p_reference, p_status, case when p_status = 'FAILED' then 'PAYEE_NOT_FOUND' end,
                                (select c.amount from public.cashouts c where c.reference_id = p_reference), 'UGX');
  perform tests.reset_role();
end;
$$;
create function pg_temp.usage() returns text language sql security definer as $$
  select format('%s sent today, %s this hour', sent_today, sent_this_hour)
    from private.wallet_limit_usage where account_id = 'ca100000-0000-4000-8000-00000000000a'
$$;
-- Sets the casher's counter as a later payment in period (p_days, p_hours) ahead would have left it.
create function pg_temp.move_usage(p_days integer, p_hours integer, p_sent_today bigint, p_this_hour integer) returns void
language sql security definer as $$
  update private.wallet_limit_usage
     set day = day + p_days, hour = hour + make_interval(hours => p_hours), sent_today = p_sent_today, sent_this_hour = p_this_hour
   where account_id = 'ca100000-0000-4000-8000-00000000000a'
$$;

-- ---------------------------------------------------------------- declined, then retried
select pg_temp.cash_out(100000, 'cl-declined') as declined \gset
select is(pg_temp.usage(), '100000 sent today, 1 this hour', 'a cash-out counts against the day and the hour');
select pg_temp.settle(:'declined', 'FAILED');
select is(pg_temp.usage(), '0 sent today, 0 this hour', 'MoMo''s FAILED voids the hold and gives the count back');
select lives_ok($$ select pg_temp.cash_out(100000, 'cl-retry') $$,
  'the retry of the same 100,000 is not refused by the daily limit of 150,000');
select pg_temp.settle(:'declined', 'FAILED');
select is(pg_temp.usage(), '100000 sent today, 1 this hour', 'the same failure reported again gives nothing back twice');

-- ---------------------------------------------------------------- paid keeps its count
select pg_temp.settle((select reference_id from public.cashouts where idempotency_key = 'cl-retry'), 'SUCCESSFUL');
select is(pg_temp.usage(), '100000 sent today, 1 this hour', 'a paid cash-out keeps its count');
select throws_ok($$ select pg_temp.cash_out(50001, 'cl-over') $$,
  'WL009', 'daily limit of 150000 UGX would be exceeded', 'and the day''s total still holds it');

-- ---------------------------------------------------------------- not_accepted gives it back too
select pg_temp.cash_out(50000, 'cl-never') as never \gset
update public.cashouts set sending_closed_at = now() where reference_id = :'never';
select tests.as_service();
select api_private.cashout_not_accepted(:'never'::uuid) is not null as not_accepted \gset
select tests.reset_role();
select is(pg_temp.usage(), '100000 sent today, 1 this hour', 'a transfer MoMo never took gives its count back when it fails not_accepted');

-- ---------------------------------------------------------------- only within the period it was counted in
select pg_temp.cash_out(50000, 'cl-late') as late \gset
select pg_temp.move_usage(0, 1, 150000, 0);
select pg_temp.settle(:'late', 'FAILED');
select is(pg_temp.usage(), '100000 sent today, 0 this hour', 'voided in the next hour: the day''s total given back, not the new hour''s count');
select pg_temp.cash_out(50000, 'cl-next-day') as next_day \gset
select pg_temp.move_usage(1, 24, 7, 1);
select pg_temp.settle(:'next_day', 'FAILED');
select is(pg_temp.usage(), '7 sent today, 1 this hour', 'voided on the next UTC day: the new day keeps its count');

-- ---------------------------------------------------------------- never below zero
select pg_temp.move_usage(-1, -25, 0, 0);
select pg_temp.cash_out(40000, 'cl-floor') as floor \gset
select pg_temp.move_usage(0, 0, 1000, 0);
select pg_temp.settle(:'floor', 'FAILED');
select is(pg_temp.usage(), '0 sent today, 0 this hour', 'a give-back larger than the counter stops at zero');

-- ---------------------------------------------------------------- the hot path is unchanged
select ok(pg_catalog.strpos(pg_catalog.pg_get_functiondef('private.wallet_check_limits(uuid, bigint, text)'::regprocedure),
                            'give_back') = 0,
  'the limit check itself gives nothing back');
select ok(not has_function_privilege('authenticated', 'private.wallet_limit_usage_give_back(uuid, bigint, timestamptz)', 'execute')
          and not has_function_privilege('service_role', 'private.wallet_limit_usage_give_back(uuid, bigint, timestamptz)', 'execute'),
  'no API role gives usage back');

select * from finish();
rollback;
