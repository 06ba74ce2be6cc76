-- The WhatsApp wallet's platform (docs/WHATSAPP.md): who a sender is (whatsapp_contacts)
-- and what mfuko says back (whatsapp_outbox, a transactional outbox).
--
-- A contact ties a WhatsApp id (wa_id, E.164 digits without '+') to the Supabase Auth user
-- who holds it as a confirmed phone, for as long as that user does. The outbox holds every
-- reply and notification as a row written in the same transaction as the effect it reports;
-- the sender (edge functions) leases rows, calls the Graph API outside any transaction and
-- records the outcome here. Users read their own contact and no outbox row; admin and support
-- read both.

-- ---------------------------------------------------------------------------------------
-- Contacts
-- ---------------------------------------------------------------------------------------

create table public.whatsapp_contacts (
  wa_id text primary key check (wa_id ~ '^[1-9][0-9]{6,14}$'),
  user_id uuid not null unique references auth.users (id),
  profile_name text check (length(profile_name) <= 255),
  language text not null default 'en' check (language ~ '^[a-z]{2,3}(_[A-Z]{2})?$'),
  opted_out boolean not null default false,
  -- The latest message the person sent: Meta's 24-hour customer service window runs from it.
  last_inbound_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.whatsapp_contacts is
  'A WhatsApp sender (wa_id, E.164 digits) and the Auth user whose confirmed phone it is. '
  'Written only by private.whatsapp_contact_open, the conversation''s functions and '
  'private.whatsapp_contact_follow_phone (which removes it when the user''s phone changes).';
create trigger whatsapp_contacts_touch before update on public.whatsapp_contacts
  for each row execute function private.touch_updated_at();

revoke all on table public.whatsapp_contacts from public, anon, authenticated, service_role;
grant select on table public.whatsapp_contacts to authenticated, service_role;
alter table public.whatsapp_contacts enable row level security;
alter table public.whatsapp_contacts force row level security;
-- The user reads its own contact; nobody else does, staff included: a contact is a phone
-- number and a WhatsApp profile name, which no admin task needs (the outbox names the number
-- it writes to, the audit trail the user).
create policy whatsapp_contacts_select on public.whatsapp_contacts for select to authenticated
  using (user_id = (select auth.uid()));

-- The contact of p_wa_id, for the Auth user who holds p_wa_id as a confirmed phone (as
-- Supabase Auth stores it, without '+'): the user the Admin API created for this sender with
-- the phone confirmed, or an app user whose phone an OTP confirmed. Only a confirmed phone
-- says who writes from the number: Auth stores the phone of a sign-up before anyone proved
-- it, so anybody can sign up with someone else's number and a password, and a contact linked
-- to that user would put the number's owner's money in the impostor's wallet. No row when no
-- user holds p_wa_id confirmed (docs/WHATSAPP.md, "Identity"): the caller then creates the
-- user through the Admin API, or refuses the sender when Auth says that an unconfirmed user
-- holds the number. The first contact opens the user's wallet account in p_currency (unless
-- open already); later ones record the message's time and the profile name. Two first
-- messages at once: both insert with on conflict, one row wins, both return it. A contact
-- whose user no longer holds the number is gone (whatsapp_contact_follow_phone below), so a
-- contact found here is always its confirmed holder's.
create function private.whatsapp_contact_open(p_wa_id text, p_profile_name text, p_currency text)
returns table (user_id uuid, opted_out boolean, created boolean)
language plpgsql
security definer set search_path = ''
as $$
declare
  v_user uuid;
  v_contact public.whatsapp_contacts;
  v_created boolean := false;
