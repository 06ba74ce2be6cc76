-- The WhatsApp platform's SQL: contacts (only for the user who holds the number as a
-- confirmed phone, and only while it does; RLS: own row; admin and support read), the outbox
-- (no user reads it), who may call each function, their bounds, the lease that keeps two
-- senders off one row, the outcomes a sender records, status webhooks moving rows forward
-- only, and the admin replay of a dead message.
begin;
select plan(81);

-- Users as Supabase Auth stores them: phone users whose phone is confirmed (created by the
-- Admin API with phone_confirm, or confirmed by an OTP), one who signed up in an app with a
-- number and a password and never confirmed it (anyone can, with anyone's number), an admin
-- and a support agent.
insert into auth.users (id, phone, phone_confirmed_at, raw_app_meta_data) values
  ('a1900000-0000-4000-8000-000000000001', '250788000001', now(), '{"provider":"phone","providers":["phone"]}'),
  ('a1900000-0000-4000-8000-000000000002', '250788000002', now(), '{"provider":"phone","providers":["phone"]}'),
  ('a1900000-0000-4000-8000-000000000003', '250788000003', now(), '{"provider":"phone","providers":["phone"]}'),
  ('a1900000-0000-4000-8000-000000000005', '250788000005', null, '{"provider":"phone","providers":["phone"]}'),
  ('a1900000-0000-4000-8000-000000000006', '250788000006', now(), '{"provider":"phone","providers":["phone"]}'),
  ('a1900000-0000-4000-8000-0000000000ad', null, null, '{"role":"admin"}'),
  ('a1900000-0000-4000-8000-0000000000ae', null, null, '{"role":"support"}');

create function pg_temp.become(p_caller text) returns void
language plpgsql
as $$
begin
  perform set_config('request.jwt.claims', case p_caller
    when 'alice' then '{"sub":"a1900000-0000-4000-8000-000000000001","role":"authenticated"}'
    when 'bob' then '{"sub":"a1900000-0000-4000-8000-000000000002","role":"authenticated"}'
    when 'admin' then '{"sub":"a1900000-0000-4000-8000-0000000000ad","role":"authenticated","app_metadata":{"role":"admin"}}'
    when 'support' then '{"sub":"a1900000-0000-4000-8000-0000000000ae","role":"authenticated","app_metadata":{"role":"support"}}'
    else '{"role":"service_role"}' end, true);
  execute 'set local role ' || case p_caller when 'service' then 'service_role' else 'authenticated' end;
end;
$$;
grant execute on function pg_temp.become(text) to public;

-- ---------------------------------------------------------------- exposure
select results_eq($$ select relrowsecurity and relforcerowsecurity from pg_class
                     where oid in ('public.whatsapp_contacts'::regclass, 'public.whatsapp_outbox'::regclass) $$,
  $$ values (true), (true) $$, 'whatsapp_contacts and whatsapp_outbox have RLS enabled and forced');
select ok(not has_table_privilege('anon', 'public.whatsapp_contacts', 'select')
          and not has_table_privilege('anon', 'public.whatsapp_outbox', 'select'), 'anon reads neither table');
select ok(not has_table_privilege('authenticated', 'public.whatsapp_outbox', 'insert,update,delete')
          and not has_table_privilege('service_role', 'public.whatsapp_outbox', 'insert,update,delete')
          and not has_table_privilege('authenticated', 'public.whatsapp_contacts', 'insert,update,delete')
          and not has_table_privilege('service_role', 'public.whatsapp_contacts', 'insert,update,delete'),
  'nobody writes the tables but their functions');
select is((select array_agg(p.oid::regprocedure::text order by p.oid::regprocedure::text) from pg_proc p
            where p.proname like 'whatsapp\_%' and (p.pronamespace = 'private'::regnamespace or (p.pronamespace = 'api_private'::regnamespace and p.proname like 'whatsapp\_outbox\_%'))
              and has_function_privilege('service_role', p.oid, 'execute')),
  array['api_private.whatsapp_outbox_replay(uuid)', 'private.whatsapp_contact_open(text,text,text)',
        'private.whatsapp_enqueue(text,text,jsonb,text)', 'private.whatsapp_notify_user(uuid,jsonb)',
        'private.whatsapp_number_change_plan(text,text,text,timestamp with time zone)',
        'private.whatsapp_number_change_record(text,text,text,timestamp with time zone,uuid,text,text,text[])',
        'private.whatsapp_outbox_due(integer)', 'private.whatsapp_outbox_lease(uuid[],integer)',
        'private.whatsapp_outbox_record(uuid,text,text,text,integer,jsonb)', 'private.whatsapp_set_opted_out(text,boolean)'],
  'service_role executes the platform''s functions (and not the status trigger)');
select is((select array_agg(p.oid::regprocedure::text) from pg_proc p
            where p.proname like 'whatsapp\_%' and (p.pronamespace = 'private'::regnamespace or (p.pronamespace = 'api_private'::regnamespace and p.proname like 'whatsapp\_outbox\_%'))
              and (has_function_privilege('anon', p.oid, 'execute') or has_function_privilege('authenticated', p.oid, 'execute'))),
  array['api_private.whatsapp_outbox_replay(uuid)'], 'of them, only the admin replay is open to signed-in callers (it checks the role)');
-- The outbox's row shape check (its table's constraint, executed by nobody but the owner) is
-- no entry point: it runs as the writer, like the ledger's.
select is((select count(*) from pg_proc p
            where p.proname like 'whatsapp\_%' and (p.pronamespace = 'private'::regnamespace or (p.pronamespace = 'api_private'::regnamespace and p.proname like 'whatsapp\_outbox\_%'))
              and p.oid <> 'private.whatsapp_outbox_shape_ok'::regproc
              and (not p.prosecdef or not ('search_path=""' = any (coalesce(p.proconfig, '{}'))))),
  0::bigint, 'every one is security definer with an empty search_path');

