-- stripe-poll's takes (api_private.poll_take('stripe-poll', 'intents' | 'refunds' | 'disputes', ...)): its
-- views (Stripe intents waiting for the payer or failed, with their PaymentIntent; Stripe
-- refunds pending; Stripe dispute holds pending) and nothing else, read through poll_take only, its leases its own job's, the
-- kind it does not have; expire_intents leaving these intents to it while it still cancels a
-- Stripe intent without a PaymentIntent, and ending a failed one (its PaymentIntent canceled at
-- Stripe) past the TTL only when stripe-poll asks, without a second WhatsApp notice; and
-- api_private.intent_past_ttl, the question stripe-poll asks before it cancels at Stripe; and
-- api_private.stripe_intent_canceled, a PaymentIntent canceled at Stripe ending its open intent
-- at once, its bad inputs refused with nothing written.
begin;
select plan(53);

select tests.create_users('{alice}', admins => '{admin}');
insert into public.whatsapp_contacts (wa_id, user_id, opted_out) values ('250788700051', tests.user_id('alice'), false);

-- ---------------------------------------------------------------- grants
select is((select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace, unnest(array['anon', 'authenticated', 'service_role']) r
            where n.nspname = 'private' and c.relname in ('stripe_poll_intents', 'stripe_poll_refunds', 'stripe_poll_disputes') and has_table_privilege(r, c.oid, 'select')),
  0::bigint, 'no API role reads the stripe-poll views: they are read through poll_take only');
select ok(not has_function_privilege('anon', 'api_private.intent_past_ttl(integer, uuid)', 'execute')
          and not has_function_privilege('authenticated', 'api_private.intent_past_ttl(integer, uuid)', 'execute')
          and has_function_privilege('service_role', 'api_private.intent_past_ttl(integer, uuid)', 'execute'),
  'intent_past_ttl: the service only');
select ok(p.prosecdef and p.proconfig @> array['search_path=""'], 'intent_past_ttl: security definer with an empty search_path')
  from pg_proc p where p.pronamespace = 'api_private'::regnamespace and p.proname = 'intent_past_ttl';
select tests.as_user(tests.user_id('alice'));
select throws_ok($$ select * from api_private.poll_take('stripe-poll', 'intents', 900, 60, 10) $$, '42501', null,
  'a user may not take: 42501');
select throws_ok($$ select * from api_private.poll_take('stripe-poll', 'refunds', 900, 60, 10) $$, '42501', null,
  'nor take refunds: 42501');
select throws_ok($$ select * from api_private.poll_take('stripe-poll', 'disputes', 900, 60, 10) $$, '42501', null,
  'nor take disputes: 42501');
select throws_ok($$ select api_private.intent_past_ttl(86400, gen_random_uuid()) $$, '42501', null,
  'nor ask intent_past_ttl: 42501');

-- ---------------------------------------------------------------- items
-- Alice's USD account: a Stripe intent waiting for the payer (PaymentIntent pi_sp_1), one
-- waiting for a minute only (pi_sp_2), one paid (pi_sp_3), one without a PaymentIntent (Stripe
-- did not answer its creation), and a Revolut intent with its order.
select tests.open_account('alice', 'USD') as account \gset
select tests.attached_intent('stripe', :'account', 500, 'USD', 'pi_sp_1') as waiting,
       tests.attached_intent('stripe', :'account', 600, 'USD', 'pi_sp_2') as fresh,
       tests.attached_intent('revolut', :'account', 900, 'USD', 'sp-order-5') as revolut \gset
select intent_id as paid from tests.credited_payment('stripe', :'account', 700, 'USD', 'pi_sp_3') \gset
select tests.as_service();
select id as without from public.payment_intent_create('stripe', :'account', 800, 'USD', 'sp-intent-4') \gset
select tests.reset_role();
select is((select status from public.payment_intents where id = :'paid'), 'succeeded', 'the paid one is credited');
set local session_replication_role = replica;
update public.payment_intents set updated_at = now() - interval '20 minutes' where id in (:'waiting', :'paid', :'without', :'revolut');
update public.payment_intents set updated_at = now() - interval '1 minute' where id = :'fresh';
set local session_replication_role = origin;
select tests.as_service();

