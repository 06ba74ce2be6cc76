-- Wallet ledger: who may call what (anon, owner, other user, admin, support, service_role),
-- what each of them reads through RLS, and that the ledger tables are append-only for
-- every API role and, through triggers, for the owner too.
begin;
select plan(136);

select tests.create_users(array['alice', 'bob', 'carol'], array['admin'], array['support']);
select tests.create_accounts('ac300000', 'UGX', '{alice, bob, carol}');
insert into public.wallet_accounts (id, kind, code, currency) values
  ('ac300000-0000-4000-8000-0000000000fe', 'system', 'fees:UGX-acl-test', 'UGX');
select lives_ok($$ select public.wallet_deposit('ac300000-0000-4000-8000-00000000000a', 5000, 'UGX', 'momo', 'acl-fund-a') $$, 'fund alice');
select lives_ok($$ select public.wallet_deposit('ac300000-0000-4000-8000-00000000000c', 5000, 'UGX', 'momo', 'acl-fund-c') $$, 'fund carol');
-- carol -> bob: a transaction alice is not part of.
select lives_ok($$ select public.wallet_transfer('ac300000-0000-4000-8000-00000000000c', 'ac300000-0000-4000-8000-00000000000b', 100, 'UGX', 'acl-cb') $$, 'carol pays bob');

-- ---------------------------------------------------------------- function definitions and grants
-- The eleven functions of docs/LEDGER.md (other areas may add wallet_* functions of their own).
create temporary table ledger_api (name text) on commit drop;
insert into ledger_api values ('wallet_open_account'), ('wallet_transfer'), ('wallet_transfer_batch'), ('wallet_deposit'),
  ('wallet_withdraw'), ('wallet_hold'), ('wallet_capture'), ('wallet_void'), ('wallet_reverse'), ('wallet_set_status'), ('wallet_balance');
select is((select count(*) from pg_proc p join ledger_api f on f.name = p.proname
            where p.pronamespace = 'public'::regnamespace and p.proconfig = array['search_path=""']), 11::bigint,
  'every ledger function exists in public with an empty search_path');
-- Splinter 0029: what authenticated may execute in public is a security invoker wrapper; its
-- security definer body lives in the unexposed api_private.
select is(array(select p.proname::text from pg_proc p join ledger_api f on f.name = p.proname
                 where p.pronamespace = 'public'::regnamespace and p.prosecdef order by 1),
  array['wallet_capture', 'wallet_deposit', 'wallet_hold', 'wallet_transfer_batch', 'wallet_void', 'wallet_withdraw'],
  'the service-only functions are security definer in public, the others security invoker');
select is(array(select b.proname::text from pg_proc b join ledger_api f on f.name = b.proname
                   join pg_proc w on w.proname = b.proname and w.pronamespace = 'public'::regnamespace
                 where b.pronamespace = 'api_private'::regnamespace and b.prosecdef and b.proconfig = array['search_path=""']
                   and not w.prosecdef and b.proargtypes = w.proargtypes and b.prorettype = w.prorettype
                 order by 1),
  array['wallet_balance', 'wallet_open_account', 'wallet_reverse', 'wallet_set_status', 'wallet_transfer'],
  'each wrapper has a security definer body with its arguments, its return type and an empty search_path in api_private');
select is((select count(*) from pg_proc p join ledger_api f on f.name = p.proname
            where p.pronamespace in ('public'::regnamespace, 'api_private'::regnamespace)
            and (has_function_privilege('anon', p.oid, 'execute') or has_function_privilege('public', p.oid, 'execute'))), 0::bigint,
  'anon and public execute no ledger function, wrapper or body');
select is((select count(*) from pg_proc b join ledger_api f on f.name = b.proname
             join pg_proc w on w.proname = b.proname and w.pronamespace = 'public'::regnamespace
            cross join unnest(array['authenticated', 'service_role']) r
            where b.pronamespace = 'api_private'::regnamespace
              and has_function_privilege(r, b.oid, 'execute') <> has_function_privilege(r, w.oid, 'execute')), 0::bigint,
  'each body is executable by exactly the roles of its wrapper');
