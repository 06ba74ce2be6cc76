-- Idempotency of every function that takes a key (docs/LEDGER.md "Idempotency"): the same key with
-- the same parameters returns the first row and writes nothing; the same key with any one
-- parameter changed is WL005. One row of idempotent_call per function and caller scope, one
-- test per parameter, so that leaving a parameter out of a function's comparison fails here.
-- Each changed value is valid on its own: with a fresh key the same call is accepted, so the
-- WL005 can only come from the key.
begin;

select tests.create_users(array['alice', 'bob', 'carol']);
select tests.create_accounts('ac800000', 'GHS', '{alice, bob, carol}');
-- The owners' payments in GHS are open: the standard tier's limits in it, as an admin sets them
-- for a currency mfuko starts to serve.
select public.wallet_set_tier_limits('standard', 'GHS', 500000, 2000000, 60);

-- Everything a replay could write: row counts of the ledger, payment and audit tables, and a
-- digest of every balance and status. Security definer: the audit log is the owner's.
create function pg_temp.writes() returns text
language sql
security definer
as $$
  select format('transactions %s, entries %s, intents %s, payments %s, refunds %s, audit rows %s, state %s',
    (select count(*) from public.wallet_transactions), (select count(*) from public.wallet_entries),
    (select count(*) from public.payment_intents), (select count(*) from public.payments),
    (select count(*) from public.refunds), (select count(*) from audit.log),
    md5(concat(
      (select string_agg(concat_ws(' ', a.id, a.balance, a.available, a.status), ',' order by a.id) from public.wallet_accounts a),
      (select string_agg(concat_ws(' ', s.id, s.balance), ',' order by s.id) from public.wallet_balance_shards s),
      (select string_agg(concat_ws(' ', t.id, t.status, t.amount), ',' order by t.id) from public.wallet_transactions t),
      (select string_agg(concat_ws(' ', i.id, i.status), ',' order by i.id) from public.payment_intents i),
      (select string_agg(concat_ws(' ', p.id, p.status, p.amount_refunded), ',' order by p.id) from public.payments p))))
$$;

