-- The ledger's tables go under audit like every financial table, and the balance shards
-- of hot accounts with them (a shard row is a part of an account's balance), and the reasons
-- given for account status changes. Row-level, with
-- nothing redacted: ledger rows hold no credentials (docs/AUDIT.md has the cost measured
-- on wallet_transfer). Transactions and entries are inserted in sets by batches, reversals
-- and adjustments (private.wallet_post), which record those inserts per statement.
-- A balance moves only by entries, which are audited with their context: an update of an
-- account's or a shard's balance alone (with the columns that follow it) writes no audit row;
-- status, tier, flags and every other change still do.
select audit.attach('public.wallet_accounts', p_explained_columns => array['balance', 'available', 'updated_at']);
select audit.attach('public.wallet_transactions', p_batched_inserts => true);
select audit.attach('public.wallet_entries', p_batched_inserts => true);
select audit.attach('public.wallet_balance_shards', p_explained_columns => array['balance', 'updated_at']);
select audit.attach('public.wallet_status_reasons');
