// A JSON parameter for postgres.js. A JSON.stringify-ed string cast with ::jsonb would be
// encoded a second time (postgres.js serialises parameters the server types as json).
import type postgres from "postgres";
import type { Queryable } from "../db.ts";

export function jsonb(tx: Queryable, value: unknown): postgres.Parameter {
  return tx.json(value as postgres.JSONValue);
}
