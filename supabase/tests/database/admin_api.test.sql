-- The admin API's SQL: the idempotency records of mutating admin calls, the audit reader, the
-- user lookup of support cases and the reconciliation reports' reader.
begin;
select plan(53);

select tests.create_users('{user}', admins => '{admin, admin2}', support => '{support}');

-- ---------------------------------------------------------------- exposure
select ok(not has_schema_privilege('anon', 'api_private', 'usage'), 'anon has no usage on api_private');
select ok(not has_table_privilege('authenticated', 'private.api_requests', 'select'),
  'authenticated cannot read api_requests directly');
select ok(not has_table_privilege('service_role', 'private.api_requests', 'insert'),
  'service_role cannot write api_requests directly');
select results_eq($$ select relrowsecurity, relforcerowsecurity from pg_class where oid = 'private.api_requests'::regclass $$,
  $$ values (true, true) $$, 'api_requests has RLS enabled and forced');
select is((select count(*) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where n.nspname = 'api_private' and (not p.prosecdef or p.proconfig is null
              or not ('search_path=""' = any (p.proconfig)))), 0::bigint,
  'every api_private function is security definer with an empty search_path');

-- ---------------------------------------------------------------- idempotency
select tests.as_admin(tests.user_id('admin'));
select set_config('app.correlation_id', 'corr-admin-1', true);

select results_eq($$ select outcome, response_status from api_private.request_claim('k-1', repeat('a', 64), 'POST', '/admin/x') $$,
  $$ values ('new', null::integer) $$, 'a fresh key is new');
select lives_ok($$ select api_private.request_complete('k-1', 201, '{"ok":true}') $$, 'the response is stored');
select throws_ok($$ select api_private.request_complete('k-1', 200, '{}') $$, 'WL008', null,
  'a completed request cannot be completed again');
select results_eq($$ select outcome, response_status, response_body from api_private.request_claim('k-1', repeat('a', 64), 'POST', '/admin/x') $$,
  $$ values ('replay', 201, '{"ok":true}'::jsonb) $$, 'the same request replays the stored response');
select results_eq($$ select outcome from api_private.request_claim('k-1', repeat('b', 64), 'POST', '/admin/x') $$,
  $$ values ('mismatch') $$, 'the key with another request is a mismatch');
select throws_ok($$ select api_private.request_claim('', repeat('a', 64), 'POST', '/admin/x') $$, '22023', null,
  'an empty key: 22023');
select throws_ok($$ select api_private.request_complete('never-claimed', 200, '{}') $$, 'WL008', null,
  'completing an unclaimed key: WL008');

select tests.as_admin(tests.user_id('admin2'));
select results_eq($$ select outcome from api_private.request_claim('k-1', repeat('c', 64), 'POST', '/admin/x') $$,
  $$ values ('new') $$, 'keys are scoped by admin');

select tests.as_support(tests.user_id('support'));
select throws_ok($$ select api_private.request_claim('k-2', repeat('a', 64), 'POST', '/admin/x') $$, '42501', null,
  'support makes no changes: 42501');
select tests.as_user(tests.user_id('user'), '{"app_metadata": {}, "user_metadata": {"role": "admin"}}');
select throws_ok($$ select api_private.audit_log('adminapi_probe') $$, '42501', null,
  'a user with admin in user_metadata: 42501');

select tests.reset_role();
select results_eq(
  $$ select caller_id, request_hash, response_status, correlation_id from private.api_requests
      where caller_id = tests.user_id('admin') and idempotency_key = 'k-1' $$,
  $$ values (tests.user_id('admin'), repeat('a', 64), 201, 'corr-admin-1') $$,
  'the record keeps the admin, the request hash, the response and the correlation id');
select results_eq(
  $$ select operation, actor_id, correlation_id from audit.log
      where table_name = 'api_requests'
        and record_id = (select id::text from private.api_requests
                          where caller_id = tests.user_id('admin') and idempotency_key = 'k-1')
      order by id $$,
  $$ values ('INSERT', tests.user_id('admin'), 'corr-admin-1'),
            ('UPDATE', tests.user_id('admin'), 'corr-admin-1') $$,
  'each admin change is in the audit trail with the admin as actor');

-- ---------------------------------------------------------------- audit reader
-- Three audit rows of our own for a fake table, far in the past so the time filter is exact.
insert into audit.log (occurred_at, schema_name, table_name, operation, record_id, actor_id) values
  ('2001-01-01T00:00:00Z', 'public', 'adminapi_probe', 'INSERT', 'r-1', tests.user_id('user')),
  ('2001-01-02T00:00:00Z', 'public', 'adminapi_probe', 'UPDATE', 'r-1', tests.user_id('admin')),
  ('2001-01-03T00:00:00Z', 'public', 'adminapi_probe', 'INSERT', 'r-2', tests.user_id('user'));
select tests.as_support(tests.user_id('support'));