-- ---------------------------------------------------------------- contacts
select pg_temp.become('alice');
select throws_ok($$ select * from private.whatsapp_contact_open('250788000001', 'Alice', 'RWF') $$, '42501', null,
  'a user cannot open a contact');
reset role;
select pg_temp.become('service');
select results_eq($$ select user_id, opted_out, created from private.whatsapp_contact_open('250788000001', 'Alice', 'RWF') $$,
  $$ values ('a1900000-0000-4000-8000-000000000001'::uuid, false, true) $$, 'first contact: for the user whose confirmed phone is the wa_id');
select results_eq($$ select user_id, created from private.whatsapp_contact_open('250788000002', 'Bob', 'RWF') $$,
  $$ values ('a1900000-0000-4000-8000-000000000002'::uuid, true) $$, 'and for another');
select results_eq($$ select user_id, created from private.whatsapp_contact_open('250788000001', 'Alice K', 'RWF') $$,
  $$ values ('a1900000-0000-4000-8000-000000000001'::uuid, false) $$, 'a later message finds the contact');
select is((select profile_name from public.whatsapp_contacts where wa_id = '250788000001'), 'Alice K', 'and records the new profile name');
select is((select array_agg(currency) from public.wallet_accounts where owner_id = 'a1900000-0000-4000-8000-000000000001'),
  array['RWF']::text[], 'the first contact opened one wallet account in the default currency, later ones none');
select is_empty($$ select * from private.whatsapp_contact_open('250788000009', null, 'RWF') $$,
  'no user with that phone: no row (the caller creates the user)');
select is_empty($$ select * from private.whatsapp_contact_open('250788000005', 'Victim', 'RWF') $$,
  'a user who holds that phone unconfirmed (a sign-up anyone could make): no row, never linked');
select is((select count(*) from public.wallet_accounts where owner_id = 'a1900000-0000-4000-8000-000000000005'), 0::bigint,
  'and no wallet account opened for that user');
select throws_ok($$ select * from private.whatsapp_contact_open('+250788000003', null, 'RWF') $$, '22023',
  'wa_id must be 7 to 15 digits (E.164 without +)', 'a wa_id with + : 22023');
