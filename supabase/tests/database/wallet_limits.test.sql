-- Limits per tier and currency (docs/LEDGER.md, "Limits"): a user's payment at each boundary,
-- WL009 that writes nothing, the UTC day and the hour starting afresh, replays counted once, an
-- admin's payment from their own wallet limited like a user's, the service's moves and an
-- admin's adjustments and reversals unlimited; a currency the tier has no limits in refused
-- until an admin sets them; who reads and changes the limits, and the audit rows of an admin's
-- change.
begin;
select plan(74);

select tests.create_users('{payer, payee}', admins => '{admin}', support => '{support}');
select tests.create_accounts('b9000000', 'USD', '{payer, payee}');
select public.wallet_deposit('b9000000-0000-4000-8000-00000000000a', 100000, 'USD', 'stripe', 'limits-funding');

-- A payment of the payer to the payee, made as the payer (a signed-in user, so its tier's
-- limits apply); the superuser again afterwards. A refused payment's switch is rolled back
-- with throws_ok's subtransaction.
create function pg_temp.pay(p_amount bigint, p_key text) returns uuid language plpgsql as $$
declare
  v_id uuid;
begin
  perform tests.as_user(tests.user_id('payer'));
  select t.id into v_id from public.wallet_transfer('b9000000-0000-4000-8000-00000000000a',
    'b9000000-0000-4000-8000-00000000000b', p_amount, 'USD', p_key) t;
  perform tests.reset_role();
  return v_id;
end;
$$;
-- The payer's outgoing transactions and its balance, as the superuser sees them.
create function pg_temp.payer_state() returns text language sql security definer as $$
  select format('%s transfers, balance %s',
    (select count(*) from public.wallet_transactions where from_account_id = 'b9000000-0000-4000-8000-00000000000a'),
    (select balance from public.wallet_accounts where id = 'b9000000-0000-4000-8000-00000000000a'))
$$;
create function pg_temp.usage() returns text language sql security definer as $$
  select format('%s sent today, %s this hour', sent_today, sent_this_hour)
    from private.wallet_limit_usage where account_id = 'b9000000-0000-4000-8000-00000000000a'
$$;
-- Moves the payer's counter back by p_days and p_hours, as time passing would.
create function pg_temp.age_usage(p_days integer, p_hours integer) returns void language sql security definer as $$
  update private.wallet_limit_usage
     set day = day - p_days, hour = hour - make_interval(hours => p_hours)
   where account_id = 'b9000000-0000-4000-8000-00000000000a'
$$;

-- ---------------------------------------------------------------- each currency its own limits
select results_eq($$ select currency, max_single, max_daily from public.wallet_tier_limits
                      where tier = 'standard' and currency in ('RWF', 'USD', 'KES') order by currency $$,
  $$ values ('KES'::text, 25000000::bigint, 50000000::bigint), ('RWF', 1000000, 2000000), ('USD', 500000, 2000000) $$,
  'the standard tier has limits of its own in each currency served, in its minor units');

-- ---------------------------------------------------------------- an admin sets the standard tier
select tests.as_admin(tests.user_id('admin'));
select results_eq($$ select tier, currency, max_single, max_daily, max_per_hour
                       from public.wallet_set_tier_limits('standard', 'USD', 1000, 2500, 4) $$,
  $$ values ('standard'::text, 'USD'::text, 1000::bigint, 2500::bigint, 4) $$, 'an admin changes the standard tier in USD');
select tests.reset_role();
select results_eq($$ select actor_id, actor_app_role, operation, old_record ->> 'max_single', new_record ->> 'max_single'
                       from audit.log where table_name = 'wallet_tier_limits'
                        and record_id = (select id::text from public.wallet_tier_limits where tier = 'standard' and currency = 'USD') $$,
  $$ values (tests.user_id('admin'), 'admin'::text, 'UPDATE'::text, '500000'::text, '1000'::text) $$,
  'the change is audited with the admin as actor');
select is((select max_single from public.wallet_tier_limits where tier = 'standard' and currency = 'EUR'), 500000::bigint,
  'and changes no other currency');