-- The calls under test. template has one %s per parameter, in the order of params, and {key}
-- where the idempotency key goes (for payments and refunds: the provider's id, their key).
-- other_args: per parameter, another value that is valid on its own. expected: per parameter,
-- what the call with only that value changed gives: WL005, the code of a check that comes
-- before the key (a currency that is not the accounts' is WL002 whatever the key), or
-- replay for a parameter that is not part of the key's identity.
create temporary table idempotent_call (
  label text primary key,
  caller text not null check (caller in ('service', 'alice')),
  template text not null,
  params text[] not null,
  first_args text[] not null,
  other_args text[] not null,
  expected text[] not null,
  -- wallet_capture's key is checked only once the hold is captured; a fresh key then is WL008.
  fresh_key_accepted boolean not null default true,
  first_id uuid,
  check (cardinality(params) = cardinality(first_args) and cardinality(params) = cardinality(other_args)
         and cardinality(params) = cardinality(expected))
);
grant all on idempotent_call to service_role, authenticated;

-- The SQL of a call: its first arguments with argument p_changed (1-based, 0: none) replaced
-- by its other value, under the call's key (or a key never used before).
create function pg_temp.call_of(p_label text, p_changed integer default 0, p_fresh_key boolean default false)
returns text
language sql
as $$
  select replace(
           format(c.template, variadic array(
             select case when i = p_changed then c.other_args[i] else c.first_args[i] end
               from generate_subscripts(c.params, 1) as i order by i)),
           '{key}', quote_literal('idem-' || c.label || case when p_fresh_key then '-fresh' else '' end))
    from idempotent_call c
   where c.label = p_label
$$;

-- The id of the row a call returns.
create function pg_temp.row_id(p_call text) returns uuid
language plpgsql
as $$
declare
  v_id uuid;
begin
  execute format('select r.id from %s r', p_call) into strict v_id;
  return v_id;
end;
$$;

-- A call that should replay: 'the first row, nothing written', or what happened instead.
create function pg_temp.replay(p_label text, p_changed integer default 0) returns text
language plpgsql
as $$
declare
  v_before text := pg_temp.writes();
  v_id uuid := pg_temp.row_id(pg_temp.call_of(p_label, p_changed));
  v_after text := pg_temp.writes();
  v_first uuid := (select c.first_id from idempotent_call c where c.label = p_label);
begin
  if v_id = v_first and v_after = v_before then
    return 'the first row, nothing written';
  end if;
  return format('row %s (the first was %s); before: %s; after: %s', v_id, v_first, v_before, v_after);
end;
$$;

-- 'accepted' or the SQLSTATE the call fails with; either way nothing it did is kept.
create function pg_temp.outcome(p_call text) returns text
language plpgsql
as $$
begin
  execute format('select r.id from %s r', p_call);
  raise exception 'undo' using errcode = 'MFK00';
exception
  when sqlstate 'MFK00' then
    return 'accepted';
  when others then
    return sqlstate;
end;
$$;

grant execute on function pg_temp.writes(), pg_temp.call_of(text, integer, boolean), pg_temp.row_id(text),
  pg_temp.replay(text, integer), pg_temp.outcome(text) to service_role, authenticated;

-- ---------------------------------------------------------------- fixture, as the service
select tests.as_service();
select count(public.wallet_deposit(a.id, 100000, 'GHS', 'momo', 'idem-fund-' || a.id)) as funded
  from public.wallet_accounts a
 where a.id in ('ac800000-0000-4000-8000-00000000000a', 'ac800000-0000-4000-8000-00000000000b',
                'ac800000-0000-4000-8000-00000000000c') \gset
-- What the captures and reversals act on.
select public.wallet_hold('ac800000-0000-4000-8000-00000000000a', 400, 'GHS', 'idem-fixture-hold') \gset
select public.wallet_transfer('ac800000-0000-4000-8000-00000000000a', 'ac800000-0000-4000-8000-00000000000b', 1000, 'GHS', 'idem-fixture-tr-1') \gset
select public.wallet_transfer('ac800000-0000-4000-8000-00000000000a', 'ac800000-0000-4000-8000-00000000000c', 1000, 'GHS', 'idem-fixture-tr-2') \gset
-- What the payments and refunds act on: two open intents, two paid ones.
select public.payment_intent_create('stripe', 'ac800000-0000-4000-8000-00000000000a', 1200, 'GHS', 'idem-fixture-intent-1') \gset
select public.payment_intent_create('stripe', 'ac800000-0000-4000-8000-00000000000b', 1200, 'GHS', 'idem-fixture-intent-2') \gset
select count(public.payment_record_success('stripe', 'pi_idem_paid_' || n, (public.payment_intent_create(
         'stripe', 'ac800000-0000-4000-8000-00000000000a', 2000, 'GHS', 'idem-fixture-paid-' || n)).id, 2000, 'GHS')) as paid
  from generate_series(1, 2) n \gset
select tests.reset_role();

insert into idempotent_call (label, caller, template, params, first_args, other_args, expected) values
  ('wallet_transfer', 'service',
   'public.wallet_transfer(%s, %s, %s, %s, {key}, %s, %s)',
   '{p_from, p_to, p_amount, p_currency, p_description, p_metadata}',
   array['''ac800000-0000-4000-8000-00000000000a''', '''ac800000-0000-4000-8000-00000000000b''', '500', '''GHS''',
         '''rent''', '''{"k": 1}'''],
   array['''ac800000-0000-4000-8000-00000000000c''', '''ac800000-0000-4000-8000-00000000000c''', '501', '''EUR''',
         '''rent, again''', '''{"k": 2}'''],
   '{WL005, WL005, WL005, WL002, WL005, WL005}'),
  ('wallet_transfer/user', 'alice',
   'public.wallet_transfer(''ac800000-0000-4000-8000-00000000000a'', %s, %s, %s, {key}, %s, %s)',
   '{p_to, p_amount, p_currency, p_description, p_metadata}',
   array['''ac800000-0000-4000-8000-00000000000b''', '500', '''GHS''', '''rent''', '''{"k": 1}'''],
   array['''ac800000-0000-4000-8000-00000000000c''', '501', '''EUR''', '''rent, again''', '''{"k": 2}'''],
   '{WL005, WL005, WL002, WL005, WL005}'),
  ('wallet_transfer_batch', 'service',
   'public.wallet_transfer_batch(jsonb_build_array(jsonb_build_object(''from'', %s::uuid, ''to'', %s::uuid, '
     '''amount'', %s::bigint, ''currency'', %s::text, ''idempotency_key'', {key}::text, ''description'', %s::text, '
     '''metadata'', %s::jsonb)))',
   '{from, to, amount, currency, description, metadata}',
   array['''ac800000-0000-4000-8000-00000000000a''', '''ac800000-0000-4000-8000-00000000000b''', '500', '''GHS''',
         '''rent''', '''{"k": 1}'''],
   array['''ac800000-0000-4000-8000-00000000000c''', '''ac800000-0000-4000-8000-00000000000c''', '501', '''EUR''',
         '''rent, again''', '''{"k": 2}'''],
   '{WL005, WL005, WL005, WL002, WL005, WL005}'),
  ('wallet_deposit', 'service',
   'public.wallet_deposit(%s, %s, %s, %s, {key}, %s)',
   '{p_account, p_amount, p_currency, p_source, p_metadata}',
   array['''ac800000-0000-4000-8000-00000000000a''', '700', '''GHS''', '''stripe''', '''{"pi": "pi_1"}'''],
   array['''ac800000-0000-4000-8000-00000000000b''', '701', '''EUR''', '''momo''', '''{"pi": "pi_2"}'''],
   '{WL005, WL005, WL002, WL005, WL005}'),
  ('wallet_withdraw', 'service',
   'public.wallet_withdraw(%s, %s, %s, %s, {key}, %s)',
   '{p_account, p_amount, p_currency, p_destination, p_metadata}',
   array['''ac800000-0000-4000-8000-00000000000a''', '300', '''GHS''', '''momo''', '''{"msisdn": "233200000001"}'''],
   array['''ac800000-0000-4000-8000-00000000000b''', '301', '''EUR''', '''stripe''', '''{"msisdn": "233200000002"}'''],
   '{WL005, WL005, WL002, WL005, WL005}'),
  ('wallet_hold', 'service',
   'public.wallet_hold(%s, %s, %s, {key}, %s)',
   '{p_account, p_amount, p_currency, p_metadata}',
   array['''ac800000-0000-4000-8000-00000000000a''', '200', '''GHS''', '''{"order": 1}'''],
   array['''ac800000-0000-4000-8000-00000000000b''', '201', '''EUR''', '''{"order": 2}'''],
   '{WL005, WL005, WL002, WL005}'),
  ('wallet_reverse', 'service',
   'public.wallet_reverse(%s, {key}, %s, %s, %s)',
   '{p_transaction_id, p_amount, p_reason, p_force}',
   array['(select id from public.wallet_transactions where idempotency_key = ''idem-fixture-tr-1'')', '100',
         '''duplicate''', 'false'],
   array['(select id from public.wallet_transactions where idempotency_key = ''idem-fixture-tr-2'')', '101',
         '''duplicate charge''', 'true'],
   '{WL005, WL005, WL005, WL005}'),
  ('wallet_adjust', 'service',
   'public.wallet_adjust(%s, %s, %s, %s, {key})',
   '{p_account, p_amount, p_direction, p_reason}',
   array['''ac800000-0000-4000-8000-00000000000a''', '50', '''credit''', '''missing top-up'''],
   array['''ac800000-0000-4000-8000-00000000000b''', '51', '''debit''', '''missing top-up, again'''],
   '{WL005, WL005, WL005, WL005}'),
  ('payment_intent_create', 'service',
   'public.payment_intent_create(%s, %s, %s, %s, {key})',
   '{p_provider, p_account, p_amount, p_currency}',
   array['''stripe''', '''ac800000-0000-4000-8000-00000000000a''', '900', '''GHS'''],
   array['''momo''', '''ac800000-0000-4000-8000-00000000000b''', '901', '''EUR'''],
   '{WL005, WL005, WL005, WL002}'),
  ('payment_intent_create/user', 'alice',
   'public.payment_intent_create(%s, ''ac800000-0000-4000-8000-00000000000a'', %s, %s, {key})',
   '{p_provider, p_amount, p_currency}',
   array['''stripe''', '900', '''GHS'''],
   array['''momo''', '901', '''EUR'''],
   '{WL005, WL005, WL002}'),
  -- Deliveries of one payment carry different payloads, and fees are not in every event.
  ('payment_record_success', 'service',
   'public.payment_record_success(''stripe'', {key}, %s, %s, %s, %s, %s)',
   '{p_intent, p_amount, p_currency, p_fee, p_raw}',
   array['(select id from public.payment_intents where idempotency_key = ''idem-fixture-intent-1'')', '1200',
         '''GHS''', '30', '''{"id": "pi_1"}'''],
   array['(select id from public.payment_intents where idempotency_key = ''idem-fixture-intent-2'')', '1201',
         '''EUR''', '31', '''{"id": "pi_1", "type": "charge.succeeded"}'''],
   '{WL005, WL005, WL005, replay, replay}'),
  -- An admin's refund and the provider's event about it name the same refund, each with its own reason.
  ('refund_record', 'service',
   'public.refund_record(%s, %s, {key}, %s)',
   '{p_payment, p_amount, p_reason}',
   array['(select id from public.payments where provider_payment_id = ''pi_idem_paid_1'')', '300', '''requested_by_customer'''],
   array['(select id from public.payments where provider_payment_id = ''pi_idem_paid_2'')', '301', '''duplicate'''],
   '{WL005, WL005, replay}');

