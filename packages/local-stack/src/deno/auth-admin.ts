// The local stand-in for the part of Supabase Auth (GoTrue) that mfuko calls: the Admin API's
// POST /auth/v1/admin/users (what supabase-js auth.admin.createUser sends), GET
// /auth/v1/admin/users/:id and PUT /auth/v1/admin/users/:id (auth.admin.updateUserById, the
// phone only), writing auth.users the way GoTrue does: the phone without '+',
// phone_confirmed_at when phone_confirm is set, aud and role 'authenticated', and
// app_metadata {"provider":"phone","providers":["phone"]}. Only a JWT whose role is
// service_role (or supabase_admin) may call it: none or a bad one is 401, another role 403.
// Errors have GoTrue's two shapes: {code, message} for clients that send
// X-Supabase-Api-Version 2024-01-01 or later (supabase-js does), else {code, error_code, msg}.
import { jwtVerify } from "jose";
import postgres from "postgres";

const API_VERSION_HEADER = "x-supabase-api-version";
const API_VERSION_2024 = Date.parse("2024-01-01T00:00:00Z");
const ADMIN_ROLES = new Set(["service_role", "supabase_admin"]);
const USERS_PATH = /^\/auth\/v1\/admin\/users(?:\/([^/]+))?\/?$/;
// GoTrue's phone rule: E.164 digits after removing '+', spaces and dashes.
const E164 = /^[1-9]\d{1,14}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface UserRow {
  id: string;
  aud: string;
  role: string;
  email: string | null;
  phone: string | null;
  phone_confirmed_at: Date | null;
  email_confirmed_at: Date | null;
  raw_app_meta_data: Record<string, unknown> | null;
  raw_user_meta_data: Record<string, unknown> | null;
  is_anonymous: boolean;
  created_at: Date;
  updated_at: Date;
}

export interface AuthAdminOptions {
  jwtSecret: Uint8Array;
  /** The database the functions use (SUPABASE_DB_URL); connected on the first call. */
  dbUrl: string | undefined;
}

/** Answers the Auth Admin routes; null for any other path. */
export function authAdminApi(options: AuthAdminOptions): (request: Request) => Promise<Response> | null {
  let sql: postgres.Sql | undefined;
  const db = () => {
    if (!options.dbUrl) throw new Error("SUPABASE_DB_URL is not set");
    sql ??= postgres(options.dbUrl, { max: 4, prepare: false, onnotice: () => undefined });
    return sql;
  };

  return (request) => {
    const match = new URL(request.url).pathname.match(USERS_PATH);
    if (!match) return null;
    return handle(request, match[1]);
  };

  async function handle(request: Request, id: string | undefined): Promise<Response> {
    const reply = replier(request);
    const role = await bearerRole(request, options.jwtSecret);
    if (role === null) return reply.error(401, "no_authorization", "This endpoint requires a valid Bearer token");
    if (!ADMIN_ROLES.has(role)) return reply.error(403, "not_admin", "User not allowed");
    if (id === undefined && request.method === "POST") return createUser(reply, await request.json().catch(() => null));
    if (id !== undefined && request.method === "GET") return getUser(reply, id);
    if (id !== undefined && request.method === "PUT") return updatePhone(reply, id, await request.json().catch(() => null));
    return reply.error(405, "method_not_allowed", `${request.method} is not served here by the local stack`);
  }

  async function createUser(reply: Replier, body: unknown): Promise<Response> {
    if (typeof body !== "object" || body === null) return reply.error(400, "bad_json", "Could not parse request body as JSON");
    const attributes = body as Record<string, unknown>;
    const phone = typeof attributes.phone === "string" ? attributes.phone.replace(/[\s+-]/g, "") : null;
    const email = typeof attributes.email === "string" ? attributes.email.trim().toLowerCase() : null;
    if (phone === null && email === null) return reply.error(400, "validation_failed", "Unable to validate phone or email");
    if (phone !== null && !E164.test(phone)) return reply.error(400, "validation_failed", "Invalid phone number format (E.164 required)");
    const appMetadata = {
      provider: phone !== null ? "phone" : "email",
      providers: [phone !== null ? "phone" : "email"],
      ...(isObject(attributes.app_metadata) ? attributes.app_metadata : {}),
    };
    const userMetadata = isObject(attributes.user_metadata) ? attributes.user_metadata : {};
    try {
      const [row] = await db()<UserRow[]>`
        insert into auth.users (instance_id, id, aud, role, email, phone, phone_confirmed_at, email_confirmed_at,
                                raw_app_meta_data, raw_user_meta_data, is_super_admin, created_at, updated_at)
        values ('00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated', ${email}, ${phone},
                case when ${attributes.phone_confirm === true} then now() end,
                case when ${attributes.email_confirm === true} then now() end,
                ${db().json(appMetadata as postgres.JSONValue)}, ${db().json(userMetadata as postgres.JSONValue)}, false, now(), now())
        returning *`;
      return reply.json(200, userJson(row!));
    } catch (error) {
      return duplicate(reply, error);
    }
  }

  /** A user's phone, as updateUserById({phone, phone_confirm}) changes it; other attributes are not served here. */
  async function updatePhone(reply: Replier, id: string, body: unknown): Promise<Response> {
    if (!isObject(body)) return reply.error(400, "bad_json", "Could not parse request body as JSON");
    if (!UUID.test(id)) return reply.error(404, "user_not_found", "User not found");
    const phone = typeof body.phone === "string" ? body.phone.replace(/[\s+-]/g, "") : null;
    if (phone === null || !E164.test(phone)) return reply.error(400, "validation_failed", "Invalid phone number format (E.164 required)");
    try {
      const [row] = await db()<UserRow[]>`
        update auth.users
           set phone = ${phone}, phone_confirmed_at = case when ${body.phone_confirm === true} then now() end, updated_at = now()
         where id = ${id}::uuid
        returning *`;
      return row ? reply.json(200, userJson(row)) : reply.error(404, "user_not_found", "User not found");
    } catch (error) {
      return duplicate(reply, error);
    }
  }

  async function getUser(reply: Replier, id: string): Promise<Response> {
    if (!UUID.test(id)) return reply.error(404, "user_not_found", "User not found");
    const [row] = await db()<UserRow[]>`select * from auth.users where id = ${id}::uuid`;
    return row ? reply.json(200, userJson(row)) : reply.error(404, "user_not_found", "User not found");
  }
}