-- ---------------------------------------------------------------- single payment
select throws_ok($$ select pg_temp.pay(1001, 'limits-1') $$,
  'WL009', 'single payment limit of 1000 USD would be exceeded', 'one unit over the single limit is WL009');
select is(pg_temp.payer_state(), '0 transfers, balance 100000', 'and writes nothing');
select is(pg_temp.usage(), null, 'nor counts anything');
select lives_ok($$ select pg_temp.pay(1000, 'limits-2') $$, 'exactly the single limit passes');

-- ---------------------------------------------------------------- daily total
select lives_ok($$ select pg_temp.pay(1000, 'limits-3') $$, 'a second payment within the day passes');
select throws_ok($$ select pg_temp.pay(501, 'limits-4') $$,
  'WL009', 'daily limit of 2500 USD would be exceeded', 'one unit over the daily total is WL009');
select is(pg_temp.payer_state(), '2 transfers, balance 98000', 'and writes nothing');
select is(pg_temp.usage(), '2000 sent today, 2 this hour', 'nor counts it');
select pg_temp.pay(500, 'limits-5') as exact_day \gset
select isnt(:'exact_day'::uuid, null::uuid, 'exactly the daily total passes');
select is(pg_temp.pay(500, 'limits-5'), :'exact_day'::uuid, 'a replay of it returns the original');
select throws_ok($$ select pg_temp.pay(1, 'limits-6') $$,
  'WL009', 'daily limit of 2500 USD would be exceeded', 'with the total reached, one more unit is WL009');
select is(pg_temp.usage(), '2500 sent today, 3 this hour', 'the replay was counted once');
select is(pg_temp.payer_state(), '3 transfers, balance 97500', 'three payments were written');

-- ---------------------------------------------------------------- the UTC day starts afresh
select pg_temp.age_usage(1, 24);
select lives_ok($$ select pg_temp.pay(1000, 'limits-7') $$, 'on the next UTC day the total starts again');
select is(pg_temp.usage(), '1000 sent today, 1 this hour', 'from this payment alone');

-- ---------------------------------------------------------------- payments per hour
select lives_ok($$ select pg_temp.pay(1, 'limits-8'), pg_temp.pay(1, 'limits-9'), pg_temp.pay(1, 'limits-10') $$,
  'the fourth payment of the hour passes');
select throws_ok($$ select pg_temp.pay(1, 'limits-11') $$,
  'WL009', 'hourly limit of 4 payments would be exceeded', 'the fifth is WL009');
select is(pg_temp.payer_state(), '7 transfers, balance 96497', 'and writes nothing');
select pg_temp.age_usage(0, 1);
select lives_ok($$ select pg_temp.pay(1, 'limits-12') $$, 'the next hour counts again');
select is(pg_temp.usage(), '1004 sent today, 1 this hour', 'while the day keeps its total');

-- ---------------------------------------------------------------- moves nobody limits
select lives_ok($$ select public.wallet_transfer('b9000000-0000-4000-8000-00000000000a', 'b9000000-0000-4000-8000-00000000000b', 5000, 'USD', 'limits-service') $$,
  'a transfer by the service is not limited');
select lives_ok($$ select public.wallet_withdraw('b9000000-0000-4000-8000-00000000000a', 5000, 'USD', 'momo', 'limits-withdraw') $$,
  'nor a withdrawal the service reserves');
select lives_ok($$ select public.wallet_deposit('b9000000-0000-4000-8000-00000000000a', 5000, 'USD', 'stripe', 'limits-deposit') $$,
  'nor a deposit');
select tests.as_admin(tests.user_id('admin'));
select lives_ok($$ select public.wallet_adjust('b9000000-0000-4000-8000-00000000000a', 5000, 'debit', 'limits test', 'limits-adjust') $$,
  'nor an admin''s adjustment');
select lives_ok($$ select public.wallet_reverse((select id from public.wallet_transactions where idempotency_key = 'limits-service'),
                                                'limits-reverse', 5000, 'limits test') $$,
  'nor an admin''s reversal');
select tests.reset_role();
select is(pg_temp.usage(), '1004 sent today, 1 this hour', 'and none of them counts');

