-- Payments, part 3: what the webhooks store (docs/WEBHOOKS.md, docs/PAYMENTS.md).
--
-- webhook_events makes every delivery idempotent: a handler calls webhook_event_begin,
-- applies the effect inside a savepoint of the same transaction, and calls
-- webhook_event_finish with the outcome (docs/PAYMENTS.md shows the sequence). After five
-- failed attempts an event is dead and waits for an admin replay. whatsapp_messages keeps
-- inbound messages and the statuses of outbound ones, which only move forward. Neither
-- table is readable by users; admin and support read them.

-- The providers whose webhooks are stored: WhatsApp and the payment providers.
create function private.webhook_providers() returns text[]
language plpgsql
immutable
set search_path = ''
as $$
begin
  return array['whatsapp'] || private.payment_providers();
end;
$$;

-- The shape of an event row, checked by its table's one CHECK constraint, as the payments
-- tables' are (private.payment_shape_ok): a delivery writes this row in the statement that
-- credits the payment.
create function private.webhook_event_shape_ok(p_provider text, p_event_id text, p_type text, p_status text,
                                               p_attempts integer) returns boolean
language plpgsql
immutable
set search_path = ''
as $$
begin
  return p_provider = any (private.webhook_providers())
     and length(p_event_id) between 1 and 255
     and length(p_type) between 1 and 255
     and p_status in ('received', 'processed', 'ignored', 'failed', 'dead')
     and p_attempts >= 0;
end;
$$;

create table public.webhook_events (
  id uuid primary key default gen_random_uuid(),
  provider text not null,
  event_id text not null,
  type text not null,
  -- The parsed body, scrubbed of credentials; signature headers are never stored.
  payload jsonb not null,
  received_at timestamptz not null default now(),
  status text not null default 'received',
  attempts integer not null default 0,
  last_error text,
  processed_at timestamptz,
  constraint webhook_events_provider_event_key unique (provider, event_id),
  constraint webhook_events_shape check (private.webhook_event_shape_ok(provider, event_id, type, status, attempts))
);
comment on table public.webhook_events is
  'Every webhook delivery, unique per (provider, event_id): received -> processed | ignored | '
  'failed; failed -> processed | ignored | dead (5 attempts); dead -> processed | ignored (admin replay).';
