-- Finding the person one pays (docs/APP_GUIDE.md, "Pay another person"):
-- api_private.wallet_find_payee gives a signed-in user the active account that the owner of a
-- phone number holds in a currency, and one answer (WL007) for every number it may not pay
-- that way (no such confirmed phone, no active account in the currency); who may call it; its arguments checked before anything is read.
begin;
select plan(17);

select tests.create_users('{payer, payee, closed_payee, unconfirmed}', admins => '{admin}', support => '{support}');
update auth.users set phone = '256772000001', phone_confirmed_at = now() where id = tests.user_id('payee');
update auth.users set phone = '256772000002', phone_confirmed_at = now() where id = tests.user_id('closed_payee');
update auth.users set phone = '256772000003', phone_confirmed_at = now() where id = tests.user_id('payer');
update auth.users set phone = '256772000004' where id = tests.user_id('unconfirmed');
select tests.create_accounts('fa000000', 'UGX', '{payer, payee, closed_payee, unconfirmed}');
select tests.create_accounts('fb000000', 'USD', '{payee}');
select public.wallet_set_status('fa000000-0000-4000-8000-00000000000c', 'closed', 'test');

select tests.as_user(tests.user_id('payer'));
select is(api_private.wallet_find_payee('256772000001', 'UGX'), 'fa000000-0000-4000-8000-00000000000b'::uuid,
  'a user finds the account the owner of a number holds in a currency');
select is(api_private.wallet_find_payee('256772000001', 'USD'), 'fb000000-0000-4000-8000-00000000000a'::uuid,
  'the same number in another currency is that currency''s account');
select throws_ok($$ select api_private.wallet_find_payee('256772000009', 'UGX') $$,
  'WL007', 'no wallet of 256772000009 takes UGX', 'a number nobody has is WL007');
select throws_ok($$ select api_private.wallet_find_payee('256772000001', 'KES') $$,
  'WL007', 'no wallet of 256772000001 takes KES', 'a currency the owner holds no account in is the same answer');
select throws_ok($$ select api_private.wallet_find_payee('256772000004', 'UGX') $$,
  'WL007', 'no wallet of 256772000004 takes UGX', 'a phone its user never confirmed is the same answer');
select throws_ok($$ select api_private.wallet_find_payee('256772000002', 'UGX') $$,
  'WL007', 'no wallet of 256772000002 takes UGX', 'a closed account is the same answer');
select tests.reset_role();
select public.wallet_set_status('fa000000-0000-4000-8000-00000000000b', 'frozen', 'test');
select tests.as_user(tests.user_id('payer'));
select throws_ok($$ select api_private.wallet_find_payee('256772000001', 'UGX') $$,
  'WL007', 'no wallet of 256772000001 takes UGX', 'a frozen account is the same answer');
select is(api_private.wallet_find_payee('256772000003', 'UGX'), 'fa000000-0000-4000-8000-00000000000a'::uuid,
  'the caller''s own number is its own account (wallet_transfer then refuses it, WL003)');

select throws_ok($$ select api_private.wallet_find_payee('+256772000001', 'UGX') $$,
  '22023', 'p_msisdn must be E.164 digits with the country code, no +', 'a number with a plus is 22023');
select throws_ok($$ select api_private.wallet_find_payee(null, 'UGX') $$,
  '22023', null, 'no number is 22023');
select throws_ok($$ select api_private.wallet_find_payee('256772000001', 'ugx') $$,
  '22023', 'currency ugx is not an ISO 4217 code', 'a lower-case currency is 22023');
select throws_ok(format('select api_private.wallet_find_payee(%L, %L)', repeat('1', 256), 'UGX'),
  '22023', 'p_msisdn must be at most 255 characters', 'a number over the identifier bound is 22023 before anything is read');
select tests.reset_role();

select tests.as_admin(tests.user_id('admin'));
select is(api_private.wallet_find_payee('256772000001', 'USD'), 'fb000000-0000-4000-8000-00000000000a'::uuid,
  'an admin (a signed-in user too) finds a payee');
select tests.as_support(tests.user_id('support'));
select throws_ok($$ select api_private.wallet_find_payee('256772000001', 'USD') $$,
  '42501', null, 'support, which pays nobody, may not look payees up');
select tests.reset_role();

select ok(has_function_privilege('authenticated', 'api_private.wallet_find_payee(text, text)', 'execute'),
  'authenticated executes it (through the payments function, which runs as the user)');
select ok(not has_function_privilege('anon', 'api_private.wallet_find_payee(text, text)', 'execute')
          and not has_function_privilege('service_role', 'api_private.wallet_find_payee(text, text)', 'execute'),
  'anon and service_role do not');
select ok(not exists (select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                       where n.nspname = 'public' and p.proname = 'wallet_find_payee'),
  'no public wrapper: PostgREST does not expose it, so every look-up passes the payments function''s rate limit');

select * from finish();
rollback;
