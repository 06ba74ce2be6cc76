-- The ledger's three tables go under audit like every financial table. Row-level, with
-- nothing redacted: ledger rows hold no credentials (docs/AUDIT.md has the cost measured
-- on wallet_transfer).
select audit.attach('public.wallet_accounts');
select audit.attach('public.wallet_transactions');
select audit.attach('public.wallet_entries');
