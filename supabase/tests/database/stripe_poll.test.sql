-- stripe-poll's take (api_private.poll_take('stripe-poll', 'intents', ...)): its view (Stripe
-- intents waiting for the payer with their PaymentIntent) and nothing else, read through
-- poll_take only, its leases its own job's, the kind it does not have; and expire_intents
-- leaving these intents to it while it still cancels a Stripe intent without a PaymentIntent.
begin;
select plan(14);

select tests.create_users('{alice}');

-- ---------------------------------------------------------------- grants
select is((select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace, unnest(array['anon', 'authenticated', 'service_role']) r
            where n.nspname = 'private' and c.relname = 'stripe_poll_intents' and has_table_privilege(r, c.oid, 'select')),
  0::bigint, 'no API role reads the stripe-poll view: it is read through poll_take only');
select tests.as_user(tests.user_id('alice'));
select throws_ok($$ select * from api_private.poll_take('stripe-poll', 'intents', 900, 60, 10) $$, '42501', null,
  'a user may not take: 42501');

-- ---------------------------------------------------------------- items
-- Alice's USD account: a Stripe intent waiting for the payer (PaymentIntent pi_sp_1), one
-- waiting for a minute only (pi_sp_2), one paid (pi_sp_3), one without a PaymentIntent (Stripe
-- did not answer its creation), and a Revolut intent with its order.
select id as account from public.wallet_open_account('USD') \gset
select tests.as_service();
select id as waiting from public.payment_intent_create('stripe', :'account', 500, 'USD', 'sp-intent-1') \gset
select id as fresh from public.payment_intent_create('stripe', :'account', 600, 'USD', 'sp-intent-2') \gset
select id as paid from public.payment_intent_create('stripe', :'account', 700, 'USD', 'sp-intent-3') \gset
select id as without from public.payment_intent_create('stripe', :'account', 800, 'USD', 'sp-intent-4') \gset
select id as revolut from public.payment_intent_create('revolut', :'account', 900, 'USD', 'sp-intent-5') \gset
select public.payment_intent_attach(:'waiting', 'pi_sp_1'), public.payment_intent_attach(:'fresh', 'pi_sp_2'),
       public.payment_intent_attach(:'paid', 'pi_sp_3'), public.payment_intent_attach(:'revolut', 'sp-order-5');
select is((public.payment_record_success('stripe', 'pi_sp_3', :'paid', 700, 'USD')).status, 'succeeded', 'the paid one is credited');
select tests.reset_role();
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
select tests.reset_role();
select ok((select l.leased_until - now() between interval '295 seconds' and interval '305 seconds'
             from private.job_leases l where l.job = 'stripe-poll' and l.item_id = :'waiting'),
  'leased to stripe-poll for a quarter of the 20 minutes it waited (300 s), above the 60 s floor');
select tests.as_service();
select is((select count(*) from api_private.poll_take('stripe-poll', 'intents', 900, 60, 1000) where reference_id like 'pi_sp_%'), 0::bigint,
  'while leased, a second take never returns it again');
select results_eq($$ select reference_id from api_private.poll_take('revolut-poll', 'intents', 900, 60, 1000)
                     where reference_id like 'pi_sp_%' or reference_id like 'sp-%' $$,
  $$ values ('sp-order-5') $$, 'revolut-poll takes the Revolut intent only: each job its own items and leases');
select results_eq($$ select reference_id from api_private.poll_take('stripe-poll', 'intents', 30, 60, 1000) where reference_id like 'pi_sp_%' $$,
  $$ values ('pi_sp_2') $$, 'a shorter wait: the newer intent too, the leased one still not');

-- ---------------------------------------------------------------- refusals
select throws_ok($$ select * from api_private.poll_take('stripe-poll', 'refunds', 900, 60, 10) $$, '22023',
  'stripe-poll has no kind refunds: momo-poll takes intents, cashouts, refunds; revolut-poll takes intents, refunds; stripe-poll takes intents',
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
select is(api_private.expire_intents(86400, 1, :'waiting'), 1, 'stripe-poll''s verdict on it past its TTL cancels it');
select results_eq(format($$ select status, failure_reason from public.payment_intents where id = %L $$, :'waiting'),
  $$ values ('canceled', 'expired: no payment within 86400 seconds') $$, 'as expired');

select * from finish();
rollback;
