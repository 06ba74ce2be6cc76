-- The WhatsApp conversation's SQL: pending payments (RLS: the payer reads its own), proposed
-- and decided only by their payer, confirmed once within five minutes as a wallet_transfer in
-- the payer's scope, refusals that change nothing; the sender's history; stop/start; the
-- notifications written with each effect (transfers, top-ups, cash-outs, refunds), none to an
-- opted-out contact; amounts in words; who may call what and the sizes of the arguments.
begin;
select plan(117);

-- Users as Supabase Auth stores a confirmed phone sign-up; the fourth signed up without a phone.
insert into auth.users (id, phone, phone_confirmed_at, raw_app_meta_data)
select u.id::uuid, u.phone, case when u.phone is not null then now() end,
       case when u.phone is null then '{}' else '{"provider":"phone","providers":["phone"]}' end::jsonb
  from (values ('c1900000-0000-4000-8000-000000000001', '256772000001'), ('c1900000-0000-4000-8000-000000000002', '256772000002'),
               ('c1900000-0000-4000-8000-000000000003', '256772000003'), ('c1900000-0000-4000-8000-000000000004', null)) as u (id, phone);
-- alice, bob and carol write on WhatsApp (their UGX accounts open with the contact); dave
-- has a wallet but never wrote.
do $$
begin
  perform private.whatsapp_contact_open('256772000001', 'Alice', 'UGX');
  perform private.whatsapp_contact_open('256772000002', 'Bob', 'UGX');
  perform private.whatsapp_contact_open('256772000003', null, 'EUR');
  insert into public.wallet_accounts (owner_id, kind, currency) values ('c1900000-0000-4000-8000-000000000004', 'user', 'UGX');
  perform public.wallet_deposit((select id from public.wallet_accounts where owner_id = 'c1900000-0000-4000-8000-000000000001'),
                                100000, 'UGX', 'momo', 'conversation-fund');
  delete from public.whatsapp_outbox;
end $$;
select id as alice_account from public.wallet_accounts where owner_id = 'c1900000-0000-4000-8000-000000000001' \gset
select id as bob_account from public.wallet_accounts where owner_id = 'c1900000-0000-4000-8000-000000000002' \gset
select id as dave_account from public.wallet_accounts where owner_id = 'c1900000-0000-4000-8000-000000000004' \gset

create function pg_temp.become(p_caller text) returns void
language plpgsql
as $$
begin
  perform set_config('request.jwt.claims', case p_caller
    when 'alice' then '{"sub":"c1900000-0000-4000-8000-000000000001","role":"authenticated"}'
    when 'bob' then '{"sub":"c1900000-0000-4000-8000-000000000002","role":"authenticated"}'
    else '{"role":"service_role"}' end, true);
  execute 'set local role ' || case p_caller when 'service' then 'service_role' when 'anon' then 'anon' else 'authenticated' end;
end;
$$;
grant execute on function pg_temp.become(text) to public;

create function pg_temp.available(p_user text) returns bigint
language sql
as $$ select available from public.wallet_accounts where owner_id = p_user::uuid $$;

create function pg_temp.outbox(p_wa_id text) returns setof text
language sql
as $$ select purpose || ': ' || (body -> 'text' ->> 'body') from public.whatsapp_outbox where wa_id = p_wa_id order by id $$;

-- The notices of a MoMo top-up of p_amount (written as the notice writes it): held for review,
-- and credited to the wallet.
create function pg_temp.held_notice(p_amount text) returns text
language sql
as $$
  select format('notification: Your MoMo payment of %s UGX arrived, but it needs a check by our team before it reaches your '
                'wallet. We will tell you when it does, or when the money is returned to you.', p_amount)
$$;
create function pg_temp.credited_notice(p_amount text) returns text
language sql
as $$ select format('notification: Top-up received: %s UGX is in your wallet.', p_amount) $$;

-- ---------------------------------------------------------------- exposure
select ok((select relrowsecurity and relforcerowsecurity from pg_class where oid = 'public.whatsapp_pending_payments'::regclass),
  'whatsapp_pending_payments has RLS enabled and forced');
select ok(not has_table_privilege('anon', 'public.whatsapp_pending_payments', 'select')
          and not has_table_privilege('authenticated', 'public.whatsapp_pending_payments', 'insert,update,delete')
          and not has_table_privilege('service_role', 'public.whatsapp_pending_payments', 'insert,update,delete'),
  'anon reads nothing and nobody writes pending payments but their functions');
select is((select array_agg(p.oid::regprocedure::text order by p.oid::regprocedure::text) from pg_proc p
            where p.pronamespace = 'api_private'::regnamespace and p.proname like 'whatsapp\_%' and p.proname not like 'whatsapp\_outbox\_%'
              and has_function_privilege('authenticated', p.oid, 'execute')),
  array['api_private.whatsapp_balances()', 'api_private.whatsapp_history(integer)', 'api_private.whatsapp_notify_correction(uuid)',
        'api_private.whatsapp_payment_decide(uuid,boolean)', 'api_private.whatsapp_payment_propose(text,bigint,text,text)'],
  'signed-in users execute balances, propose, decide and history, and admins tell their corrections (each checks its caller)');
select ok(not exists (select 1 from pg_proc p
            where p.pronamespace = 'api_private'::regnamespace and p.proname like 'whatsapp\_%' and p.proname not like 'whatsapp\_outbox\_%'
              and (has_function_privilege('anon', p.oid, 'execute') or has_function_privilege('service_role', p.oid, 'execute'))),
  'neither anon nor service_role executes them (they act as the user)');