-- A hold is captured once; the key recognises the replay of that capture.
insert into idempotent_call (label, caller, template, params, first_args, other_args, expected, fresh_key_accepted) values
  ('wallet_capture', 'service',
   'public.wallet_capture((select id from public.wallet_transactions where idempotency_key = ''idem-fixture-hold''), %s, %s, {key})',
   '{p_to, p_amount}',
   array['''ac800000-0000-4000-8000-00000000000b''', '250'],
   array['''ac800000-0000-4000-8000-00000000000c''', '251'],
   '{WL005, WL005}', false);

-- Per call: its replay, then per parameter the changed call and, for WL005, the same change
-- under a fresh key. Plus the explicit tests at the end.
select plan((select (count(distinct c.label) + count(*)
                     + count(*) filter (where e.code = 'WL005' and c.fresh_key_accepted))::integer + 6
               from idempotent_call c cross join unnest(c.expected) as e(code)));

-- ---------------------------------------------------------------- first calls
select tests.as_service();
update idempotent_call set first_id = pg_temp.row_id(pg_temp.call_of(label)) where caller = 'service';
select tests.as_user(tests.user_id('alice'));
update idempotent_call set first_id = pg_temp.row_id(pg_temp.call_of(label)) where caller = 'alice';
select tests.reset_role();

