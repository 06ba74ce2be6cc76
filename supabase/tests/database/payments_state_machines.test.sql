-- Every status column moves only forward along its state machine: each listed move is
-- tried on a fresh row; allowed moves succeed, the others fail with PA001.
begin;
select plan(79);

select tests.create_user('user');
select tests.open_account('user', 'USD') as account \gset
select id as payment, wallet_transaction_id as credit from tests.credited_payment('stripe', :'account', 100, 'USD', 'pi_sm') \gset

-- A fresh row of the table in p_from, then the move to p_to: 'ok' or the SQLSTATE.
create function pg_temp.try_move(p_table text, p_from text, p_to text, p_account uuid, p_payment uuid, p_credit uuid)
returns text
language plpgsql
as $$
declare
  v_id uuid;
  v_refunded text := format('case %L when ''refunded'' then 100 when ''partially_refunded'' then 1 else 0 end', p_from);
begin
  execute case p_table
    when 'payment_intents' then format(
      'insert into public.payment_intents (provider, user_id, account_id, amount, currency, status, idempotency_key)
       values (''stripe'', tests.user_id(''user''), %L, 100, ''USD'', %L, gen_random_uuid()::text) returning id',
      p_account, p_from)
    when 'payments' then format(
      'insert into public.payments (provider, provider_payment_id, amount, currency, status, review_reason, wallet_transaction_id, amount_refunded,
                                    resolution, resolution_reason, resolved_at)
       values (''stripe'', gen_random_uuid()::text, 100, ''USD'', %1$L,
               case when %1$L in (''needs_review'', ''rejected'') then ''unknown_intent'' end,
               case when %1$L not in (''needs_review'', ''rejected'') then %2$L::uuid end, %3$s,
               case when %1$L = ''rejected'' then ''rejected'' end, case when %1$L = ''rejected'' then ''r'' end,
               case when %1$L = ''rejected'' then now() end) returning id',
      p_from, p_credit, v_refunded)
    when 'refunds' then format(
      'insert into public.refunds (payment_id, provider, provider_refund_id, amount, currency, status)
       values (%L, ''stripe'', gen_random_uuid()::text, 1, ''USD'', %L) returning id', p_payment, p_from)
    when 'momo_transactions' then format(
      'insert into public.momo_transactions (reference_id, amount, currency, status)
       values (gen_random_uuid(), 1, ''USD'', %L) returning id', p_from)
    when 'revolut_transactions' then format(
      'insert into public.revolut_transactions (revolut_id, state) values (gen_random_uuid()::text, %L) returning id', p_from)
    when 'subscriptions' then format(
      'insert into public.subscriptions (stripe_subscription_id, stripe_customer_id, status)
       values (''sub_'' || gen_random_uuid(), ''cus_sm'', %L) returning id', p_from)
    when 'invoices' then format(
      'insert into public.invoices (stripe_invoice_id, stripe_customer_id, status, currency)
       values (''in_'' || gen_random_uuid(), ''cus_sm'', %L, ''USD'') returning id', p_from)
    when 'webhook_events' then format(
      'insert into public.webhook_events (provider, event_id, type, payload, status)
       values (''stripe'', gen_random_uuid()::text, ''t'', ''{}'', %L) returning id', p_from)
    when 'whatsapp_messages' then format(
      'insert into public.whatsapp_messages (wamid, direction, status)
       values (gen_random_uuid()::text, ''outbound'', %L) returning id', p_from)
  end into v_id;
  execute case p_table
    when 'payments' then format(
      'update public.payments set status = %L, amount_refunded = case %L when ''refunded'' then 100 when ''partially_refunded'' then 50 when ''succeeded'' then 0 else amount_refunded end where id = %L',
      p_to, p_to, v_id)
    when 'revolut_transactions' then format('update public.revolut_transactions set state = %L where id = %L', p_to, v_id)
    else format('update public.%I set status = %L where id = %L', p_table, p_to, v_id)
  end;
  return 'ok';
exception
  when others then
    return sqlstate;
end;
$$;

create temporary table move (tbl text, from_status text, to_status text, expected text);
insert into move values
  ('payment_intents', 'requires_payment', 'processing', 'ok'),
  ('payment_intents', 'processing', 'succeeded', 'ok'),
  ('payment_intents', 'processing', 'failed', 'ok'),
  ('payment_intents', 'processing', 'canceled', 'ok'),
  ('payment_intents', 'requires_payment', 'canceled', 'ok'),
  ('payment_intents', 'failed', 'succeeded', 'ok'),
  -- stripe-poll ends a failed Stripe intent once its PaymentIntent is canceled at Stripe.
  ('payment_intents', 'failed', 'canceled', 'ok'),
  ('payment_intents', 'processing', 'requires_payment', 'PA001'),
  ('payment_intents', 'succeeded', 'failed', 'PA001'),
  ('payment_intents', 'succeeded', 'processing', 'PA001'),
  ('payment_intents', 'canceled', 'succeeded', 'PA001'),
  ('payment_intents', 'failed', 'processing', 'PA001'),
  ('payments', 'succeeded', 'partially_refunded', 'ok'),
  ('payments', 'succeeded', 'refunded', 'ok'),
  ('payments', 'partially_refunded', 'refunded', 'ok'),
  -- A refund that fails later gives its amount back (refund_record_failure).
  ('payments', 'refunded', 'succeeded', 'ok'),
  ('payments', 'refunded', 'partially_refunded', 'ok'),
  ('payments', 'partially_refunded', 'succeeded', 'ok'),
  -- Resolving a review (api_private.payment_resolve) is a move of its own; the columns that come
  -- with it are the constraints' to check (payments_credit_shape: 23514 without a credit).
  ('payments', 'needs_review', 'succeeded', '23514'),
  ('payments', 'needs_review', 'rejected', '23514'),
  ('payments', 'needs_review', 'refunded', 'PA001'),
  ('payments', 'succeeded', 'needs_review', 'PA001'),
  ('payments', 'rejected', 'succeeded', 'PA001'),
  ('payments', 'rejected', 'needs_review', 'PA001'),
  ('payments', 'succeeded', 'rejected', 'PA001'),
  ('refunds', 'pending', 'succeeded', 'ok'),
  ('refunds', 'pending', 'failed', 'ok'),
  ('refunds', 'pending', 'canceled', 'ok'),
  ('refunds', 'succeeded', 'failed', 'ok'),
  ('refunds', 'succeeded', 'canceled', 'ok'),
  ('refunds', 'failed', 'canceled', 'PA001'),
  ('refunds', 'succeeded', 'pending', 'PA001'),
  ('refunds', 'failed', 'succeeded', 'PA001'),
  ('momo_transactions', 'PENDING', 'SUCCESSFUL', 'ok'),
  ('momo_transactions', 'PENDING', 'FAILED', 'ok'),
  ('momo_transactions', 'SUCCESSFUL', 'PENDING', 'PA001'),
  ('momo_transactions', 'FAILED', 'SUCCESSFUL', 'PA001'),
  ('momo_transactions', 'SUCCESSFUL', 'FAILED', 'PA001'),
  ('revolut_transactions', 'pending', 'completed', 'ok'),
  ('revolut_transactions', 'pending', 'processing', 'ok'),
  ('revolut_transactions', 'authorised', 'completed', 'ok'),
  ('revolut_transactions', 'completed', 'reverted', 'ok'),
  ('revolut_transactions', 'created', 'declined', 'ok'),
  ('revolut_transactions', 'completed', 'pending', 'PA001'),
  ('revolut_transactions', 'cancelled', 'completed', 'PA001'),
  ('revolut_transactions', 'failed', 'pending', 'PA001'),
  ('subscriptions', 'incomplete', 'active', 'ok'),
  ('subscriptions', 'active', 'past_due', 'ok'),
  ('subscriptions', 'past_due', 'active', 'ok'),
  ('subscriptions', 'active', 'canceled', 'ok'),
  ('subscriptions', 'canceled', 'active', 'PA001'),
  ('subscriptions', 'incomplete_expired', 'active', 'PA001'),
  ('subscriptions', 'active', 'incomplete', 'PA001'),
  ('invoices', 'draft', 'open', 'ok'),
  ('invoices', 'open', 'paid', 'ok'),
  ('invoices', 'open', 'void', 'ok'),
  ('invoices', 'uncollectible', 'paid', 'ok'),
  ('invoices', 'paid', 'open', 'PA001'),
  ('invoices', 'void', 'paid', 'PA001'),
  ('invoices', 'open', 'draft', 'PA001'),
  ('webhook_events', 'received', 'processed', 'ok'),
  ('webhook_events', 'received', 'failed', 'ok'),
  ('webhook_events', 'failed', 'dead', 'ok'),
  ('webhook_events', 'dead', 'processed', 'ok'),
  ('webhook_events', 'processed', 'failed', 'PA001'),
  ('webhook_events', 'processed', 'received', 'PA001'),
  ('webhook_events', 'ignored', 'processed', 'PA001'),
  ('webhook_events', 'dead', 'failed', 'PA001'),
  ('whatsapp_messages', 'sent', 'delivered', 'ok'),
  ('whatsapp_messages', 'delivered', 'read', 'ok'),
  ('whatsapp_messages', 'sent', 'read', 'ok'),
  ('whatsapp_messages', 'sent', 'failed', 'ok'),
  ('whatsapp_messages', 'delivered', 'failed', 'ok'),
  ('whatsapp_messages', 'read', 'delivered', 'PA001'),
  ('whatsapp_messages', 'delivered', 'sent', 'PA001'),
  ('whatsapp_messages', 'read', 'sent', 'PA001'),
  ('whatsapp_messages', 'failed', 'sent', 'PA001'),
  ('whatsapp_messages', 'read', 'failed', 'PA001');

select is(pg_temp.try_move(tbl, from_status, to_status, :'account', :'payment', :'credit'), expected,
          format('%s: %s -> %s is %s', tbl, from_status, to_status, case expected when 'ok' then 'allowed' else 'rejected' end))
  from move
 order by tbl, expected desc, from_status, to_status;

-- The rejection names the table and the move.
select id as review from public.payment_record_success('stripe', 'pi_sm_unknown', null, 100, 'USD') \gset
select throws_like(
  format($$update public.payments set status = 'refunded', amount_refunded = 100 where id = %L$$, :'review'),
  '%payments.status cannot move from needs_review to refunded%',
  'a rejected move says which table, column and move');

select * from finish();
rollback;
