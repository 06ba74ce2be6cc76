-- The ledger's tables go under audit like every financial table, and the balance shards
-- of hot accounts with them (a shard row is a part of an account's balance), and the reasons
-- given for account status changes. Row-level, with nothing redacted: ledger rows hold no
-- credentials.
--
-- Transactions and entries are append-only and carry their own attribution (docs/AUDIT.md, "The
-- ledger as its own record"): a transaction row holds the request context the audit would
-- record, an entry is attributed through its transaction, and no role can change either. Their
-- inserts write no audit row; the changes a transaction may still see (a hold captured or
-- voided) are audited as any update. audit.trail shows both kinds of record in one shape.
-- A balance moves only by entries: an update of an account's or a shard's balance alone (with
-- the columns that follow it) writes no audit row; status, tier, flags and every other change
-- still do.
select audit.attach('public.wallet_accounts', p_explained_columns => array['balance', 'available', 'updated_at']);
select audit.attach('public.wallet_transactions', p_record_inserts => false);
select audit.attach('public.wallet_entries', p_record_inserts => false);
select audit.attach('public.wallet_balance_shards', p_explained_columns => array['balance', 'updated_at']);
select audit.attach('public.wallet_status_reasons');

-- A ledger row's place in the trail comes from audit.log's own id sequence, so audit rows and
-- ledger rows interleave in the order they were written and one keyset (id) pages through both.
alter table public.wallet_transactions alter column audit_id set default nextval('audit.log_id_seq');
alter table public.wallet_entries alter column id set default nextval('audit.log_id_seq');
-- The trail's newest page (GET /admin/audit without a record id) walks that keyset backwards
-- in every part of it: audit.log and the entries by their primary keys, the transactions by
-- this index. Without it, every page sorted the whole transactions table (16 s at 200,000
-- transactions). A sequence value lands at the right edge of the index, the cheapest insert a
-- b-tree has; it is the one index a transfer maintains for the audit trail.
create unique index wallet_transactions_audit_id_idx on public.wallet_transactions (audit_id);

-- The one query interface of the audit trail: every audit.log row, and every insert into
-- wallet_transactions and wallet_entries as the row that records it, with the columns of
-- audit.log. A transaction's inserted image is its row, or for a hold that changed since, the
-- old image of its first audited update; an entry takes the context of its transaction.
-- security_invoker: read through it, the ledger tables' grants and RLS apply to the reader;
-- only service_role is granted it (the admin API reads it through api_private.audit_log).
-- One column more than audit.log: transaction_id, on the ledger's rows the transaction they
-- record (null on audit.log's rows), so that a lookup by record id can reach the ledger
-- tables' primary keys; record_id holds their keys as text, which no index covers.
create view audit.trail with (security_invoker = true) as
select l.id, l.occurred_at, l.txid, l.schema_name, l.table_name, l.operation, l.record_id, l.old_record,
       l.new_record, l.changed_fields, l.actor_id, l.actor_role, l.actor_app_role, l.session_id,
       l.correlation_id, l.ip, l.user_agent, null::uuid as transaction_id
  from audit.log l
union all
select t.audit_id, t.created_at, t.txid, 'public', 'wallet_transactions', 'INSERT', t.id::text, null,
       coalesce(case when t.hold_amount is not null then
                  (select u.old_record from audit.log u
                    where u.table_name = 'wallet_transactions' and u.record_id = t.id::text and u.operation = 'UPDATE'
                    order by u.id limit 1) end,
                pg_catalog.to_jsonb(t)),
       null, t.actor_id, t.actor_role, t.actor_app_role, t.session_id, t.correlation_id, t.client_ip, t.user_agent, t.id
  from public.wallet_transactions t
union all
select e.id, e.created_at, (e.t).txid, 'public', 'wallet_entries', 'INSERT', e.id::text, null, e.image, null,
       (e.t).actor_id, (e.t).actor_role, (e.t).actor_app_role, (e.t).session_id, (e.t).correlation_id, (e.t).client_ip,
       (e.t).user_agent, e.transaction_id
  -- An entry's attribution is its transaction's, read per entry by its primary key: as a join
  -- of both tables the planner sorted the whole ledger for a page, while this branch of one
  -- table walks the entries backwards by their primary key to the page's rows.
  from (select e.id, e.created_at, e.transaction_id, pg_catalog.to_jsonb(e) as image,
               (select t from public.wallet_transactions t where t.id = e.transaction_id) as t
          from public.wallet_entries e) e;
comment on view audit.trail is
  'The audit trail: audit.log and the ledger''s own records of its inserts, in the shape of audit.log, '
  'plus transaction_id: the ledger transaction a ledger row records.';
revoke all on table audit.trail from public, anon, authenticated, service_role;
grant select on table audit.trail to service_role;
