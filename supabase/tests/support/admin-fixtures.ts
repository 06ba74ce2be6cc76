// Callers and requests for the admin API tests: an admin, a support agent and a plain user,
// each a fresh auth user (so that rate-limit buckets and idempotency keys are the test's own)
// with an access token minted like Supabase Auth's.
import { SignJWT } from "jose";
import { TokenMinter } from "@mfuko/local-stack/tokens";
import type postgres from "postgres";

type Sql = postgres.Sql;

export interface TestCaller {
  id: string;
  token: string;
}

export interface Staff {
  admin: TestCaller;
  support: TestCaller;
  user: TestCaller;
  /** A user who set role = admin in user_metadata (which users can edit): not staff. */
  impostor: TestCaller;
}

async function caller(sql: Sql, minter: TokenMinter, appMetadata: Record<string, unknown>, userMetadata = {}): Promise<TestCaller> {
  const id = crypto.randomUUID();
  const email = `${id}@mfuko.test`;
  await sql`insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data)
            values (${id}, 'authenticated', 'authenticated', ${email}, ${sql.json(appMetadata as postgres.JSONValue)}, ${
    sql.json(userMetadata)
  })`;
  const token = await minter.user({ id, email, appMetadata });
  return { id, token };
}

/** New admin, support, user and impostor callers with tokens signed by `jwtSecret`. */
export async function createStaff(sql: Sql, jwtSecret: string): Promise<Staff> {
  const minter = new TokenMinter(jwtSecret);
  const [admin, support, user] = await Promise.all([
    caller(sql, minter, { role: "admin" }),
    caller(sql, minter, { role: "support" }),
    caller(sql, minter, {}),
  ]);
  const impostorId = crypto.randomUUID();
  await sql`insert into auth.users (id, aud, role, email, raw_user_meta_data)
            values (${impostorId}, 'authenticated', 'authenticated', ${`${impostorId}@mfuko.test`}, '{"role":"admin"}')`;
  // TokenMinter writes user_metadata as {}; the impostor's token carries role = admin there.
  const impostorToken = await new SignJWT({
    sub: impostorId,
    role: "authenticated",
    aud: "authenticated",
    app_metadata: {},
    user_metadata: { role: "admin" },
  }).setProtectedHeader({ alg: "HS256" }).setIssuedAt().setExpirationTime("1h").sign(new TextEncoder().encode(jwtSecret));
  return { admin, support, user, impostor: { id: impostorId, token: impostorToken } };
}

export interface AdminCall {
  token?: string | null;
  body?: unknown;
  headers?: Record<string, string>;
  idempotencyKey?: string;
}

/** A request to the admin API at `base` (an in-process origin, or the gateway's /functions/v1). */
export function adminRequest(base: string, method: string, path: string, call: AdminCall = {}): Request {
  const headers: Record<string, string> = { ...call.headers };
  if (call.token) headers.authorization = `Bearer ${call.token}`;
  if (call.idempotencyKey) headers["idempotency-key"] = call.idempotencyKey;
  let body: string | undefined;
  if (call.body !== undefined) {
    headers["content-type"] ??= "application/json";
    body = typeof call.body === "string" ? call.body : JSON.stringify(call.body);
  }
  return new Request(`${base}${path}`, { method, headers, body });
}

export interface AdminAnswer {
  status: number;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  body: any;
}

/** Calls the admin function in-process, the way the gateway hands it a request. */
export async function callAdmin(
  handler: { fetch(request: Request): Response | Promise<Response> },
  method: string,
  path: string,
  call: AdminCall = {},
): Promise<AdminAnswer> {
  return answerOf(await handler.fetch(adminRequest("http://functions.local", method, `/admin${path}`, call)));
}

/** `callAdmin` on one admin function, as the tests of that function call it. */
export function adminCaller(handler: Parameters<typeof callAdmin>[0]) {
  return (method: string, path: string, call: AdminCall = {}): Promise<AdminAnswer> => callAdmin(handler, method, path, call);
}

/** The refusal (see `refusal`) of a caller whose role may not use the route. */
export const FORBIDDEN = { status: 403, code: "forbidden" };

/** A fresh Idempotency-Key. */
export const idempotencyKey = (): string => `test-${crypto.randomUUID()}`;

export async function answerOf(response: Response): Promise<AdminAnswer> {
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

/** What a refusal is asserted by: its status and the error code of its body. */
export function refusal(answer: AdminAnswer): { status: number; code: unknown } {
  return { status: answer.status, code: answer.body?.error?.code };
}

/** A wallet account for `ownerId` (inserted directly: opening accounts is not what is tested). */
export async function openAccount(sql: Sql, ownerId: string, currency: string): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    insert into public.wallet_accounts (owner_id, kind, currency) values (${ownerId}, 'user', ${currency}) returning id`;
  return row!.id;
}

/** Money in from `source` through the ledger's own wallet_deposit (as the service); the transaction id. */
export async function deposit(sql: Sql, accountId: string, amount: number, currency: string, source = "stripe"): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    select id from public.wallet_deposit(${accountId}::uuid, ${amount}::bigint, ${currency}, ${source},
                                         ${`admin-test:${crypto.randomUUID()}`})`;
  return row!.id;
}

export async function balances(sql: Sql, accountId: string): Promise<{ balance: number; available: number }> {
  const [row] = await sql<{ balance: string; available: string }[]>`
    select balance, available from public.wallet_account_balances where account_id = ${accountId}::uuid`;
  return { balance: Number(row!.balance), available: Number(row!.available) };
}
