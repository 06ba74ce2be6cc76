-- An admin's settlement of a cash-out no job can settle (api_private.cashout_resolve): only an
-- admin, never for their own cash-out, only once momo-poll has closed its sending, once; 'paid'
-- captures the hold, 'failed' voids it and gives the limits back; the admin and their note are
-- on the row and in the audit trail, and a late MoMo status settles nothing more.
begin;
select plan(28);

select tests.create_users('{owner, payer}', '{boss}', '{helper}');
select tests.create_accounts('c7000000', 'UGX', '{owner, boss}');
select tests.create_accounts('c7100000', 'UGX', '{payer}');
select public.wallet_deposit('c7000000-0000-4000-8000-00000000000a', 10000, 'UGX', 'momo', 'resolve-fund');
select public.wallet_deposit('c7000000-0000-4000-8000-00000000000b', 5000, 'UGX', 'momo', 'resolve-fund-boss');
select public.wallet_deposit('c7100000-0000-4000-8000-00000000000a', 200, 'UGX', 'momo', 'resolve-fund-payer');

create function pg_temp.sent_today() returns bigint
language sql
as $$ select u.sent_today from private.wallet_limit_usage u where u.account_id = 'c7000000-0000-4000-8000-00000000000a' $$;

select id as paid_one, reference_id as paid_ref, hold_id as paid_hold
  from tests.pending_cashout('owner', 'c7000000-0000-4000-8000-00000000000a', 4000, 'UGX', '256772123456', 'resolve-1') \gset
select id as failed_one, reference_id as failed_ref, hold_id as failed_hold
  from tests.pending_cashout('owner', 'c7000000-0000-4000-8000-00000000000a', 3000, 'UGX', '256772123456', 'resolve-2') \gset
select id as own_one, reference_id as own_ref
  from tests.pending_cashout('boss', 'c7000000-0000-4000-8000-00000000000b', 1000, 'UGX', '256772123456', 'resolve-own') \gset
select is(pg_temp.sent_today(), 7000::bigint, 'the two cash-outs count 7,000 against the owner''s day');
-- Two cash-outs of another user's paid to numbers of the boss's: its Auth phone and a WhatsApp number.
update auth.users set phone = '256772900001', phone_confirmed_at = now() where id = tests.user_id('boss');
insert into public.whatsapp_contacts (wa_id, user_id) values ('256772900002', tests.user_id('boss'));
select id as to_boss_phone, reference_id as to_boss_phone_ref
  from tests.pending_cashout('payer', 'c7100000-0000-4000-8000-00000000000a', 100, 'UGX', '256772900001', 'resolve-boss-phone') \gset
select id as to_boss_whatsapp, reference_id as to_boss_whatsapp_ref
  from tests.pending_cashout('payer', 'c7100000-0000-4000-8000-00000000000a', 100, 'UGX', '256772900002', 'resolve-boss-wa') \gset

-- ---------------------------------------------------------------- while it may still be sent
select tests.as_admin(tests.user_id('boss'));
select throws_ok(format($$ select api_private.cashout_resolve(%L, 'paid', 'MoMo says paid') $$, :'paid_one'),
  'WL008', format('cash-out %s may still be sent: MoMo not knowing it fails it only once its sending is closed', :'paid_one'),
  'an admin cannot settle a cash-out whose sending momo-poll has not closed: a send may still reach MoMo');
select tests.reset_role();

select tests.as_service();
select api_private.cashout_close_sending(r, 1)
  from unnest(array[:'paid_ref', :'failed_ref', :'own_ref', :'to_boss_phone_ref', :'to_boss_whatsapp_ref']::uuid[]) r;
select tests.reset_role();