select ok(has_function_privilege('service_role', 'private.whatsapp_set_opted_out(text,boolean)', 'execute')
          and not has_function_privilege('authenticated', 'private.whatsapp_set_opted_out(text,boolean)', 'execute')
          and not has_function_privilege('anon', 'private.whatsapp_set_opted_out(text,boolean)', 'execute'),
  'only service_role changes notifications (stop/start)');
select ok(not exists (select 1 from pg_proc p
            where p.pronamespace = 'private'::regnamespace
              and p.proname in ('currency_exponent', 'money_text', 'text_message', 'active_user_account', 'notify_contact',
                                'whatsapp_notify_transfers', 'whatsapp_notify_row')
              and (has_function_privilege('anon', p.oid, 'execute') or has_function_privilege('authenticated', p.oid, 'execute')
                   or has_function_privilege('service_role', p.oid, 'execute'))),
  'no API role executes the helpers and notification triggers');

-- ---------------------------------------------------------------- amounts in words
select is(private.money_text(500000, 'UGX'), '500,000 UGX', 'UGX has no minor units');
select is(private.money_text(1250, 'EUR'), '12.50 EUR', 'EUR has two');
select is(private.money_text(5, 'KWD'), '0.005 KWD', 'KWD has three');
select is(private.money_text(100000000, 'USD'), '1,000,000.00 USD', 'thousands are grouped');
select is(private.money_text(-7, 'EUR'), '-0.07 EUR', 'a negative amount keeps its sign');

-- ---------------------------------------------------------------- propose
select pg_temp.become('alice');
select results_eq($$ select outcome from api_private.whatsapp_payment_propose('send', 5000, 'UGX', '256772000004') $$,
  $$ values ('unknown_recipient') $$, 'a number that never wrote to mfuko is an unknown recipient');
select results_eq($$ select outcome from api_private.whatsapp_payment_propose('send', 5000, 'UGX', '256772000003') $$,
  $$ values ('unknown_recipient') $$, 'a contact without an account in the currency gets the same answer');
select results_eq($$ select outcome from api_private.whatsapp_payment_propose('send', 5000, 'UGX', '256772000001') $$,
  $$ values ('self') $$, 'paying oneself is refused');
select results_eq($$ select outcome from api_private.whatsapp_payment_propose('send', 5000, 'EUR', '256772000002') $$,
  $$ values ('no_account') $$, 'no account in the currency: nothing to pay from');
select throws_ok($$ select * from api_private.whatsapp_payment_propose('send', 0, 'UGX', '256772000002') $$,
  'WL006', null, 'a zero amount is WL006');
select throws_ok($$ select * from api_private.whatsapp_payment_propose('send', 100001, 'UGX', '256772000002') $$,
  'WL001', null, 'more than the available balance (100000) is WL001 when asked, not only when confirmed');
select throws_ok($$ select * from api_private.whatsapp_payment_propose('gift', 10, 'UGX', '256772000002') $$,
  '22023', 'p_kind must be send or cashout', 'an unknown kind is 22023');
select throws_ok($$ select * from api_private.whatsapp_payment_propose('cashout', 10, 'UGX', '256772000002') $$,
  '22023', 'p_recipient_wa_id is required for send and only for send', 'a cash-out names no recipient');
select throws_ok(format($$ select * from api_private.whatsapp_payment_propose('send', 10, 'UGX', %L) $$, repeat('1', 256)),
  '22023', 'p_recipient_wa_id must be at most 255 characters', 'p_recipient_wa_id is bounded (256: 22023)');
select results_eq(format($$ select outcome from api_private.whatsapp_payment_propose('send', 10, 'UGX', %L) $$, repeat('1', 255)),
  $$ values ('unknown_recipient') $$, 'p_recipient_wa_id at its bound (255) is read');
select throws_ok(format($$ select * from api_private.whatsapp_payment_propose(%L, 10, 'UGX', null) $$, repeat('k', 256)),
  '22023', 'p_kind must be at most 255 characters', 'p_kind is bounded');
select throws_ok(format($$ select * from api_private.whatsapp_payment_propose('cashout', 10, %L, null) $$, repeat('U', 256)),
  '22023', 'p_currency must be at most 255 characters', 'p_currency is bounded');
select is((select count(*)::int from public.whatsapp_pending_payments), 0, 'no refusal wrote a pending payment');

select results_eq($$ select outcome from api_private.whatsapp_payment_propose('send', 100000, 'UGX', '256772000002') $$,
  $$ values ('proposed') $$, 'the whole available balance may be asked for (the next request replaces it)');
select pending_id as send_id, recipient_name as send_recipient_name
  from api_private.whatsapp_payment_propose('send', 30000, 'UGX', '256772000002') \gset
select is(:'send_recipient_name'::text, 'Bob', 'a proposed send names the recipient''s WhatsApp name, for the payer to check whom it reaches');
select results_eq(format($$ select kind, amount, currency, recipient_wa_id, status, payer_id::text,
                                   expires_at - created_at from public.whatsapp_pending_payments where id = %L $$, :'send_id'),
  $$ values ('send', 30000::bigint, 'UGX', '256772000002', 'pending', 'c1900000-0000-4000-8000-000000000001', interval '5 minutes') $$,
  'proposed: a pending payment of the caller that expires in 5 minutes');