/** GoTrue's answer to a phone or email another user holds; any other error is thrown. */
function duplicate(reply: Replier, error: unknown): Response {
  const constraint = (error as { constraint_name?: string }).constraint_name ?? "";
  if (constraint.includes("phone")) return reply.error(422, "phone_exists", "Phone number already registered by another user");
  if (constraint.includes("email")) return reply.error(422, "email_exists", "A user with this email address has already been registered");
  throw error;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

async function bearerRole(request: Request, secret: Uint8Array): Promise<string | null> {
  const token = request.headers.get("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1];
  if (!token) return null;
  try {
    const { payload } = await jwtVerify(token, secret, { algorithms: ["HS256"] });
    return typeof payload.role === "string" ? payload.role : "";
  } catch {
    return null;
  }
}

/** The user as GoTrue's Admin API returns it. */
function userJson(row: UserRow): Record<string, unknown> {
  const confirmed = [row.email_confirmed_at, row.phone_confirmed_at].filter((d): d is Date => d !== null);
  return {
    id: row.id,
    aud: row.aud,
    role: row.role,
    email: row.email ?? "",
    phone: row.phone ?? "",
    email_confirmed_at: row.email_confirmed_at?.toISOString(),
    phone_confirmed_at: row.phone_confirmed_at?.toISOString(),
    confirmed_at: confirmed.length > 0 ? new Date(Math.min(...confirmed.map((d) => d.getTime()))).toISOString() : undefined,
    app_metadata: row.raw_app_meta_data ?? {},
    user_metadata: row.raw_user_meta_data ?? {},
    identities: [],
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    is_anonymous: row.is_anonymous,
  };
}

interface Replier {
  json(status: number, body: unknown): Response;
  error(status: number, code: string, message: string): Response;
}

/** Answers in the API version the client asked for, as GoTrue does. */
function replier(request: Request): Replier {
  const asked = Date.parse(`${request.headers.get(API_VERSION_HEADER) ?? ""}T00:00:00Z`);
  const versioned = !Number.isNaN(asked) && asked >= API_VERSION_2024;
  const headers: Record<string, string> = versioned ? { [API_VERSION_HEADER]: "2024-01-01" } : {};
  return {
    json: (status, body) => Response.json(body, { status, headers }),
    error: (status, code, message) =>
      Response.json(versioned ? { code, message } : { code: status, error_code: code, msg: message }, { status, headers }),
  };
}