-- ---------------------------------------------------------------- who may
-- The user, support, and the service (whose settlement is MoMo's confirmed status: cashout_settle).
select throws_ok(format($$ select tests.query_as(%L, %L, null::public.cashouts) $$, who,
                        format('select * from api_private.cashout_resolve(%L, ''failed'', ''x'')', :'paid_one')),
                 '42501', message, who || ' cannot settle a cash-out')
  from (values ('owner', 'not allowed to resolve cash-outs'), ('helper', 'not allowed to resolve cash-outs'),
               ('service', null), ('anon', null)) v (who, message);
select tests.as_admin(tests.user_id('boss'));
select throws_ok(format($$ select api_private.cashout_resolve(%L, 'failed', 'my own') $$, :'own_one'),
  '42501', 'an admin may not resolve a cash-out of their own: another admin must',
  'an admin cannot settle a cash-out of their own');
-- Nor one MoMo pays to their own number: failed, its money would be back in the wallet and with them.
select throws_ok(format($$ select api_private.cashout_resolve(%L, 'failed', 'MoMo never paid it') $$, id),
  '42501', 'an admin may not resolve a cash-out of their own: another admin must',
  'an admin cannot settle a cash-out paid to their own ' || what)
  from (values (:'to_boss_phone', 'Auth phone'), (:'to_boss_whatsapp', 'WhatsApp number')) v (id, what);

-- ---------------------------------------------------------------- bad input
select throws_ok(format($$ select api_private.cashout_resolve(%L, %L, %L) $$, :'paid_one', outcome, reason), '22023', message,
                 'bad input is 22023: ' || what)
  from (values ('refunded', 'x', 'outcome refunded is not paid or failed', 'an outcome other than paid or failed'),
               (null, 'x', 'outcome null is not paid or failed', 'a missing outcome'),
               ('paid', '  ', 'a reason is required to resolve a cash-out', 'a blank reason'),
               ('paid', repeat('x', 1001), 'p_reason must be at most 1000 characters', 'a reason over 1,000 characters'))
       v (outcome, reason, message, what);
select throws_ok($$ select api_private.cashout_resolve('c7000000-0000-4000-8000-0000000000ff', 'paid', 'x') $$,
  'WL007', null, 'an unknown cash-out is WL007');
select tests.reset_role();
select results_eq(format($$ select status, resolved_by from public.cashouts where id in (%L, %L) order by amount $$, :'failed_one', :'paid_one'),
  $$ values ('pending', null::uuid), ('pending', null::uuid) $$, 'the refusals changed neither cash-out');
select results_eq($$ select balance, available from public.wallet_accounts where id = 'c7000000-0000-4000-8000-00000000000a' $$, $$ values (10000::bigint, 3000::bigint) $$, 'nor the account');

-- ---------------------------------------------------------------- paid
select tests.as_admin(tests.user_id('boss'));
select results_eq(
  format($$ select status, reason, resolved_by, resolution_reason, settled_at is not null
              from api_private.cashout_resolve(%L, 'paid', 'MoMo paid 4,000 UGX, its record says 40,000: ticket 77') $$, :'paid_one'),
  $$ values ('paid', null::text, tests.user_id('boss'), 'MoMo paid 4,000 UGX, its record says 40,000: ticket 77', true) $$,
  'paid: the cash-out is paid, with the admin and their note');
select tests.reset_role();
select is((select status from public.wallet_transactions where id = :'paid_hold'), 'posted', 'its hold is captured');
select results_eq($$ select balance, available from public.wallet_accounts where id = 'c7000000-0000-4000-8000-00000000000a' $$, $$ values (6000::bigint, 3000::bigint) $$,
  'the 4,000 left the balance; the other cash-out''s 3,000 stays held');
select is(pg_temp.sent_today(), 7000::bigint, 'a paid cash-out keeps what it counted');
select is((select actor_id from audit.log where table_name = 'cashouts' and record_id = :'paid_one' and operation = 'UPDATE'
            and new_record ->> 'status' = 'paid'),
  tests.user_id('boss'), 'the audit trail names the admin who settled it');

select tests.as_admin(tests.user_id('boss'));
select throws_ok(format($$ select api_private.cashout_resolve(%L, 'paid', 'again') $$, :'paid_one'),
  'WL008', format('cash-out %s is already paid', :'paid_one'), 'a settled cash-out is not settled again');
select throws_ok(format($$ select api_private.cashout_resolve(%L, 'failed', 'the other way') $$, :'paid_one'),
  'WL008', format('cash-out %s is already paid', :'paid_one'), 'nor the other way');

-- ---------------------------------------------------------------- failed
select results_eq(
  format($$ select status, reason, resolution_reason from api_private.cashout_resolve(%L, 'failed', 'MoMo reversed it') $$, :'failed_one'),
  $$ values ('failed', 'resolved', 'MoMo reversed it') $$,
  'failed: the cash-out fails with reason resolved (the person is not shown the admin''s note)');
select tests.reset_role();
select is((select status from public.wallet_transactions where id = :'failed_hold'), 'voided', 'its hold is voided');
select results_eq($$ select balance, available from public.wallet_accounts where id = 'c7000000-0000-4000-8000-00000000000a' $$, $$ values (6000::bigint, 6000::bigint) $$, 'the 3,000 is available again');
select is(pg_temp.sent_today(), 4000::bigint, 'and the day''s limit gets it back');

-- ---------------------------------------------------------------- MoMo's status, late
select tests.as_service();
select throws_ok(format($$ select public.cashout_settle(%L, 'SUCCESSFUL', null, 3000, 'UGX') $$, :'failed_ref'),
  'WL008', format('cash-out %s is already failed', :'failed_ref'),
  'a SUCCESSFUL arriving after an admin failed it settles nothing: the event fails for a person to see');
select tests.reset_role();

select * from finish();
rollback;
