// What the ledger suites, benchmarks and drills share: a connection to the test database,
// calls made exactly as PostgREST makes them (role and JWT claims set per transaction),
// and fresh users with funded accounts in a currency of their own.
import { randomUUID } from "node:crypto";
import postgres, { type ReservedSql, type Sql, type TransactionSql } from "postgres";

export interface WalletTransaction {
  id: string;
  kind: string;
  status: string;
  amount: string;
  hold_amount: string | null;
  currency: string;
  from_account_id: string;
  to_account_id: string | null;
  idempotency_key: string;
  initiated_by: string | null;
  reverses_id: string | null;
}

/** The superuser URL of the test database; a missing URL is an error, never a skip. */
export function testDatabaseUrl(): string {
  const url = process.env.MFUKO_TEST_DB_URL;
  if (!url) throw new Error("MFUKO_TEST_DB_URL is not set: run through `npm test` or export it");
  return url;
}

export function connect(url: string, max: number): Sql {
  return postgres(url, { max, onnotice: () => {}, idle_timeout: 5 });
}

/** A caller as PostgREST would present it: service_role, or a signed-in user. */
export type Caller = { kind: "service" } | { kind: "user"; userId: string; appRole?: "admin" | "support" };

export const service: Caller = { kind: "service" };

/** Sets the role and JWT claims of `caller` for the rest of the transaction `tx`. */
export async function actAs(tx: TransactionSql | ReservedSql, caller: Caller): Promise<void> {
  const claims = caller.kind === "service"
    ? { role: "service_role" }
    : { sub: caller.userId, role: "authenticated", app_metadata: caller.appRole ? { role: caller.appRole } : {} };
  const role = caller.kind === "service" ? "service_role" : "authenticated";
  await tx`select set_config('role', ${role}, true), set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
}

/** A transaction begun as `caller` on a connection of its own, left open for the caller to end. */
export async function openTransaction(sql: Sql, caller: Caller): Promise<ReservedSql> {
  const tx = await sql.reserve();
  await tx`begin`;
  await actAs(tx, caller);
  return tx;
}

/** A new admin as Supabase Auth stores one: the token's role is honoured while auth.users gives it. */
export async function createAdmin(sql: Sql): Promise<Caller & { userId: string }> {
  const userId = randomUUID();
  await sql`insert into auth.users (id, email, raw_app_meta_data) values (${userId}, ${`${userId}@mfuko.test`}, '{"role": "admin"}')`;
  return { kind: "user", userId, appRole: "admin" };
}

/** Calls one wallet function in its own transaction as `caller`; returns its rows. */
export function callAs<T = WalletTransaction>(
  sql: Sql,
  caller: Caller,
  fn: string,
  args: unknown[],
): Promise<T[]> {
  if (!/^wallet_[a-z_]+$/.test(fn)) throw new Error(`not a wallet function: ${fn}`);
  const placeholders = args.map((_, i) => `$${i + 1}`).join(", ");
  // postgres.js learns the parameter types from the server, so objects go out as jsonb.
  return sql.begin(async (tx) => {
    await actAs(tx, caller);
    return tx.unsafe(`select * from public.${fn}(${placeholders})`, args as never[]);
  }) as Promise<T[]>;
}

/** The SQLSTATE of a failed call, or rethrows what is not a database error. */
export function sqlState(error: unknown): string {
  if (error && typeof error === "object" && "code" in error && typeof error.code === "string") return error.code;
  throw error;
}

export interface Party {
  userId: string;
  accountId: string;
}

/**
 * Creates `count` users with one account each in `currency` (a code no other suite uses),
 * each funded with `funding` by a deposit from the `test` provider.
 */
export async function createFundedParties(sql: Sql, currency: string, count: number, funding: bigint): Promise<Party[]> {
  const parties: Party[] = Array.from({ length: count }, () => ({ userId: randomUUID(), accountId: randomUUID() }));
  await sql`insert into auth.users ${sql(parties.map((p) => ({ id: p.userId, email: `${p.userId}@ledger.test` })))}`;
  await sql`insert into public.wallet_accounts ${
    sql(
      parties.map((p) => ({ id: p.accountId, owner_id: p.userId, kind: "user", currency })),
    )
  }`;
  if (funding > 0n) {
    for (const p of parties) {
      await callAs(sql, service, "wallet_deposit", [p.accountId, funding.toString(), currency, "test", `fund-${p.accountId}`, {}]);
    }
  }
  return parties;
}

/** A currency code (3 upper-case letters) unlikely to be used by another run. */
export function scratchCurrency(): string {
  const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  let code = "";
  for (let i = 0; i < 3; i++) code += letters[Math.floor(Math.random() * letters.length)];
  return code;
}

/** The standard tier's limits in a currency: minor units, and payments an hour. */
export interface StandardLimits {
  maxSingle: bigint;
  maxDaily: bigint;
  perHour: number;
}

/**
 * Sets the standard tier's limits in `currency`, a currency the migration sets none in, as an
 * admin does for a currency mfuko starts to serve: without them its owners' payments are WL009.
 */
export async function serveCurrency(sql: Sql, currency: string, limits: StandardLimits): Promise<void> {
  await sql`select public.wallet_set_tier_limits('standard', ${currency}, ${limits.maxSingle.toString()}::bigint,
                                                 ${limits.maxDaily.toString()}::bigint, ${limits.perHour})`;
}

/** Removes the limits serveCurrency set, so that the shared database is left as the migration made it. */
export async function stopServingCurrency(sql: Sql, currency: string): Promise<void> {
  await sql`delete from public.wallet_tier_limits where currency = ${currency}`;
}

/** Balances of the given accounts (row plus balance shards), as bigint, keyed by account id. */
export async function balances(sql: Sql, accounts: string[]): Promise<Map<string, { balance: bigint; available: bigint }>> {
  const rows = await sql<{ id: string; balance: string; available: string }[]>`
    select account_id as id, balance, available from public.wallet_account_balances where account_id = any(${accounts}::uuid[])`;
  return new Map(rows.map((r) => [r.id, { balance: BigInt(r.balance), available: BigInt(r.available) }]));
}