begin
  perform private.require_caller(array['service'], 'open a WhatsApp contact');
  perform private.require_within(p_wa_id, 'identifier', 'p_wa_id');
  perform private.require_within(p_profile_name, 'identifier', 'p_profile_name');
  if p_wa_id is null or p_wa_id !~ '^[1-9][0-9]{6,14}$' then
    perform private.fail('22023', 'wa_id must be 7 to 15 digits (E.164 without +)');
  end if;
  perform private.require_currency(p_currency);

  select c.* into v_contact from public.whatsapp_contacts c where c.wa_id = p_wa_id;
  if v_contact.wa_id is null then
    select u.id into v_user from auth.users u where u.phone = p_wa_id and u.phone_confirmed_at is not null;
    if v_user is null then
      return;
    end if;
    insert into public.whatsapp_contacts as c (wa_id, user_id, profile_name, last_inbound_at)
    values (p_wa_id, v_user, p_profile_name, now())
    on conflict (wa_id) do nothing
    returning c.* into v_contact;
    v_created := v_contact.wa_id is not null;
    if not v_created then
      select c.* into v_contact from public.whatsapp_contacts c where c.wa_id = p_wa_id;
    end if;
  end if;
  if not v_created then
    update public.whatsapp_contacts c
       set last_inbound_at = now(), profile_name = coalesce(p_profile_name, c.profile_name)
     where c.wa_id = p_wa_id
    returning c.* into v_contact;
  end if;

  if v_created then
    insert into public.wallet_accounts (owner_id, kind, currency)
    values (v_contact.user_id, 'user', p_currency)
    on conflict (owner_id, currency) do nothing;
  end if;

  return query select v_contact.user_id, v_contact.opted_out, v_created;
end;
$$;
grant execute on function private.whatsapp_contact_open(text, text, text) to service_role;

-- A contact lasts only while its user holds the wa_id as a confirmed phone. When Supabase Auth
-- changes a user's phone (a verified phone change, an admin's update) or takes its
-- confirmation away, the contact of the old number is removed: the number no longer says who
-- writes from it, and whoever has it now must not reach this user's wallet, be told about its
-- money or be paid its cash-outs. Its next message is a first contact; the user's new number
-- becomes its contact when it writes from it. Security definer: Auth's own role, which
-- updates auth.users, has no rights on public tables.
create function private.whatsapp_contact_follow_phone() returns trigger
language plpgsql
security definer set search_path = ''
as $$
begin
  delete from public.whatsapp_contacts c
   where c.user_id = new.id and (c.wa_id is distinct from new.phone or new.phone_confirmed_at is null);
  return null;
end;
$$;
create trigger whatsapp_contact_follow_phone after update of phone, phone_confirmed_at on auth.users
  for each row when (new.phone is distinct from old.phone or new.phone_confirmed_at is null)
  execute function private.whatsapp_contact_follow_phone();

-- ---------------------------------------------------------------------------------------
-- Number changes: each of Meta's user_changed_number notices and what it did
-- ---------------------------------------------------------------------------------------

-- A number change hands a user's wallet to another number: each notice is a row of its own,
-- audited, written in the webhook's request context (whatsapp_contacts is not audited, and
-- Auth removes the old contact with no request context). Meta's time of the notice orders a
-- person's changes, which Meta may deliver out of order (docs/WHATSAPP.md, decision 0025).
create table public.whatsapp_number_changes (
  id uuid primary key default gen_random_uuid(),
  -- The notice's wamid: one row, one action per notice.
  notice_wamid text not null unique check (length(notice_wamid) <= 255),
  -- The user the notice concerns; null while its old number reaches nobody (no_contact).
  user_id uuid references auth.users (id),
  old_wa_id text not null check (old_wa_id ~ '^[1-9][0-9]{6,14}$'),
  new_wa_id text not null check (new_wa_id ~ '^[1-9][0-9]{6,14}$'),
  -- Meta's time of the notice (the message's timestamp), not its arrival.
  noticed_at timestamptz not null,
  -- moved: the user was moved to moved_to (new_wa_id, or the number of a newer notice from
  -- new_wa_id that came first); no_contact: old_wa_id reached nobody; superseded: a newer
  -- notice of the user's moved them already; new_number_taken: another user holds new_wa_id.
  outcome text not null check (outcome in ('moved', 'no_contact', 'superseded', 'new_number_taken')),
  moved_to text check (moved_to ~ '^[1-9][0-9]{6,14}$'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint whatsapp_number_changes_shape check (
    (outcome = 'no_contact') = (user_id is null) and (outcome = 'moved') = (moved_to is not null))
);
comment on table public.whatsapp_number_changes is
  'Meta''s user_changed_number notices (by wamid) and what each did to whose user. Written only '
  'by private.whatsapp_number_change_plan and private.whatsapp_number_change_record.';
