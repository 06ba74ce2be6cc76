-- A staff role counts while auth.users gives it: an admin or support agent taken off the role,
-- banned or deleted loses its power at once, although the access token that names the role is valid until it
-- expires; a token that names a role the user never had gives a user's rights only.
begin;
select plan(12);

select tests.create_users('{alice, bob}', admins => '{boss, other, banned, deleted}', support => '{sam}');
select tests.open_account('alice', 'RWF') as account \gset
select tests.open_account('bob', 'RWF') as bob_account \gset

select tests.as_admin(tests.user_id('boss'));
select is((select count(*) from public.wallet_accounts where id = :'account'), 1::bigint, 'an admin reads another user''s account');
select tests.reset_role();
select tests.as_support(tests.user_id('sam'));
select is((select count(*) from public.wallet_accounts where id = :'account'), 1::bigint, 'support reads it too');
select tests.reset_role();

-- Both taken off their roles; their tokens still say admin and support.
update auth.users set raw_app_meta_data = '{}' where id in (tests.user_id('boss'), tests.user_id('sam'));

select tests.as_admin(tests.user_id('boss'));
select is((select count(*) from public.wallet_accounts where id = :'account'), 0::bigint,
  'the demoted admin, its token unexpired, reads no other user''s account');
select throws_ok(format($$ select api_private.wallet_adjust(%L, 500, 'credit', 'goodwill', 'revoked-adjust') $$, :'account'),
  '42501', null, 'and credits nobody');
select tests.reset_role();
select tests.as_support(tests.user_id('sam'));
select is((select count(*) from public.wallet_accounts where id = :'account'), 0::bigint,
  'the support agent taken off the role reads nothing of others');
select tests.reset_role();

-- Admins banned or deleted by Supabase Auth, their role left in place.
update auth.users set banned_until = now() + interval '100 years' where id = tests.user_id('banned');
update auth.users set deleted_at = now() where id = tests.user_id('deleted');
select tests.as_admin(tests.user_id('banned'));
select throws_ok(format($$ select api_private.wallet_adjust(%L, 500, 'credit', 'goodwill', 'banned-adjust') $$, :'account'),
  '42501', null, 'a banned admin credits nobody');
select tests.reset_role();
select tests.as_admin(tests.user_id('deleted'));
select is((select count(*) from public.wallet_accounts where id = :'account'), 0::bigint, 'a deleted admin reads no other user''s account');
select tests.reset_role();

-- A token naming a role the user never held.
select tests.as_admin(tests.user_id('alice'));
select throws_ok(format($$ select api_private.wallet_adjust(%L, 500, 'credit', 'a friend', 'forged-adjust') $$, :'bob_account'),
  '42501', null, 'a user whose token says admin is a user: no adjustment to another''s account');
select tests.reset_role();

-- Another admin, still one, acts.
select tests.as_admin(tests.user_id('other'));
select lives_ok(format($$ select api_private.wallet_adjust(%L, 500, 'credit', 'goodwill', 'kept-adjust') $$, :'account'),
  'an admin who holds the role still adjusts');
select tests.reset_role();
select is((select balance from public.wallet_accounts where id = :'account'), 500::bigint, 'one adjustment, by the admin who holds the role');
select is((select actor_app_role from public.wallet_transactions where idempotency_key = 'kept-adjust'), 'admin',
  'and its row records the admin role');

-- What the demoted admin still may, as a user, is recorded as a user's.
select tests.as_admin(tests.user_id('boss'));
select id as boss_account from api_private.wallet_open_account('RWF') \gset
select tests.reset_role();
select results_eq(format($$ select actor_id, actor_app_role from audit.log
                             where table_name = 'wallet_accounts' and record_id = %L and operation = 'INSERT' $$, :'boss_account'),
  format($$ values (%L::uuid, null::text) $$, tests.user_id('boss')),
  'the demoted admin opens an account of their own, recorded without the staff role the token still names');

select * from finish();
rollback;