-- ---------------------------------------------------------------- staff paying from their own wallet
select tests.create_accounts('b9100000', 'USD', '{admin}');
select public.wallet_deposit('b9100000-0000-4000-8000-00000000000a', 5000, 'USD', 'stripe', 'limits-admin-funding');
select tests.as_admin(tests.user_id('admin'));
select throws_ok($$ select public.wallet_transfer('b9100000-0000-4000-8000-00000000000a', 'b9000000-0000-4000-8000-00000000000b',
                                                  1001, 'USD', 'limits-admin-own') $$,
  'WL009', 'single payment limit of 1000 USD would be exceeded', 'an admin paying from their own wallet is limited like a user');
select is((public.wallet_transfer('b9100000-0000-4000-8000-00000000000a', 'b9000000-0000-4000-8000-00000000000b',
                                  1000, 'USD', 'limits-admin-own-2')).amount, 1000::bigint, 'and may pay up to the limit');
select tests.reset_role();

-- ---------------------------------------------------------------- what is left to send
create function pg_temp.left_of(p_user text) returns table (currency text, tier text, max_single bigint, max_daily bigint,
                                                           left_today bigint, max_per_hour integer, left_this_hour integer)
language plpgsql as $$
begin
  perform tests.as_user(tests.user_id(p_user));
  return query select l.currency, l.tier, l.max_single, l.max_daily, l.left_today, l.max_per_hour, l.left_this_hour
                 from public.wallet_limits_left() l;
  perform tests.reset_role();
end;
$$;
select results_eq($$ select * from pg_temp.left_of('payer') $$,
  $$ values ('USD'::text, 'standard'::text, 1000::bigint, 2500::bigint, 1496::bigint, 4, 3) $$,
  'wallet_limits_left tells the owner its limits and what is left of the UTC day and hour');
select results_eq($$ select * from pg_temp.left_of('payee') $$,
  $$ values ('USD'::text, 'standard'::text, 1000::bigint, 2500::bigint, 2500::bigint, 4, 4) $$,
  'another user reads only their own account, with nothing sent');
select pg_temp.age_usage(0, 1);
select results_eq($$ select left_today, left_this_hour from pg_temp.left_of('payer') $$, $$ values (1496::bigint, 4) $$,
  'an hour later the hour is whole again and the day is not');
select pg_temp.age_usage(1, 0);
select results_eq($$ select left_today, left_this_hour from pg_temp.left_of('payer') $$, $$ values (2500::bigint, 4) $$,
  'on the next UTC day the day is whole again');
select pg_temp.age_usage(-2, 0);
select results_eq($$ select left_today from pg_temp.left_of('payer') $$, $$ values (1496::bigint) $$,
  'a counter of a later day (the clock stepped back) still counts, as the check counts it');
select pg_temp.age_usage(2, 0);
select tests.as_admin(tests.user_id('admin'));
select results_eq($$ select currency, tier, left_today from public.wallet_limits_left() $$,
  $$ values ('USD'::text, 'standard'::text, 1500::bigint) $$,
  'an admin reads the limits of their own wallet, which their payments count against, and no one else''s');
select tests.reset_role();
select tests.as_service();
select throws_ok($$ select * from public.wallet_limits_left() $$, '42501', null, 'the service has no limits of its own to read');
select tests.reset_role();
select tests.as_anon();
select throws_ok($$ select * from public.wallet_limits_left() $$, '42501', null, 'nor has anon');
select tests.reset_role();

-- ---------------------------------------------------------------- an account's tier
select tests.as_admin(tests.user_id('admin'));
select is((public.wallet_set_limit_tier('b9000000-0000-4000-8000-00000000000a', 'verified')).limit_tier, 'verified',
  'an admin moves an account to another tier');
select tests.reset_role();
select results_eq($$ select actor_id, old_record ->> 'limit_tier', new_record ->> 'limit_tier'
                       from audit.log where table_name = 'wallet_accounts' and record_id = 'b9000000-0000-4000-8000-00000000000a'
                        and operation = 'UPDATE' and changed_fields @> array['limit_tier'] $$,
  $$ values (tests.user_id('admin'), 'standard'::text, 'verified'::text) $$,
  'the move is audited with the admin as actor');