create index webhook_events_status_idx on public.webhook_events (status, received_at);
-- A Stripe dispute opened after it was closed (deliveries come in any order) must not freeze
-- money that nothing would release: the opening looks up the closing by the dispute's id.
create index webhook_events_stripe_dispute_closed_idx on public.webhook_events ((payload #>> '{data,object,id}'))
  where provider = 'stripe' and type = 'charge.dispute.closed';

create table public.whatsapp_messages (
  id uuid primary key default gen_random_uuid(),
  wamid text not null unique check (length(wamid) between 1 and 255),
  direction text not null check (direction in ('inbound', 'outbound')),
  phone_number_id text,
  sender text,
  recipient text,
  type text,
  -- What the person wrote (a text, a tapped button's title, a caption), at most 4096 characters:
  -- WhatsApp's own cap on what a person can send. A longer one came from no WhatsApp client (the
  -- webhook checks only the signature) and is stored cut to the cap, body_cut_from keeping the
  -- length it had: the row is kept, never refused, so the delivery's other messages still go.
  body text,
  body_cut_from integer,
  sent_at timestamptz,
  status text not null check (status in ('received', 'sent', 'delivered', 'read', 'failed')),
  status_at timestamptz,
  error jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint whatsapp_messages_status_by_direction check (
    (direction = 'inbound') = (status = 'received')),
  constraint whatsapp_messages_body_bounded check (
    length(body) <= 4096
    and (body_cut_from is null or (body is not null and body_cut_from > 4096 and length(body) = 4096)))
);
comment on table public.whatsapp_messages is
  'Inbound WhatsApp messages (status received) and outbound message statuses: '
  'sent -> delivered -> read, sent -> read, sent | delivered -> failed; never backwards.';
create index whatsapp_messages_sender_idx on public.whatsapp_messages (sender, sent_at);

insert into private.status_transitions (table_name, from_status, to_status) values
  ('webhook_events', 'received', 'processed'),
  ('webhook_events', 'received', 'ignored'),
  ('webhook_events', 'received', 'failed'),
  ('webhook_events', 'received', 'dead'),
  ('webhook_events', 'failed', 'processed'),
  ('webhook_events', 'failed', 'ignored'),
  ('webhook_events', 'failed', 'dead'),
  ('webhook_events', 'dead', 'processed'),
  ('webhook_events', 'dead', 'ignored'),
  ('whatsapp_messages', 'sent', 'delivered'),
  ('whatsapp_messages', 'sent', 'read'),
  ('whatsapp_messages', 'sent', 'failed'),
  ('whatsapp_messages', 'delivered', 'read'),
  ('whatsapp_messages', 'delivered', 'failed');

create trigger webhook_events_status before update of status on public.webhook_events
  for each row when (old.status is distinct from new.status)
  execute function private.enforce_status_transition('status');
create trigger whatsapp_messages_status before update of status on public.whatsapp_messages
  for each row when (old.status is distinct from new.status)
  execute function private.enforce_status_transition('status');
create trigger webhook_events_scrub before insert or update of payload on public.webhook_events
  for each row execute function private.scrub_payload_columns('payload');
create trigger whatsapp_messages_touch before update on public.whatsapp_messages
  for each row execute function private.touch_updated_at();

-- The checks every stored event passes (22023 otherwise): a known provider, an event id and a
-- type of 1 to 255 characters, a payload that is a JSON object or array within the bounds.
create function private.require_webhook_event(p_provider text, p_event_id text, p_type text, p_payload jsonb)
returns void
language plpgsql
set search_path = ''
as $$
begin
  if p_provider is null or not (p_provider = any (private.webhook_providers())) then
    perform private.fail('22023', pg_catalog.format('unknown webhook provider %s', coalesce(p_provider, 'null')));
  end if;
  if p_event_id is null or pg_catalog.length(p_event_id) not between 1 and 255
     or p_type is null or pg_catalog.length(p_type) not between 1 and 255 then
    perform private.fail('22023', 'webhook event id and type must be 1 to 255 characters');
  end if;
  if p_payload is null or pg_catalog.jsonb_typeof(p_payload) not in ('object', 'array') then
    perform private.fail('22023', 'webhook payload must be a JSON object or array');
  end if;
  -- The functions' body limit bounds a delivery already; this holds for every other caller.
  perform private.require_within(p_payload, 'document', 'p_payload');
end;
$$;

-- Stores a delivery, or finds the earlier one, and says what to do:
--   new        first delivery: apply it, then webhook_event_finish
--   retry      an earlier delivery failed (or never finished): apply it again, then finish
--   duplicate  already processed or ignored: answer 200, change nothing
--   dead       failed five times: answer 200, an admin replays it
-- Concurrent deliveries of one event wait on each other: the second sees the first's outcome.
create function public.webhook_event_begin(p_provider text, p_event_id text, p_type text, p_payload jsonb)
returns table (id uuid, outcome text, attempts integer)
language plpgsql
security definer set search_path = ''
as $$
declare
  v_event public.webhook_events;
begin
  perform private.require_caller(array['service'], 'store a webhook event');
  perform private.require_webhook_event(p_provider, p_event_id, p_type, p_payload);

  insert into public.webhook_events as e (provider, event_id, type, payload)
  values (p_provider, p_event_id, p_type, p_payload)
  on conflict on constraint webhook_events_provider_event_key do nothing
  returning e.* into v_event;
  if v_event.id is not null then
    return query select v_event.id, 'new'::text, v_event.attempts;
    return;
  end if;

  select e.* into v_event from public.webhook_events e
   where e.provider = p_provider and e.event_id = p_event_id
   for update;
  return query select v_event.id,
    case v_event.status
      when 'processed' then 'duplicate'
      when 'ignored' then 'duplicate'
      when 'dead' then 'dead'
      else 'retry'
    end,
    v_event.attempts;
end;
$$;
grant execute on function public.webhook_event_begin(text, text, text, jsonb) to service_role;

-- Records the outcome of one attempt: processed, ignored, or failed with its error. The
-- fifth failure makes the event dead. 'waiting' is a failure that is not one for good: the
-- effect cannot apply until something else ends, and will then (a lost Stripe dispute waits
-- for the refunds of its payment still pending at Stripe). It is kept failed with its error
-- and its attempt counted, so that the provider and the polls apply it again, and never made
-- dead: the provider would stop retrying and the wait end with nothing applied. Finishing an event twice with the same final outcome
-- changes nothing; changing a final outcome is WL008. Only the service finishes events: the
-- webhook pipeline, and an admin's replay, which applies the event as the service with the
-- admin's claims (docs/ADMIN_API.md), so the audit row of the change names the admin. An
-- admin calling this directly (as authenticated) could mark a failed event ignored without
-- applying it; it is not granted to authenticated.
create function public.webhook_event_finish(p_id uuid, p_status text, p_error text default null)
returns public.webhook_events
language plpgsql
security definer set search_path = ''
as $$
declare
  v_event public.webhook_events;
  v_attempts integer;
begin
  perform private.require_caller(array['service'], 'finish a webhook event');
  if p_status is null or p_status not in ('processed', 'ignored', 'failed', 'waiting') then
    perform private.fail('22023', pg_catalog.format('webhook event outcome %s is not processed, ignored, failed or waiting',
      coalesce(p_status, 'null')));
  end if;
  select e.* into v_event from public.webhook_events e where e.id = p_id for update;
  if not found then
    perform private.fail('WL007', pg_catalog.format('webhook event %s not found', p_id));
  end if;
  if v_event.status in ('processed', 'ignored') then
    if v_event.status = p_status then
      return v_event;
    end if;
    perform private.fail('WL008', pg_catalog.format('webhook event %s is already %s', p_id, v_event.status));
  end if;

  v_attempts := v_event.attempts + 1;
  update public.webhook_events e
     set status = case
                    when p_status in ('processed', 'ignored') then p_status
                    when v_event.status = 'dead' or (p_status = 'failed' and v_attempts >= 5) then 'dead'
                    else 'failed'
                  end,
         attempts = v_attempts,
         last_error = case when p_status in ('failed', 'waiting') then pg_catalog.left(coalesce(p_error, 'unknown error'), 2000) end,
         processed_at = case when p_status in ('processed', 'ignored') then pg_catalog.now() end
   where e.id = p_id
  returning e.* into v_event;
  return v_event;
end;
$$;
grant execute on function public.webhook_event_finish(uuid, text, text) to service_role;

-- Applies a WhatsApp status update to an outbound message. Statuses arrive out of order:
-- one that is not a forward move (a late delivered after read) leaves the row as it is.
-- A status for a message we have no row for creates it.
create function public.whatsapp_message_status_apply(
  p_wamid text,
  p_status text,
  p_at timestamptz,
  p_recipient text default null,
  p_phone_number_id text default null,
  p_error jsonb default null
)
returns public.whatsapp_messages
language plpgsql
security definer set search_path = ''
as $$
declare
  v_message public.whatsapp_messages;
begin
  perform private.require_caller(array['service'], 'apply a WhatsApp status');
  if p_wamid is null or pg_catalog.length(p_wamid) not between 1 and 255 then
    perform private.fail('22023', 'wamid must be 1 to 255 characters');
  end if;
  perform private.require_within(p_recipient, 'identifier', 'p_recipient');
  perform private.require_within(p_phone_number_id, 'identifier', 'p_phone_number_id');
  perform private.require_within(p_error, 'document', 'p_error');
  if p_status is null or p_status not in ('sent', 'delivered', 'read', 'failed') then
    perform private.fail('22023', pg_catalog.format('WhatsApp status %s is not sent, delivered, read or failed',
      coalesce(p_status, 'null')));
  end if;

  insert into public.whatsapp_messages as m (wamid, direction, phone_number_id, recipient, status, status_at, error)
  values (p_wamid, 'outbound', p_phone_number_id, p_recipient, p_status, p_at, p_error)
  on conflict (wamid) do update
     set status = excluded.status, status_at = excluded.status_at, error = coalesce(excluded.error, m.error)
   where m.direction = 'outbound' and m.status <> excluded.status
     and private.status_transition_allowed('whatsapp_messages', m.status, excluded.status)
  returning m.* into v_message;
  if v_message.id is null then
    select m.* into v_message from public.whatsapp_messages m where m.wamid = p_wamid;
    if v_message.direction = 'inbound' then
      perform private.fail('22023', pg_catalog.format('WhatsApp message %s is inbound and has no delivery status', p_wamid));
    end if;
  end if;
  return v_message;
end;
$$;
grant execute on function public.whatsapp_message_status_apply(text, text, timestamptz, text, text, jsonb) to service_role;

-- Every change of an event's status, attempts or error is audited with its actor and request
-- (the pipeline's service_role and correlation id, or the replaying admin). An insert of a
-- received event is not: the row itself records its delivery. An insert that already carries
-- its outcome (the fast path stores a first delivery finished, webhook_ingest_payment_success)
-- is audited as the update it stands for. The payload is redacted: it is already in the row,
-- and WhatsApp payloads carry conversations.
create trigger audit_update after update on public.webhook_events
  for each row execute function audit.record_row_change('id', 'payload');
create trigger audit_outcome after insert on public.webhook_events
  for each row when (new.status <> 'received') execute function audit.record_row_change('id', 'payload');

-- Not user data: no owner policy. Admin and support read; service_role (BYPASSRLS) reads
-- and writes messages directly, events only through the functions above.
revoke all on table public.webhook_events, public.whatsapp_messages
  from public, anon, authenticated, service_role;
grant select on table public.webhook_events, public.whatsapp_messages to authenticated, service_role;
grant insert, update on table public.whatsapp_messages to service_role;

alter table public.webhook_events enable row level security;
alter table public.webhook_events force row level security;
alter table public.whatsapp_messages enable row level security;
alter table public.whatsapp_messages force row level security;

create policy webhook_events_select on public.webhook_events for select to authenticated
  using ((select private.caller_reads_all()));
create policy whatsapp_messages_select on public.whatsapp_messages for select to authenticated
  using ((select private.caller_reads_all()));