select results_eq($$ select (r ->> 'record_id'), (r ->> 'operation') from api_private.audit_log('adminapi_probe') r $$,
  $$ values ('r-2', 'INSERT'), ('r-1', 'UPDATE'), ('r-1', 'INSERT') $$, 'support reads a table''s rows, newest first');
select results_eq($$ select (r ->> 'operation') from api_private.audit_log('adminapi_probe', 'r-1') r $$,
  $$ values ('UPDATE'), ('INSERT') $$, 'filter by record id');
select results_eq($$ select (r ->> 'record_id') from api_private.audit_log('adminapi_probe', p_actor_id => tests.user_id('admin')) r $$,
  $$ values ('r-1') $$, 'filter by actor');
select results_eq($$ select (r ->> 'operation') from api_private.audit_log('adminapi_probe', p_from => '2001-01-02', p_to => '2001-01-03') r $$,
  $$ values ('UPDATE') $$, 'filter by time: from inclusive, to exclusive');
select results_eq(
  $$ select (r ->> 'record_id') from api_private.audit_log('adminapi_probe', p_limit => 1,
       p_before_id => (select (x ->> 'id')::bigint from api_private.audit_log('adminapi_probe', p_limit => 1) x)) r $$,
  $$ values ('r-1') $$, 'the next page starts below the last id');
select throws_ok($$ select api_private.audit_log(p_limit => 0) $$, '22023', null, 'limit 0: 22023');
select throws_ok($$ select api_private.audit_log(p_limit => 1001) $$, '22023', null, 'limit above 1000: 22023');
select throws_ok($$ select api_private.audit_log(p_record_id => 'r-1') $$, '22023', null, 'record id without table: 22023');

-- The ledger's own rows by record id: a voided hold (its insert is a ledger row, its void an
-- audit.log row) and an entry. The lookups reach the ledger tables through their primary keys:
-- with sequential scans off, one is still taken where no index can serve the predicate.
select tests.reset_role();
insert into public.wallet_accounts (id, owner_id, kind, currency) values
  ('ad100000-0000-4000-8000-00000000000a', tests.user_id('user'), 'user', 'USD');
select tests.as_service();
select public.wallet_deposit('ad100000-0000-4000-8000-00000000000a', 500, 'USD', 'stripe', 'adminapi-fund') \gset
select id as hold from public.wallet_hold('ad100000-0000-4000-8000-00000000000a', 100, 'USD', 'adminapi-hold') \gset
select public.wallet_void(:'hold') \gset
select tests.reset_role();
select e.id as entry from public.wallet_entries e where e.account_id = 'ad100000-0000-4000-8000-00000000000a' limit 1 \gset
set local enable_seqscan = off;
select sum(seq_scan) as ledger_seq_scans from pg_stat_xact_user_tables
 where relid in ('public.wallet_transactions'::regclass, 'public.wallet_entries'::regclass) \gset
select tests.as_support(tests.user_id('support'));
select results_eq(format($$ select (r ->> 'operation') from api_private.audit_log('wallet_transactions', %L) r $$, :'hold'),
  $$ values ('UPDATE'), ('INSERT') $$, 'a transaction''s record id finds its insert (the ledger row) and its audited void');
select results_eq(format($$ select (r ->> 'id'), (r ->> 'operation') from api_private.audit_log('wallet_entries', %L) r $$, :'entry'),
  format($$ values (%L, 'INSERT') $$, :'entry'), 'an entry''s record id finds its insert');
select is((select count(*) from api_private.audit_log('wallet_transactions', upper(:'hold'))), 0::bigint,
  'a record id is matched as written: the upper-case form of a transaction id finds nothing');
select is((select count(*) from api_private.audit_log('wallet_entries', '0' || :'entry')), 0::bigint,
  'an entry id with a leading zero finds nothing');
select tests.reset_role();
select is((select sum(seq_scan) from pg_stat_xact_user_tables
            where relid in ('public.wallet_transactions'::regclass, 'public.wallet_entries'::regclass)) - :ledger_seq_scans,
  0::numeric, 'the lookups read the ledger tables through their primary keys, neither of them in full');
select sum(seq_scan) as ledger_seq_scans from pg_stat_xact_user_tables
 where relid in ('public.wallet_transactions'::regclass, 'public.wallet_entries'::regclass) \gset
select tests.as_support(tests.user_id('support'));
select ok((select count(*) from api_private.audit_log(p_limit => 3)) = 3, 'the newest page of the whole trail has its rows');
select tests.reset_role();
select is((select sum(seq_scan) from pg_stat_xact_user_tables
            where relid in ('public.wallet_transactions'::regclass, 'public.wallet_entries'::regclass)) - :ledger_seq_scans,
  0::numeric, 'the newest page of the whole trail reads neither ledger table in full: each part is walked by its keyset index');
set local enable_seqscan = on;
select tests.as_support(tests.user_id('support'));