-- (filtered: the database may hold other suites' waiting intents)
select results_eq($$ select reference_id from api_private.poll_take('stripe-poll', 'intents', 900, 60, 1000, 0.25)
                     where reference_id like 'pi_sp_%' or reference_id like 'sp-%' $$,
  $$ values ('pi_sp_1') $$,
  'the Stripe intent waiting over 15 minutes with its PaymentIntent is taken: not the fresh one, the paid one, one without a PaymentIntent or a Revolut one');
select ok(tests.lease_seconds('stripe-poll', :'waiting') between 295 and 305,
  'leased to stripe-poll for a quarter of the 20 minutes it waited (300 s), above the 60 s floor');
select is((select count(*) from api_private.poll_take('stripe-poll', 'intents', 900, 60, 1000) where reference_id like 'pi_sp_%'), 0::bigint,
  'while leased, a second take never returns it again');
select results_eq($$ select reference_id from api_private.poll_take('revolut-poll', 'intents', 900, 60, 1000)
                     where reference_id like 'pi_sp_%' or reference_id like 'sp-%' $$,
  $$ values ('sp-order-5') $$, 'revolut-poll takes the Revolut intent only: each job its own items and leases');
select results_eq($$ select reference_id from api_private.poll_take('stripe-poll', 'intents', 30, 60, 1000) where reference_id like 'pi_sp_%' $$,
  $$ values ('pi_sp_2') $$, 'a shorter wait: the newer intent too, the leased one still not');

-- ---------------------------------------------------------------- refusals
select throws_ok($$ select * from api_private.poll_take('stripe-poll', 'cashouts', 900, 60, 10) $$, '22023',
  'stripe-poll has no kind cashouts: momo-poll takes intents, cashouts, refunds; revolut-poll takes intents, refunds, events; stripe-poll takes intents, refunds, disputes',
  'a kind stripe-poll does not have: 22023');

-- ---------------------------------------------------------------- expire_intents
select tests.reset_role();
set local session_replication_role = replica;
update public.payment_intents set created_at = now() - interval '2 days' where id in (:'waiting', :'without');
set local session_replication_role = origin;
select tests.as_service();
select lives_ok($$ select api_private.expire_intents(86400, 1000) $$, 'expire-intents runs');
select is((select status from public.payment_intents where id = :'without'), 'canceled',
  'by age alone it cancels the Stripe intent without a PaymentIntent');
select is((select status from public.payment_intents where id = :'waiting'), 'processing',
  'but never the one stripe-poll asks Stripe about');
select is(api_private.intent_past_ttl(86400, :'waiting'), true, 'past its TTL, as stripe-poll asks before it cancels at Stripe');
select is(api_private.intent_past_ttl(86400, :'fresh'), false, 'a young one is not');
select is(api_private.intent_past_ttl(86400, gen_random_uuid()), false, 'nor an intent it does not find');
select throws_ok($$ select api_private.intent_past_ttl(59, gen_random_uuid()) $$, '22023', 'ttl_seconds must be between 60 and 2592000',
  'a TTL under a minute: 22023');
select is(api_private.expire_intents(86400, 1, :'waiting'), 1, 'stripe-poll''s verdict on it past its TTL cancels it');
select results_eq(format($$ select status, failure_reason from public.payment_intents where id = %L $$, :'waiting'),
  $$ values ('canceled', 'expired: no payment within 86400 seconds') $$, 'as expired');

-- ---------------------------------------------------------------- failed intents
-- A Stripe intent the payment_intent.payment_failed webhook failed (pi_sp_6), one failed
-- without a PaymentIntent (sp-intent-7), and failed MoMo and Revolut intents with their
-- references: only the first stays stripe-poll's.
select tests.attached_intent('stripe', :'account', 1100, 'USD', 'pi_sp_6') as failed,
       (public.payment_intent_create('stripe', :'account', 1200, 'USD', 'sp-intent-7')).id as failed_bare,
       tests.attached_intent('momo', :'account', 1300, 'USD', 'a7000000-0000-4000-8000-0000000000f8') as failed_momo,
       tests.attached_intent('revolut', :'account', 1400, 'USD', 'sp-order-9') as failed_revolut \gset
select lives_ok(format($$ select public.payment_record_failure(i, 'Your card was declined.') from unnest(array[%L, %L, %L, %L]::uuid[]) i $$,
                       :'failed', :'failed_bare', :'failed_momo', :'failed_revolut'), 'four intents fail');
select tests.reset_role();
select is((select count(*) from public.whatsapp_outbox where wa_id = '250788700051' and body::text like '%Your top-up of % failed%'), 4::bigint,
  'each failure is told to the user once');
select count(*) as notices from public.whatsapp_outbox where wa_id = '250788700051' \gset
set local session_replication_role = replica;
update public.payment_intents set updated_at = now() - interval '20 minutes', created_at = now() - interval '2 days'
 where id in (:'failed', :'failed_bare', :'failed_momo', :'failed_revolut');
set local session_replication_role = origin;
select tests.as_service();
select results_eq($$ select reference_id from api_private.poll_take('stripe-poll', 'intents', 900, 60, 1000) where reference_id like 'pi_sp_%' $$,
  $$ values ('pi_sp_6') $$, 'the failed Stripe intent with its PaymentIntent is taken: Stripe keeps it payable');
select is(api_private.expire_intents(86400, 1000), 0, 'by age alone, no failed intent is canceled');
select results_eq(format($$ select status from public.payment_intents where id in (%L, %L, %L, %L) $$,
                         :'failed', :'failed_bare', :'failed_momo', :'failed_revolut'),
  $$ values ('failed'), ('failed'), ('failed'), ('failed') $$, 'all four still failed');
select is(api_private.intent_past_ttl(86400, :'failed'), true, 'the failed Stripe intent with its PaymentIntent is past its TTL');
select is((select count(*) from unnest(array[:'failed_bare', :'failed_momo', :'failed_revolut']::uuid[]) i
            where api_private.intent_past_ttl(86400, i)), 0::bigint, 'the other failed ones are final: never past their TTL');
select is((select sum(api_private.expire_intents(86400, 1, i)) from unnest(array[:'failed_bare', :'failed_momo', :'failed_revolut']::uuid[]) i),
  0::bigint, 'a poll''s verdict on them cancels nothing: they stay as they are today');
select is(api_private.expire_intents(86400, 1, :'failed'), 1, 'stripe-poll''s verdict on the failed Stripe intent (PaymentIntent canceled at Stripe) ends it');
select results_eq(format($$ select status, failure_reason from public.payment_intents where id = %L $$, :'failed'),
  $$ values ('canceled', 'expired: no payment within 86400 seconds') $$, 'failed -> canceled, as expired');
select tests.reset_role();
select is((select count(*) from public.whatsapp_outbox where wa_id = '250788700051'), :'notices'::bigint,
  'ending the failed intent sends the user no second notice');

-- ---------------------------------------------------------------- refunds
-- A Stripe payment with a pending refund (re_sp_1), a second whose refund Stripe completed at
-- once (re_sp_2), and a Revolut payment with a pending refund (sp-refund-3).
select id as paid_stripe from tests.credited_payment('stripe', :'account', 2000, 'USD', 'pi_sp_10') \gset
select id as paid_stripe_2 from tests.credited_payment('stripe', :'account', 2000, 'USD', 'pi_sp_11') \gset
select id as paid_revolut from tests.credited_payment('revolut', :'account', 2000, 'USD', 'sp-order-12') \gset
select tests.as_admin(tests.user_id('admin'));
select is((api_private.refund_record_pending(:'paid_stripe', 500, 're_sp_1', 'asked')).status, 'pending', 'a pending Stripe refund');
select is((api_private.refund_record_pending(:'paid_revolut', 500, 'sp-refund-3', 'asked')).status, 'pending', 'a pending Revolut refund');
select tests.as_service();
select is((public.refund_record(:'paid_stripe_2', 500, 're_sp_2', 'asked')).status, 'succeeded', 'a Stripe refund completed at once');
select tests.reset_role();
set local session_replication_role = replica;
update public.refunds set created_at = now() - interval '20 minutes' where provider_refund_id in ('re_sp_1', 're_sp_2', 'sp-refund-3');
set local session_replication_role = origin;
select tests.as_service();
select results_eq($$ select reference_id from api_private.poll_take('stripe-poll', 'refunds', 900, 60, 1000, 0.25)
                     where reference_id like 're_sp_%' or reference_id like 'sp-%' $$,
  $$ values ('re_sp_1') $$, 'the pending Stripe refund is taken: not the completed one, nor the Revolut one');
select is((select count(*) from api_private.poll_take('stripe-poll', 'refunds', 900, 60, 1000) where reference_id like 're_sp_%'), 0::bigint,
  'while leased, a second take never returns it again');
select results_eq($$ select reference_id from api_private.poll_take('revolut-poll', 'refunds', 900, 60, 1000)
                     where reference_id like 're_sp_%' or reference_id like 'sp-%' $$,
  $$ values ('sp-refund-3') $$, 'revolut-poll takes the Revolut refund only');

-- ---------------------------------------------------------------- disputes
-- Dispute holds on Alice's account as charge.dispute.created places them: dp_sp_1 still
-- pending, dp_sp_2 voided (charge.dispute.closed came).
select tests.as_service();
select id as hold_1 from public.wallet_hold(:'account', 100, 'USD', 'dispute:stripe:dp_sp_1') \gset
select id as hold_2 from public.wallet_hold(:'account', 100, 'USD', 'dispute:stripe:dp_sp_2') \gset
select is((public.wallet_void(:'hold_2')).status, 'voided', 'the second dispute''s hold is released');
select tests.reset_role();
set local session_replication_role = replica;
update public.wallet_transactions set created_at = now() - interval '20 minutes' where id in (:'hold_1', :'hold_2');
set local session_replication_role = origin;
select tests.as_service();
select results_eq($$ select item_id, reference_id from api_private.poll_take('stripe-poll', 'disputes', 900, 60, 1000, 0.25)
                     where reference_id like 'dp_sp_%' $$,
  format($$ values (%L::uuid, 'dp_sp_1') $$, :'hold_1'),
  'the pending dispute hold is taken with its dispute id: not the released one');

-- ---------------------------------------------------------------- canceled at Stripe
select tests.as_service();
select tests.attached_intent('stripe', :'account', 510, 'USD', 'pi_sp_c1') as open_c,
       tests.attached_intent('stripe', :'account', 520, 'USD', 'pi_sp_c2') as failed_c \gset
select 1 from public.payment_record_failure(:'failed_c', 'Your card was declined.');
select ok(not has_function_privilege('anon', 'api_private.stripe_intent_canceled(uuid, text)', 'execute')
          and not has_function_privilege('authenticated', 'api_private.stripe_intent_canceled(uuid, text)', 'execute')
          and has_function_privilege('service_role', 'api_private.stripe_intent_canceled(uuid, text)', 'execute'),
  'stripe_intent_canceled: the service only');
select throws_ok($$ select api_private.stripe_intent_canceled(gen_random_uuid(), 'stripe canceled the PaymentIntent: abandoned') $$,
  'WL007', null, 'an unknown intent: WL007');
select throws_ok(format($$ select api_private.stripe_intent_canceled(%L, 'stripe canceled the PaymentIntent: abandoned') $$, :'revolut'),
  '22023', null, 'a Revolut intent: 22023');
select throws_ok(format($$ select api_private.stripe_intent_canceled(%L, '') $$, :'open_c'), '22023', null, 'an empty reason: 22023');
select throws_ok(format($$ select api_private.stripe_intent_canceled(%L, repeat('x', 1001)) $$, :'open_c'), '22023', null,
  'a reason over 1000 characters: 22023');
select is((select status from public.payment_intents where id = :'open_c'), 'processing', 'and none of them wrote anything');
select is(api_private.stripe_intent_canceled(:'open_c', 'stripe canceled the PaymentIntent: requested_by_customer'), 'processed',
  'an open intent whose PaymentIntent Stripe canceled: processed');
select results_eq(format($$ select status, failure_reason from public.payment_intents where id = %L $$, :'open_c'),
  $$ values ('canceled', 'stripe canceled the PaymentIntent: requested_by_customer') $$, 'canceled at once, naming Stripe''s reason');
select is(api_private.stripe_intent_canceled(:'failed_c', 'stripe canceled the PaymentIntent: abandoned'), 'processed',
  'a failed intent, its PaymentIntent payable until now: processed too');
select is(api_private.stripe_intent_canceled(:'paid', 'stripe canceled the PaymentIntent: abandoned'), 'ignored',
  'a paid intent: ignored');
select results_eq(format($$ select status from public.payment_intents where id in (%L, %L) order by status $$, :'failed_c', :'paid'),
  $$ values ('canceled'), ('succeeded') $$, 'the paid one left as it was');
select tests.reset_role();

select * from finish();
rollback;
