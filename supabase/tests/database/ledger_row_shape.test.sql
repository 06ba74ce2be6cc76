-- The shape of account and transaction rows holds whatever code writes them: each rule of
-- private.wallet_account_shape_ok and private.wallet_transaction_shape_ok refuses a row that
-- breaks it alone (23514 naming the table's shape constraint), written here by the owner,
-- past every function's own checks. Rows of the right shape go in.
begin;
select plan(27);

select tests.create_user('alice');

-- Accounts: a valid user account, then each rule broken alone.
select lives_ok($$ insert into public.wallet_accounts (id, owner_id, kind, currency)
                  values ('ac000000-0000-4000-8000-00000000000a', tests.user_id('alice'), 'user', 'USD') $$,
  'an account of the right shape goes in');
select tests.refuses_shape('public.wallet_accounts',
         tests.insert_row_sql('public.wallet_accounts',
           jsonb_build_object('id', gen_random_uuid(), 'owner_id', tests.user_id('alice'), 'kind', 'user',
                              'currency', 'EUR', 'balance', 0, 'available', 0, 'allow_negative', false,
                              'status', 'active', 'balance_shards', 0, 'limit_tier', 'standard',
                              'created_at', now(), 'updated_at', now()) || c.change),
         'account refused: ' || c.what)
  from (values
    ('{"kind": "bank"}'::jsonb, 'an unknown kind'),
    ('{"owner_id": null}', 'a user account without an owner'),
    ('{"kind": "system", "code": "fees:EUR"}', 'a system account with an owner'),
    ('{"currency": "eur"}', 'a currency that is not ISO 4217'),
    ('{"balance": 5, "available": 6}', 'available above balance'),
    ('{"status": "gone"}', 'an unknown status'),
    ('{"status": "closed", "balance": 5, "available": 5}', 'closed with money in it'),
    ('{"balance_shards": 65}', 'more than 64 balance shards')
  ) as c(change, what);

-- Transactions: a posted transfer and a pending hold without destination, then each rule
-- broken alone, starting from the transfer.
select lives_ok($$ insert into public.wallet_transactions (id, kind, status, amount, currency, from_account_id, to_account_id,
                                                             idempotency_key, posted_at)
                  values ('ab000000-0000-4000-8000-000000000001', 'transfer', 'posted', 5, 'USD',
                          'ac000000-0000-4000-8000-00000000000a', 'ac000000-0000-4000-8000-00000000000b', 'shape-1', now()) $$,
  'a transfer of the right shape goes in');
select lives_ok($$ insert into public.wallet_transactions (kind, status, amount, hold_amount, currency, from_account_id,
                                                             idempotency_key, expires_at)
                  values ('hold', 'pending', 5, 5, 'USD', 'ac000000-0000-4000-8000-00000000000a', 'shape-2',
                          now() + interval '1 hour') $$,
  'a pending hold without destination goes in');
select tests.refuses_shape('public.wallet_transactions',
         tests.insert_row_sql('public.wallet_transactions',
           jsonb_build_object('id', gen_random_uuid(), 'kind', 'transfer', 'status', 'posted', 'amount', 5,
                              'currency', 'USD', 'from_account_id', 'ac000000-0000-4000-8000-00000000000a',
                              'to_account_id', 'ac000000-0000-4000-8000-00000000000b',
                              'idempotency_key', 'shape-' || c.n, 'metadata', '{}'::jsonb, 'created_at', now(),
                              'posted_at', now(), 'actor_role', 'postgres', 'txid', 1, 'audit_id', 1) || c.change),
         'transaction refused: ' || c.what)
  from (values
    (3, '{"kind": "gift"}'::jsonb, 'an unknown kind'),
    (4, '{"status": "done"}', 'an unknown status'),
    (5, '{"amount": 0}', 'a zero amount'),
    (6, '{"kind": "hold", "status": "pending", "posted_at": null, "hold_amount": 0, "amount": 0}', 'a hold of zero'),
    (7, '{"hold_amount": 5}', 'a transfer that reserves'),
    (8, '{"kind": "withdrawal", "status": "pending", "posted_at": null}', 'a withdrawal that reserves nothing'),
    (9, '{"kind": "withdrawal", "amount": 6, "hold_amount": 5}', 'a capture above what was reserved'),
    (10, '{"currency": "usd"}', 'a currency that is not ISO 4217'),
    (11, '{"to_account_id": "ac000000-0000-4000-8000-00000000000a"}', 'paying itself'),
    (12, '{"idempotency_key": ""}', 'an empty key'),
    (13, '{"posted_at": null}', 'posted without posted_at'),
    (14, '{"status": "pending", "posted_at": null}', 'a pending transfer'),
    (15, '{"expires_at": "2100-01-01T00:00:00Z"}', 'a transfer that expires'),
    (16, '{"kind": "hold", "hold_amount": 5, "to_account_id": null}', 'a posted hold without destination'),
    (17, '{"kind": "reversal"}', 'a reversal of nothing'),
    (18, '{"reverses_id": "ab000000-0000-4000-8000-000000000001"}', 'a transfer that reverses')
  ) as c(n, change, what);

select * from finish();
rollback;