select is(pg_temp.available('c1900000-0000-4000-8000-000000000001'), 100000::bigint, 'nothing moves when a payment is proposed');

select pg_temp.become('bob');
select is((select count(*)::int from public.whatsapp_pending_payments), 0, 'another user reads none of the payer''s pending payments');

-- ---------------------------------------------------------------- decide
select results_eq(format($$ select outcome, kind from api_private.whatsapp_payment_decide(%L, true) $$, :'send_id'),
  $$ values ('not_found', null::text) $$, 'a confirmation by someone else is not_found');
select results_eq($$ select outcome from api_private.whatsapp_payment_decide(gen_random_uuid(), true) $$,
  $$ values ('not_found') $$, 'an unknown id gets the same answer');
reset role;
select is((select status from public.whatsapp_pending_payments where id = :'send_id'), 'pending',
  'the other sender''s confirmation changed nothing');

select pg_temp.become('alice');
select results_eq(format($$ select outcome, kind, amount, recipient_wa_id from api_private.whatsapp_payment_decide(%L, true) $$, :'send_id'),
  $$ values ('confirmed', 'send', 30000::bigint, '256772000002') $$, 'the payer confirms: confirmed');
reset role;
select results_eq(format($$ select t.kind, t.status, t.amount, t.initiated_by::text, t.idempotency_key
                             from public.whatsapp_pending_payments p join public.wallet_transactions t on t.id = p.transaction_id
                            where p.id = %L $$, :'send_id'),
  format($$ values ('transfer', 'posted', 30000::bigint, 'c1900000-0000-4000-8000-000000000001', 'whatsapp:%s') $$, :'send_id'),
  'the transfer is posted in the payer''s scope with the pending payment as its key');
select is(array[pg_temp.available('c1900000-0000-4000-8000-000000000001'), pg_temp.available('c1900000-0000-4000-8000-000000000002')],
  array[70000::bigint, 30000::bigint], 'the money moved once');
select results_eq($$ select * from pg_temp.outbox('256772000002') $$,
  $$ values ('notification: You received 30,000 UGX from +256772000001. Write "balance" to see what you have.') $$,
  'the recipient is notified in the transfer''s transaction');
select results_eq($$ select * from pg_temp.outbox('256772000001') $$, $$ select null::text where false $$,
  'the payer gets no notification (the conversation answers it)');
select ok((select count(*) = 1 from audit.trail where table_name = 'wallet_transactions' and record_id = (select transaction_id::text from public.whatsapp_pending_payments where id = :'send_id') and actor_id = 'c1900000-0000-4000-8000-000000000001'),
  'the audit trail records the transfer with the payer as its actor');

select pg_temp.become('alice');
select results_eq(format($$ select outcome from api_private.whatsapp_payment_decide(%L, true) $$, :'send_id'),
  $$ values ('already_confirmed') $$, 'a second confirmation is already_confirmed');
select results_eq(format($$ select outcome from api_private.whatsapp_payment_decide(%L, false) $$, :'send_id'),
  $$ values ('already_confirmed') $$, 'and cannot cancel it either');
reset role;
select is(pg_temp.available('c1900000-0000-4000-8000-000000000001'), 70000::bigint, 'the second confirmation moved nothing');

