-- WhatsApp messages that died (every attempt failed) in the daily reconcile report: each counted
-- by the first report after it died, none that is queued, sent, failed at Meta or died before
-- the last report of an earlier day; a report with nothing else to say alerts the admins too.
begin;
select plan(8);

select tests.create_users('{}', admins => '{admin}');
insert into public.whatsapp_contacts (wa_id, user_id) values ('250788710001', tests.user_id('admin'));
-- Yesterday's report, made a day ago.
insert into private.reconciliation_reports (report_date, created_at, invariant_violations, reconciliation_findings)
values ((now() at time zone 'utc')::date - 1, now() - interval '1 day', '[]', '[]');
insert into public.whatsapp_outbox (wa_id, kind, body, purpose, status, attempts, last_error, created_at, updated_at)
select '250788710099', 'text', '{"type": "text", "text": {"body": "You received 500 RWF"}}', m.purpose, m.status, m.attempts,
       m.last_error, now() - m.died_ago - interval '10 minutes', now() - m.died_ago
  from (values ('notification', 'dead', 5, 'Graph API answered 503', interval '1 hour'),
               ('reply', 'dead', 1, 'Graph API answered 400 (131026)', interval '20 hours'),
               ('notification', 'dead', 5, 'Graph API answered 503', interval '2 days'),
               ('notification', 'failed', 1, 'Meta reported failed (131047)', interval '1 hour'),
               ('notification', 'queued', 2, 'Graph API answered 503', interval '1 minute'))
       as m (purpose, status, attempts, last_error, died_ago);

select tests.as_service();
select results_eq(
  $$ select invariant_violations, reconciliation_findings, undelivered_messages, alerts_queued from api_private.reconcile() $$,
  $$ values (0, 0, 2, 1) $$,
  'the two messages that died since yesterday''s report are counted (not the older one, the failed or the queued one), and alert');
select tests.reset_role();
select is((select findings from private.reconciliation_reports where report_date = (now() at time zone 'utc')::date), 2,
  'they are the report''s findings');
select is((select body -> 'text' ->> 'body' from public.whatsapp_outbox where wa_id = '250788710001'),
  format('mfuko reconcile %s: 0 ledger invariant violation(s), 0 provider reconciliation finding(s), '
         '2 WhatsApp message(s) dead since the last report (GET /admin/whatsapp-outbox?status=dead replays them). '
         'The day''s report is in private.reconciliation_reports.', to_char(now() at time zone 'utc', 'YYYY-MM-DD')),
  'the alert says how many and where they are replayed');

-- A second run the same day counts the same window: its report replaces the first.
select tests.as_service();
select is((select undelivered_messages from api_private.reconcile()), 2, 'a second run that day counts them again');
select tests.reset_role();
select is((select count(*) from private.reconciliation_reports where report_date = (now() at time zone 'utc')::date), 1::bigint,
  'and replaces the day''s report');

-- A replayed message that dies again is counted again.
update public.whatsapp_outbox set status = 'queued', attempts = 0, next_attempt_at = now()
 where wa_id = '250788710099' and status = 'dead' and updated_at < now() - interval '1 day';
update public.whatsapp_outbox set status = 'sending' where wa_id = '250788710099' and status = 'queued' and attempts = 0;
update public.whatsapp_outbox set status = 'dead', attempts = 5 where wa_id = '250788710099' and status = 'sending';
select tests.as_service();
select is((select undelivered_messages from api_private.reconcile()), 3, 'the replayed message that died again is counted again');
select tests.reset_role();

-- Without an earlier report, every dead message is counted.
delete from private.reconciliation_reports;
select tests.as_service();
select is((select undelivered_messages from api_private.reconcile()), 3, 'the first report counts every dead message');
select tests.reset_role();

-- Nothing dead since the last report: no finding, no alert.
update private.reconciliation_reports set report_date = report_date - 1;
select tests.as_service();
select results_eq($$ select undelivered_messages, alerts_queued from api_private.reconcile() $$, $$ values (0, 0) $$,
  'messages already reported are not reported again, and a report without findings alerts nobody');
select tests.reset_role();

select * from finish();
rollback;
