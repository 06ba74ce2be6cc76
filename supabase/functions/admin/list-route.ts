// The list routes of the admin API: GET `path` validates its query (filters, `limit`, `cursor`)
// and selects one page as the caller, newest first by a timestamp column with the id breaking
// ties, keyset-paginated on that pair (limit + 1 rows, so that the page knows whether another
// follows), and answers {data, next_cursor}; any other method is 405.
import type { Fragment } from "postgres";
import { z } from "zod";
import type { TransactionSql } from "../_shared/db.ts";
import { parseOrThrow } from "../_shared/errors.ts";
import { allowMethods } from "../_shared/middleware.ts";
import { cursorSchema, limitSchema, page } from "./pagination.ts";
import { timestampParam } from "./params.ts";
import type { AdminApp, AdminRoutes, Row } from "./types.ts";

export interface NewestFirstList {
  path: string;
  /** `<select list as item> from <tables>`, the listed table named `alias`. */
  from: (tx: TransactionSql) => Fragment;
  alias: string;
  /** The timestamp column the rows are sorted by, newest first; `item` must carry it and `id`. */
  sortedBy: string;
  /** Optional query fields that, when given, the listed table's column of the same name must equal. */
  filters: Record<string, z.ZodOptional<z.ZodType<string>>>;
}

export function registerListRoute(app: AdminApp, routes: AdminRoutes, list: NewestFirstList): void {
  const querySchema = z.strictObject({
    limit: limitSchema,
    cursor: cursorSchema(z.strictObject({ [list.sortedBy]: timestampParam, id: z.guid() })),
    ...list.filters,
  });
  const column = (tx: TransactionSql, name: string) => tx(`${list.alias}.${name}`);
  app.get(list.path, async (c) => {
    const query = parseOrThrow(querySchema, c.req.query()) as { limit: number; cursor?: Record<string, string> } & Record<string, unknown>;
    const rows = await routes.asCaller(c, (tx) => {
      const conditions = Object.keys(list.filters).filter((name) => query[name] !== undefined)
        .map((name) => tx`and ${column(tx, name)} = ${query[name] as string}`);
      if (query.cursor) {
        conditions.push(tx`and (${column(tx, list.sortedBy)}, ${column(tx, "id")})
                             < (${query.cursor[list.sortedBy]!}::timestamptz, ${query.cursor.id!}::uuid)`);
      }
      return tx<{ item: Row }[]>`
        select ${list.from(tx)}
         where true ${conditions.length > 0 ? conditions : tx``}
         order by ${column(tx, list.sortedBy)} desc, ${column(tx, "id")} desc
         limit ${query.limit + 1}`;
    });
    return c.json(page(rows.map((row) => row.item), query.limit, (item) => ({ [list.sortedBy]: item[list.sortedBy], id: item.id })));
  });
  app.all(list.path, allowMethods("GET"));
}