select throws_ok($$ select * from private.whatsapp_contact_open('250788000003', null, 'rwf') $$, '22023',
  'currency rwf is not an ISO 4217 code', 'a bad currency: 22023');
select lives_ok($$ select * from private.whatsapp_contact_open('250788000003', repeat('n', 255), 'RWF') $$,
  'a profile name of 255 characters');
select throws_ok($$ select * from private.whatsapp_contact_open('250788000006', repeat('n', 256), 'RWF') $$, '22023',
  'p_profile_name must be at most 255 characters', 'one more: 22023');
select is((select count(*) from public.whatsapp_contacts where wa_id in ('250788000009', '250788000005', '250788000006')), 0::bigint,
  'and the refused calls wrote no contact');
reset role;

select pg_temp.become('alice');
select results_eq($$ select wa_id from public.whatsapp_contacts $$, $$ values ('250788000001') $$, 'alice reads her own contact only');
select is((select count(*) from public.whatsapp_outbox), 0::bigint, 'and no outbox row');
reset role;
select pg_temp.become('support');
select is((select count(*) from public.whatsapp_contacts where wa_id like '25078800000_'), 0::bigint,
  'support reads no contact: a contact is the user''s alone');
reset role;
select pg_temp.become('admin');
select is((select count(*) from public.whatsapp_contacts where wa_id like '25078800000_'), 0::bigint, 'nor does an admin');
reset role;

-- ---------------------------------------------------------------- contacts follow the phone
-- A user whose confirmed phone changes (Auth's verified phone change, or an admin's update)
-- loses the old number's contact: whoever has that number now does not reach the wallet.
select pg_temp.become('service');
select private.whatsapp_contact_open('250788000006', 'Fay', 'RWF');
reset role;
update auth.users set phone = '250788000016' where id = 'a1900000-0000-4000-8000-000000000006';
select is((select count(*) from public.whatsapp_contacts where user_id = 'a1900000-0000-4000-8000-000000000006'), 0::bigint,
  'a user''s phone changed: the old number''s contact is gone');
select pg_temp.become('service');
select is_empty($$ select * from private.whatsapp_contact_open('250788000006', null, 'RWF') $$,
  'and a message from the old number finds no user (the caller creates one for it)');
select results_eq($$ select user_id, created from private.whatsapp_contact_open('250788000016', null, 'RWF') $$,
  $$ values ('a1900000-0000-4000-8000-000000000006'::uuid, true) $$, 'a message from the new number is the user''s contact');
select is((select count(*) from public.wallet_accounts where owner_id = 'a1900000-0000-4000-8000-000000000006'), 1::bigint,
  'with the wallet account it had');
reset role;
update auth.users set phone_confirmed_at = null where id = 'a1900000-0000-4000-8000-000000000006';
select is((select count(*) from public.whatsapp_contacts where user_id = 'a1900000-0000-4000-8000-000000000006'), 0::bigint,
  'a phone no longer confirmed: the contact is gone');
update auth.users set phone_confirmed_at = now() where id = 'a1900000-0000-4000-8000-000000000003';
select is((select count(*) from public.whatsapp_contacts where user_id = 'a1900000-0000-4000-8000-000000000003'), 1::bigint,
  'a confirmation renewed for the same phone keeps the contact');

-- ---------------------------------------------------------------- enqueue and notify
select pg_temp.become('service');
select isnt(private.whatsapp_enqueue('250788000001', 'text', '{"type":"text","text":{"body":"hi"}}', 'reply'), null, 'a reply is queued');
select results_eq($$ select kind, purpose, status, attempts from public.whatsapp_outbox where wa_id = '250788000001' $$,
  $$ values ('text', 'reply', 'queued', 0) $$, 'as a queued text reply with no attempt');
select private.whatsapp_enqueue('250788000001', 'text',
  '{"messaging_product":"whatsapp","to":"250788000001","type":"text","text":{"body":"x"}}', 'reply') as full_body \gset
