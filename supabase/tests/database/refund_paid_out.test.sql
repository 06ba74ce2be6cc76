-- An admin records that they paid a former customer, outside the providers, what mfuko owed them
-- on a refund that failed after their account closed (api_private.refund_paid_out, decision
-- 0027): only an admin, never for a debt owed to themselves, only on a refund still owed, once,
-- for exactly what is still owed (less when a later refund of the payment paid part of it). The
-- money goes from unclaimed:<CUR> to clearing:manual:<CUR>; the refund row and the audit trail
-- keep who, how, the payout's reference and why; reconciliation lists it as paid out, no more as
-- owed; every ledger invariant holds.
begin;
select plan(50);

select tests.create_users('{alice,dave,erin,bob}', admins => '{admin,boss}', support => '{helper}');
select tests.open_account('alice', 'USD') as alice_usd, tests.open_account('dave', 'USD') as dave_usd,
       tests.open_account('erin', 'USD') as erin_usd, tests.open_account('bob', 'USD') as bob_usd,
       tests.open_account('boss', 'USD') as boss_usd \gset

-- A credited payment of p_amount into p_account, refunded by p_refunded (p_refund_id), the rest
-- spent and the account closed, then the refund failed: p_refunded is owed to the account's owner.
create function pg_temp.owed_refund(p_account uuid, p_amount bigint, p_refunded bigint, p_payment_id text, p_refund_id text)
returns table (payment uuid, refund uuid)
language plpgsql
as $$
declare
  v_payment uuid;
begin
  perform tests.as_service();
  select c.id into v_payment from tests.credited_payment('stripe', p_account, p_amount, 'USD', p_payment_id) c;
  perform public.refund_record(v_payment, p_refunded, p_refund_id, 'requested');
  perform public.wallet_transfer(p_account, (select a.id from public.wallet_accounts a
                                              where a.owner_id = tests.user_id('bob') and a.currency = 'USD'),
                                 p_amount - p_refunded, 'USD', 'spend-' || p_refund_id);
  perform public.wallet_set_status(p_account, 'closed', 'customer left');
  perform public.refund_record_failure(v_payment, p_refund_id, p_refunded, 'failed', 'expired_or_canceled_card');
  perform tests.reset_role();
  return query select v_payment, r.id from public.refunds r where r.provider_refund_id = p_refund_id;
end;
$$;

create function pg_temp.balance(p_code text) returns bigint
language sql
as $$ select coalesce((select public.wallet_balance(a.id) from public.wallet_accounts a where a.code = p_code), 0) $$;

select payment as alice_payment, refund as alice_refund from pg_temp.owed_refund(:'alice_usd', 1000, 400, 'pi_po_alice', 're_po_alice') \gset
select payment as dave_payment, refund as dave_refund from pg_temp.owed_refund(:'dave_usd', 1000, 500, 'pi_po_dave', 're_po_dave') \gset
select payment as erin_payment, refund as erin_refund from pg_temp.owed_refund(:'erin_usd', 500, 300, 'pi_po_erin', 're_po_erin') \gset
select payment as boss_payment, refund as boss_refund from pg_temp.owed_refund(:'boss_usd', 500, 200, 'pi_po_boss', 're_po_boss') \gset
-- A refund that owes nothing: Bob's account is open, his failed refund came back to him.
select tests.as_service();
select id as bob_payment from tests.credited_payment('stripe', :'bob_usd', 300, 'USD', 'pi_po_bob') \gset
select 1 from public.refund_record(:'bob_payment', 100, 're_po_bob');
select 1 from public.refund_record_failure(:'bob_payment', 're_po_bob', 100);
-- Stripe refunds 300 of Dave's payment again, which reaches him: 200 of his 500 is still owed.
-- It refunds Erin's 300 again: nothing of hers is owed any more.
select 1 from public.refund_record(:'dave_payment', 300, 're_po_dave_again');
select 1 from public.refund_record(:'erin_payment', 300, 're_po_erin_again');
select tests.reset_role();
select id as bob_refund from public.refunds where provider_refund_id = 're_po_bob' \gset
select is(pg_temp.balance('unclaimed:USD'), 800::bigint, 'unclaimed:USD holds what is owed: 400 to Alice, 200 to Dave, 200 to the boss');

