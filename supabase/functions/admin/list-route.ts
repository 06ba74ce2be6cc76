// The list routes of the admin API: GET `path` validates its query, selects one page as the
// caller (limit + 1 rows, so that the page knows whether another follows) and answers
// {data, next_cursor}; any other method is 405.
import type { z } from "zod";
import type { TransactionSql } from "../_shared/db.ts";
import { parseOrThrow } from "../_shared/errors.ts";
import { allowMethods } from "../_shared/middleware.ts";
import { page } from "./pagination.ts";
import type { AdminApp, AdminRoutes } from "./types.ts";

type Row = Record<string, unknown>;

/** `select` returns the page's rows as `item`; `position` is the cursor of a row, the sort key `select` pages by. */
export function registerListRoute<Q extends z.ZodType<{ limit: number }>>(
  app: AdminApp,
  routes: AdminRoutes,
  path: string,
  querySchema: Q,
  select: (tx: TransactionSql, query: z.output<Q>) => Promise<{ item: Row }[]>,
  position: (item: Row) => unknown,
): void {
  app.get(path, async (c) => {
    const query = parseOrThrow(querySchema, c.req.query());
    const rows = await routes.asCaller(c, (tx) => select(tx, query));
    return c.json(page(rows.map((row) => row.item), query.limit, position));
  });
  app.all(path, allowMethods("GET"));
}