select is(array(select p.proname::text from pg_proc p join ledger_api f on f.name = p.proname where p.pronamespace = 'public'::regnamespace
                  and has_function_privilege('authenticated', p.oid, 'execute') order by 1),
  array['wallet_balance', 'wallet_open_account', 'wallet_reverse', 'wallet_set_status', 'wallet_transfer'],
  'authenticated executes exactly the user and admin functions');
select is(array(select p.proname::text from pg_proc p join ledger_api f on f.name = p.proname where p.pronamespace = 'public'::regnamespace
                  and has_function_privilege('service_role', p.oid, 'execute') order by 1),
  array['wallet_balance', 'wallet_capture', 'wallet_deposit', 'wallet_hold', 'wallet_reverse', 'wallet_set_status',
        'wallet_transfer', 'wallet_transfer_batch', 'wallet_void', 'wallet_withdraw'],
  'service_role executes everything but open_account');
select is((select count(*) from pg_proc p where p.pronamespace = 'private'::regnamespace and p.proname like 'wallet\_%'
            and (has_function_privilege('anon', p.oid, 'execute') or has_function_privilege('authenticated', p.oid, 'execute')
                 or has_function_privilege('service_role', p.oid, 'execute'))), 0::bigint,
  'the private ledger machinery is executable by no API role');
select is((select count(*) from pg_class c where c.oid in ('public.wallet_accounts'::regclass, 'public.wallet_transactions'::regclass,
            'public.wallet_entries'::regclass) and c.relrowsecurity and c.relforcerowsecurity), 3::bigint,
  'RLS is enabled and forced on the three ledger tables');

-- ---------------------------------------------------------------- anon
select tests.as_anon();
select throws_ok($$ select public.wallet_balance('ac300000-0000-4000-8000-00000000000a') $$, '42501', null, 'anon cannot read a balance');
select throws_ok($$ select public.wallet_open_account('UGX') $$, '42501', null, 'anon cannot open an account');
select throws_ok($$ select public.wallet_transfer('ac300000-0000-4000-8000-00000000000a', 'ac300000-0000-4000-8000-00000000000b', 1, 'UGX', 'acl-anon') $$,
  '42501', null, 'anon cannot transfer');
select throws_ok($$ select count(*) from public.wallet_accounts $$, '42501', null, 'anon cannot select accounts');
select throws_ok($$ select count(*) from public.wallet_transactions $$, '42501', null, 'anon cannot select transactions');
select throws_ok($$ select count(*) from public.wallet_entries $$, '42501', null, 'anon cannot select entries');
select tests.reset_role();

-- ---------------------------------------------------------------- owner (alice)
select tests.as_user(tests.user_id('alice'));
select results_eq(
  $$ select initiated_by, from_account_id from public.wallet_transfer('ac300000-0000-4000-8000-00000000000a', 'ac300000-0000-4000-8000-00000000000b', 700, 'UGX', 'acl-shared-key') $$,
  $$ values (tests.user_id('alice'), 'ac300000-0000-4000-8000-00000000000a'::uuid) $$,
  'the owner transfers from its account; initiated_by is its uid');
select is(public.wallet_balance('ac300000-0000-4000-8000-00000000000a'), 4300::bigint, 'the owner reads its balance');
select throws_ok($$ select public.wallet_transfer('ac300000-0000-4000-8000-00000000000b', 'ac300000-0000-4000-8000-00000000000a', 1, 'UGX', 'acl-steal') $$,
  '42501', 'wallet account ac300000-0000-4000-8000-00000000000b is not yours', 'a user cannot move money out of another account');
select throws_ok($$ select public.wallet_transfer('ac300000-0000-4000-8000-0000000000ff', 'ac300000-0000-4000-8000-00000000000a', 1, 'UGX', 'acl-ghost') $$,
  '42501', null, 'a user cannot name a missing sender either');
select throws_ok($$ select public.wallet_transfer('ac300000-0000-4000-8000-00000000000a', 'ac300000-0000-4000-8000-0000000000fe', 1, 'UGX', 'acl-sys') $$,
  'WL007', 'wallet account ac300000-0000-4000-8000-0000000000fe not found or cannot receive this transfer',
  'a user cannot pay a system account, and hears what it would about a missing one');