select is((select body from public.whatsapp_outbox where id = :'full_body'), '{"type":"text","text":{"body":"x"}}'::jsonb, 'messaging_product and to are not stored: the sender adds them');
select throws_ok($$ select private.whatsapp_enqueue('250788000001', 'text', '{"type":"interactive","interactive":{}}', 'reply') $$, '22023',
  'body must be a Cloud API message object whose type is the kind', 'a body of another type than the kind: 22023');
select throws_ok($$ select private.whatsapp_enqueue('250788000001', 'audio', '{"type":"audio","audio":{}}', 'reply') $$, '22023',
  'kind must be text, interactive or template', 'an unknown kind: 22023');
select throws_ok($$ select private.whatsapp_enqueue('250788000001', 'text', '{"type":"text","text":{}}', 'marketing') $$, '22023',
  'purpose must be reply or notification', 'an unknown purpose: 22023');
select lives_ok(format($$ select private.whatsapp_enqueue('250788000001', 'text', %L, 'reply') $$,
    jsonb_build_object('type', 'text', 'text', jsonb_build_object('body', repeat('b', 4096 - 38)))),
  'a body of 4096 bytes of JSON');
select throws_ok(format($$ select private.whatsapp_enqueue('250788000001', 'text', %L, 'reply') $$,
    jsonb_build_object('type', 'text', 'text', jsonb_build_object('body', repeat('b', 4096 - 37)))), '22023',
  'p_body must be at most 4096 bytes of JSON', 'one byte more: 22023');
reset role;
update public.whatsapp_contacts set opted_out = true where wa_id = '250788000002';
select pg_temp.become('service');
select is(private.whatsapp_enqueue('250788000002', 'text', '{"type":"text","text":{"body":"money"}}', 'notification'), null,
  'a notification to an opted-out contact: null');
select isnt(private.whatsapp_enqueue('250788000002', 'text', '{"type":"text","text":{"body":"ok"}}', 'reply'), null,
  'a reply to them still goes');
select is(private.whatsapp_notify_user('a1900000-0000-4000-8000-000000000002', '{"type":"text","text":{"body":"money"}}'), null,
  'notify_user of an opted-out contact: null');
select is(private.whatsapp_notify_user('a1900000-0000-4000-8000-0000000000ad', '{"type":"text","text":{"body":"money"}}'), null,
  'notify_user of a user without a contact: null');
select is((select count(*) from public.whatsapp_outbox where purpose = 'notification'), 0::bigint, 'none of them wrote a row');
select private.whatsapp_notify_user('a1900000-0000-4000-8000-000000000001', '{"type":"text","text":{"body":"received"}}') as notified \gset
select is((select purpose || ' ' || wa_id from public.whatsapp_outbox where id = :'notified'),
  'notification 250788000001', 'notify_user of a contact queues a notification to its wa_id');
reset role;
select pg_temp.become('alice');
select throws_ok($$ select private.whatsapp_enqueue('250788000001', 'text', '{"type":"text","text":{"body":"hi"}}', 'reply') $$, '42501', null,
  'a user cannot queue a message');
reset role;

-- ---------------------------------------------------------------- lease and outcomes
delete from public.whatsapp_outbox;
select pg_temp.become('service');
select private.whatsapp_enqueue('250788000001', 'text', '{"type":"text","text":{"body":"one"}}', 'reply') as m1 \gset
select private.whatsapp_enqueue('250788000001', 'text', '{"type":"text","text":{"body":"two"}}', 'notification') as m2 \gset
select private.whatsapp_enqueue('250788000001', 'text', '{"type":"text","text":{"body":"three"}}', 'reply') as m3 \gset
select results_eq(format($$ select count(*)::int from private.whatsapp_outbox_due(10) as d (id) where d.id = any (array[%L, %L, %L]::uuid[]) $$, :'m1', :'m2', :'m3'),
  $$ values (3) $$, 'the three are due');