-- The one row of p_query run as alice, read into p_value (a null of the type wanted); the
-- superuser again afterwards (a refusal's switch is rolled back with throws_ok).
create function pg_temp.as_alice(p_query text, p_value anyelement) returns anyelement
language plpgsql
as $$
begin
  perform pg_temp.become('alice');
  execute p_query into strict p_value;
  reset role;
  return p_value;
end;
$$;
-- alice proposes to send p_amount UGX to bob's number, or decides p_id.
create function pg_temp.alice_proposes(p_amount bigint) returns uuid
language sql
as $$
  select pg_temp.as_alice(
    format($q$ select pending_id from api_private.whatsapp_payment_propose('send', %s, 'UGX', '256772000002') $q$, p_amount), null::uuid)
$$;
create function pg_temp.alice_decides(p_id uuid, p_confirm boolean) returns text
language sql
as $$
  select pg_temp.as_alice(format('select outcome from api_private.whatsapp_payment_decide(%L, %L)', p_id, p_confirm), null::text)
$$;

-- Refusals of the ledger leave the payment pending, to be confirmed again within its time. The
-- balance falls after the request (a hold of 1), so that the confirmation finds too little.
select pg_temp.alice_proposes(70000) as big_id \gset
select id as big_hold from public.wallet_hold(:'alice_account', 1, 'UGX', 'conversation-big-hold') \gset
select throws_ok(format($$ select pg_temp.alice_decides(%L, true) $$, :'big_id'),
  'WL001', null, 'more than the available funds is WL001');
select is((select status from public.whatsapp_pending_payments where id = :'big_id'), 'pending', 'and the payment stays pending');
select from public.wallet_void(:'big_hold');
-- Over a limit, the request is refused when it is asked for, and counts nothing; a limit
-- lowered in the five minutes refuses the confirmation.
update public.wallet_tier_limits set max_single = 60000 where tier = 'standard' and currency = 'UGX';
create function pg_temp.usage_of(p_account uuid) returns text language sql as $$
  select coalesce((select format('%s today, %s this hour', sent_today, sent_this_hour)
                     from private.wallet_limit_usage where account_id = p_account), 'none')
$$;
select pg_temp.usage_of(:'alice_account') as usage_before \gset
select throws_ok($$ select pg_temp.alice_proposes(65000) $$,
  'WL009', 'single payment limit of 60000 UGX would be exceeded', 'a request over the single payment limit is WL009 naming it');
select is((select count(*)::int from public.whatsapp_pending_payments where amount = 65000), 0, 'and is not put to alice');
select pg_temp.alice_proposes(55000) as limit_id \gset
select is(pg_temp.usage_of(:'alice_account'), :'usage_before', 'neither request counted anything against the limits');
update public.wallet_tier_limits set max_single = 50000 where tier = 'standard' and currency = 'UGX';
select throws_ok(format($$ select pg_temp.alice_decides(%L, true) $$, :'limit_id'),
  'WL009', 'single payment limit of 50000 UGX would be exceeded', 'a limit lowered before the confirmation refuses it: WL009');
update public.wallet_tier_limits set max_single = 5000000 where tier = 'standard' and currency = 'UGX';

-- Expired and canceled.
select pg_temp.alice_proposes(1000) as late_id \gset
update public.whatsapp_pending_payments set expires_at = now() - interval '1 second', created_at = now() - interval '301 seconds'
 where id = :'late_id';
select is(pg_temp.alice_decides(:'late_id', true), 'expired', 'a confirmation after 5 minutes is expired');
select is(pg_temp.available('c1900000-0000-4000-8000-000000000001'), 70000::bigint, 'the late confirmation moved nothing');
select pg_temp.alice_proposes(1000) as cancel_id \gset
select is(pg_temp.alice_decides(:'cancel_id', false), 'canceled', 'Cancel cancels');
select is(pg_temp.alice_decides(:'cancel_id', true), 'already_canceled', 'a canceled payment cannot be confirmed');
select throws_ok(format($$ select pg_temp.alice_decides(%L, null) $$, :'cancel_id'),
  '22023', 'p_confirm must be true or false', 'a decision must be yes or no');

-- One request at a time: a newer proposal replaces the payer's pending one, which then can be
-- neither confirmed nor canceled; a refused proposal replaces nothing.
select pg_temp.alice_proposes(1500) as first_id \gset
select pg_temp.alice_proposes(1500) as second_id \gset
select results_eq(format($$ select status, replaced_by::text from public.whatsapp_pending_payments where id = %L $$, :'first_id'),
  format($$ values ('canceled', %L) $$, :'second_id'), 'a second proposal replaces the first, still pending one');
select is(pg_temp.alice_decides(:'first_id', true), 'replaced', 'the replaced request cannot be confirmed');
select is(pg_temp.alice_decides(:'first_id', false), 'replaced', 'nor canceled');
select pg_temp.become('alice');
select outcome as refused_outcome from api_private.whatsapp_payment_propose('send', 10, 'UGX', '256772000004') \gset
reset role;
select is((select status from public.whatsapp_pending_payments where id = :'second_id'), 'pending',
  'a refused proposal replaces nothing');
select is(pg_temp.alice_decides(:'second_id', false), 'canceled', 'the latest request is decided by its own buttons');
-- The proposal names the request it replaced, for its question to say so; none when none waited.
select pg_temp.become('alice');
select results_eq($$ select outcome, replaced_kind, replaced_amount, replaced_currency, replaced_recipient_wa_id
                       from api_private.whatsapp_payment_propose('cashout', 700, 'UGX') $$,
  $$ values ('proposed', null::text, null::bigint, null::text, null::text) $$,
  'a proposal with no request waiting replaces none');
select results_eq($$ select outcome, replaced_kind, replaced_amount, replaced_currency, replaced_recipient_wa_id
                       from api_private.whatsapp_payment_propose('send', 800, 'UGX', '256772000002') $$,
  $$ values ('proposed', 'cashout', 700::bigint, 'UGX', null::text) $$,
  'a proposal names the cash-out it replaced');
select results_eq($$ select replaced_kind, replaced_amount, replaced_recipient_wa_id
                       from api_private.whatsapp_payment_propose('send', 900, 'UGX', '256772000002') $$,
  $$ values ('send', 800::bigint, '256772000002') $$,
  'and the payment it replaced, with its recipient');
reset role;
update public.whatsapp_pending_payments set status = 'canceled', decided_at = now()
 where payer_id = 'c1900000-0000-4000-8000-000000000001' and status = 'pending';
select is(pg_temp.available('c1900000-0000-4000-8000-000000000001'), 70000::bigint, 'nothing moved');

-- A cash-out: confirmed, it holds the funds for a MoMo transfer to the payer's own number.
select pg_temp.become('alice');
select pending_id as cashout_id from api_private.whatsapp_payment_propose('cashout', 20000, 'UGX') \gset
select results_eq(format($$ select outcome, kind from api_private.whatsapp_payment_decide(%L, true) $$, :'cashout_id'),
  $$ values ('confirmed', 'cashout') $$, 'a cash-out is confirmed');
reset role;
select results_eq(format($$ select c.status, c.msisdn, c.amount, c.idempotency_key from public.whatsapp_pending_payments p
                             join public.cashouts c on c.id = p.cashout_id where p.id = %L $$, :'cashout_id'),
  format($$ values ('pending', '256772000001', 20000::bigint, 'whatsapp:%s') $$, :'cashout_id'),
  'its cash-out pays the payer''s own WhatsApp number and holds the funds');
select is(pg_temp.available('c1900000-0000-4000-8000-000000000001'), 50000::bigint, 'the hold reserves the amount');
-- The balance command: what is held and what for, adding up to the balance; the caller's own only.
select id as dispute_hold from public.wallet_hold(:'alice_account', 3000, 'UGX', 'dispute:stripe:dp_conversation') \gset
select id as other_hold from public.wallet_hold(:'alice_account', 500, 'UGX', 'conversation-other-hold') \gset
select pg_temp.become('alice');
select results_eq($$ select currency, status, balance, available, held_for, held, holds from api_private.whatsapp_balances() $$,
  $$ values ('UGX', 'active', 70000::bigint, 46500::bigint, 'cashout', 20000::bigint, 1),
            ('UGX', 'active', 70000::bigint, 46500::bigint, 'dispute', 3000::bigint, 1),
            ('UGX', 'active', 70000::bigint, 46500::bigint, 'other', 500::bigint, 1) $$,
  'the balance names what its pending holds are for: a cash-out, a dispute, another hold');
select is((select count(distinct (balance, available))::int from api_private.whatsapp_balances()
            where balance = available + (select sum(held) from api_private.whatsapp_balances())), 1,
  'and they add up: balance = available + held');
select pg_temp.become('bob');
select results_eq($$ select currency, balance, held_for from api_private.whatsapp_balances() $$,
  $$ values ('UGX', 30000::bigint, null::text) $$, 'another user reads only its own account, with nothing held');
reset role;
select status as voided from public.wallet_void(:'dispute_hold') \gset
select status as voided from public.wallet_void(:'other_hold') \gset

-- ---------------------------------------------------------------- notifications of effects
-- A provider's reason in words: MoMo's codes on each side, Stripe's codes and sentences, none for a code without words.
select is(private.failure_words('APPROVAL_REJECTED', 'payer'), 'it was declined on the phone', 'MoMo''s APPROVAL_REJECTED in words');
select is(private.failure_words('momo: PAYER_NOT_FOUND: Payer does not exist', 'payer'), 'the number is not registered for MoMo',
  'the provider''s name before a code and MoMo''s message after it are set aside');
select is(private.failure_words('NOT_ENOUGH_FUNDS', 'payer'), 'there was not enough money on the MoMo account',
  'NOT_ENOUGH_FUNDS on a top-up is the payer''s');
select is(private.failure_words('NOT_ENOUGH_FUNDS', 'payee'), 'MoMo could not complete it',
  'NOT_ENOUGH_FUNDS on a cash-out is not the person''s: it is not told as theirs');
select is(private.failure_words('not_accepted', 'payee'), 'MoMo never took it', 'momo-poll''s not_accepted in words');
select is(private.failure_words('stripe: card_declined', 'payer'), 'the card was declined', 'a Stripe decline code in words');
select is(private.failure_words('Your card was declined.', 'payer'), 'Your card was declined',
  'Stripe''s sentence as Stripe wrote it, without its full stop');
select is(private.failure_words('NOT_ALLOWED', 'payer'), null, 'a code without words is not shown');
select is(length(private.failure_words(repeat('a reason ', 50), 'payer')), 200, 'a sentence is cut to 200 characters');
delete from public.whatsapp_outbox;
select reference_id as cashout_ref from public.cashouts where idempotency_key = 'whatsapp:' || :'cashout_id' \gset
select status as settled from public.cashout_settle(:'cashout_ref', 'FAILED', 'NOT_ENOUGH_FUNDS') \gset
select results_eq($$ select * from pg_temp.outbox('256772000001') $$,
  $$ values ('notification: Your cash-out of 20,000 UGX failed: MoMo could not complete it. The money is back in your wallet.') $$,
  'a failed cash-out is notified');
select pg_temp.become('alice');
select id as intent_id from public.payment_intent_create('momo', :'alice_account', 2500, 'UGX', 'conv-topup') \gset
reset role;
select status as attached from public.payment_intent_attach(:'intent_id', :'intent_id') \gset
select id as payment_id from public.payment_record_success('momo', :'intent_id', :'intent_id', 2500, 'UGX') \gset
select results_eq($$ select * from pg_temp.outbox('256772000001') offset 1 $$,
  format($$ values (%L) $$, pg_temp.credited_notice('2,500')), 'a completed top-up is notified');
delete from public.whatsapp_outbox;
select private.whatsapp_set_opted_out('256772000002', true) as stopped \gset
select is((select opted_out from public.whatsapp_contacts where wa_id = '256772000002'), true, 'stop opts the contact out');
select pg_temp.become('alice');
select id as transfer_app_transfer from public.wallet_transfer(:'alice_account',
                              :'bob_account', 100, 'UGX', 'app-transfer') \gset
reset role;
select is((select count(*)::int from public.whatsapp_outbox), 0, 'an opted-out contact is not notified');
select private.whatsapp_set_opted_out('256772000002', false) as started \gset
select id as transfer_to_dave from public.wallet_transfer(:'alice_account',
                              :'dave_account', 100, 'UGX', 'to-dave') \gset
select is((select count(*)::int from public.whatsapp_outbox), 0, 'a recipient without a contact is not notified');
-- A clock tick after the transfer to dave, which the history's first three must not hold (the
-- refund below says why).
select pg_sleep(0.002);
select id as transfer_app_transfer_2 from public.wallet_transfer(:'alice_account',
                              :'bob_account', 100, 'UGX', 'app-transfer-2') \gset
