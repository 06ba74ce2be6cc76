-- Admin API, part 4: GET /admin/webhook-events pages every stored delivery newest first by
-- (received_at, id); the existing (status, received_at) index serves only the status filter.
create index if not exists webhook_events_received_at_id_idx on public.webhook_events (received_at desc, id desc);
