-- A refund recorded the usual way (its reversal took the money from the credited account), then
-- the account closed at zero, then the provider reports the refund failed or canceled: the
-- customer never got the money and the provider has it back, so mfuko owes it to the account's
-- former owner. A closed account takes nothing for good, so the failure credits the currency's
-- unclaimed account (unclaimed:<CUR>) instead, the refund is marked owed_to_closed_account and
-- reconciliation lists it as refund_failed_owed, not a mismatch; every ledger invariant holds.
-- A refund borne by the platform that fails still gives the losses account its money back, and
-- a frozen account still gets its failed refund back itself.
begin;
select plan(28);

select tests.create_users('{alice,bob,carol}', admins => '{admin}');
select tests.open_account('alice', 'USD') as alice_usd, tests.open_account('bob', 'USD') as bob_usd,
       tests.open_account('carol', 'USD') as carol_usd \gset
select tests.as_service();
select id as payment, wallet_transaction_id as credit from tests.credited_payment('stripe', :'alice_usd', 1000, 'USD', 'pi_owed_1') \gset
-- Stripe refunds 400 of her top-up, recorded from her account; she pays the rest to Bob and closes.
select wallet_transaction_id as reversal from public.refund_record(:'payment', 400, 're_owed_1', 'requested') \gset
select 1 from public.wallet_transfer(:'alice_usd', :'bob_usd', 600, 'USD', 'owed-spend-1');
select 1 from public.wallet_set_status(:'alice_usd', 'closed', 'customer left');

-- Alice writes on WhatsApp, so the refund's notices reach her there.
select tests.reset_role();
insert into public.whatsapp_contacts (wa_id, user_id, profile_name, last_inbound_at)
values ('256772990001', tests.user_id('alice'), 'Alice', now()), ('256772990002', tests.user_id('bob'), 'Bob', now());
delete from public.whatsapp_outbox;
select tests.as_service();

-- The refund fails at Stripe: the money is back with the provider, and owed to Alice.
select lives_ok(format($$select public.refund_record_failure(%L, 're_owed_1', 400, 'failed', 'stripe refund failed: expired_or_canceled_card')$$,
                       :'payment'),
  'the failure of a refund whose account was closed since is recorded');
select results_eq(
  $$select status, owed_to_closed_account, borne_by_platform from public.refunds where provider_refund_id = 're_owed_1'$$,
  $$values ('failed', true, false)$$,
  'failed, marked owed to the closed account''s former owner');
select results_eq(
  format($$select t.kind, t.amount, t.from_account_id, t.to_account_id, t.metadata ->> 'closed_account'
            from public.wallet_transactions t where t.reverses_id = %L$$, :'reversal'),
  format($$values ('reversal', 400::bigint, (select id from public.wallet_accounts where code = 'clearing:stripe:USD'),
                   (select id from public.wallet_accounts where code = 'unclaimed:USD'), %L)$$, :'alice_usd'),
  'the credit-back goes from the clearing account to unclaimed:USD, naming the closed account');
select results_eq(format($$select status, balance, available from public.wallet_accounts where id = %L$$, :'alice_usd'),
  $$values ('closed', 0::bigint, 0::bigint)$$, 'the closed account stays closed at zero');
select is(public.wallet_balance((select id from public.wallet_accounts where code = 'unclaimed:USD')), 400::bigint,
  'unclaimed:USD holds the 400 owed to her');
select results_eq(format($$select status, amount_refunded from public.payments where id = %L$$, :'payment'),
  $$values ('succeeded', 0::bigint)$$, 'the payment no longer counts the refund');
select is((public.refund_record_failure(:'payment', 're_owed_1', 400, 'failed', 'stripe refund failed: expired_or_canceled_card')).status,
  'failed', 'a replay returns the failed refund');
select is((select count(*)::int from public.wallet_transactions where reverses_id = :'reversal'), 1, 'and credits nothing more');
select tests.reset_role();
select is_empty($$select * from private.ledger_invariants()$$, 'every ledger invariant holds');
select results_eq($$select body -> 'text' ->> 'body' from public.whatsapp_outbox where wa_id = '256772990001'$$,
  $$values ('The refund of 4.00 USD of your Stripe top-up did not go through, so Stripe has the money back. Your wallet is closed, '
            'so we keep it for you: please contact mfuko support to have it paid to you.')$$,
  'she is told, once, that the money is kept for her and whom to ask for it, not that it is back in her wallet');

-- Attribution: the credit-back and the refund's change are in the audit trail, as the service's.
select is((select count(*)::int from audit.trail l
            where l.table_name = 'refunds' and l.record_id = (select id::text from public.refunds where provider_refund_id = 're_owed_1')
              and l.new_record ->> 'owed_to_closed_account' = 'true' and l.actor_role = 'service_role'),
  1, 'the refund''s change is audited with its actor');

-- Reconciliation: the payment is balanced, and the money owed is listed apart for an admin.
select tests.as_admin(tests.user_id('admin'));
select is_empty(format($$select 1 from api_private.reconciliation('stripe') r
                         where r.payment_id = %L and api_private.reconciliation_mismatch(r.kind)$$, :'payment'),
  'reconciliation finds no mismatch for the payment');