select lives_ok($$ select pg_temp.pay(1001, 'limits-13') $$, 'and the account''s payments follow its new tier');
select tests.as_user(tests.user_id('payer'));
select is((select limit_tier from public.wallet_accounts where id = 'b9000000-0000-4000-8000-00000000000a'), 'verified',
  'its owner reads its tier');
select tests.reset_role();

-- ---------------------------------------------------------------- a currency the tier has no limits in
-- BIF: a currency the migration sets no limits in (the admin API's suite adds XAF and MGA).
select tests.create_accounts('b9200000', 'BIF', '{payer, payee}');
select public.wallet_deposit('b9200000-0000-4000-8000-00000000000a', 100000, 'BIF', 'momo', 'limits-bif-funding');
create function pg_temp.pay_bif(p_key text) returns void language plpgsql as $$
begin
  perform tests.as_user(tests.user_id('payer'));
  perform public.wallet_transfer('b9200000-0000-4000-8000-00000000000a', 'b9200000-0000-4000-8000-00000000000b', 100, 'BIF', p_key);
  perform tests.reset_role();
end;
$$;
select throws_ok($$ select pg_temp.pay_bif('limits-bif-1') $$,
  'WL009', 'no limits are set for the standard tier in BIF', 'a payment in a currency its tier has no limits in is WL009');
select is((select count(*) from public.wallet_transactions where from_account_id = 'b9200000-0000-4000-8000-00000000000a'),
  0::bigint, 'and writes nothing');
select results_eq($$ select currency, tier, max_single, left_today, left_this_hour from pg_temp.left_of('payer') $$,
  $$ values ('BIF'::text, 'standard'::text, null::bigint, null::bigint, null::integer),
            ('USD', 'verified', 5000000, 20000000 - 1001, 299) $$,
  'wallet_limits_left shows no limits, and nothing left, in a currency the tier has none in');
select lives_ok($$ select public.wallet_transfer('b9200000-0000-4000-8000-00000000000a', 'b9200000-0000-4000-8000-00000000000b',
                                                 100, 'BIF', 'limits-bif-service') $$,
  'the service still moves its money');
select tests.as_admin(tests.user_id('admin'));
select throws_ok($$ select public.wallet_set_limit_tier('b9200000-0000-4000-8000-00000000000a', 'verified') $$,
  '22023', 'the verified tier has no limits in BIF: set them first', 'nor is the account moved to a tier without them');
select l.id as bif_limits from public.wallet_set_tier_limits('standard', 'BIF', 200000, 500000, 60) l \gset
select tests.reset_role();
select results_eq(format($$ select actor_id, operation from audit.log where table_name = 'wallet_tier_limits' and record_id = %L $$,
                         :'bif_limits'),
  $$ values (tests.user_id('admin'), 'INSERT'::text) $$, 'an admin adds the standard tier''s limits in BIF, audited as an insert');
select lives_ok($$ select pg_temp.pay_bif('limits-bif-2') $$, 'then the payment passes');

-- ---------------------------------------------------------------- who reads and changes limits
select private.wallet_max_amount() + 1 as over_max \gset
select tests.as_user(tests.user_id('payer'));
select results_eq($$ select tier, currency from public.wallet_tier_limits order by currency $$,
  $$ values ('standard'::text, 'BIF'::text), ('verified', 'USD') $$,
  'a user reads the limits of their own accounts'' tiers in their currencies, and no others');
select tests.reset_role();
select tests.as_user(tests.user_id('payee'));
select results_eq($$ select tier, currency from public.wallet_tier_limits order by currency $$,
  $$ values ('standard'::text, 'BIF'::text), ('standard', 'USD') $$, 'and so does another user, for their own');
select tests.reset_role();
select tests.as_user(tests.user_id('payer'));
select throws_ok($$ select public.wallet_set_tier_limits('standard', 'USD', 1, 1, 1) $$, '42501', null, 'a user changes no limits');
select throws_ok($$ select public.wallet_set_limit_tier('b9000000-0000-4000-8000-00000000000a', 'merchant') $$, '42501', null,
  'nor its own account''s tier');
select throws_ok($$ update public.wallet_tier_limits set max_single = 1 $$, '42501', null, 'nor writes the table');
select tests.reset_role();
select tests.as_support(tests.user_id('support'));
select is((select count(*) from public.wallet_tier_limits where currency in ('RWF', 'USD')), 6::bigint,
  'support reads every tier''s limits');
select throws_ok($$ select public.wallet_set_tier_limits('standard', 'USD', 1, 1, 1) $$, '42501', null, 'but changes none');
select tests.reset_role();
select tests.as_admin(tests.user_id('admin'));
select is((select count(*) from public.wallet_tier_limits where currency in ('RWF', 'USD')), 6::bigint,
  'an admin reads every tier''s limits');
select throws_ok($$ select public.wallet_set_tier_limits('gold', 'USD', 1, 1, 1) $$,
  '22023', 'tier gold is not one of standard, verified, merchant', 'an unknown tier is 22023');
select throws_ok($$ select public.wallet_set_tier_limits('standard', 'usd', 1, 1, 1) $$,
  '22023', 'currency usd is not an ISO 4217 code', 'a currency not written as an ISO 4217 code is 22023');
select throws_ok($$ select public.wallet_set_tier_limits('standard', 'USD', 10, 9, 1) $$,
  '22023', null, 'a daily total below the single limit is 22023');
select throws_ok($$ select public.wallet_set_tier_limits('standard', 'USD', 0, 9, 1) $$,
  '22023', null, 'a single limit of zero is 22023');
select throws_ok($$ select public.wallet_set_tier_limits('standard', 'USD', 1, 1, 0) $$,
  '22023', null, 'zero payments per hour is 22023');
select throws_ok(format($$ select public.wallet_set_tier_limits('standard', 'USD', %s, %s, 1) $$,
                        :'over_max', :'over_max'),
  '22023', null, 'a single limit above the ledger''s largest amount is 22023');
select is((select max_single from public.wallet_tier_limits where tier = 'standard' and currency = 'USD'), 1000::bigint,
  'and none of the refused changes was written');
select throws_ok($$ select public.wallet_set_limit_tier('b9000000-0000-4000-8000-00000000000a', 'gold') $$,
  '22023', 'tier gold is not one of standard, verified, merchant', 'an unknown tier for an account is 22023');
select throws_ok(format($$ select public.wallet_set_limit_tier('b9000000-0000-4000-8000-00000000000a', %L) $$, repeat('x', 256)),
  '22023', 'p_tier must be at most 255 characters', 'a tier name over the identifier bound is 22023');
select throws_ok($$ select public.wallet_set_limit_tier('b9000000-0000-4000-8000-0000000000ff', 'merchant') $$,
  'WL007', null, 'an unknown account is WL007');
select tests.reset_role();
select ok(not has_table_privilege('authenticated', 'private.wallet_limit_usage', 'select')
          and not has_table_privilege('service_role', 'private.wallet_limit_usage', 'select'),
  'no API role reads the usage counters');
select is((select count(*) from unnest(array['anon', 'authenticated', 'service_role']) r
            cross join unnest(array['insert', 'update', 'delete', 'truncate']) p
            cross join unnest(array['public.wallet_limit_tiers', 'public.wallet_tier_limits']) t
            where has_table_privilege(r, t, p)), 0::bigint,
  'no API role may insert, update, delete or truncate a tier or its limits');
select is((select count(*) from unnest(array['anon', 'authenticated', 'service_role']) r
            where has_table_privilege(r, 'public.wallet_limit_tiers', 'select')), 0::bigint,
  'no API role reads the tiers'' table: they are read through their limits');
select ok(not has_table_privilege('anon', 'public.wallet_tier_limits', 'select'), 'anon reads no limits');
select is((select count(*) from pg_class c
            where c.oid in ('public.wallet_limit_tiers'::regclass, 'public.wallet_tier_limits'::regclass,
                            'private.wallet_limit_usage'::regclass)
              and c.relrowsecurity and c.relforcerowsecurity), 3::bigint,
  'RLS is enabled and forced on the tiers, their limits and the usage counters');

select * from finish();
rollback;