select results_eq(format($$ select attempts, language from private.whatsapp_outbox_lease(array[%L]::uuid[], 60) $$, :'m1'),
  $$ values (1, 'en') $$, 'the first sender leases m1 (attempt 1)');
select is((select count(*) from private.whatsapp_outbox_lease(array[:'m1']::uuid[], 60)), 0::bigint,
  'a second sender offering m1 gets nothing while it is leased');
select results_eq(format($$ select status, wamid, lease_until from private.whatsapp_outbox_record(%L, 'sent', 'wamid.m1') $$, :'m1'),
  $$ values ('sent', 'wamid.m1', null::timestamptz) $$, 'sent: status sent with the wamid, lease released');
select is((private.whatsapp_outbox_record(:'m1', 'dead', null, 'late')).status, 'sent', 'a record for a row no longer sending changes nothing');
select throws_ok(format($$ select private.whatsapp_outbox_record(%L, 'sent') $$, :'m2'), '22023',
  'a wamid is given exactly when the message was sent', 'sent without a wamid: 22023');
select is((select count(*) from private.whatsapp_outbox_lease(array[:'m2', :'m3']::uuid[], 60)), 2::bigint, 'm2 and m3 leased');
select results_eq(format($$ select status, attempts, next_attempt_at > now() + interval '29 seconds', last_error
                             from private.whatsapp_outbox_record(%L, 'retry', null, 'throughput (130429)', 30) $$, :'m2'),
  $$ values ('queued', 1, true, 'throughput (130429)') $$, 'retry: queued again after the backoff, with the error');
select is((select count(*) from private.whatsapp_outbox_lease(array[:'m2']::uuid[], 60)), 0::bigint, 'not leased again before its time');
select is((private.whatsapp_outbox_record(:'m3', 'dead', null, 'invalid parameter (100)')).status, 'dead', 'dead');

-- ---------------------------------------------------------------- status webhooks
select public.whatsapp_message_status_apply('wamid.m1', 'read', now()) is not null as applied \gset
select is((select status from public.whatsapp_outbox where id = :'m1'), 'read', 'a read status moves the row to read');
select public.whatsapp_message_status_apply('wamid.m1', 'delivered', now()) is not null as applied \gset
select is((select status from public.whatsapp_outbox where id = :'m1'), 'read', 'a late delivered after read leaves it read');
-- A status that overtakes the sender: delivered is known before the wamid is recorded.
select private.whatsapp_enqueue('250788000001', 'text', '{"type":"text","text":{"body":"four"}}', 'reply') as m4 \gset
select is((select count(*) from private.whatsapp_outbox_lease(array[:'m4']::uuid[], 60)), 1::bigint, 'm4 leased');
select public.whatsapp_message_status_apply('wamid.m4', 'delivered', now()) is not null as applied \gset
select is((private.whatsapp_outbox_record(:'m4', 'sent', 'wamid.m4')).status, 'delivered',
  'recorded as sent after its delivered status came: delivered');
-- A notification Meta fails outside the 24-hour window (131047) is queued again as the
-- template, keeping the message it was: the template's parameter says what it said.
select private.whatsapp_enqueue('250788000001', 'text', '{"type":"text","text":{"body":"You received RWF 500"}}', 'notification') as m5 \gset
select count(*) from private.whatsapp_outbox_lease(array[:'m5']::uuid[], 60);
select is((private.whatsapp_outbox_record(:'m5', 'sent', 'wamid.m5')).status, 'sent', 'm5 sent');
select public.whatsapp_message_status_apply('wamid.m5', 'failed', now(), null, null, '[{"code": 131047}]') is not null as applied \gset
select results_eq(format($$ select status, kind, body, wamid from public.whatsapp_outbox where id = %L $$, :'m5'),
  $$ values ('queued', 'template',
             '{"type": "template", "notification": {"type": "text", "text": {"body": "You received RWF 500"}}}'::jsonb, null::text) $$,
  'failed with 131047: queued again as the template, with the notification it stands for');
reset role;

