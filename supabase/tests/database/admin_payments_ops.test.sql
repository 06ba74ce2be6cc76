-- api_private.reconciliation lists every kind of mismatch between provider records and ledger
-- credits (and nothing for a clean payment); api_private.webhook_event_for_replay hands out only
-- failed or dead events, to admins, whose replay records its outcome as the service and is
-- audited under their name; nobody but the service finishes an event.
begin;
select plan(28);

select tests.create_users('{user}', admins => '{admin}', support => '{support}');
insert into public.wallet_accounts (id, owner_id, kind, currency) values
  ('ac600000-0000-4000-8000-00000000000a', tests.user_id('user'), 'user', 'TZS');

-- Provider records and credits, all created now (the window below isolates them).
-- A payment of p_amount written by hand (the functions never do this) with a deposit of
-- p_deposited behind it.
create function pg_temp.payment_with_deposit(p_provider text, p_payment_id text, p_amount bigint, p_deposited bigint)
returns void
language sql
as $$
  insert into public.payments (provider, provider_payment_id, amount, currency, status, wallet_transaction_id)
  values (p_provider, p_payment_id, p_amount, 'TZS', 'succeeded',
          (public.wallet_deposit('ac600000-0000-4000-8000-00000000000a', p_deposited, 'TZS', p_provider,
                                 'recon-' || p_payment_id)).id)
$$;

-- 1. A clean Stripe payment: intent, payment, deposit of the same amount. No mismatch.
select public.payment_intent_create('stripe', 'ac600000-0000-4000-8000-00000000000a', 1000, 'TZS', 'recon-intent-1');
select public.payment_record_success('stripe', 'pi_recon_clean',
  (select id from public.payment_intents where idempotency_key = 'recon-intent-1'), 1000, 'TZS');
-- 2. A Stripe payment for no known intent: kept as needs_review, never credited.
select public.payment_record_success('stripe', 'pi_recon_unknown', null, 400, 'TZS');
-- 3. A deposit from Stripe's clearing account that no payment points at.
select public.wallet_deposit('ac600000-0000-4000-8000-00000000000a', 500, 'TZS', 'stripe', 'recon-orphan');
-- 4. A payment whose deposit moved another amount.
select pg_temp.payment_with_deposit('stripe', 'pi_recon_short', 750, 700);
-- 5. A MoMo request-to-pay that succeeded with no payment recorded.
insert into public.momo_transactions (reference_id, amount, currency, status)
values ('b6000000-0000-4000-8000-000000000001', 300, 'TZS', 'SUCCESSFUL');
-- 6. A MoMo payment whose request-to-pay reports another amount.
select pg_temp.payment_with_deposit('momo', 'b6000000-0000-4000-8000-000000000002', 350, 350);
insert into public.momo_transactions (reference_id, amount, currency, status)
values ('b6000000-0000-4000-8000-000000000002', 300, 'TZS', 'SUCCESSFUL');
-- 7. A completed Revolut order with no payment recorded.
insert into public.revolut_transactions (revolut_id, kind, state, amount, currency)
values ('recon-order-1', 'order', 'completed', 900, 'TZS');

create temporary table window_now on commit drop as select now() as t;
grant select on window_now to authenticated;

select tests.as_admin(tests.user_id('admin'));

select results_eq(
  $$ select kind, provider, coalesce(provider_payment_id, detail), provider_amount, ledger_amount
       from api_private.reconciliation(null, (select t from window_now), (select t + interval '1 microsecond' from window_now))
      order by kind, provider, 3 $$,
  $$ values
       ('amount_differs', 'momo', 'b6000000-0000-4000-8000-000000000002', 300::bigint, 350::bigint),
       ('amount_differs', 'stripe', 'pi_recon_short', 750::bigint, 700::bigint),
       ('credit_without_payment', 'stripe', 'deposit recon-orphan has no payment', null::bigint, 500::bigint),
       ('missing_credit', 'momo', 'b6000000-0000-4000-8000-000000000001', 300::bigint, null::bigint),
       ('missing_credit', 'revolut', 'recon-order-1', 900::bigint, null::bigint),
       ('missing_credit', 'stripe', 'pi_recon_unknown', 400::bigint, null::bigint) $$,
  'every mismatch is listed once, and the clean payment is not');
select is((select detail from api_private.reconciliation('stripe', (select t from window_now), (select t + interval '1 microsecond' from window_now))
            where provider_payment_id = 'pi_recon_unknown'),
  'payment needs review: unknown_intent', 'a needs_review payment says why');
select is((select account_id from api_private.reconciliation('stripe', (select t from window_now), (select t + interval '1 microsecond' from window_now))
            where kind = 'credit_without_payment'),
  'ac600000-0000-4000-8000-00000000000a'::uuid, 'a credit without payment names the credited account');
select results_eq(
  $$ select kind from api_private.reconciliation('momo', (select t from window_now), (select t + interval '1 microsecond' from window_now))
      order by kind $$,
  $$ values ('amount_differs'), ('missing_credit') $$,
  'the provider filter keeps one provider');
select is((select count(*) from api_private.reconciliation(null, (select t - interval '1 day' from window_now), (select t from window_now))
            where provider_payment_id like 'pi_recon%' or detail like '%recon-%'), 0::bigint,
  'the time window excludes records outside it');
select throws_ok($$ select * from api_private.reconciliation('paypal') $$, '22023', null, 'an unknown provider: 22023');
select throws_ok($$ select * from api_private.reconciliation(null, '2026-01-02', '2026-01-01') $$, '22023', null,
  'from after to: 22023');

