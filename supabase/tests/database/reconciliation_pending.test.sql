-- What no job ends, surfaced to the admins (docs/ADMIN_API.md, "GET /reconciliation"): a refund
-- still pending at its provider and a cash-out still pending two days after they were made are
-- listed by api_private.reconciliation (refund_pending, cashout_pending), so the daily reconcile
-- report counts them and alerts the admins; a Revolut refund Revolut never received says what
-- heals it. Younger ones, and settled ones, are not listed.
begin;
select plan(9);

select tests.create_users('{payer}', admins => '{admin}');
select tests.open_account('payer', 'EUR') as account \gset
select tests.create_accounts('cb200000', 'UGX', '{payer}');
select public.wallet_deposit('cb200000-0000-4000-8000-00000000000a', 100000, 'UGX', 'momo', 'recon-pending-fund');
select tests.as_service();
select id as revolut_payment from tests.credited_payment('revolut', :'account', 1000, 'EUR', 'ord_recon_pending') \gset
select id as stripe_payment from tests.credited_payment('stripe', :'account', 800, 'EUR', 'pi_recon_pending') \gset

select tests.as_admin(tests.user_id('admin'));
-- A Revolut refund whose request never reached Revolut (still under its request id), and one younger.
select id as lost_refund from api_private.refund_begin('revolut', :'revolut_payment', 300, 'rr_recon_lost', 'x') \gset
select id as young_refund from api_private.refund_begin('revolut', :'revolut_payment', 200, 'rr_recon_young', 'x') \gset
-- A Stripe refund Stripe answered pending and never ended, and one Stripe never received (still under its request id).
select id as stripe_refund from api_private.refund_record_pending(:'stripe_payment', 100, 're_recon_pending', 'x') \gset
select id as stripe_lost_refund from api_private.refund_begin('stripe', :'stripe_payment', 200, 'rr_recon_stripe_lost', 'x') \gset
select tests.reset_role();

select reference_id as stuck_cashout from tests.pending_cashout('payer', 'cb200000-0000-4000-8000-00000000000a', 4000, 'UGX', '256772123456', 'recon-stuck') \gset
select reference_id as young_cashout from tests.pending_cashout('payer', 'cb200000-0000-4000-8000-00000000000a', 1000, 'UGX', '256772123456', 'recon-young') \gset
select reference_id as failed_cashout from tests.pending_cashout('payer', 'cb200000-0000-4000-8000-00000000000a', 500, 'UGX', '256772123456', 'recon-failed') \gset
select tests.as_service();
select public.cashout_settle(:'failed_cashout', 'FAILED', 'PAYEE_NOT_FOUND') is not null as failed \gset
select tests.reset_role();

update public.refunds set created_at = now() - interval '2 days 1 minute' where id in (:'lost_refund', :'stripe_refund', :'stripe_lost_refund');
update public.refunds set created_at = now() - interval '47 hours' where id = :'young_refund';
update public.cashouts set created_at = now() - interval '3 days' where reference_id in (:'stuck_cashout', :'failed_cashout');

select tests.as_admin(tests.user_id('admin'));
select results_eq(
  $$ select kind, provider, provider_amount, ledger_amount from api_private.reconciliation()
      where kind in ('refund_pending', 'cashout_pending') order by kind, provider, provider_amount $$,
  $$ values ('cashout_pending', 'momo', 4000::bigint, 4000::bigint),
            ('refund_pending', 'revolut', 300::bigint, null::bigint),
            ('refund_pending', 'stripe', 100::bigint, null::bigint),
            ('refund_pending', 'stripe', 200::bigint, null::bigint) $$,
  'a refund and a cash-out pending for more than two days are listed; a younger one and a settled one are not');
select is((select account_id from api_private.reconciliation('revolut') where kind = 'refund_pending'), :'account'::uuid,
  'the refund names the account its reversal would debit');
select ok((select detail from api_private.reconciliation('revolut') where kind = 'refund_pending')
            ~ 'Revolut lists no refund of request rr_recon_lost; POST /admin/refunds/[0-9a-f-]{36}/retry asks Revolut again',
  'a Revolut refund never received says what asks Revolut again');
select ok((select detail from api_private.reconciliation('stripe') where kind = 'refund_pending' and provider_amount = 200)
            ~ 'Stripe lists no refund of request rr_recon_stripe_lost; POST /admin/refunds/[0-9a-f-]{36}/retry asks Stripe again',
  'a Stripe refund never received names Stripe, and what asks Stripe again');
select is((select detail from api_private.reconciliation('stripe') where kind = 'refund_pending' and provider_amount = 100),
  format('refund %s of 100 EUR pending since %s at stripe under re_recon_pending', :'stripe_refund',
         (select created_at from public.refunds where id = :'stripe_refund')),
  'another pending refund names its provider id');
select is((select wallet_transaction_id from api_private.reconciliation('momo') where kind = 'cashout_pending'),
  (select hold_id from public.cashouts where reference_id = :'stuck_cashout'),
  'the cash-out names the hold that keeps the money');
select is((select count(*) from api_private.reconciliation('stripe') where kind = 'cashout_pending'), 0::bigint,
  'a cash-out is MoMo''s: another provider lists none');
select is((select count(*) from api_private.reconciliation(null, now() - interval '1 day', now()) where kind like '%_pending'), 0::bigint,
  'the window filters them by when they were made');
select tests.reset_role();

select tests.as_service();
select cmp_ok((select reconciliation_findings from api_private.reconcile()), '>=', 4,
  'the daily reconcile report counts them as findings, which alerts the admins');
select tests.reset_role();

select * from finish();
rollback;
