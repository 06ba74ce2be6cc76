// Database fixtures for the payment and webhook tests, made through the real functions:
// a user with a wallet account (opened as that user, the way PostgREST would call it) and
// top-up intents attached to a provider reference (as service_role).
import postgres from "postgres";

export type Sql = postgres.Sql;

export interface TopUp {
  userId: string;
  accountId: string;
  intentId: string;
  providerRef: string | null;
}

/** A superuser client on `url`, closed by the caller (sql.end()). */
export function testSql(url: string): Sql {
  return postgres(url, { prepare: false, max: 6, onnotice: () => undefined });
}

/** A new auth user with an open wallet account in `currency`. */
export async function createUserWithAccount(sql: Sql, currency: string): Promise<{ userId: string; accountId: string }> {
  const userId = crypto.randomUUID();
  await sql`insert into auth.users (id, aud, role, email) values (${userId}, 'authenticated', 'authenticated', ${`${userId}@mfuko.test`})`;
  const [account] = await sql.begin((tx) => [
    tx`set local role authenticated`,
    tx`select set_config('request.jwt.claims', ${JSON.stringify({ sub: userId, role: "authenticated" })}, true)`,
    tx<{ id: string }[]>`select id from public.wallet_open_account(${currency})`,
  ]).then((results) => results[2] as { id: string }[]);
  return { userId, accountId: account!.id };
}

/**
 * A top-up intent of `amount` minor units for a new user's account; attached to `providerRef`
 * (status processing) unless it is null (requires_payment).
 */
export async function createTopUp(
  sql: Sql,
  options: { provider: "stripe" | "momo" | "revolut"; amount: number; currency: string; providerRef: string | null },
): Promise<TopUp> {
  const { userId, accountId } = await createUserWithAccount(sql, options.currency);
  const intentId = await asServiceRole(sql, async (tx) => {
    const [intent] = await tx<{ id: string }[]>`
      select id from public.payment_intent_create(${options.provider}, ${accountId}::uuid, ${options.amount}::bigint,
                                                  ${options.currency}, ${`test:${crypto.randomUUID()}`})`;
    if (options.providerRef) await tx`select 1 from public.payment_intent_attach(${intent!.id}::uuid, ${options.providerRef})`;
    return intent!.id;
  });
  return { userId, accountId, intentId, providerRef: options.providerRef };
}

/** Runs `fn` in a transaction as service_role. */
export function asServiceRole<T>(sql: Sql, fn: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
  return sql.begin(async (tx) => {
    await tx`set local role service_role`;
    return fn(tx);
  }) as Promise<T>;
}

export async function balanceOf(sql: Sql, accountId: string): Promise<{ balance: number; available: number }> {
  const [row] = await sql<{ balance: string; available: string }[]>`
    select balance, available from public.wallet_account_balances where account_id = ${accountId}::uuid`;
  return { balance: Number(row!.balance), available: Number(row!.available) };
}

/**
 * Moves a row's clock back, as if it had waited `seconds` since it was made and last changed
 * (triggers off, superuser): how the job tests make their own rows old enough to be polled or
 * expired.
 */
export async function age(sql: Sql, table: "payment_intents" | "refunds", id: string, seconds: number): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await tx`
      update ${tx(`public.${table}`)}
         set created_at = now() - make_interval(secs => ${seconds}), updated_at = now() - make_interval(secs => ${seconds})
       where id = ${id}::uuid`;
  });
}

export async function intentStatus(sql: Sql, intentId: string): Promise<{ status: string; failure_reason: string | null }> {
  const [row] = await sql<{ status: string; failure_reason: string | null }[]>`
    select status, failure_reason from public.payment_intents where id = ${intentId}::uuid`;
  return row!;
}

export interface StoredEvent {
  id: string;
  event_id: string;
  type: string;
  status: string;
  attempts: number;
  last_error: string | null;
  payload: Record<string, unknown>;
}

/** The webhook_events rows of a provider whose event_id starts with `prefix`. */
export function storedEvents(sql: Sql, provider: string, prefix: string): Promise<StoredEvent[]> {
  return sql<StoredEvent[]>`
    select id, event_id, type, status, attempts, last_error, payload from public.webhook_events
     where provider = ${provider} and starts_with(event_id, ${prefix}) order by received_at, event_id`;
}

/**
 * How many webhook_events rows of a provider mention one of `markers` in their event_id or
 * anywhere in their payload: what a refused request carrying a marker would have stored had it
 * been accepted, whatever event id its body would have been given.
 */
export async function eventsMentioning(sql: Sql, provider: string, markers: string[]): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from public.webhook_events e
     where e.provider = ${provider}
       and exists (select 1 from unnest(${markers}::text[]) m where strpos(e.event_id, m) > 0 or strpos(e.payload::text, m) > 0)`;
  return row!.n;
}

/** Deposits into an account (count of ledger credits for it). */
export async function creditsTo(sql: Sql, accountId: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from public.wallet_transactions where to_account_id = ${accountId}::uuid and kind = 'deposit'`;
  return row!.n;
}

/** A random documentation-range address (RFC 5737) so each test has its own rate-limit bucket. */
export function uniqueClientAddress(): string {
  const octet = () => Math.floor(Math.random() * 254) + 1;
  return `198.51.${octet()}.${octet()}`;
}