-- ---------------------------------------------------------------- who may
select ok(not has_function_privilege('anon', 'api_private.refund_paid_out(uuid, bigint, text, text, text)', 'execute')
          and has_function_privilege('authenticated', 'api_private.refund_paid_out(uuid, bigint, text, text, text)', 'execute')
          and not has_function_privilege('service_role', 'api_private.refund_paid_out(uuid, bigint, text, text, text)', 'execute'),
  'EXECUTE: authenticated only (the admin API calls it as the admin)');
select throws_ok(format($$ select tests.query_as(%L, %L, null::public.refunds) $$, who,
                        format('select * from api_private.refund_paid_out(%L, 400, ''bank_transfer'', ''TX-1'', ''x'')', :'alice_refund')),
                 '42501', message, who || ' cannot record a payout')
  from (values ('alice', 'not allowed to record payouts of money owed'), ('helper', 'not allowed to record payouts of money owed'),
               ('service', null), ('anon', null)) v (who, message);
select tests.as_admin(tests.user_id('boss'));
select throws_ok(format($$ select api_private.refund_paid_out(%L, 200, 'cash', 'receipt 12', 'paid at the office') $$, :'boss_refund'),
  '42501', 'an admin may not pay out a refund of their own: another admin must',
  'an admin cannot record the payout of a debt owed to themselves');

-- ---------------------------------------------------------------- bad input
select throws_ok(format($$ select api_private.refund_paid_out(%L, 400, %L, %L, %L) $$, :'alice_refund', method, reference, reason),
                 '22023', message, 'bad input is 22023: ' || what)
  from (values ('cheque', 'TX-1', 'x', 'method cheque is not bank_transfer or mobile_money or cash or other', 'another method'),
               (null, 'TX-1', 'x', 'method null is not bank_transfer or mobile_money or cash or other', 'a missing method'),
               ('cash', null, 'x', 'p_reference must be 1 to 255 characters', 'a missing reference'),
               ('cash', repeat('r', 256), 'x', 'p_reference must be 1 to 255 characters', 'a reference over 255 characters'),
               ('cash', 'TX-1', ' ', 'a reason is required to record a payout', 'a blank reason'),
               ('cash', 'TX-1', repeat('x', 1001), 'p_reason must be at most 1000 characters', 'a reason over 1,000 characters'))
       v (method, reference, reason, message, what);
select throws_ok(format($$ select api_private.refund_paid_out(%L, %s, 'cash', 'TX-1', 'x') $$, :'alice_refund', amount),
                 'WL006', format('invalid amount %s', amount), 'an amount that is not one is WL006: ' || amount)
  from (values ('0'), ('-400'), ('null')) v (amount);
select throws_ok($$ select api_private.refund_paid_out('00000000-0000-4000-8000-0000000000ff', 100, 'cash', 'TX-1', 'x') $$,
  'WL007', 'refund 00000000-0000-4000-8000-0000000000ff not found', 'an unknown refund is WL007');
select throws_ok(format($$ select api_private.refund_paid_out(%L, 100, 'cash', 'TX-1', 'x') $$, :'bob_refund'),
  'WL008', format('refund %s is failed and owes nothing to the former owner of a closed account', :'bob_refund'),
  'a refund that owes nothing to a former owner is WL008');
select throws_ok(format($$ select api_private.refund_paid_out(%L, 100, 'cash', 'TX-1', 'x') $$, :'erin_refund'),
  'WL008', format('refund %s owes nothing any more: a later refund of payment %s paid its former owner', :'erin_refund', :'erin_payment'),
  'a refund whose debt a later provider refund paid is WL008');
select tests.reset_role();
select is(pg_temp.balance('unclaimed:USD'), 800::bigint, 'the refusals moved nothing');
select is((select count(*)::int from public.refunds where paid_out_transaction_id is not null), 0, 'nor recorded a payout');

-- ---------------------------------------------------------------- paid out
-- Alice still writes to mfuko on WhatsApp: the payout's notice reaches her there.
insert into public.whatsapp_contacts (wa_id, user_id, profile_name, last_inbound_at)
values ('256772990031', tests.user_id('alice'), 'Alice', now());
delete from public.whatsapp_outbox;
select set_config('app.correlation_id', 'corr-paid-out-1', true);
select tests.as_admin(tests.user_id('admin'));
select results_eq(
  format($$ select status, owed_to_closed_account, paid_out_amount, paid_out_by, paid_out_at is not null, payout_method,
                   payout_reference, payout_reason
              from api_private.refund_paid_out(%L, 400, 'bank_transfer', 'FT2412070001', 'Alice gave her IBAN on ticket 88') $$,
         :'alice_refund'),
  $$ values ('failed', true, 400::bigint, tests.user_id('admin'), true, 'bank_transfer', 'FT2412070001',
             'Alice gave her IBAN on ticket 88') $$,
  'the payout is recorded on the refund: what was owed, the admin, when, how, the bank''s reference and why');