select throws_ok($$ select public.wallet_balance('ac300000-0000-4000-8000-00000000000b') $$, '42501', null, 'a user cannot read another balance');
select throws_ok($$ select public.wallet_reverse((select id from public.wallet_transactions where idempotency_key = 'acl-shared-key'), 'acl-rev-u') $$,
  '42501', null, 'a user cannot reverse');
select throws_ok($$ select public.wallet_set_status('ac300000-0000-4000-8000-00000000000b', 'frozen', 'x') $$, '42501', null, 'a user cannot freeze');
select throws_ok($$ select public.wallet_deposit('ac300000-0000-4000-8000-00000000000a', 1, 'UGX', 'momo', 'acl-dep-u') $$,
  '42501', null, 'a user cannot deposit');
select throws_ok($$ select public.wallet_hold('ac300000-0000-4000-8000-00000000000a', 1, 'UGX', 'acl-hold-u') $$,
  '42501', null, 'a user cannot hold');
select throws_ok($$ select public.wallet_transfer_batch('[]') $$, '42501', null, 'a user cannot batch');
-- RLS as the owner
select results_eq($$ select id from public.wallet_accounts order by id $$,
  $$ values ('ac300000-0000-4000-8000-00000000000a'::uuid) $$, 'the owner sees only its own accounts');
select is((select count(*) from public.wallet_transactions), 2::bigint, 'the owner sees its own transactions (deposit and transfer)');
select is((select count(*) from public.wallet_transactions where idempotency_key = 'acl-cb'), 0::bigint,
  'the owner does not see transactions between others');
select is((select count(*) from public.wallet_entries), 2::bigint, 'the owner sees only the entries of its accounts');
select is((select count(*) from public.wallet_entries where account_id <> 'ac300000-0000-4000-8000-00000000000a'), 0::bigint,
  'no entry of another account is visible');
select tests.reset_role();

-- ---------------------------------------------------------------- other user (bob): receiver sees, nothing else
select tests.as_user(tests.user_id('bob'));
select is((select count(*) from public.wallet_transactions), 2::bigint, 'the receiver sees the transactions paying it');
select is((select count(*) from public.wallet_accounts where id = 'ac300000-0000-4000-8000-00000000000a'), 0::bigint,
  'the receiver does not see the sender account');
select is((select count(*) from public.wallet_entries where account_id = 'ac300000-0000-4000-8000-00000000000a'), 0::bigint,
  'the receiver does not see the sender entries');
-- The same key in another user's scope is a different request.
select isnt((public.wallet_transfer('ac300000-0000-4000-8000-00000000000b', 'ac300000-0000-4000-8000-00000000000a', 50, 'UGX', 'acl-shared-key')).id,
  (select id from public.wallet_transactions where idempotency_key = 'acl-shared-key' and initiated_by = tests.user_id('alice')),
  'idempotency keys are scoped by caller');
select tests.reset_role();

-- ---------------------------------------------------------------- a user without any account
select tests.as_user(gen_random_uuid());
select is((select count(*) from public.wallet_accounts), 0::bigint, 'a stranger sees no account');
select is((select count(*) from public.wallet_transactions), 0::bigint, 'a stranger sees no transaction');
select is((select count(*) from public.wallet_entries), 0::bigint, 'a stranger sees no entry');
select tests.reset_role();

-- ---------------------------------------------------------------- user_metadata never makes an admin
select tests.as_user(tests.user_id('bob'), '{"user_metadata": {"role": "admin"}}');
select is((select count(*) from public.wallet_accounts), 1::bigint, 'user_metadata.role = admin reads nothing more');
select throws_ok($$ select public.wallet_set_status('ac300000-0000-4000-8000-00000000000a', 'frozen', 'x') $$, '42501', null,
  'user_metadata.role = admin is not an admin');
select tests.reset_role();

-- What staff (admin and support) read: every account, transaction and entry of this suite,
-- p_transactions transactions by then, each with its two entries.
create function pg_temp.reads_everything(p_who text, p_transactions bigint) returns setof text
language plpgsql
as $$
begin
  return next is((select count(*) from public.wallet_accounts where id::text like 'ac300000%'), 4::bigint,
    p_who || ' reads every account');
  return next is((select count(*) from public.wallet_transactions where idempotency_key like 'acl-%'), p_transactions,
    p_who || ' reads every transaction');
  return next is((select count(*) from public.wallet_entries e join public.wallet_transactions t on t.id = e.transaction_id
                   where t.idempotency_key like 'acl-%'), 2 * p_transactions, p_who || ' reads every entry');