-- ---------------------------------------------------------------- admin replay
select pg_temp.become('support');
select throws_ok(format($$ select api_private.whatsapp_outbox_replay(%L) $$, :'m3'), '42501', null, 'support cannot replay');
select is((select count(*) from public.whatsapp_outbox where id = :'m3'), 1::bigint, 'support reads the outbox');
reset role;
select pg_temp.become('admin');
select results_eq(format($$ select status, attempts from api_private.whatsapp_outbox_replay(%L) $$, :'m3'),
  $$ values ('queued', 0) $$, 'an admin replays a dead message: queued with no attempts');
select throws_ok(format($$ select api_private.whatsapp_outbox_replay(%L) $$, :'m1'), 'WL008', null, 'a message that is not dead: WL008');
select throws_ok($$ select api_private.whatsapp_outbox_replay('a1900000-0000-4000-8000-00000000ffff') $$, 'WL007', null, 'an unknown one: WL007');
reset role;

-- ---------------------------------------------------------------- a row at its bound of attempts
-- A row at the row's bound of 100 attempts (its senders kept dying before Meta answered, and
-- only an answer makes a row dead) whose sender died again: once its lease runs out it is
-- leased again, with the other due rows, instead of failing every lease of the batches it is in.
select pg_temp.become('service');
select private.whatsapp_enqueue('250788000001', 'text', '{"type":"text","text":{"body":"six"}}', 'notification') as m6 \gset
select private.whatsapp_enqueue('250788000001', 'text', '{"type":"text","text":{"body":"seven"}}', 'notification') as m7 \gset
reset role;
update public.whatsapp_outbox set attempts = 99 where id = :'m6';
select pg_temp.become('service');
select count(*) from private.whatsapp_outbox_lease(array[:'m6']::uuid[], 60);
reset role;
update public.whatsapp_outbox set lease_until = now() - interval '1 second' where id = :'m6';
select pg_temp.become('service');
select results_eq(format($$ select attempts from private.whatsapp_outbox_lease(array[%L, %L]::uuid[], 60) order by attempts $$,
                         :'m6', :'m7'),
  $$ values (1), (100) $$, 'a row at the bound whose sender died is leased again there, and the batch with it');
reset role;

-- ---------------------------------------------------------------- number changes
-- Meta's user_changed_number notices: each a row (RLS forced, audited, written only by the
-- two functions), replayed ones acted on never again, a newer one that came first followed by
-- the older one, and one older than a recorded move superseded.
select results_eq($$ select relrowsecurity and relforcerowsecurity from pg_class where oid = 'public.whatsapp_number_changes'::regclass $$,
  $$ values (true) $$, 'whatsapp_number_changes has RLS enabled and forced');
select ok(not has_table_privilege('anon', 'public.whatsapp_number_changes', 'select')
          and not has_table_privilege('authenticated', 'public.whatsapp_number_changes', 'insert,update,delete')
          and not has_table_privilege('service_role', 'public.whatsapp_number_changes', 'insert,update,delete'),
  'anon reads no number change, and nobody writes one but its functions');
insert into auth.users (id, phone, phone_confirmed_at, raw_app_meta_data) values
  ('a1900000-0000-4000-8000-0000000000c1', '250788000071', now(), '{"provider":"phone","providers":["phone"]}');
select pg_temp.become('service');
select count(*) from private.whatsapp_contact_open('250788000071', 'Carol', 'RWF');
select throws_ok($$ select * from private.whatsapp_number_change_plan('wamid.nc-x', '250788000071', '250788000071', now()) $$,
  '22023', null, 'a change to the same number is 22023');
-- The later change (072 to 073) comes first: 072 reaches nobody yet, and it is kept.
select results_eq($$ select outcome, user_id from private.whatsapp_number_change_plan('wamid.nc-2', '250788000072', '250788000073',
                                                                                         '2026-12-07 10:01+00') $$,
  $$ values ('no_contact', null::uuid) $$, 'a notice whose old number reaches nobody: no_contact');