select tests.reset_role();
select results_eq(
  format($$ select t.kind, t.status, t.amount, t.from_account_id, t.to_account_id, t.initiated_by, t.description,
                   t.metadata ->> 'method', t.metadata ->> 'reference', t.metadata ->> 'closed_account'
              from public.wallet_transactions t where t.id = (select paid_out_transaction_id from public.refunds where id = %L) $$,
         :'alice_refund'),
  format($$ values ('adjustment', 'posted', 400::bigint, (select id from public.wallet_accounts where code = 'unclaimed:USD'),
                    (select id from public.wallet_accounts where code = 'clearing:manual:USD'), tests.user_id('admin'),
                    'Alice gave her IBAN on ticket 88', 'bank_transfer', 'FT2412070001', %L) $$, :'alice_usd'),
  'one adjustment by the admin moves the 400 from unclaimed:USD to clearing:manual:USD, naming the closed account');
select is(pg_temp.balance('unclaimed:USD'), 400::bigint, 'unclaimed:USD goes down by the 400 paid');
select is(pg_temp.balance('clearing:manual:USD'), 400::bigint, 'clearing:manual:USD shows the 400 that left by hand');
select results_eq(format($$ select status, balance from public.wallet_accounts where id = %L $$, :'alice_usd'),
  $$ values ('closed', 0::bigint) $$, 'the closed account stays closed at zero');
select results_eq(
  format($$ select actor_id, correlation_id, new_record ->> 'payout_reference' from audit.log
             where table_name = 'refunds' and record_id = %L and operation = 'UPDATE' and new_record ->> 'paid_out_by' is not null $$,
         :'alice_refund'),
  $$ values (tests.user_id('admin'), 'corr-paid-out-1', 'FT2412070001') $$,
  'the audit trail records the payout with the admin and the request''s correlation id');
select results_eq($$ select body -> 'text' ->> 'body' from public.whatsapp_outbox where wa_id = '256772990031' $$,
  $$ values ('We paid you 4.00 USD, the money we kept for you after the refund of your Stripe top-up did not go through, '
             'by bank transfer (reference FT2412070001). Nothing more is owed to you for it.') $$,
  'Alice is told, once, what she was paid, how and under which reference; not the admin''s note');

-- Once: a second call records nothing more.
select tests.as_admin(tests.user_id('admin'));
select throws_like(format($$ select api_private.refund_paid_out(%L, 400, 'bank_transfer', 'FT2412070001', 'again') $$, :'alice_refund'),
  format('refund %s was already paid out: 400 USD by bank_transfer on %% (FT2412070001)', :'alice_refund'),
  'a second payout of the same refund is refused, naming the first');
select tests.reset_role();
select is((select count(*)::int from public.wallet_transactions where metadata ->> 'refund_id' = :'alice_refund' and kind = 'adjustment'),
  1, 'and moved nothing twice');
select is(pg_temp.balance('unclaimed:USD'), 400::bigint, 'unclaimed:USD is unchanged by it');
select is((select count(*)::int from public.whatsapp_outbox where wa_id = '256772990031'), 1, 'nor told her twice');
select is((select paid_out_amount from public.refunds where id = :'alice_refund'), 400::bigint, 'the refund keeps its one payout');

-- A partial debt: a later Stripe refund already paid Dave 300 of his 500, so 200 is paid out.
select tests.as_admin(tests.user_id('admin'));
select throws_ok(format($$ select api_private.refund_paid_out(%L, 500, 'mobile_money', 'MP-77', 'sent to his new number') $$, :'dave_refund'),
  'WL008', format('refund %s owes 200 USD to its former owner, not 500: record what is owed', :'dave_refund'),
  'a payout of the refund''s whole 500 where only 200 is still owed is refused, naming what is owed');