select results_eq($$ select * from pg_temp.outbox('256772000002') $$,
  $$ values ('notification: You received 100 UGX from +256772000001. Write "balance" to see what you have.') $$,
  'any transfer into a contact is notified, not only WhatsApp ones, once it opted back in');
delete from public.whatsapp_outbox;
select set_config('app.whatsapp_answering', 'c1900000-0000-4000-8000-000000000002', true) as answering \gset
select id as transfer_answered from public.wallet_transfer(:'alice_account',
                              :'bob_account', 100, 'UGX', 'answered') \gset
select is((select count(*)::int from public.whatsapp_outbox), 0, 'a user the conversation is answering is not notified as well');
select set_config('app.whatsapp_answering', '', true) as answering \gset
select throws_ok($$ select private.whatsapp_set_opted_out('256700000000', true) $$, 'WL007', null, 'stop for an unknown contact is WL007');
select throws_ok(format($$ select private.whatsapp_set_opted_out(%L, true) $$, repeat('2', 256)),
  '22023', 'p_wa_id must be at most 255 characters', 'p_wa_id is bounded');

-- A refund the provider confirmed. Every row of this test's one transaction has the same
-- created_at, so the history orders them by id, a UUID v7 of millisecond precision with random
-- bits after it: the refund waits a clock tick, or in the same millisecond as the last transfer
-- it would come before it half the time (the history's first assertion failed so, once).
select pg_sleep(0.002);
select status as refunded from public.refund_record(:'payment_id', 1000, 're_conv_1', 'requested_by_customer') \gset
select results_eq($$ select * from pg_temp.outbox('256772000001') $$,
  $$ values ('notification: Refund: 1,000 UGX of your MoMo top-up was returned to you there and taken from your wallet.') $$,
  'a refund is notified');

-- ---------------------------------------------------------------- history
select pg_temp.become('alice');
select results_eq($$ select kind, incoming, amount, counterparty_wa_id from api_private.whatsapp_history(3) $$,
  $$ values ('reversal', false, 1000::bigint, null::text), ('transfer', false, 100::bigint, '256772000002'),
            ('transfer', false, 100::bigint, '256772000002') $$,
  'the history is newest first, with the other side''s number for transfers between contacts');
select is((select count(*)::int from api_private.whatsapp_history(20)), 8, 'every transaction of the user''s, up to the limit');
select is((select count(*)::int from api_private.whatsapp_history(20) where kind = 'withdrawal'), 0,
  'the voided cash-out hold is left out of the history');
select throws_ok($$ select * from api_private.whatsapp_history(21) $$, '22023', 'p_limit must be between 1 and 20', 'at most 20');
select throws_ok($$ select * from api_private.whatsapp_history(0) $$, '22023', 'p_limit must be between 1 and 20', 'at least 1');
select pg_temp.become('bob');
select is((select count(*)::int from api_private.whatsapp_history(20) where amount = 30000), 1,
  'the recipient sees the payment as incoming too');
select is((select bool_and(incoming) from api_private.whatsapp_history(20)), true, 'bob only received');
select pg_temp.become('service');
select throws_ok($$ select * from api_private.whatsapp_history(5) $$, '42501', null, 'service_role cannot read a history');
reset role;

-- ---------------------------------------------------------------- a batch's notifications
delete from public.whatsapp_outbox;
select pg_temp.become('service');
select count(*) as batch_posted from public.wallet_transfer_batch(format(
  '[{"from": "%1$s", "to": "%2$s", "amount": 10, "currency": "UGX", "idempotency_key": "batch-1"},
    {"from": "%1$s", "to": "%3$s", "amount": 20, "currency": "UGX", "idempotency_key": "batch-2"},
    {"from": "%1$s", "to": "%2$s", "amount": 30, "currency": "UGX", "idempotency_key": "batch-3"}]',
  :'alice_account', :'bob_account', :'dave_account')::jsonb) \gset