select results_eq($$ select outcome from private.whatsapp_number_change_plan('wamid.nc-2', '250788000072', '250788000073', now()) $$,
  $$ values ('replayed') $$, 'the same notice again: replayed, acted on never again');
-- The earlier change (071 to 072) follows it: Carol is to move to 073, the number she holds last.
select results_eq($$ select outcome, user_id, moved_to, chain
                      from private.whatsapp_number_change_plan('wamid.nc-1', '250788000071', '250788000072', '2026-12-07 10:00+00') $$,
  $$ values ('move', 'a1900000-0000-4000-8000-0000000000c1'::uuid, '250788000073', array['wamid.nc-2']) $$,
  'the older notice moves its user on to the number of the newer one that came first');
select private.whatsapp_number_change_record('wamid.nc-1', '250788000071', '250788000072', '2026-12-07 10:00+00',
                                             'a1900000-0000-4000-8000-0000000000c1', 'moved', '250788000073', array['wamid.nc-2']);
reset role;
update auth.users set phone = '250788000073' where id = 'a1900000-0000-4000-8000-0000000000c1';
select pg_temp.become('service');
select count(*) from private.whatsapp_contact_open('250788000073', 'Carol', 'RWF');
select results_eq($$ select notice_wamid, user_id, outcome, moved_to from public.whatsapp_number_changes
                     where notice_wamid like 'wamid.nc-%' order by notice_wamid $$,
  $$ values ('wamid.nc-1', 'a1900000-0000-4000-8000-0000000000c1'::uuid, 'moved', '250788000073'),
            ('wamid.nc-2', 'a1900000-0000-4000-8000-0000000000c1'::uuid, 'moved', '250788000073') $$,
  'both notices are recorded as moving Carol to 073');
select results_eq($$ select outcome from private.whatsapp_number_change_plan('wamid.nc-3', '250788000073', '250788000074',
                                                                               '2026-12-07 09:59+00') $$,
  $$ values ('superseded') $$, 'a notice older than a recorded move of the user: superseded, nothing to do');
-- The same notice in two deliveries at once: the second's Admin API call found the phone taken
-- (by the first's move) and recorded first; the move recorded after it is what the row says.
select private.whatsapp_number_change_record('wamid.nc-4', '250788000074', '250788000075', '2026-12-07 11:00+00',
                                             'a1900000-0000-4000-8000-0000000000c1', 'new_number_taken', null, null);
select private.whatsapp_number_change_record('wamid.nc-4', '250788000074', '250788000075', '2026-12-07 11:00+00',
                                             'a1900000-0000-4000-8000-0000000000c1', 'moved', '250788000075', null);
select results_eq($$ select outcome, moved_to from public.whatsapp_number_changes where notice_wamid = 'wamid.nc-4' $$,
  $$ values ('moved', '250788000075') $$, 'a move recorded after the same notice''s new_number_taken is the record');
reset role;
select is((select count(*) from audit.log where table_name = 'whatsapp_number_changes' and new_record ->> 'notice_wamid' like 'wamid.nc-%'),
  6::bigint, 'each row written and changed is in the audit log');
select set_config('request.jwt.claims', '{"sub":"a1900000-0000-4000-8000-0000000000c1","role":"authenticated"}', true);
set local role authenticated;
select is((select count(*) from public.whatsapp_number_changes), 4::bigint, 'the user reads their own number changes');
reset role;
select pg_temp.become('bob');
select is((select count(*) from public.whatsapp_number_changes), 0::bigint, 'another user reads none');
reset role;
select pg_temp.become('support');
select is((select count(*) from public.whatsapp_number_changes where notice_wamid like 'wamid.nc-%'), 4::bigint, 'support reads them all');
reset role;

-- ---------------------------------------------------------------- schedule
select is((select count(*) from cron.job where jobname = 'mfuko-whatsapp-send' and schedule = '10 seconds'),
          (select count(*) from cron.job where jobname = 'mfuko-momo-poll'),
  'whatsapp-send runs every 10 seconds wherever the jobs function is scheduled');

select * from finish();
rollback;