end;
$$;

-- ---------------------------------------------------------------- admin
select tests.as_admin(tests.user_id('admin'));
select * from pg_temp.reads_everything('admin', 5);
select is(public.wallet_balance('ac300000-0000-4000-8000-00000000000b'), 750::bigint, 'admin reads any balance');
select results_eq(
  $$ select amount, initiated_by from public.wallet_reverse((select id from public.wallet_transactions where idempotency_key = 'acl-cb'), 'acl-rev-admin', 30, 'support ticket') $$,
  $$ values (30::bigint, tests.user_id('admin')) $$,
  'admin reverses; initiated_by is the admin');
select is((public.wallet_set_status('ac300000-0000-4000-8000-00000000000c', 'frozen', 'kyc')).status, 'frozen', 'admin freezes');
select is((public.wallet_set_status('ac300000-0000-4000-8000-00000000000c', 'active', 'kyc ok')).status, 'active', 'admin unfreezes');
select throws_ok($$ select public.wallet_transfer('ac300000-0000-4000-8000-00000000000b', 'ac300000-0000-4000-8000-00000000000a', 1, 'UGX', 'acl-admin-tr') $$,
  '42501', null, 'admin cannot move money out of a user account');
select throws_ok($$ select public.wallet_deposit('ac300000-0000-4000-8000-00000000000a', 1, 'UGX', 'momo', 'acl-dep-admin') $$,
  '42501', null, 'admin cannot deposit (service only)');
select tests.reset_role();

-- ---------------------------------------------------------------- support: reads all, changes nothing
select tests.as_support(tests.user_id('support'));
select * from pg_temp.reads_everything('support', 6);
select throws_ok($$ select public.wallet_set_status('ac300000-0000-4000-8000-00000000000a', 'frozen', 'x') $$, '42501', null, 'support cannot freeze');
select throws_ok($$ select public.wallet_reverse((select id from public.wallet_transactions where idempotency_key = 'acl-cb'), 'acl-rev-s') $$,
  '42501', null, 'support cannot reverse');
select throws_ok($$ select public.wallet_balance('ac300000-0000-4000-8000-00000000000a') $$, '42501', null,
  'support is not among the wallet_balance callers');
select throws_ok($$ select public.wallet_open_account('UGX') $$, '42501', null, 'support opens no wallet account');
select is((select count(*) from public.wallet_accounts where owner_id = tests.user_id('support')), 0::bigint,
  'support owns no wallet account');
select tests.reset_role();

-- ---------------------------------------------------------------- service_role
select tests.as_service();
select is((select count(*) from public.wallet_transactions where idempotency_key like 'acl-%'), 6::bigint, 'service_role reads everything');
select throws_ok($$ select public.wallet_open_account('UGX') $$, '42501', null, 'service_role does not open user accounts');
select is((public.wallet_transfer('ac300000-0000-4000-8000-00000000000a', 'ac300000-0000-4000-8000-00000000000b', 1, 'UGX', 'acl-shared-key')).initiated_by,
  null, 'service calls have their own idempotency scope (initiated_by null)');
select tests.reset_role();

