-- The RLS matrix of docs/PAYMENTS.md, cell by cell: anon, owner, other user, admin,
-- support and service_role x select/insert/update/delete on each of the ten financial
-- tables and the cash-outs, plus the two webhook tables that no user may read.
begin;
select plan(313);

select tests.create_users('{owner, other}', admins => '{admin}', support => '{support}');

-- One row of the owner in every table, written the way production writes it.
select tests.open_account('owner', 'USD') as account \gset
select id as payment, wallet_transaction_id as credit, intent_id as intent
  from tests.credited_payment('stripe', :'account', 5000, 'USD', 'pi_rls_matrix') \gset
select id as refund from public.refund_record(:'payment', 1000, 're_rls_matrix') \gset
select id as cashout from tests.pending_cashout('owner', :'account', 1000, 'USD', '256772000001', 'rls-cashout') \gset
select id as entry from public.wallet_entries where account_id = :'account' limit 1 \gset
insert into public.momo_transactions (reference_id, intent_id, amount, currency)
  values ('7f2b9c1e-3d4a-4b5c-8d6e-0f1a2b3c4d5e', :'intent', 5000, 'USD') returning id as momo \gset
insert into public.revolut_transactions (revolut_id, intent_id, state, amount, currency)
  values ('rev_rls_matrix', :'intent', 'pending', 5000, 'USD') returning id as revolut \gset
insert into public.subscriptions (stripe_subscription_id, stripe_customer_id, user_id, status)
  values ('sub_rls_matrix', 'cus_rls', tests.user_id('owner'), 'active') returning id as subscription \gset
insert into public.invoices (stripe_invoice_id, stripe_customer_id, user_id, status, currency)
  values ('in_rls_matrix', 'cus_rls', tests.user_id('owner'), 'open', 'USD') returning id as invoice \gset
select id as event from public.webhook_event_begin('stripe', 'evt_rls_matrix', 'payment_intent.succeeded', '{}') \gset
select id as message from public.whatsapp_message_status_apply('wamid.rls', 'sent', now()) \gset

-- Runs one statement as a caller and reports 'rows:<n>' or 'error:<sqlstate>'.
create function pg_temp.run_as(p_caller text, p_sql text) returns text
language plpgsql
as $$
declare
  v_rows bigint;
begin
  perform tests.as_caller(p_caller);
  if p_sql like 'select%' then
    execute p_sql into v_rows;
  else
    execute p_sql;
    get diagnostics v_rows = row_count;
  end if;
  perform tests.reset_role();
  return 'rows:' || v_rows;
exception
  when others then
    return 'error:' || sqlstate;
end;
$$;

-- The owner's row of each table, and the column an update sets to itself. An insert is
-- `default values`, except into the mirror tables: there it is a valid row, so that the grant
-- (not a constraint) decides.
create temporary table subject (tbl text, row_id text, mirror boolean, updated_column text, valid_insert text);
insert into subject values
  ('wallet_accounts', :'account', false, 'balance', null),
  ('wallet_transactions', :'credit', false, 'description', null),
  ('wallet_entries', :'entry', false, 'amount', null),
  ('payment_intents', :'intent', false, 'failure_reason', null),
  ('payments', :'payment', false, 'fee', null),
  ('refunds', :'refund', false, 'reason', null),
  ('momo_transactions', :'momo', true, 'reason',
   'insert into public.momo_transactions (reference_id, amount, currency) values (gen_random_uuid(), 1, ''USD'')'),
  ('revolut_transactions', :'revolut', true, 'event',
   'insert into public.revolut_transactions (revolut_id, state) values (gen_random_uuid()::text, ''pending'')'),
  ('subscriptions', :'subscription', true, 'price_id',
   'insert into public.subscriptions (stripe_subscription_id, stripe_customer_id, status) values (''sub_'' || gen_random_uuid(), ''cus_x'', ''active'')'),
  ('invoices', :'invoice', true, 'amount_due',
   'insert into public.invoices (stripe_invoice_id, stripe_customer_id, status, currency) values (''in_'' || gen_random_uuid(), ''cus_x'', ''open'', ''USD'')'),
  ('cashouts', :'cashout', false, 'reason', null),
  ('webhook_events', :'event', false, 'last_error', null),
  ('whatsapp_messages', :'message', false, 'body', null);
grant select on subject to public;

create temporary table cell as
select s.tbl, c.caller, k.command,
       case k.command
         when 'select' then format('select count(*) from public.%I where id = %L', s.tbl, s.row_id)
         when 'insert' then coalesce(s.valid_insert, format('insert into public.%I default values', s.tbl))
         when 'update' then format('update public.%1$I set %2$I = %2$I where id = %3$L', s.tbl, s.updated_column, s.row_id)
         when 'delete' then format('delete from public.%I where id = %L', s.tbl, s.row_id)
       end as sql,
       case
         when c.caller = 'anon' then 'error:42501'
         when k.command = 'select' and c.caller = 'other' then 'rows:0'
         -- Webhook plumbing is not user data: only staff and the service read it.
         when k.command = 'select' and c.caller = 'owner' and s.tbl in ('webhook_events', 'whatsapp_messages') then 'rows:0'
         when k.command = 'select' then 'rows:1'
         when c.caller = 'service' and k.command in ('insert', 'update') and s.mirror then 'rows:1'
         when c.caller = 'service' and k.command in ('insert', 'update') and s.tbl = 'whatsapp_messages' then 'rows:1'
         else 'error:42501'
       end as expected,
       s.tbl = 'whatsapp_messages' and k.command = 'insert' and c.caller = 'service' as needs_valid_row
  from subject s
  cross join (values ('anon'), ('owner'), ('other'), ('admin'), ('support'), ('service')) as c (caller)
  cross join (values ('select'), ('insert'), ('update'), ('delete')) as k (command);

-- service_role writes messages directly: its insert is a valid inbound message.
update cell set sql = 'insert into public.whatsapp_messages (wamid, direction, status) values (gen_random_uuid()::text, ''inbound'', ''received'')'
 where needs_valid_row;

-- RLS is enabled and forced on every table of the matrix, so not even the tables' owner
-- reads or writes past the policies.
select is(
  (select array_agg(s.tbl order by s.tbl)
     from subject s
     join pg_class c on c.oid = format('public.%I', s.tbl)::regclass
    where not (c.relrowsecurity and c.relforcerowsecurity)),
  null::text[],
  'row level security is enabled and forced on every financial and webhook table');

select is(pg_temp.run_as(caller, sql), expected, format('%s: %s %s', tbl, caller, command))
  from cell
 order by tbl, caller, command;

select * from finish();
rollback;