reset role;
select results_eq($$ select m from pg_temp.outbox('256772000002') m order by m $$,
  $$ values ('notification: You received 10 UGX from +256772000001. Write "balance" to see what you have.'),
            ('notification: You received 30 UGX from +256772000001. Write "balance" to see what you have.') $$,
  'a batch notifies each of its transfers into a contact once');
select is((select count(*)::int from public.whatsapp_outbox), 2,
  'and nobody else: neither the recipient without a contact nor the payer');

-- ---------------------------------------------------------------- a top-up credited after review
-- The notice names what reached the wallet: the payment's amount, which an admin credits even
-- when it differs from the intent's, and a payment credited to an intent that had succeeded.

-- alice asks to top up 2,500 UGX with MoMo (key p_key) and MoMo reports p_paid: the payment.
create function pg_temp.alice_tops_up(p_key text, p_paid bigint) returns uuid
language plpgsql
as $$
declare
  v_intent uuid := pg_temp.as_alice(format('select id from public.payment_intent_create(''momo'', %L, 2500, ''UGX'', %L)',
                                           (select id from public.wallet_accounts where owner_id = 'c1900000-0000-4000-8000-000000000001'),
                                           p_key), null::uuid);
begin
  perform public.payment_intent_attach(v_intent, v_intent::text);
  return (select p.id from public.payment_record_success('momo', p_key, v_intent, p_paid, 'UGX') p);
end;
$$;