select tests.as_support(tests.user_id('support'));
select is((select count(*) from api_private.reconciliation(null, (select t from window_now), (select t + interval '1 microsecond' from window_now))),
  6::bigint, 'support reads the reconciliation');
select tests.as_user(tests.user_id('user'));
select throws_ok($$ select * from api_private.reconciliation() $$, '42501', null, 'a user cannot reconcile');

-- ---------------------------------------------------------------- webhook replay
select tests.reset_role();
insert into public.webhook_events (id, provider, event_id, type, payload, status, attempts, last_error) values
  ('e6000000-0000-4000-8000-000000000001', 'stripe', 'evt_recon_failed', 'payment_intent.succeeded', '{}', 'failed', 2, 'boom'),
  ('e6000000-0000-4000-8000-000000000002', 'stripe', 'evt_recon_dead', 'payment_intent.succeeded', '{}', 'dead', 5, 'boom'),
  ('e6000000-0000-4000-8000-000000000003', 'stripe', 'evt_recon_done', 'payment_intent.succeeded', '{}', 'processed', 1, null);
select tests.as_admin(tests.user_id('admin'));
select results_eq($$ select event_id, status, attempts from api_private.webhook_event_for_replay('e6000000-0000-4000-8000-000000000001') $$,
  $$ values ('evt_recon_failed', 'failed', 2) $$, 'a failed event is handed out for replay');
select results_eq($$ select event_id, status from api_private.webhook_event_for_replay('e6000000-0000-4000-8000-000000000002') $$,
  $$ values ('evt_recon_dead', 'dead') $$, 'a dead event is handed out for replay');
select throws_ok($$ select api_private.webhook_event_for_replay('e6000000-0000-4000-8000-000000000003') $$, 'WL008', null,
  'a processed event is not replayed: WL008');
select throws_ok($$ select api_private.webhook_event_for_replay('e6000000-0000-4000-8000-0000000000ff') $$, 'WL007', null,
  'an unknown event: WL007');
-- An admin cannot record an outcome itself: it could mark a failed event ignored unapplied.
select throws_ok($$ select public.webhook_event_finish('e6000000-0000-4000-8000-000000000001', 'ignored') $$, '42501', null,
  'an admin calling webhook_event_finish directly: 42501');
-- The replay path (admin/webhook-replay.ts): the admin's lookup above, then the effect and the
-- outcome as the service, with the admin's claims still set.
select coalesce(max(id), 0) as before_replay from audit.log \gset
set local role service_role;
select results_eq(
  $$ select status, attempts from public.webhook_event_finish('e6000000-0000-4000-8000-000000000002', 'processed') $$,
  $$ values ('processed', 6) $$, 'the replay records the outcome as the service');
select tests.as_admin(tests.user_id('admin'));
select results_eq(
  format($$ select actor_id, actor_role, actor_app_role, old_record ->> 'status', new_record ->> 'status', new_record ->> 'payload',
                   changed_fields @> array['status', 'attempts']
              from audit.log where id > %s and table_name = 'webhook_events' and record_id = 'e6000000-0000-4000-8000-000000000002' $$,
         :'before_replay'),
  $$ values (tests.user_id('admin'), 'authenticated', 'admin', 'dead', 'processed', '[redacted]', true) $$,
  'the replayed event''s status change is audited, naming the admin, with the payload redacted');
select tests.as_support(tests.user_id('support'));
select throws_ok($$ select api_private.webhook_event_for_replay('e6000000-0000-4000-8000-000000000001') $$, '42501', null,
  'support cannot replay: 42501');
select throws_ok($$ select public.webhook_event_finish('e6000000-0000-4000-8000-000000000001', 'ignored') $$, '42501', null,
  'support cannot finish an event: 42501');
select tests.as_user(tests.user_id('user'));
select throws_ok($$ select api_private.webhook_event_for_replay('e6000000-0000-4000-8000-000000000001') $$, '42501', null,
  'a user cannot replay: 42501');
select throws_ok($$ select public.webhook_event_finish('e6000000-0000-4000-8000-000000000001', 'ignored') $$, '42501', null,
  'a user cannot finish an event: 42501');
select is((select count(*) from public.webhook_events where id::text like 'e6000000%'), 0::bigint,
  'a user reads no webhook events (RLS)');

select tests.reset_role();
select ok(not has_function_privilege('anon', 'api_private.reconciliation(text, timestamptz, timestamptz)', 'execute'),
  'anon cannot execute the reconciliation');
select ok(not has_function_privilege('anon', 'api_private.webhook_event_for_replay(uuid)', 'execute'),
  'anon cannot execute the replay lookup');
select is((select status || ' ' || attempts from public.webhook_events where id = 'e6000000-0000-4000-8000-000000000001'),
  'failed 2', 'the refused finishes left the failed event as it was');
select results_eq(
  $$ select r, has_function_privilege(r, 'public.webhook_event_finish(uuid, text, text)', 'execute')
       from unnest(array['anon', 'authenticated', 'service_role']) r $$,
  $$ values ('anon', false), ('authenticated', false), ('service_role', true) $$,
  'only service_role executes webhook_event_finish');
select is(to_regprocedure('api_private.webhook_event_finish(uuid, text, text)'), null,
  'webhook_event_finish has no body executable elsewhere');

select has_index('public', 'webhook_events', 'webhook_events_received_at_id_idx',
  'webhook events are paged by an index on (received_at, id)');
select has_index('public', 'wallet_accounts', 'wallet_accounts_created_at_id_idx',
  'accounts are paged by an index on (created_at, id)');

select * from finish();
rollback;
