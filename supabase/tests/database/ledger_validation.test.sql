-- The checks of a requested transfer and the order that decides which error is reported
-- (private.wallet_request_error): each request below fails more than one check, and both
-- posting paths, wallet_transfer (one transaction: wallet_post_one) and a batch of one
-- (the set path: wallet_validate), report the first check it fails, with the same SQLSTATE
-- and message. Nothing is written.
begin;
select plan(27);

select tests.create_two_user_ledger('ac000000', 'USD');

create temporary table requests (
  n integer primary key,
  from_id uuid,
  to_id uuid,
  amount bigint,
  currency text,
  key text,
  description text,
  metadata jsonb,
  code text,
  message text,
  what text
);
grant select on requests to service_role;
insert into requests values
  (1, 'ac000000-0000-4000-8000-00000000000a', 'ac000000-0000-4000-8000-00000000000a', 0, 'usd', null, null, '[]',
   '22023', 'idempotency key is required (1 to 255 characters), item 1', 'no key, before everything else'),
  (2, 'ac000000-0000-4000-8000-00000000000a', 'ac000000-0000-4000-8000-00000000000b', 1, 'USD', repeat('k', 256), null, '{}',
   '22023', 'idempotency key is required (1 to 255 characters), item 1', 'a key one over its bound'),
  (3, null, 'ac000000-0000-4000-8000-00000000000b', 0, 'usd', 'v-3', null, '{}',
   '22023', 'from and to accounts are required, item 1', 'no sender, before the currency and the amount'),
  (4, 'ac000000-0000-4000-8000-00000000000a', 'ac000000-0000-4000-8000-00000000000a', 0, 'usd', 'v-4', null, '[]',
   '22023', 'currency usd is not an ISO 4217 code (key v-4)', 'a malformed currency, before the metadata and the amount'),
  (5, 'ac000000-0000-4000-8000-00000000000a', 'ac000000-0000-4000-8000-00000000000a', 0, 'USD', 'v-5', repeat('d', 501), '[]',
   '22023', 'metadata must be a JSON object (key v-5)', 'metadata that is not an object, before the description'),
  (6, 'ac000000-0000-4000-8000-00000000000a', 'ac000000-0000-4000-8000-00000000000a', 0, 'USD', 'v-6', repeat('d', 501),
   jsonb_build_object('x', repeat('m', 5000)),
   '22023', 'p_description must be at most 500 characters (key v-6)', 'a description over its bound, before the metadata size'),
  (7, 'ac000000-0000-4000-8000-00000000000a', 'ac000000-0000-4000-8000-00000000000a', 0, 'USD', 'v-7', null,
   jsonb_build_object('x', repeat('m', 5000)),
   '22023', 'p_metadata must be at most 4096 bytes of JSON (key v-7)', 'metadata over its bound, before the amount'),
  (8, 'ac000000-0000-4000-8000-0000000000ff', 'ac000000-0000-4000-8000-0000000000ff', 0, 'USD', 'v-8', null, '{}',
   'WL006', 'invalid amount 0: must be between 1 and 10000000000 (key v-8)', 'a zero amount, before paying itself'),
  (9, 'ac000000-0000-4000-8000-00000000000a', 'ac000000-0000-4000-8000-00000000000b', 10000000001, 'USD', 'v-9', null, '{}',
   'WL006', 'invalid amount 10000000001: must be between 1 and 10000000000 (key v-9)', 'one over the configured maximum'),
  (10, 'ac000000-0000-4000-8000-0000000000ff', 'ac000000-0000-4000-8000-0000000000ff', 1, 'EUR', 'v-10', null, '{}',
   'WL003', 'wallet account ac000000-0000-4000-8000-0000000000ff cannot pay itself (key v-10)', 'paying itself, before existence'),
  (11, 'ac000000-0000-4000-8000-0000000000fe', 'ac000000-0000-4000-8000-0000000000ff', 1, 'USD', 'v-11', null, '{}',
   'WL007', 'wallet account ac000000-0000-4000-8000-0000000000fe not found', 'two missing accounts: the sender is named'),
  (12, 'ac000000-0000-4000-8000-00000000000e', 'ac000000-0000-4000-8000-0000000000ff', 1, 'USD', 'v-12', null, '{}',
   'WL007', 'wallet account ac000000-0000-4000-8000-0000000000ff not found', 'a missing recipient, before the currency'),
  (13, 'ac000000-0000-4000-8000-00000000000a', 'ac000000-0000-4000-8000-00000000000e', 1, 'USD', 'v-13', null, '{}',
   'WL002', 'currency USD does not match wallet accounts ac000000-0000-4000-8000-00000000000a (USD) and ac000000-0000-4000-8000-00000000000e (EUR)',
   'accounts in two currencies, both named');

select tests.as_service();
select throws_ok(c.call, r.code, r.message, c.path || ': ' || r.what)
  from requests r
 cross join lateral (values
   ('wallet_transfer', format('select public.wallet_transfer(%L, %L, %s, %L, %L, %L, %L)',
                              r.from_id, r.to_id, r.amount, r.currency, r.key, r.description, r.metadata)),
   ('a batch of one', format('select public.wallet_transfer_batch(%L)',
                             jsonb_build_array(jsonb_build_object('from', r.from_id, 'to', r.to_id, 'amount', r.amount,
                                                                  'currency', r.currency, 'idempotency_key', r.key,
                                                                  'description', r.description, 'metadata', r.metadata))))
 ) as c(path, call)
 order by r.n, c.path desc;

select tests.reset_role();
select is((select count(*) from public.wallet_transactions t
            where t.from_account_id::text like 'ac000000-%' or t.to_account_id::text like 'ac000000-%'),
          0::bigint, 'no refused request wrote a transaction');

select * from finish();
rollback;