-- ---------------------------------------------------------------- replays and reused keys
-- One caller at a time: the tests run as the caller of the rows they take.
create function pg_temp.tests_of(p_caller text) returns setof text
language plpgsql
as $$
declare
  c idempotent_call;
  i integer;
begin
  for c in select * from idempotent_call where caller = p_caller order by label loop
    return next is(pg_temp.replay(c.label), 'the first row, nothing written',
      format('%s: the same key and parameters return the first row and write nothing', c.label));
    for i in 1 .. cardinality(c.params) loop
      if c.expected[i] = 'replay' then
        return next is(pg_temp.replay(c.label, i), 'the first row, nothing written',
          format('%s: another %s is a replay of the first row (not part of the key''s identity)', c.label, c.params[i]));
      else
        return next throws_ok('select * from ' || pg_temp.call_of(c.label, i), c.expected[i], null,
          format('%s: the key reused with another %s is %s', c.label, c.params[i], c.expected[i]));
      end if;
      if c.expected[i] = 'WL005' and c.fresh_key_accepted then
        return next is(pg_temp.outcome(pg_temp.call_of(c.label, i, true)), 'accepted',
          format('%s: another %s under a fresh key is accepted', c.label, c.params[i]));
      end if;
    end loop;
  end loop;
end;
$$;
grant execute on function pg_temp.tests_of(text) to service_role, authenticated;