select results_eq(format($$ select paid_out_amount, payout_method from api_private.refund_paid_out(%L, 200, 'mobile_money', 'MP-77', 'sent to his new number') $$,
                         :'dave_refund'),
  $$ values (200::bigint, 'mobile_money') $$, 'only what is still owed is paid out: 200 of the refund''s 500');
select tests.reset_role();
select is(private.payment_unclaimed((select wallet_transaction_id from public.payments where id = :'dave_payment')), 0::bigint,
  'nothing is owed on Dave''s payment any more');
select is(pg_temp.balance('unclaimed:USD'), 200::bigint, 'unclaimed:USD holds only the boss''s 200');
select is(pg_temp.balance('clearing:manual:USD'), 600::bigint, 'clearing:manual:USD shows the 600 paid out by hand');
-- A new provider refund of Dave's payment finds nothing owed: the platform bears it.
select tests.as_service();
select is((public.refund_record(:'dave_payment', 100, 're_po_dave_third')).borne_by_platform, true,
  'a later provider refund takes nothing from what was paid out: the platform bears it');
select tests.reset_role();
select is(pg_temp.balance('unclaimed:USD'), 200::bigint, 'and unclaimed:USD is untouched');

-- Another admin pays the boss.
select tests.as_admin(tests.user_id('admin'));
select is((api_private.refund_paid_out(:'boss_refund', 200, 'cash', 'receipt 12', 'paid at the office')).paid_out_amount, 200::bigint,
  'another admin records the boss''s payout');
select tests.reset_role();
select is(pg_temp.balance('unclaimed:USD'), 0::bigint, 'nothing is owed to anyone');

-- ---------------------------------------------------------------- reconciliation
select tests.as_admin(tests.user_id('admin'));
select is_empty($$ select 1 from api_private.reconciliation('stripe') r where r.kind = 'refund_failed_owed' $$,
  'no paid-out refund is listed as owed');
select results_eq(
  $$ select r.payment_id, r.account_id, r.provider_amount, r.ledger_amount, r.wallet_transaction_id
       from api_private.reconciliation('stripe') r where r.kind = 'refund_owed_paid_out' order by r.provider_amount $$,
  format($$ values (%L::uuid, %L::uuid, 200::bigint, 200::bigint, (select paid_out_transaction_id from public.refunds where id = %L)),
                   (%L::uuid, %L::uuid, 400::bigint, 400::bigint, (select paid_out_transaction_id from public.refunds where id = %L)),
                   (%L::uuid, %L::uuid, 500::bigint, 200::bigint, (select paid_out_transaction_id from public.refunds where id = %L)) $$,
         :'boss_payment', :'boss_usd', :'boss_refund', :'alice_payment', :'alice_usd', :'alice_refund',
         :'dave_payment', :'dave_usd', :'dave_refund'),
  'each is listed as paid out, with the closed account, the refund, what was paid and the payout transaction');
select ok((select r.detail like '%paid out by admin % by bank_transfer (reference FT2412070001): Alice gave her IBAN on ticket 88'
             from api_private.reconciliation('stripe') r where r.kind = 'refund_owed_paid_out' and r.payment_id = :'alice_payment'),
  'its detail says who paid it, how, the reference and why');
select ok(not api_private.reconciliation_mismatch('refund_owed_paid_out'), 'refund_owed_paid_out is no mismatch');
select tests.reset_role();
select is_empty($$ select * from private.ledger_invariants() $$, 'every ledger invariant holds: every currency still sums to zero');

-- ---------------------------------------------------------------- the row's checks
select throws_ok(format($$ update public.refunds set paid_out_amount = 401 where id = %L $$, :'alice_refund'),
  '23514', null, 'a payout never exceeds the refund');
select throws_ok(format($$ update public.refunds set payout_reference = null where id = %L $$, :'alice_refund'),
  '23514', null, 'a payout is recorded whole');
select throws_ok(format($$ update public.refunds r set (paid_out_amount, paid_out_transaction_id, paid_out_by, paid_out_at,
                                                       payout_method, payout_reference, payout_reason)
                             = (select paid_out_amount - 100, gen_random_uuid(), paid_out_by, paid_out_at, payout_method,
                                       payout_reference, payout_reason from public.refunds where id = %L)
                            where r.id = %L $$, :'alice_refund', :'bob_refund'),
  '23514', null, 'only a refund owed to a former owner is paid out');

select * from finish();
rollback;
