// Funded user accounts for the benchmarks and drills, made as the superuser: users and
// accounts inserted directly, money deposited through wallet_deposit like any top-up.
import type postgres from "postgres";

export interface FundedAccounts {
  /** A prefix unique to this fixture, also used in its ids and idempotency keys. */
  run: string;
  ids: string[];
}

/** The id of the n-th account (1-based) of a fixture: `${run}-0000-4000-8000-<n, 12 digits>`. */
export function fixtureAccountId(run: string, n: number): string {
  return `${run}-0000-4000-8000-${String(n).padStart(12, "0")}`;
}

/** A fresh 8-hex-digit run prefix. */
export function newRun(): string {
  return crypto.randomUUID().slice(0, 8);
}

export async function createFundedAccounts(
  sql: postgres.Sql,
  options: { count: number; currency: string; funds: number; run?: string },
): Promise<FundedAccounts> {
  const run = options.run ?? newRun();
  const ids = Array.from({ length: options.count }, (_, i) => fixtureAccountId(run, i + 1));
  await sql`insert into auth.users ${sql(ids.map((id) => ({ id, email: `fixture-${id}@mfuko.test` })))}`;
  await sql`insert into public.wallet_accounts ${sql(ids.map((id) => ({ id, owner_id: id, kind: "user", currency: options.currency })))}`;
  if (options.funds > 0) {
    for (const id of ids) {
      await sql`select public.wallet_deposit(${id}, ${options.funds}, ${options.currency}, 'fixture', ${`fixture-${id}`})`;
    }
  }
  await sql`analyze public.wallet_accounts`;
  return { run, ids };
}