select tests.as_admin(tests.user_id('admin'));
select is((select count(*) from api_private.audit_log('adminapi_probe')), 3::bigint, 'an admin reads the audit trail');

select tests.as_user(tests.user_id('user'), '{"app_metadata": {}}');
select throws_ok($$ select api_private.audit_log('adminapi_probe') $$, '42501', null, 'a user cannot read the audit trail');
select tests.as_anon();
select throws_ok($$ select api_private.audit_log('adminapi_probe') $$, '42501', null, 'anon cannot even reach api_private');

-- ---------------------------------------------------------------- user lookup
select tests.reset_role();
update auth.users set phone = '250788100200' where id = tests.user_id('user');
insert into public.whatsapp_contacts (wa_id, user_id) values ('250788300400', tests.user_id('user'));
insert into public.wallet_accounts (id, owner_id, kind, currency) values
  ('ad100000-0000-4000-8000-00000000000b', tests.user_id('user'), 'user', 'RWF');
select tests.as_support(tests.user_id('support'));
select results_eq($$ select id, wa_id, accounts -> 0 ->> 'currency' from api_private.user_lookup('+250 788 100-200', null) $$,
  $$ select tests.user_id('user'), '250788300400'::text, 'USD'::text $$, 'support finds a user by the digits of their Auth phone, with their accounts');
select results_eq($$ select id from api_private.user_lookup('250788300400', null) $$,
  $$ select tests.user_id('user') $$, 'a WhatsApp number finds its contact''s user');
select results_eq($$ select id, email from api_private.user_lookup(null, '  User@Test.LOCAL ') $$,
  $$ select tests.user_id('user'), 'user@test.local'::text $$, 'an email is matched trimmed and case-insensitively');
select is((select jsonb_array_length(accounts) from api_private.user_lookup(null, 'user@test.local')), 2,
  'every account of the user is listed');
select is((select count(*) from api_private.user_lookup('250788999999', null)), 0::bigint, 'an unknown number finds nobody');
select throws_ok($$ select count(*) from api_private.user_lookup(null, null) $$, '22023',
  'give exactly one of a phone number and an email address', 'neither phone nor email: 22023');
select throws_ok($$ select count(*) from api_private.user_lookup('250788100200', 'a@b.test') $$, '22023',
  'give exactly one of a phone number and an email address', 'both phone and email: 22023');
select throws_ok($$ select count(*) from api_private.user_lookup('+12-34', null) $$, '22023', 'a phone number has 7 to 15 digits',
  'a phone of fewer than 7 digits: 22023');
select throws_ok($$ select count(*) from api_private.user_lookup('1234567890123456', null) $$, '22023', 'a phone number has 7 to 15 digits',
  'a phone of 16 digits: 22023');
select throws_ok($$ select count(*) from api_private.user_lookup(null, repeat('e', 256)) $$, '22023', 'p_email must be at most 255 characters',
  'an email one over its bound: 22023');
select tests.as_admin(tests.user_id('admin'));
select is((select count(*) from api_private.user_lookup(null, 'user@test.local')), 1::bigint, 'an admin looks users up');
select tests.as_user(tests.user_id('user'), '{"app_metadata": {}}');
select throws_ok($$ select count(*) from api_private.user_lookup(null, 'user@test.local') $$, '42501', null,
  'a user cannot look users up');
select tests.as_service();
select throws_ok($$ select count(*) from api_private.user_lookup(null, 'user@test.local') $$, '42501', null,
  'the service has no support cases: it cannot look users up');

-- ---------------------------------------------------------------- reconciliation reports
select tests.reset_role();
insert into private.reconciliation_reports (report_date, invariant_violations, reconciliation_findings) values
  ('1991-03-01', '[]', '[{"kind": "missing_credit"}]'), ('1991-03-02', '[]', '[]');
select tests.as_support(tests.user_id('support'));
select results_eq($$ select r ->> 'report_date', (r ->> 'findings')::int
                      from api_private.reconciliation_reports(null, '1991-03-03', 2) r $$,
  $$ values ('1991-03-02', 0), ('1991-03-01', 1) $$, 'support reads the reports newest first, before a date');
select results_eq($$ select r -> 'reconciliation_findings' from api_private.reconciliation_reports('1991-03-01', null, 1) r $$,
  $$ values ('[{"kind": "missing_credit"}]'::jsonb) $$, 'one day''s report with its findings');
select lives_ok($$ select count(*) from api_private.reconciliation_reports(null, null, 201) $$,
  'a page of 200 and the one more that tells whether another page follows (GET /admin/reconciliation/reports?limit=200)');
select throws_ok($$ select count(*) from api_private.reconciliation_reports(null, null, 202) $$, '22023', null, 'limit above 201: 22023');
select tests.as_user(tests.user_id('user'), '{"app_metadata": {}}');
select throws_ok($$ select count(*) from api_private.reconciliation_reports(null, null, 1) $$, '42501', null,
  'a user cannot read the reconciliation reports');

select * from finish();
rollback;
