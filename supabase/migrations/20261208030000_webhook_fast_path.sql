-- Webhooks, the fast path (docs/WEBHOOKS.md, "The pipeline"): a provider's payment
-- success is the most frequent event and the one whose effect needs nothing but the database,
-- so it is stored, applied and finished by one call, and a delivery holds its pooled
-- connection for one round trip instead of one per step.

-- The effect of a provider's payment success: the payment is stored and the intent's account
-- credited (payment_record_success). The intent is found by the provider's reference, else by
-- the intent id we gave the provider (p_intent_hint) when it is an intent of the same provider;
-- none stores the payment as needs_review. Deliveries of one provider payment (Stripe's
-- payment_intent.succeeded and its checkout session) are serialised, and whichever comes
-- second finds the payment and is 'ignored'. Returns 'processed' or 'ignored'.
create function public.payment_success_apply(
  p_provider text,
  p_provider_payment_id text,
  p_intent_hint text,
  p_amount bigint,
  p_currency text,
  p_raw jsonb
)
returns text
language plpgsql
security definer set search_path = ''
as $$
declare
  v_intent uuid;
begin
  perform private.require_caller(array['service'], 'record a payment');
  perform private.require_provider(p_provider);
  perform private.require_text(p_provider_payment_id, 'provider_id', 'provider payment id');
  perform private.require_within(p_intent_hint, 'identifier', 'p_intent_hint');
  perform private.require_within(p_raw, 'document', 'p_raw');

  perform pg_catalog.pg_advisory_xact_lock(
    pg_catalog.hashtextextended(pg_catalog.format('%s-payment:%s', p_provider, p_provider_payment_id), 0));
  if exists (select from public.payments p
              where p.provider = p_provider and p.provider_payment_id = p_provider_payment_id) then
    return 'ignored';
  end if;

  select i.id into v_intent from public.payment_intents i
   where i.provider = p_provider and i.provider_ref = p_provider_payment_id;
  if v_intent is null
     and p_intent_hint ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
    select i.id into v_intent from public.payment_intents i
     where i.id = p_intent_hint::uuid and i.provider = p_provider;
  end if;

  -- The fee is 0: provider fees are not in these events (reconciliation reads them).
  perform public.payment_record_success(p_provider, p_provider_payment_id, v_intent, p_amount, p_currency, 0, p_raw);
  return 'processed';
end;
$$;
grant execute on function public.payment_success_apply(text, text, text, bigint, text, jsonb) to service_role;

-- Stores the event, applies the payment success and finishes the event, as the webhook
-- pipeline does step by step: a duplicate or dead event is answered without applying anything;
-- a failing effect is rolled back alone (the block below is a savepoint) and the event is kept
-- failed with the SQLSTATE and message (dead after five attempts). An event that cannot be
-- stored raises, and nothing is written.
-- The first delivery of an event, by far the most frequent, is stored with its outcome in one
-- insert (audited as the outcome it records): the effect's result is known before the row is
-- written, so the row is never written twice. The event's lock is then an advisory lock on its
-- identity, taken first, so that a concurrent delivery of the same event waits and then finds
-- the stored row. A later delivery (a retry, a duplicate, a dead event) goes through
-- webhook_event_begin and webhook_event_finish, as every other event does.
-- The request context comes as arguments and is set for the rest of the transaction, as
-- withRequestContext sets it, so that one statement is the whole transaction (no session
-- state, no round trip for the context, and the locks on the credited accounts are released
-- by the statement's own commit): request.headers, app.correlation_id, app.client_address,
-- and the service's claims, so that every audit row names service_role.
-- Returns the outcome (processed, ignored, duplicate, failed, dead), the event's attempts and,
-- when this attempt failed, the error recorded.
create function public.webhook_ingest_payment_success(
  p_provider text,
  p_event_id text,
  p_type text,
  p_payload jsonb,
  p_provider_payment_id text,
  p_intent_hint text,
  p_amount bigint,
  p_currency text,
  p_raw jsonb,
  p_correlation_id text,
  p_client_address text,
  p_headers jsonb
)
returns table (outcome text, attempts integer, last_error text)
language plpgsql
security definer set search_path = ''
as $$
declare
  v_first boolean;
  v_begun record;
  v_applied text;
  v_error text;
  v_event public.webhook_events;
  v_state text;
  v_message text;
begin
  perform private.require_caller(array['service'], 'store a webhook event');
  perform private.require_webhook_event(p_provider, p_event_id, p_type, p_payload);
  perform private.require_text(p_correlation_id, 'identifier', 'p_correlation_id');
  perform private.require_within(p_client_address, 'identifier', 'p_client_address');
  perform private.require_within(p_headers, 'document', 'p_headers');
  if pg_catalog.jsonb_typeof(p_headers) is distinct from 'object' then
    perform private.fail('22023', 'p_headers must be a JSON object');
  end if;
  perform pg_catalog.set_config('request.jwt.claims', '{"role": "service_role"}', true);
  perform pg_catalog.set_config('request.headers', p_headers::text, true);
  perform pg_catalog.set_config('app.correlation_id', p_correlation_id, true);
  perform pg_catalog.set_config('app.client_address', coalesce(p_client_address, ''), true);

  perform pg_catalog.pg_advisory_xact_lock(
    pg_catalog.hashtextextended(pg_catalog.format('%s-webhook-event:%s', p_provider, p_event_id), 0));
  v_first := not exists (select from public.webhook_events e where e.provider = p_provider and e.event_id = p_event_id);
  if not v_first then
    select b.id, b.outcome into v_begun
      from public.webhook_event_begin(p_provider, p_event_id, p_type, p_payload) b;
    if v_begun.outcome in ('duplicate', 'dead') then
      return query select v_begun.outcome::text, null::integer, null::text;
      return;
    end if;
  end if;

  begin
    v_applied := public.payment_success_apply(p_provider, p_provider_payment_id, p_intent_hint, p_amount, p_currency, p_raw);
  exception when others then
    get stacked diagnostics v_state = returned_sqlstate, v_message = message_text;
    v_error := v_state || ': ' || v_message;
  end;

  if v_first then
    insert into public.webhook_events as e (provider, event_id, type, payload, status, attempts, last_error, processed_at)
    values (p_provider, p_event_id, p_type, p_payload, coalesce(v_applied, 'failed'), 1, pg_catalog.left(v_error, 2000),
            case when v_error is null then pg_catalog.now() end)
    returning e.* into v_event;
  else
    v_event := public.webhook_event_finish(v_begun.id, coalesce(v_applied, 'failed'), v_error);
  end if;
  return query select v_event.status, v_event.attempts, v_event.last_error;
end;
$$;
grant execute on function public.webhook_ingest_payment_success(text, text, text, jsonb, text, text, bigint, text, jsonb,
                                                               text, text, jsonb) to service_role;