-- ---------------------------------------------------------------- append-only for every API role
-- Every write statement on every ledger table, as anon, authenticated and service_role.
select throws_ok(format('set local role %s; %s', r, w.statement), '42501', null,
                 format('%s cannot %s', r, w.what))
  from unnest(array['anon', 'authenticated', 'service_role']) r
 cross join (values
   ('insert into wallet_accounts', $$ insert into public.wallet_accounts (kind, code, currency) values ('system', 'x:UGX', 'UGX') $$),
   ('update wallet_accounts', $$ update public.wallet_accounts set balance = balance + 1000000 $$),
   ('delete from wallet_accounts', $$ delete from public.wallet_accounts $$),
   ('truncate wallet_accounts', $$ truncate public.wallet_accounts cascade $$),
   ('insert into wallet_transactions', $$ insert into public.wallet_transactions (kind, status, amount, currency, from_account_id, to_account_id, idempotency_key, posted_at)
      values ('transfer', 'posted', 1, 'UGX', 'ac300000-0000-4000-8000-00000000000a', 'ac300000-0000-4000-8000-00000000000b', 'acl-direct', now()) $$),
   ('update wallet_transactions', $$ update public.wallet_transactions set amount = 1 $$),
   ('delete from wallet_transactions', $$ delete from public.wallet_transactions $$),
   ('truncate wallet_transactions', $$ truncate public.wallet_transactions cascade $$),
   ('insert into wallet_entries', $$ insert into public.wallet_entries (transaction_id, account_id, amount)
      select id, from_account_id, 1 from public.wallet_transactions limit 1 $$),
   ('update wallet_entries', $$ update public.wallet_entries set amount = amount + 1 $$),
   ('delete from wallet_entries', $$ delete from public.wallet_entries $$),
   ('truncate wallet_entries', $$ truncate public.wallet_entries $$)
 ) as w(what, statement);
select tests.reset_role();

-- ... and the owner meets the triggers.
select throws_ok($$ update public.wallet_entries set amount = amount * 2 $$, '42501', null, 'the owner cannot update entries');
select throws_ok($$ delete from public.wallet_entries $$, '42501', null, 'the owner cannot delete entries');
select throws_ok($$ truncate public.wallet_entries cascade $$, '42501', null, 'the owner cannot truncate entries');
select throws_ok($$ update public.wallet_transactions set amount = amount + 1 where idempotency_key = 'acl-cb' $$, '42501', null,
  'the owner cannot change a posted transaction');
select throws_ok($$ delete from public.wallet_transactions where idempotency_key = 'acl-cb' $$, '42501', null,
  'the owner cannot delete a transaction');
-- The attribution a transaction carries (it is its own audit record) never changes, for anyone:
-- not on a posted transaction, and not on a pending hold, which may still be captured or voided.
select lives_ok($$ select public.wallet_hold('ac300000-0000-4000-8000-00000000000a', 10, 'UGX', 'acl-hold') $$, 'a pending hold');
-- (An update the guard let through would fail with P0001 and be rolled back, so each case
-- starts from the same rows.)
select throws_ok(format('do $do$ begin update public.wallet_transactions set %s%s where idempotency_key = %L; raise exception %L; end $do$',
                        k.change, c.assignment, k.key, 'changed'),
                 '42501', null, format('the owner cannot change %s of %s', c.assignment, k.what))
  from (values ('acl-cb', '', 'a posted transaction'),
               ('acl-hold', 'status = ''voided'', ', 'a pending hold, not even while voiding it')) as k(key, change, what)
 cross join (values ('actor_id = gen_random_uuid()'), ('actor_role = ''anon'''), ('actor_app_role = ''admin'''),
                    ('session_id = ''forged'''), ('correlation_id = ''forged'''), ('client_ip = ''192.0.2.1'''),
                    ('user_agent = ''forged'''), ('txid = txid + 1'), ('audit_id = audit_id + 1')) as c(assignment);
select lives_ok($$ update public.wallet_transactions set status = 'voided' where idempotency_key = 'acl-hold' $$,
  'while the change a hold may see still goes through');
-- Who asked and from where is staff's to read (through the audit trail), not the other party's.
select tests.as_user(tests.user_id('bob'));
select throws_ok(format('select %s from public.wallet_transactions where idempotency_key = ''acl-cb''', c), '42501', null,
                 format('the receiving user cannot read the sender''s %s', c))
  from unnest(array['actor_id', 'actor_role', 'actor_app_role', 'session_id', 'correlation_id', 'client_ip', 'user_agent',
                    'txid', 'audit_id']) c;
select is((select amount from public.wallet_transactions where idempotency_key = 'acl-cb'), 100::bigint,
  'and reads the rest of the transaction');
select tests.reset_role();
select tests.as_service();
select is((select actor_role from public.wallet_transactions where idempotency_key = 'acl-cb'), 'postgres',
  'service_role reads the attribution');
select tests.reset_role();
select throws_ok($$ delete from public.wallet_accounts where id = 'ac300000-0000-4000-8000-00000000000c' $$, '42501', null,
  'the owner cannot delete an account');

select * from finish();
rollback;
