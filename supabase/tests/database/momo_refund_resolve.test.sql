-- An admin's settlement of a MoMo refund no job can settle (api_private.momo_refund_resolve),
-- and no other way for an admin to complete one: refund_record refuses an admin a MoMo refund,
-- whose reference is ours from the start. Only an admin, never for their own payment, only once
-- momo-poll has closed its sending, once; 'succeeded' reverses the payer's credit once,
-- 'failed' moves nothing; the admin and their note are on the row and in the audit trail.
begin;
select plan(21);

select tests.create_users(array['alice'], array['admin'], array['support']);
select tests.open_account('alice', 'UGX') as account \gset
select id as paid from tests.credited_payment('momo', :'account', 1000, 'UGX', 'c8000000-0000-4000-8000-000000000001') \gset
select id as card from tests.credited_payment('stripe', :'account', 100, 'UGX', 'pi_mrr_card') \gset
insert into public.momo_transactions (reference_id, payer_msisdn, amount, currency, status) values
  ('c8000000-0000-4000-8000-000000000001', '256772000222', 1000, 'UGX', 'SUCCESSFUL');

select tests.as_admin(tests.user_id('admin'));
select (refund ->> 'id')::uuid as taken
  from api_private.momo_refund_transfer(:'paid', 600, 'd8000000-0000-4000-8000-000000000001', 'asked') \gset
select (refund ->> 'id')::uuid as dropped
  from api_private.momo_refund_transfer(:'paid', 300, 'd8000000-0000-4000-8000-000000000002', 'asked too') \gset
select id as card_refund from api_private.refund_record_pending(:'card', 50, 're_mrr_card', 'card') \gset

-- ---------------------------------------------------------------- no completion by refund_record
select throws_ok(format($$ select public.refund_record(%L, 600, 'd8000000-0000-4000-8000-000000000001', 'done') $$, :'paid'),
  '42501', null,
  'an admin cannot complete a pending MoMo refund with refund_record: MoMo never confirmed it, nor its sum');
select is(public.wallet_balance(:'account'), 1100::bigint, 'and the payer''s credit is not reversed');

-- ---------------------------------------------------------------- while it may still be sent
select throws_ok(format($$ select api_private.momo_refund_resolve(%L, 'succeeded', 'MoMo says paid') $$, :'taken'),
  'WL008', 'MoMo refund d8000000-0000-4000-8000-000000000001 may still be sent: MoMo not knowing it fails it only once its sending is closed',
  'an admin cannot settle a MoMo refund whose sending momo-poll has not closed');
select tests.reset_role();
select tests.as_service();
select api_private.momo_refund_close_sending(r, 1)
  from unnest(array['d8000000-0000-4000-8000-000000000001', 'd8000000-0000-4000-8000-000000000002']::uuid[]) r;
select tests.reset_role();

-- ---------------------------------------------------------------- who may, and bad input
-- Support, the payer, and the service (whose settlement is MoMo's confirmed status).
select throws_ok(format($$ select tests.query_as(%L, %L, null::public.refunds) $$, who,
                        format('select * from api_private.momo_refund_resolve(%L, ''failed'', ''x'')', :'taken')),
                 '42501', message, who || ' cannot settle a MoMo refund')
  from (values ('support', 'not allowed to resolve MoMo refunds'), ('alice', 'not allowed to resolve MoMo refunds'),
               ('service', null)) v (who, message);
select tests.as_admin(tests.user_id('admin'));
select throws_ok(format($$ select api_private.momo_refund_resolve(%L, %L, %L) $$, :'taken', outcome, reason), '22023', message,
                 'bad input is 22023: ' || what)
  from (values ('paid', 'x', 'outcome paid is not succeeded or failed', 'an outcome other than succeeded or failed'),
               ('failed', '', 'a reason is required to resolve a MoMo refund', 'an empty reason'),
               ('failed', repeat('x', 1001), 'p_reason must be at most 1000 characters', 'a reason over 1,000 characters'))
       v (outcome, reason, message, what);
select throws_ok($$ select api_private.momo_refund_resolve('d8000000-0000-4000-8000-0000000000ff', 'failed', 'x') $$,
  'WL007', null, 'an unknown refund is WL007');
select throws_ok(format($$ select api_private.momo_refund_resolve(%L, 'failed', 'x') $$, :'card_refund'),
  'WL008', format('refund %s is a stripe refund, not a MoMo transfer: ask stripe again (POST /admin/refunds/:id/retry)', :'card_refund'),
  'another provider''s refund is asked again, not settled by hand');
select tests.reset_role();

-- ---------------------------------------------------------------- an admin's own payment
set local session_replication_role = replica;
update public.payments set user_id = tests.user_id('admin') where id = :'paid';
set local session_replication_role = origin;
select tests.as_admin(tests.user_id('admin'));
select throws_ok(format($$ select api_private.momo_refund_resolve(%L, 'succeeded', 'mine') $$, :'taken'),
  '42501', 'an admin may not refund a payment of their own: another admin must', 'an admin cannot settle a refund of their own payment');
select tests.reset_role();
set local session_replication_role = replica;
update public.payments set user_id = tests.user_id('alice') where id = :'paid';
set local session_replication_role = origin;

-- ---------------------------------------------------------------- succeeded
select tests.as_admin(tests.user_id('admin'));
select results_eq(
  format($$ select status, resolved_by, resolution_reason, wallet_transaction_id is not null
              from api_private.momo_refund_resolve(%L, 'succeeded', 'MoMo paid 600 UGX, its record says 6,000: ticket 90') $$, :'taken'),
  $$ values ('succeeded', tests.user_id('admin'), 'MoMo paid 600 UGX, its record says 6,000: ticket 90', true) $$,
  'succeeded: the refund is recorded with its reversal, the admin and their note');
select tests.reset_role();
select is(public.wallet_balance(:'account'), 500::bigint, 'the payer''s credit is reversed by 600 once');
select is((select amount_refunded from public.payments where id = :'paid'), 600::bigint, 'the payment counts the refund');
select is((select actor_id from audit.log where table_name = 'refunds' and record_id = :'taken' and operation = 'UPDATE'
            and new_record ->> 'resolution_reason' is not null),
  tests.user_id('admin'), 'the audit trail names the admin who settled it');
select tests.as_admin(tests.user_id('admin'));
select throws_ok(format($$ select api_private.momo_refund_resolve(%L, 'failed', 'the other way') $$, :'taken'),
  'WL008', 'MoMo refund d8000000-0000-4000-8000-000000000001 is already succeeded', 'a settled refund is not settled again');

-- ---------------------------------------------------------------- failed
select results_eq(
  format($$ select status, resolution_reason, wallet_transaction_id from api_private.momo_refund_resolve(%L, 'failed', 'MoMo never paid it') $$,
         :'dropped'),
  $$ values ('failed', 'MoMo never paid it', null::uuid) $$, 'failed: the refund closes with no reversal');
select tests.reset_role();
select is(public.wallet_balance(:'account'), 500::bigint, 'the wallet is unchanged');
select is((select amount_refunded from public.payments where id = :'paid'), 600::bigint, 'the payment counts nothing more');

-- ---------------------------------------------------------------- MoMo's status, late
select tests.as_service();
select throws_ok($$ select public.momo_refund_settle('d8000000-0000-4000-8000-000000000002', 'SUCCESSFUL', null, 300, 'UGX') $$,
  'WL008', 'MoMo refund d8000000-0000-4000-8000-000000000002 is already failed',
  'a SUCCESSFUL arriving after an admin failed it settles nothing: the event fails for a person to see');
select tests.reset_role();

select * from finish();
rollback;