select results_eq(
  format($$select r.kind, r.provider_amount, r.ledger_amount, r.account_id, r.wallet_transaction_id
             from api_private.reconciliation('stripe') r where r.payment_id = %L$$, :'payment'),
  format($$values ('refund_failed_owed'::text, 400::bigint, 400::bigint, %L::uuid,
                   (select id from public.wallet_transactions where reverses_id = %L))$$, :'alice_usd', :'reversal'),
  'reconciliation lists the failed refund as owed, with the closed account and the credit-back');
select ok(not api_private.reconciliation_mismatch('refund_failed_owed'), 'refund_failed_owed is no mismatch');
select tests.as_service();

-- Stripe refunds the 400 again (a new refund that reaches her): it pays what was owed to her,
-- taken from unclaimed:USD, and the platform bears nothing.
select results_eq(format($$select status, borne_by_platform from public.refund_record(%L, 400, 're_owed_2', 'again')$$, :'payment'),
  $$values ('succeeded', false)$$, 'a new refund of the payment is recorded, not borne by the platform');
select results_eq(
  $$select t.from_account_id, t.metadata ->> 'closed_account' from public.wallet_transactions t
     where t.id = (select wallet_transaction_id from public.refunds where provider_refund_id = 're_owed_2')$$,
  format($$values ((select id from public.wallet_accounts where code = 'unclaimed:USD'), %L)$$, :'alice_usd'),
  'its reversal is taken from what unclaimed:USD held for her');
select is(public.wallet_balance((select id from public.wallet_accounts where code = 'unclaimed:USD')), 0::bigint,
  'so nothing is owed to her any more');
select tests.as_admin(tests.user_id('admin'));
select is_empty(format($$select 1 from api_private.reconciliation('stripe') r where r.payment_id = %L$$, :'payment'),
  'and reconciliation lists nothing for the payment: neither the debt paid nor a loss');
select tests.as_service();
-- That refund fails too: the money is owed to her again.
select 1 from public.refund_record_failure(:'payment', 're_owed_2', 400, 'failed', 'failed again');
select is(public.wallet_balance((select id from public.wallet_accounts where code = 'unclaimed:USD')), 400::bigint,
  'a failure of it gives unclaimed:USD the money back');
select tests.as_admin(tests.user_id('admin'));
select results_eq(format($$select r.kind, r.provider_amount from api_private.reconciliation('stripe') r where r.payment_id = %L$$, :'payment'),
  $$values ('refund_failed_owed'::text, 400::bigint)$$, 'and reconciliation lists the debt again');
select tests.as_service();

-- A refund the platform bore (the account was closed when it was made) that fails: the losses
-- account gets its money back, nothing is owed.
select id as payment_b from tests.credited_payment('stripe', :'bob_usd', 500, 'USD', 'pi_owed_borne') \gset
select 1 from public.wallet_transfer(:'bob_usd', :'carol_usd', 1100, 'USD', 'owed-spend-2');
select 1 from public.wallet_set_status(:'bob_usd', 'closed', 'customer left');
select is((public.refund_record(:'payment_b', 300, 're_owed_borne', 'dashboard')).borne_by_platform, true, 'a refund of it is borne');
select results_eq(
  format($$select status, owed_to_closed_account, borne_by_platform from public.refund_record_failure(%L, 're_owed_borne', 300, 'canceled', 'canceled')$$,
         :'payment_b'),
  $$values ('canceled', false, true)$$, 'its failure owes nothing');
select is(public.wallet_balance((select id from public.wallet_accounts where code = 'losses:USD')), 0::bigint,
  'the losses account has its 300 back');
select results_eq($$select body -> 'text' ->> 'body' from public.whatsapp_outbox where wa_id = '256772990002'
                      and body -> 'text' ->> 'body' ilike '%refund%' order by id$$,
  $$values ('Refund: 3.00 USD of your Stripe top-up was returned to you there. Your wallet is closed: nothing was taken from it.'),
           ('The refund of 3.00 USD of your Stripe top-up did not go through: Stripe has not returned it to you. '
            'Your wallet is closed and unchanged.')$$,
  'Bob is told that nothing was taken from his closed wallet, and that nothing came back to it');
select is(public.wallet_balance((select id from public.wallet_accounts where code = 'unclaimed:USD')), 400::bigint,
  'and unclaimed:USD is unchanged');

-- A frozen account is not closed: its failed refund comes back to it.
select id as payment_f from tests.credited_payment('stripe', :'carol_usd', 500, 'USD', 'pi_owed_frozen') \gset
select 1 from public.refund_record(:'payment_f', 200, 're_owed_frozen');
select 1 from public.wallet_set_status(:'carol_usd', 'frozen', 'fraud review');
select results_eq(format($$select status, owed_to_closed_account from public.refund_record_failure(%L, 're_owed_frozen', 200)$$, :'payment_f'),
  $$values ('failed', false)$$, 'a frozen account''s refund failure owes nothing');
select results_eq(format($$select status, balance from public.wallet_accounts where id = %L$$, :'carol_usd'),
  $$values ('frozen', 1600::bigint)$$, 'it is credited back to the frozen account, which stays frozen');
select tests.reset_role();
select is_empty($$select * from private.ledger_invariants()$$, 'every ledger invariant still holds');

select * from finish();
rollback;
