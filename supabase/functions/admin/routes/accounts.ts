// GET /admin/accounts: wallet accounts, newest first, filtered, keyset-paginated.
// GET /admin/accounts/:id: one account with its balance, available amount, active holds and
// latest entries (paged with entries_cursor).
// balance and available are the account's whole balance: its row plus its balance shards;
// status_reason comes from wallet_status_reasons, which staff read and owners do not.
import { z } from "zod";
import { allowMethods } from "../../_shared/middleware.ts";
import { HttpError, parseOrThrow } from "../../_shared/errors.ts";
import type { AdminApp, AdminRoutes, Row } from "../types.ts";
import { cursorSchema, limitSchema, page } from "../pagination.ts";
import { registerListRoute } from "../list-route.ts";
import { currencyParam, pathId, uuidParam } from "../params.ts";

const detailQuery = z.strictObject({
  entries_limit: limitSchema.default(20),
  entries_cursor: cursorSchema(z.strictObject({ id: z.number().int().positive() })),
});

export function registerAccountRoutes(app: AdminApp, routes: AdminRoutes): void {
  registerListRoute(app, routes, {
    path: "/accounts",
    from: (tx) =>
      tx`to_jsonb(a) || jsonb_build_object('balance', b.balance, 'available', b.available, 'status_reason', r.reason) as item
           from public.wallet_accounts a
           join public.wallet_account_balances b on b.account_id = a.id
           left join public.wallet_status_reasons r on r.account_id = a.id`,
    alias: "a",
    sortedBy: "created_at",
    filters: {
      status: z.enum(["active", "frozen", "closed"]).optional(),
      kind: z.enum(["user", "system"]).optional(),
      owner_id: uuidParam.optional(),
      currency: currencyParam.optional(),
    },
  });

  app.get("/accounts/:id", async (c) => {
    const id = pathId(c);
    const query = parseOrThrow(detailQuery, c.req.query());
    const result = await routes.asCaller(c, async (tx) => {
      const [found] = await tx<{ account: Row }[]>`
        select to_jsonb(a) || jsonb_build_object('balance', b.balance, 'available', b.available, 'status_reason', r.reason) as account
          from public.wallet_accounts a
          join public.wallet_account_balances b on b.account_id = a.id
          left join public.wallet_status_reasons r on r.account_id = a.id
         where a.id = ${id}`;
      if (!found) return null;
      // Pending transactions out of an account are exactly its active holds and withdrawals.
      // Their attribution (who asked, from where) is not granted to authenticated: staff read
      // it in the audit trail.
      const holds = await tx<{ hold: Row }[]>`
        select to_jsonb(h) as hold
          from (select t.id, t.kind, t.status, t.amount, t.hold_amount, t.currency, t.from_account_id, t.to_account_id,
                       t.idempotency_key, t.initiated_by, t.reverses_id, t.capture_idempotency_key, t.description,
                       t.metadata, t.created_at, t.posted_at, t.expires_at
                  from public.wallet_transactions t
                 where t.from_account_id = ${id} and t.status = 'pending') h
         order by h.created_at, h.id`;
      const entries = await tx<{ entry: Row }[]>`
        select jsonb_build_object(
                 'id', e.id, 'transaction_id', e.transaction_id, 'amount', e.amount, 'created_at', e.created_at,
                 'kind', t.kind, 'description', t.description,
                 'counterparty_account_id',
                   case when t.from_account_id = e.account_id then t.to_account_id else t.from_account_id end) as entry
          from public.wallet_entries e
          join public.wallet_transactions t on t.id = e.transaction_id
         where e.account_id = ${id}
           and (${query.entries_cursor?.id ?? null}::bigint is null or e.id < ${query.entries_cursor?.id ?? null}::bigint)
         order by e.id desc
         limit ${query.entries_limit + 1}`;
      return { account: found.account, holds: holds.map((r) => r.hold), entries: entries.map((r) => r.entry) };
    });
    if (!result) throw new HttpError(404, "not_found", `Wallet account ${id} not found.`);
    const entries = page(result.entries, query.entries_limit, (e) => ({ id: e.id }));
    return c.json({
      account: result.account,
      balance: result.account.balance,
      available: result.account.available,
      held: result.holds.reduce((sum, hold) => sum + Number(hold.hold_amount), 0),
      holds: result.holds,
      entries: entries.data,
      entries_next_cursor: entries.next_cursor,
    });
  });
  app.all("/accounts/:id", allowMethods("GET"));
}