delete from public.whatsapp_outbox;
select pg_temp.alice_tops_up('conv-topup-review', 3000) as review_payment \gset
-- Nothing reached the wallet, but the money left the payer's MoMo account: silence would read
-- as money lost.
select results_eq($$ select * from pg_temp.outbox('256772000001') $$,
  format($$ values (%L) $$, pg_temp.held_notice('3,000')),
  'a payment held for review is told: the provider took the money, the wallet has not got it yet');
select status as review_credited from api_private.payment_resolve(:'review_payment', 'credit', 'the payer paid 3000 UGX') \gset
select bag_eq($$ select * from pg_temp.outbox('256772000001') $$,
  format($$ values (%L), (%L) $$, pg_temp.held_notice('3,000'), pg_temp.credited_notice('3,000')),
  'a top-up credited after review is notified with the amount credited, not the amount asked for');
delete from public.whatsapp_outbox;
select id as second_payment from public.payment_record_success('momo', 'paid-again-' || :'intent_id', :'intent_id', 2500, 'UGX') \gset
select status as second_credited from api_private.payment_resolve(:'second_payment', 'credit', 'paid twice, kept') \gset
select bag_eq($$ select * from pg_temp.outbox('256772000001') $$,
  format($$ values (%L), (%L) $$, pg_temp.held_notice('2,500'), pg_temp.credited_notice('2,500')),
  'a second payment for a top-up that had already succeeded is told as held, and as credited once an admin credits it');

-- ---------------------------------------------------------------- a payment rejected after review
delete from public.whatsapp_outbox;
select pg_temp.alice_tops_up('conv-topup-rejected', 4000) as rejected_payment \gset
select status as rejected from api_private.payment_resolve(:'rejected_payment', 'reject', 'paid from a number flagged for fraud') \gset
select bag_eq($$ select * from pg_temp.outbox('256772000001') $$,
  format($$ values (%L), (%L) $$, pg_temp.held_notice('4,000'),
         'notification: After a check, your MoMo payment of 4,000 UGX will not be put in your wallet. If it is returned to you, we will tell you.'),
  'a payment rejected after review is told: it will not reach the wallet');
select status as rejected_refunded from public.refund_record(:'rejected_payment', 4000, 're_conv_rejected', 'returned after rejection') \gset
select results_eq($$ select * from pg_temp.outbox('256772000001') m where m like 'notification: Refund:%' $$,
  $$ values ('notification: Refund: MoMo returned 4,000 UGX of a payment that never reached your wallet.') $$,
  'and its refund afterwards is told as returned');
delete from public.whatsapp_outbox;
select pg_temp.alice_tops_up('conv-topup-refunded-in-review', 5000) as refunded_in_review \gset
select status as refunded_first from public.refund_record(:'refunded_in_review', 5000, 're_conv_in_review', 'the payer asked for it back') \gset
select status as rejected_after_refund from api_private.payment_resolve(:'refunded_in_review', 'reject', 'refunded at the provider') \gset
select bag_eq($$ select * from pg_temp.outbox('256772000001') $$,
  format($$ values (%L), (%L) $$, pg_temp.held_notice('5,000'),
         'notification: Refund: MoMo returned 5,000 UGX of a payment that never reached your wallet.'),
  'a rejection of a payment its provider already returned adds no notice: the refund was told');
select results_eq(format($$ select t.amount from public.payments p join public.wallet_transactions t on t.id = p.wallet_transaction_id
                             where p.id in (%L, %L) order by t.amount $$, :'second_payment', :'review_payment'),
  $$ values (2500::bigint), (3000::bigint) $$, 'the notices name what the two credits moved');

-- ---------------------------------------------------------------- refunds: what the wallet gave and got back
-- A refund that fails after it was recorded gives the wallet its money back; a refund of a
-- payment that never reached the wallet takes nothing from it. Each notice says which.
delete from public.whatsapp_outbox;
select status as refund_failed from public.refund_record_failure(:'payment_id', 're_conv_1', 1000, 'failed', 'expired_or_canceled_card') \gset
select results_eq($$ select * from pg_temp.outbox('256772000001') $$,
  $$ values ('notification: The refund of 1,000 UGX of your MoMo top-up did not go through, so the money is back in your wallet.') $$,
  'a refund that fails after the wallet gave the money is notified: the money is back');
select status as failed_again from public.refund_record_failure(:'payment_id', 're_conv_1', 1000, 'failed', 'expired_or_canceled_card') \gset
select is((select count(*)::int from public.whatsapp_outbox), 1, 'a replayed failure is not notified again');
select pg_temp.alice_tops_up('conv-topup-uncredited', 9999) as uncredited \gset
delete from public.whatsapp_outbox;
select status as uncredited_refunded from public.refund_record(:'uncredited', 9999, 're_conv_2', 'not the amount asked for') \gset
select results_eq($$ select * from pg_temp.outbox('256772000001') $$,
  $$ values ('notification: Refund: MoMo returned 9,999 UGX of a payment that never reached your wallet.') $$,
  'a refund of a payment that was never credited says that nothing was taken from the wallet');
select is((select count(*)::int from public.wallet_transactions t join public.refunds r on r.wallet_transaction_id = t.id
            where r.provider_refund_id = 're_conv_2'), 0, 'and indeed nothing was');