create index whatsapp_number_changes_user_idx on public.whatsapp_number_changes (user_id, noticed_at);
create index whatsapp_number_changes_waiting_idx on public.whatsapp_number_changes (old_wa_id, noticed_at)
  where outcome = 'no_contact';
create trigger whatsapp_number_changes_touch before update on public.whatsapp_number_changes
  for each row execute function private.touch_updated_at();

revoke all on table public.whatsapp_number_changes from public, anon, authenticated, service_role;
grant select on table public.whatsapp_number_changes to authenticated, service_role;
alter table public.whatsapp_number_changes enable row level security;
alter table public.whatsapp_number_changes force row level security;
create policy whatsapp_number_changes_select on public.whatsapp_number_changes for select to authenticated
  using (user_id = (select auth.uid()) or (select private.caller_reads_all()));
select audit.attach('public.whatsapp_number_changes');

-- What Meta's notice p_notice (p_from changed to p_to at p_noticed_at, Meta's time) is to do,
-- before the Admin API is asked (outside any transaction). Outcomes:
--   replayed: the notice is stored already (a row here, or its message): it did what it says
--     when it came, and acted on again it would move whoever holds p_from since. No row.
--   no_contact: p_from reaches nobody. Recorded: it may be a newer notice that came before an
--     older one (Y to Z before X to Y), which the older one then follows.
--   superseded: a notice of the user's newer than this one moved them already (recorded);
--     one of the same second (Meta's time has no finer grain) is taken in the order it came.
--   move: the contact's user is to be moved to moved_to: p_to, or, when notices from p_to
--     newer than this one came first and reached nobody, the number the newest of that chain
--     names (each the earliest from the number before, after the time of the one before), so
--     that the person ends on the number they hold last; chain holds those notices' wamids.
--     Nothing is written: private.whatsapp_number_change_record records what the Admin API did.
create function private.whatsapp_number_change_plan(p_notice text, p_from text, p_to text, p_noticed_at timestamptz)
returns table (outcome text, user_id uuid, moved_to text, chain text[], profile_name text, opted_out boolean)
language plpgsql
security definer set search_path = ''
as $$
declare
  v_contact public.whatsapp_contacts;
  v_to text := p_to;
  v_at timestamptz := p_noticed_at;
  v_chain text[] := array[]::text[];
  v_next public.whatsapp_number_changes;
  v_outcome text;
begin
  perform private.require_caller(array['service'], 'plan a WhatsApp number change');
  perform private.require_within(p_notice, 'identifier', 'p_notice');
  if p_notice is null or p_noticed_at is null or p_from !~ '^[1-9][0-9]{6,14}$' or p_to !~ '^[1-9][0-9]{6,14}$'
     or p_from = p_to then
    perform private.fail('22023', 'a number change needs its wamid, its time and two different wa_ids');
  end if;
  if exists (select 1 from public.whatsapp_number_changes n where n.notice_wamid = p_notice)
     or exists (select 1 from public.whatsapp_messages m where m.wamid = p_notice) then
    return query select 'replayed'::text, null::uuid, null::text, null::text[], null::text, null::boolean;
    return;
  end if;
  select c.* into v_contact from public.whatsapp_contacts c where c.wa_id = p_from;
  -- The outcomes recorded now, with the contact's user (none for no_contact).
  v_outcome := case
    when v_contact.wa_id is null then 'no_contact'
    when exists (select 1 from public.whatsapp_number_changes n
                  where n.user_id = v_contact.user_id and n.outcome = 'moved' and n.noticed_at > p_noticed_at)
      then 'superseded'
  end;
  if v_outcome is not null then
    insert into public.whatsapp_number_changes (notice_wamid, user_id, old_wa_id, new_wa_id, noticed_at, outcome)
    values (p_notice, v_contact.user_id, p_from, p_to, p_noticed_at, v_outcome)
    on conflict (notice_wamid) do nothing;
    return query select v_outcome, v_contact.user_id, null::text, null::text[], null::text, null::boolean;
    return;
  end if;
  -- A chain of WhatsApp's changes is short: ten links bound a loop of numbers.
  for i in 1..10 loop
    select n.* into v_next from public.whatsapp_number_changes n
     where n.outcome = 'no_contact' and n.old_wa_id = v_to and n.noticed_at > v_at
     order by n.noticed_at, n.id limit 1;
    exit when v_next.id is null;
    v_chain := v_chain || v_next.notice_wamid;
    v_to := v_next.new_wa_id;
    v_at := v_next.noticed_at;
    v_next := null;
  end loop;
  return query select 'move'::text, v_contact.user_id, v_to, v_chain, v_contact.profile_name, v_contact.opted_out;
end;
$$;
grant execute on function private.whatsapp_number_change_plan(text, text, text, timestamptz) to service_role;

-- Records what the Admin API did with a notice that private.whatsapp_number_change_plan said
-- to move: moved (p_user now holds p_moved_to; the notices of p_chain, which reached nobody
-- when they came, are recorded as moving p_user there too) or new_number_taken.
create function private.whatsapp_number_change_record(
  p_notice text, p_from text, p_to text, p_noticed_at timestamptz, p_user uuid, p_outcome text, p_moved_to text,
  p_chain text[]
) returns void
language plpgsql
security definer set search_path = ''
as $$
begin
  perform private.require_caller(array['service'], 'record a WhatsApp number change');
  if p_outcome is null or p_outcome not in ('moved', 'new_number_taken') or p_user is null then
    perform private.fail('22023', 'a recorded number change moved its user or found the new number taken');
  end if;
  insert into public.whatsapp_number_changes (notice_wamid, user_id, old_wa_id, new_wa_id, noticed_at, outcome, moved_to)
  values (p_notice, p_user, p_from, p_to, p_noticed_at, p_outcome, case when p_outcome = 'moved' then p_moved_to end)
  -- The same notice in two deliveries at once: the Admin API may refuse the second the phone
  -- the first gave the user (new_number_taken); the move is what happened, whichever records first.
  on conflict (notice_wamid) do update set outcome = 'moved', user_id = excluded.user_id, moved_to = excluded.moved_to
   where excluded.outcome = 'moved' and public.whatsapp_number_changes.outcome <> 'moved';
  if p_outcome = 'moved' then
    update public.whatsapp_number_changes n set user_id = p_user, outcome = 'moved', moved_to = p_moved_to
     where n.notice_wamid = any (coalesce(p_chain, array[]::text[])) and n.outcome = 'no_contact';
  end if;
end;
$$;
grant execute on function private.whatsapp_number_change_record(text, text, text, timestamptz, uuid, text, text, text[])
  to service_role;

-- ---------------------------------------------------------------------------------------
-- The outbox
-- ---------------------------------------------------------------------------------------

-- The shape of an outbox row, checked by the table's one CHECK constraint (decision 0011): a
-- message is inserted once and updated at every step of its sending and delivery, and each of
-- those statements read back and prepared the table's 8 separate check expressions, about a
-- quarter of what a notification cost the database.
create function private.whatsapp_outbox_shape_ok(p_wa_id text, p_kind text, p_body jsonb, p_purpose text, p_status text,
                                                 p_attempts integer, p_last_error text, p_wamid text) returns boolean
language plpgsql
immutable
set search_path = ''
as $$
begin
  return p_wa_id ~ '^[1-9][0-9]{6,14}$'
     and p_kind in ('text', 'interactive', 'template')
     -- The body's type is the row's kind.
     and p_body ->> 'type' = p_kind
     and p_purpose in ('reply', 'notification')
     and p_status in ('queued', 'sending', 'sent', 'delivered', 'read', 'failed', 'dead')
     and p_attempts between 0 and 100
     and length(p_last_error) <= 1000
     and length(p_wamid) between 1 and 255;
end;
$$;

create table public.whatsapp_outbox (
  id uuid primary key default private.uuid_v7(),
  wa_id text not null,
  kind text not null,
  -- The Cloud API message object without messaging_product and to, e.g.
  -- {"type":"text","text":{"body":"..."}}; its type is the row's kind.
  body jsonb not null,
  purpose text not null,
  status text not null default 'queued',
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  -- While status is sending: the sender holding the row until then; nobody else sends it.
  lease_until timestamptz,
  last_error text,
  wamid text unique,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- Recipient, kind and body, purpose, status, attempts, error, wamid:
  -- private.whatsapp_outbox_shape_ok.
  constraint whatsapp_outbox_shape check (
    private.whatsapp_outbox_shape_ok(wa_id, kind, body, purpose, status, attempts, last_error, wamid))
);
comment on table public.whatsapp_outbox is
  'Replies and notifications to WhatsApp users, written with the effect they report: '
  'queued -> sending -> sent -> delivered -> read; sending -> queued (backoff) | failed | dead; '
  'sent | delivered -> failed; sent -> queued (a notification outside the 24-hour window, as the template); '
  'dead -> queued (admin replay). Sent once per row (lease).';
create index whatsapp_outbox_due_idx on public.whatsapp_outbox (next_attempt_at) where status in ('queued', 'sending');
create index whatsapp_outbox_status_idx on public.whatsapp_outbox (status, created_at);

insert into private.status_transitions (table_name, from_status, to_status)
select 'whatsapp_outbox', m.from_status, m.to_status
  from (values ('queued', 'sending'),
               ('sending', 'queued'), ('sending', 'sent'), ('sending', 'failed'), ('sending', 'dead'),
               -- The status webhook of a message can overtake the sender recording its wamid.
               ('sending', 'delivered'), ('sending', 'read'),
               ('sent', 'delivered'), ('sent', 'read'), ('sent', 'failed'),
               -- A notification Meta took and then failed outside the 24-hour window (131047)
               -- is queued again to go as the template (private.whatsapp_outbox_follow_status).
               ('sent', 'queued'),
               ('delivered', 'read'), ('delivered', 'failed'),
               ('dead', 'queued')) as m (from_status, to_status);

create trigger whatsapp_outbox_status before update of status on public.whatsapp_outbox
  for each row when (old.status is distinct from new.status)
  execute function private.enforce_status_transition('status');
create trigger whatsapp_outbox_touch before update on public.whatsapp_outbox
  for each row execute function private.touch_updated_at();
-- Every change of a message's status, attempts or error is audited with its actor (the
-- sender's service_role or the replaying admin); the body is redacted: it is a conversation.
create trigger audit_update after update on public.whatsapp_outbox
  for each row execute function audit.record_row_change('id', 'body');

revoke all on table public.whatsapp_outbox from public, anon, authenticated, service_role;
grant select on table public.whatsapp_outbox to authenticated, service_role;
alter table public.whatsapp_outbox enable row level security;
alter table public.whatsapp_outbox force row level security;
create policy whatsapp_outbox_select on public.whatsapp_outbox for select to authenticated
  using ((select private.caller_reads_all()));

-- Queues a message to p_wa_id in the caller's transaction and returns its id. A notification
-- to a contact who opted out writes nothing and returns null; replies always go.
create function private.whatsapp_enqueue(p_wa_id text, p_kind text, p_body jsonb, p_purpose text)
returns uuid
language plpgsql
security definer set search_path = ''
as $$
declare
  v_id uuid;
begin
  perform private.require_within(p_wa_id, 'identifier', 'p_wa_id');
  perform private.require_within(p_kind, 'identifier', 'p_kind');
  perform private.require_within(p_body, 'metadata', 'p_body');
  perform private.require_within(p_purpose, 'identifier', 'p_purpose');
  if p_wa_id is null or p_wa_id !~ '^[1-9][0-9]{6,14}$' then
    perform private.fail('22023', 'wa_id must be 7 to 15 digits (E.164 without +)');
  end if;
  if p_kind is null or p_kind not in ('text', 'interactive', 'template') then
    perform private.fail('22023', 'kind must be text, interactive or template');
  end if;
  if p_body is null or pg_catalog.jsonb_typeof(p_body) <> 'object' or p_body ->> 'type' is distinct from p_kind
     or pg_catalog.jsonb_typeof(p_body -> p_kind) <> 'object' then
    perform private.fail('22023', 'body must be a Cloud API message object whose type is the kind');
  end if;
  if p_purpose is null or p_purpose not in ('reply', 'notification') then
    perform private.fail('22023', 'purpose must be reply or notification');
  end if;
  if p_purpose = 'notification'
     and exists (select 1 from public.whatsapp_contacts c where c.wa_id = p_wa_id and c.opted_out) then
    return null;
  end if;
  insert into public.whatsapp_outbox (wa_id, kind, body, purpose)
  values (p_wa_id, p_kind, p_body - 'messaging_product' - 'to', p_purpose)
  returning id into v_id;
  return v_id;
end;
$$;
grant execute on function private.whatsapp_enqueue(text, text, jsonb, text) to service_role;

-- Queues a notification to p_user's WhatsApp contact; none, or opted out: null, nothing written.
create function private.whatsapp_notify_user(p_user uuid, p_body jsonb)
returns uuid
language plpgsql
security definer set search_path = ''
as $$
declare
  v_wa_id text;
begin
  select c.wa_id into v_wa_id from public.whatsapp_contacts c where c.user_id = p_user and not c.opted_out;
  if v_wa_id is null then
    return null;
  end if;
  return private.whatsapp_enqueue(v_wa_id, coalesce(p_body ->> 'type', 'text'), p_body, 'notification');
end;
$$;
grant execute on function private.whatsapp_notify_user(uuid, jsonb) to service_role;

-- ---------------------------------------------------------------------------------------
-- The sender's steps (service_role; docs/WHATSAPP.md "Sending")
-- ---------------------------------------------------------------------------------------

-- Leases those of p_ids that are due (queued, or sending with a lease run out: a sender that
-- died) for p_lease_seconds and counts the attempt, up to the row's bound of 100: a row whose
-- senders keep dying before Meta answers (each lease that runs out leases it again, and only an
-- answer can make it dead) stops counting there instead of breaking the row's check and so
-- every lease of the batches it is in. Two senders offering the same row: the
-- second waits on the first's update and then finds the row leased, so only one gets it.
-- window_open: the recipient wrote to us within the last 24 hours (Meta's customer service
-- window, in which a message other than a template may be sent).
create function private.whatsapp_outbox_lease(p_ids uuid[], p_lease_seconds integer)
returns table (id uuid, wa_id text, kind text, body jsonb, purpose text, attempts integer, language text, window_open boolean)
language plpgsql
security definer set search_path = ''
as $$
begin
  perform private.require_caller(array['service'], 'send WhatsApp messages');
  perform private.require_between(p_lease_seconds, 1, 3600, 'lease_seconds');
  perform private.require_between(coalesce(pg_catalog.cardinality(p_ids), 0), 0, 1000, 'the number of ids');
  return query
    update public.whatsapp_outbox o
       set status = 'sending', lease_until = now() + make_interval(secs => p_lease_seconds),
           attempts = least(o.attempts + 1, 100)
     where o.id = any (p_ids) and o.next_attempt_at <= now()
       and (o.status = 'queued' or (o.status = 'sending' and o.lease_until <= now()))
    returning o.id, o.wa_id, o.kind, o.body, o.purpose, o.attempts,
              coalesce((select c.language from public.whatsapp_contacts c where c.wa_id = o.wa_id), 'en'),
              coalesce((select c.last_inbound_at > now() - interval '24 hours'
                          from public.whatsapp_contacts c where c.wa_id = o.wa_id), false);
end;
$$;
grant execute on function private.whatsapp_outbox_lease(uuid[], integer) to service_role;

-- Up to p_batch ids of messages due now, oldest first (the whatsapp-send job then leases them).
create function private.whatsapp_outbox_due(p_batch integer)
returns setof uuid
language plpgsql
stable
security definer set search_path = ''
as $$
begin
  perform private.require_caller(array['service'], 'send WhatsApp messages');
  perform private.require_between(p_batch, 1, 1000, 'batch');
  return query
    select o.id from public.whatsapp_outbox o
     where o.status in ('queued', 'sending') and o.next_attempt_at <= now()
       and (o.status = 'queued' or o.lease_until <= now())
     order by o.next_attempt_at, o.id
     limit p_batch;
end;
$$;
grant execute on function private.whatsapp_outbox_due(integer) to service_role;

-- Meta takes a message and may report later, in its status webhook, that it failed outside
-- the 24-hour window (131047), not only refuse it at once. A notification (not yet its
-- template) that failed so, sending or sent, is queued again with the body
-- {"type": "template", "notification": <the message it was>}, which the sender sends as
-- WHATSAPP_NOTIFY_TEMPLATE, with what the message says as the template's parameter when the
-- template has one: the user still hears of the money, as when the Graph API refuses at once.
-- Whether p_id was queued again.
create function private.whatsapp_outbox_queue_template(p_id uuid, p_error jsonb) returns boolean
language plpgsql
security definer set search_path = ''
as $$
begin
  if p_id is null or p_error is null or not p_error @> '[{"code": 131047}]' then
    return false;
  end if;
  update public.whatsapp_outbox o
     set status = 'queued', kind = 'template', wamid = null, lease_until = null,
         body = pg_catalog.jsonb_build_object('type', 'template', 'notification', o.body),
         next_attempt_at = now(), last_error = pg_catalog.left(p_error::text, 1000)
   where o.id = p_id and o.purpose = 'notification' and o.kind <> 'template' and o.status in ('sending', 'sent');
  return found;
end;
$$;

-- Records what the Graph API said about a leased message:
--   sent     accepted with p_wamid (a status webhook that came first moves it further at once)
--   retry    queued again, next attempt after p_retry_seconds (backoff)
--   failed   not delivered and not retried (a reply outside the 24-hour window)
--   dead     not delivered; an admin may replay it
-- p_body replaces the message sent (a notification that fell back to its template).
-- Only the row's sending state is changed: a row no longer sending is left as it is.
create function private.whatsapp_outbox_record(
  p_id uuid,
  p_outcome text,
  p_wamid text default null,
  p_error text default null,
  p_retry_seconds integer default null,
  p_body jsonb default null
)
returns public.whatsapp_outbox
language plpgsql
security definer set search_path = ''
as $$
declare
  v_row public.whatsapp_outbox;
  v_status text;
  v_error jsonb;
begin
  perform private.require_caller(array['service'], 'send WhatsApp messages');
  perform private.require_within(p_outcome, 'identifier', 'p_outcome');
  perform private.require_within(p_wamid, 'identifier', 'p_wamid');
  perform private.require_within(p_error, 'reason', 'p_error');
  perform private.require_within(p_body, 'metadata', 'p_body');
  if p_outcome is null or p_outcome not in ('sent', 'retry', 'failed', 'dead') then
    perform private.fail('22023', 'outcome must be sent, retry, failed or dead');
  end if;
  if (p_outcome = 'sent') <> (p_wamid is not null) then
    perform private.fail('22023', 'a wamid is given exactly when the message was sent');
  end if;
  if p_outcome = 'retry' then
    perform private.require_between(p_retry_seconds, 1, 86400, 'retry_seconds');
  end if;
  if p_body is not null and (pg_catalog.jsonb_typeof(p_body) <> 'object'
                             or p_body ->> 'type' not in ('text', 'interactive', 'template')) then
    perform private.fail('22023', 'body must be a Cloud API message object');
  end if;
  v_status := case p_outcome when 'retry' then 'queued' else p_outcome end;
  if p_outcome = 'sent' then
    -- The furthest status a webhook has already reported for this wamid, if any; a failure
    -- outside the 24-hour window that came first queues a notification again as its template.
    select m.status, m.error into v_status, v_error from public.whatsapp_messages m
     where m.wamid = p_wamid and m.direction = 'outbound' and m.status in ('delivered', 'read', 'failed');
    if v_status = 'failed' and private.whatsapp_outbox_queue_template(p_id, v_error) then
      select o.* into v_row from public.whatsapp_outbox o where o.id = p_id;
      return v_row;
    end if;
    v_status := coalesce(v_status, 'sent');
  end if;
  update public.whatsapp_outbox o
     set status = v_status,
         wamid = coalesce(p_wamid, o.wamid),
         last_error = case when p_outcome = 'sent' then o.last_error else pg_catalog.left(p_error, 1000) end,
         next_attempt_at = case when p_outcome = 'retry' then now() + make_interval(secs => p_retry_seconds) else o.next_attempt_at end,
         lease_until = null,
         kind = coalesce(p_body ->> 'type', o.kind),
         body = coalesce(p_body, o.body)
   where o.id = p_id and o.status = 'sending'
  returning o.* into v_row;
  if v_row.id is null then
    select o.* into v_row from public.whatsapp_outbox o where o.id = p_id;
  end if;
  return v_row;
end;
$$;
grant execute on function private.whatsapp_outbox_record(uuid, text, text, text, integer, jsonb) to service_role;

-- Status webhooks (whatsapp_message_status_apply) move the outbox row of the same wamid
-- forward too: the status of whatsapp_messages only ever moves forward, and the outbox row
-- follows it when that is a forward move for the row (a late delivered after read is not).
-- A notification Meta failed outside the 24-hour window is queued again as its template
-- (private.whatsapp_outbox_queue_template).
create function private.whatsapp_outbox_follow_status() returns trigger
language plpgsql
security definer set search_path = ''
as $$
begin
  -- Only a failure can be the window's: the look-up of the row is not made for other statuses.
  if new.status = 'failed'
     and private.whatsapp_outbox_queue_template((select o.id from public.whatsapp_outbox o where o.wamid = new.wamid), new.error) then
    return null;
  end if;
  update public.whatsapp_outbox o
     set status = new.status,
         last_error = case when new.status = 'failed' then pg_catalog.left(coalesce(new.error::text, 'failed'), 1000) else o.last_error end
   where o.wamid = new.wamid and o.status <> new.status
     and private.status_transition_allowed('whatsapp_outbox', o.status, new.status);
  return null;
end;
$$;
create trigger whatsapp_outbox_follow_status after insert or update of status on public.whatsapp_messages
  for each row when (new.direction = 'outbound')
  execute function private.whatsapp_outbox_follow_status();

-- ---------------------------------------------------------------------------------------
-- Admin: replay a dead message
-- ---------------------------------------------------------------------------------------

-- Queues a dead message again with a fresh count of attempts; the next whatsapp-send run
-- sends it. 42501 for anyone but an admin, WL007 for an unknown id, WL008 for a message that
-- is not dead (a replay never sends a delivered message twice).
create function api_private.whatsapp_outbox_replay(p_id uuid)
returns public.whatsapp_outbox
language plpgsql
security definer set search_path = ''
as $$
declare
  v_row public.whatsapp_outbox;
begin
  perform private.require_caller(array['service', 'admin'], 'replay a WhatsApp message');
  select o.* into v_row from public.whatsapp_outbox o where o.id = p_id for update;
  perform private.require_found(found, pg_catalog.format('WhatsApp message %s', p_id));
  if v_row.status <> 'dead' then
    perform private.fail('WL008', pg_catalog.format('WhatsApp message %s is %s; only a dead message is replayed', p_id, v_row.status));
  end if;
  update public.whatsapp_outbox o
     set status = 'queued', attempts = 0, next_attempt_at = now(), lease_until = null
   where o.id = p_id
  returning o.* into v_row;
  return v_row;
end;
$$;
grant execute on function api_private.whatsapp_outbox_replay(uuid) to authenticated, service_role;

-- ---------------------------------------------------------------------------------------
-- The whatsapp-send job every 10 seconds
-- ---------------------------------------------------------------------------------------

-- Scheduled next to the other calls of the jobs function (20261206100100_job_schedules.sql),
-- so only where that migration could schedule them (pg_cron with pg_net); harmless elsewhere.
-- The local stack's own scheduler runs it instead.
do $schedule$
declare
  v_jobs_scheduled boolean := false;
begin
  -- cron.job is named only once it is known to exist: PL/pgSQL prepares a condition whole, and
  -- a relation that is not there fails it even behind an OR that would not reach it.
  if to_regclass('cron.job') is not null then
    v_jobs_scheduled := exists (select 1 from cron.job where jobname = 'mfuko-momo-poll');
  end if;
  if not v_jobs_scheduled then
    raise notice 'the jobs function is not scheduled in this database: whatsapp-send is not either';
    return;
  end if;
  perform cron.schedule('mfuko-whatsapp-send', '10 seconds', $$select private.jobs_invoke('whatsapp-send')$$);
end;
$schedule$;