select tests.as_service();
select pg_temp.tests_of('service');
select tests.as_user(tests.user_id('alice'));
select pg_temp.tests_of('alice');

-- Keys are scoped by caller: bob's call with alice's key is bob's own transfer.
select tests.as_user(tests.user_id('bob'));
select isnt(pg_temp.row_id('public.wallet_transfer(''ac800000-0000-4000-8000-00000000000b'', '
                           '''ac800000-0000-4000-8000-00000000000c'', 500, ''GHS'', ''idem-wallet_transfer/user'', ''rent'', ''{"k": 1}'')'),
            (select first_id from idempotent_call where label = 'wallet_transfer/user'),
  'another user''s call with the same key is its own transfer');
select tests.reset_role();

-- ---------------------------------------------------------------- the kind of movement is part of the key
-- The same accounts, amount and metadata under one key, as another kind of transaction.
select tests.as_service();
select throws_ok($$ select public.wallet_transfer((select id from public.wallet_accounts where code = 'clearing:stripe:GHS'),
                     'ac800000-0000-4000-8000-00000000000a', 700, 'GHS', 'idem-wallet_deposit', null, '{"pi": "pi_1"}') $$,
  'WL005', null, 'a deposit''s key reused for a transfer with the same accounts and amount is WL005');
select throws_ok($$ select public.wallet_hold('ac800000-0000-4000-8000-00000000000a', 300, 'GHS', 'idem-wallet_withdraw',
                     '{"msisdn": "233200000001"}') $$,
  'WL005', null, 'a withdrawal''s key reused for a hold of the same amount is WL005');
select throws_ok($$ select public.wallet_reverse((select id from public.wallet_transactions where idempotency_key = 'idem-fixture-tr-1'),
                     'idem-wallet_transfer') $$,
  'WL005', null, 'a transfer''s key reused for a reversal is WL005');
select tests.reset_role();

-- ---------------------------------------------------------------- one capture key, one capture
-- The hold is a parameter of wallet_capture too: its key, reused on another pending hold,
-- would otherwise capture that hold as a second effect.
select tests.as_service();
select public.wallet_hold('ac800000-0000-4000-8000-00000000000a', 100, 'GHS', 'idem-fixture-hold-2') \gset
select throws_ok(format($$ select public.wallet_capture(%L, 'ac800000-0000-4000-8000-00000000000b', 100, 'idem-wallet_capture') $$,
                        (select id from public.wallet_transactions where idempotency_key = 'idem-fixture-hold-2')),
  'WL005', 'idempotency key idem-wallet_capture was already used with different parameters',
  'a capture key reused on another pending hold is WL005');
select is((select status from public.wallet_transactions where idempotency_key = 'idem-fixture-hold-2'), 'pending',
  'and that hold stays pending');
select tests.reset_role();

select * from finish();
rollback;