-- Such a refund failing after it was reported gives the wallet nothing back (it gave nothing),
-- but the person, told that the provider returned the money, is told that it did not.
delete from public.whatsapp_outbox;
select status as uncredited_failed from public.refund_record_failure(:'uncredited', 're_conv_2', 9999, 'failed', 'expired_or_canceled_card') \gset
select results_eq($$ select * from pg_temp.outbox('256772000001') $$,
  $$ values ('notification: The refund of 9,999 UGX by MoMo, of a payment that never reached your wallet, did not go through: MoMo has not returned it to you. Your wallet is unchanged.') $$,
  'a refund of a payment never credited that fails is notified: the money was not returned');
select is((select count(*)::int from public.wallet_transactions t
            where t.idempotency_key like 'refund-failed:momo:%' and t.metadata ->> 'refund_id' =
                  (select r.id::text from public.refunds r where r.provider_refund_id = 're_conv_2')), 0,
  'and the wallet is given nothing back');

-- ---------------------------------------------------------------- an admin's corrections
-- Told to each user the correction moved (the admin API calls this in the correction's
-- transaction); the admin's reason is not sent.
insert into auth.users (id, raw_app_meta_data) values ('c1900000-0000-4000-8000-0000000000ad', '{"role":"admin"}');
create function pg_temp.as_admin() returns void
language plpgsql
as $$
begin
  perform set_config('request.jwt.claims',
    '{"sub":"c1900000-0000-4000-8000-0000000000ad","role":"authenticated","app_metadata":{"role":"admin"}}', true);
  set local role authenticated;
end;
$$;
delete from public.whatsapp_outbox;
select pg_temp.as_admin();
select id as reversed_transfer from public.wallet_reverse(:'transfer_app_transfer_2', 'conv-reverse-transfer', 60,
                                                          'chargeback on the payer''s card') \gset
select api_private.whatsapp_notify_correction(:'reversed_transfer');
reset role;
select bag_eq($$ select wa_id, body -> 'text' ->> 'body' from public.whatsapp_outbox $$,
  $$ values ('256772000002', 'Our team reversed the payment of 100 UGX you received from +256772000001: 60 UGX was taken from your wallet.'),
            ('256772000001', 'Our team reversed your payment of 100 UGX to +256772000002: 60 UGX is back in your wallet.') $$,
  'a reversed payment between two contacts is told to both, with what the reversal moved');
delete from public.whatsapp_outbox;
select pg_temp.as_admin();
select id as reversed_top_up from public.wallet_reverse(
  (select wallet_transaction_id from public.payments where id = :'review_payment'), 'conv-reverse-top-up', 500, 'chargeback') \gset
select api_private.whatsapp_notify_correction(:'reversed_top_up');
select id as added from public.wallet_adjust(:'bob_account', 250, 'credit', 'goodwill for a delayed cash-out', 'conv-adjust-credit') \gset
select api_private.whatsapp_notify_correction(:'added');
select id as taken from public.wallet_adjust(:'bob_account', 50, 'debit', 'fee charged twice, corrected', 'conv-adjust-debit') \gset
select api_private.whatsapp_notify_correction(:'taken');
select id as taken_back from public.wallet_reverse(:'taken', 'conv-reverse-adjustment', null, 'the debit was a mistake') \gset
select api_private.whatsapp_notify_correction(:'taken_back');
reset role;
select bag_eq($$ select wa_id, body -> 'text' ->> 'body' from public.whatsapp_outbox $$,
  $$ values ('256772000001', 'Our team took back 500 UGX of your top-up of 3,000 UGX.'),
            ('256772000002', 'Our team added 250 UGX to your wallet.'),
            ('256772000002', 'Our team took 50 UGX from your wallet.'),
            ('256772000002', 'Our team gave back 50 UGX of an earlier correction of 50 UGX: it is in your wallet.') $$,
  'a top-up taken back, adjustments and the reversal of one are told to their user, and nothing to the system accounts');
select is((select count(*)::int from public.whatsapp_outbox where body::text like '%mistake%' or body::text like '%goodwill%'), 0,
  'the admin''s reason is never sent');
select pg_temp.become('alice');
select throws_ok(format($$ select api_private.whatsapp_notify_correction(%L) $$, :'added'), '42501', null,
  'a user cannot tell corrections: 42501');
reset role;
select pg_temp.as_admin();
select throws_ok(format($$ select api_private.whatsapp_notify_correction(%L) $$, :'transfer_app_transfer'), '22023',
  format('transaction %s is a transfer, not a reversal or an adjustment', :'transfer_app_transfer'), 'a transfer is not a correction: 22023');
select throws_ok($$ select api_private.whatsapp_notify_correction(gen_random_uuid()) $$, 'WL007', null, 'an unknown transaction is WL007');
reset role;

-- ---------------------------------------------------------------- a number MoMo cannot pay
-- WhatsApp serves 7-digit numbers (Niue's +683 xxxx); MoMo pays 8 to 15 digits.
update public.whatsapp_contacts set wa_id = '6834123' where user_id = 'c1900000-0000-4000-8000-000000000001';
select pg_temp.become('alice');
select results_eq($$ select outcome from api_private.whatsapp_payment_propose('cashout', 100, 'UGX') $$,
  $$ values ('no_momo_number') $$, 'a cash-out to a 7-digit number is refused: MoMo cannot pay it');
reset role;
select is((select count(*)::int from public.whatsapp_pending_payments
            where payer_id = 'c1900000-0000-4000-8000-000000000001' and status = 'pending' and kind = 'cashout' and amount = 100),
  0, 'and nothing is pending');

select * from finish();
rollback;
