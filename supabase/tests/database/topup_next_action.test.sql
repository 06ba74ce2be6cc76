-- Resuming a checkout (docs/PAYMENTS.md, "GET /payments/topups/:id"):
-- api_private.topup_next_action gives the owner of a top-up the next_action its POST answered,
-- while the intent still takes a payment, no payment is recorded for it and its account is
-- active; nobody else gets it, not even staff; who may call it.
begin;
select plan(15);

select tests.create_users('{owner, other}', admins => '{admin}', support => '{support}');
select tests.create_accounts('fc000000', 'USD', '{owner, other}');

-- The owner's top-up of p_amount as the payments function makes it: the key p_key claimed, the
-- intent created with that key, attached to the PaymentIntent p_ref, and the 201 (whose
-- client_secret is p_ref_secret_x) stored as the key's answer. The intent's id; the role reset.
create function pg_temp.started_topup(p_key text, p_amount bigint, p_ref text) returns uuid
language plpgsql
as $$
declare
  v_intent uuid;
begin
  perform tests.as_user(tests.user_id('owner'));
  perform api_private.request_claim(p_key, repeat('a', 64), 'POST', '/payments/topups', 60);
  select id into v_intent from public.payment_intent_create('stripe', 'fc000000-0000-4000-8000-00000000000a', p_amount, 'USD', p_key);
  perform tests.reset_role();
  perform tests.as_service();
  perform public.payment_intent_attach(v_intent, p_ref);
  perform tests.reset_role();
  perform tests.as_user(tests.user_id('owner'));
  perform api_private.request_complete(p_key, 201, jsonb_build_object(
    'intent', jsonb_build_object('id', v_intent),
    'next_action', jsonb_build_object('type', 'stripe_client_secret', 'client_secret', p_ref || '_secret_x')));
  perform tests.reset_role();
  return v_intent;
end;
$$;

select pg_temp.started_topup('resume-1', 1999, 'pi_resume_1') as intent \gset
select tests.as_user(tests.user_id('owner'));

select is(api_private.topup_next_action(:'intent'),
  '{"type": "stripe_client_secret", "client_secret": "pi_resume_1_secret_x"}'::jsonb,
  'the owner gets the next_action its POST answered while the intent is processing');
select is(api_private.topup_next_action('fc000000-0000-4000-8000-0000000000ff'), null::jsonb,
  'an intent that does not exist has none');
select tests.reset_role();

select tests.as_user(tests.user_id('other'));
select is(api_private.topup_next_action(:'intent'), null::jsonb, 'another user gets nothing');
select tests.reset_role();
select tests.as_admin(tests.user_id('admin'));
select is(api_private.topup_next_action(:'intent'), null::jsonb,
  'an admin, who reads the intent, does not get its client_secret');
select tests.reset_role();
select tests.as_support(tests.user_id('support'));
select is(api_private.topup_next_action(:'intent'), null::jsonb,
  'support, who reads the intent too, gets no client_secret either (and the read still answers)');
select tests.reset_role();

-- While the account is frozen no checkout resumes (a payment would only be held for review);
-- unfrozen, it is offered again. The owner's next step of p_intent once the service has set the
-- account's status to p_status; the role reset.
create function pg_temp.next_action_when(p_status text, p_intent uuid) returns jsonb
language plpgsql
as $$
declare
  v_next jsonb;
begin
  perform tests.as_service();
  perform public.wallet_set_status('fc000000-0000-4000-8000-00000000000a', p_status, 'test');
  perform tests.reset_role();
  perform tests.as_user(tests.user_id('owner'));
  v_next := api_private.topup_next_action(p_intent);
  perform tests.reset_role();
  return v_next;
end;
$$;
select is(pg_temp.next_action_when('frozen', :'intent'), null::jsonb, 'no next step while the account is frozen');
select isnt(pg_temp.next_action_when('active', :'intent'), null::jsonb, 'the next step again once the account is unfrozen');

-- A key whose stored answer is not the 201 (a refusal) gives nothing to resume.
select tests.as_user(tests.user_id('owner'));
select outcome from api_private.request_claim('resume-2', repeat('b', 64), 'POST', '/payments/topups', 60);
select id as declined from public.payment_intent_create('stripe', 'fc000000-0000-4000-8000-00000000000a', 500, 'USD', 'resume-2') \gset
select api_private.request_complete('resume-2', 422, '{"error": {"code": "provider_declined"}}');
select is(api_private.topup_next_action(:'declined'), null::jsonb, 'a top-up whose POST was refused has no next step');
select tests.reset_role();

-- A payment recorded for the intent but held for review (here another amount than asked)
-- leaves the intent processing, and nothing to pay: the provider has taken the money.
select pg_temp.started_topup('resume-3', 700, 'pi_resume_3') as held \gset
select tests.as_service();
select status as held_payment from public.payment_record_success('stripe', 'pi_resume_3', :'held', 800, 'USD') \gset
select tests.reset_role();
select is(:'held_payment'::text, 'needs_review', 'the payment of another amount is held for review');
select tests.as_user(tests.user_id('owner'));
select is(api_private.topup_next_action(:'held'), null::jsonb,
  'an intent still processing whose payment is held for review has no next step: it was paid');
select tests.reset_role();

-- Once the intent takes no more payment, its next step is gone.
select tests.as_service();
select 1 from public.payment_record_failure(:'intent', 'stripe: card_declined');
select tests.reset_role();
select tests.as_user(tests.user_id('owner'));
select is(api_private.topup_next_action(:'intent'), null::jsonb, 'a failed intent has no next step');
select tests.reset_role();

select ok(has_function_privilege('authenticated', 'api_private.topup_next_action(uuid)', 'execute'),
  'authenticated executes it (GET /payments/topups/:id runs as the user)');
select ok(not has_function_privilege('anon', 'api_private.topup_next_action(uuid)', 'execute'), 'anon does not');
select ok(not has_function_privilege('service_role', 'api_private.topup_next_action(uuid)', 'execute'), 'service_role does not');
select ok(not exists (select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                       where n.nspname = 'public' and p.proname = 'topup_next_action'),
  'no public wrapper: a client_secret is read through the payments function only');

select * from finish();
rollback;
