// Who is calling a function that serves signed-in users (admin, payments). The gateway has
// verified the bearer JWT already, but the function verifies it again: a deployed function may
// run with verify_jwt off, and the claims it forwards to Postgres must be ones it checked
// itself. The staff role comes from app_metadata.role, which only the server can set
// (user_metadata is user-editable and never read).
import { createLocalJWKSet, createRemoteJWKSet, type JWTPayload, jwtVerify, type JWTVerifyOptions } from "jose";
import { ConfigError, env, readEnv } from "./env.ts";
import { HttpError } from "./errors.ts";
import { timingSafeEqual } from "./hmac.ts";

/** Verifies a compact JWS and returns its claims; rejects when it is not valid now. */
export type TokenVerifier = (token: string) => Promise<JWTPayload>;

/** Algorithms of Supabase's asymmetric signing keys (published in the project's JWKS). */
const JWKS_ALGORITHMS = ["ES256", "RS256", "EdDSA"];
const CLOCK_TOLERANCE_SECONDS = 30;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Verify = (token: string, options: JWTVerifyOptions) => Promise<{ payload: JWTPayload }>;

/** Signed by the project and not expired (tokens without an expiry are refused). */
function verifierFor(verify: Verify, algorithms: string[]): TokenVerifier {
  const options: JWTVerifyOptions = { algorithms, clockTolerance: CLOCK_TOLERANCE_SECONDS, requiredClaims: ["exp"] };
  return async (token) => (await verify(token, options)).payload;
}

/** HS256 tokens signed with the project's JWT secret (Supabase's legacy signing key). */
export function secretVerifier(secret: string): TokenVerifier {
  const key = new TextEncoder().encode(secret);
  return verifierFor((token, options) => jwtVerify(token, key, options), ["HS256"]);
}

/**
 * Tokens signed with one of the project's asymmetric keys. `jwks` is the JWKS document itself
 * (JSON, e.g. copied from the dashboard or a secret), the bare array of its keys (a form the
 * platform's SUPABASE_JWKS may take), or its URL
 * (https://<project>.supabase.co/auth/v1/.well-known/jwks.json), fetched on demand and cached
 * by jose (refetched when a token names an unknown key id, at most every 30 s).
 */
export function jwksVerifier(jwks: string): TokenVerifier {
  const text = jwks.trim();
  if (text.startsWith("{") || text.startsWith("[")) {
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      throw new ConfigError("SUPABASE_JWKS", "is invalid: not valid JSON");
    }
    const keys = Array.isArray(document) ? document : (document as { keys?: unknown }).keys;
    if (!Array.isArray(keys)) {
      throw new ConfigError("SUPABASE_JWKS", "is invalid: a JWKS document needs a keys array");
    }
    const keySet = createLocalJWKSet({ keys } as Parameters<typeof createLocalJWKSet>[0]);
    return verifierFor((token, options) => jwtVerify(token, keySet, options), JWKS_ALGORITHMS);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError("SUPABASE_JWKS", "is invalid: neither a JWKS document nor a URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ConfigError("SUPABASE_JWKS", "is invalid: the URL must be http(s)");
  }
  const keys = createRemoteJWKSet(url);
  return verifierFor((token, options) => jwtVerify(token, keys, options), JWKS_ALGORITHMS);
}

/** The project's JWKS when SUPABASE_JWKS is set, else the HS256 SUPABASE_JWT_SECRET. */
export function verifierFromEnv(): TokenVerifier {
  const jwks = readEnv("SUPABASE_JWKS");
  if (jwks && jwks.trim() !== "") return jwksVerifier(jwks);
  return secretVerifier(env("SUPABASE_JWT_SECRET").SUPABASE_JWT_SECRET);
}

export type StaffRole = "admin" | "support";

/** A caller whose JWT verified: a signed-in user, staff or not. */
export interface Caller {
  userId: string;
  staffRole: StaffRole | null;
  /** The verified claims, forwarded to Postgres as request.jwt.claims. */
  claims: JWTPayload;
}

export type Authentication = { ok: true; caller: Caller } | { ok: false; error: HttpError };

/** The token of an `Authorization: Bearer <token>` header, if the request has one. */
function bearerToken(headers: Headers): string | undefined {
  return headers.get("authorization")?.match(/^Bearer +([A-Za-z0-9._~+/=-]+)$/i)?.[1];
}

const unauthorized = (code: string, message: string) =>
  new HttpError(401, code, message, null, { "www-authenticate": `Bearer error="invalid_token"` });

/**
 * Verifies the request's bearer token. Never throws for a bad token: the outcome says why.
 * `service` names the API in the 403 given to genuine tokens that are not a user's session.
 */
export async function authenticate(headers: Headers, verify: TokenVerifier, service = "The admin API"): Promise<Authentication> {
  const token = bearerToken(headers);
  if (!token) {
    return { ok: false, error: unauthorized("missing_token", "An Authorization: Bearer <access token> header is required.") };
  }
  let claims: JWTPayload;
  try {
    claims = await verify(token);
  } catch {
    return { ok: false, error: unauthorized("invalid_token", "The access token is invalid or expired.") };
  }
  // The project's own tokens that are not a signed-in user's session (the anon and
  // service_role API keys) verify too: they are genuine, just not allowed here.
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (
    claims.role !== "authenticated" || !audiences.includes("authenticated") ||
    typeof claims.sub !== "string" || !UUID.test(claims.sub)
  ) {
    return { ok: false, error: new HttpError(403, "forbidden", `${service} needs a signed-in user's access token.`) };
  }
  const appRole = (claims.app_metadata as { role?: unknown } | undefined)?.role;
  const staffRole = appRole === "admin" || appRole === "support" ? appRole : null;
  return { ok: true, caller: { userId: claims.sub, staffRole, claims } };
}

/**
 * Verifies that the request carries the project's service_role key: 401 without a valid token,
 * 403 for any other genuine token (anon key, a user's or an admin's session). Used by the
 * functions only the platform calls (jobs). `serviceRoleKey` is the key as the platform gives
 * it to every function (SUPABASE_SERVICE_ROLE_KEY): that exact string is the key, whichever way
 * the project signs its users' tokens; the legacy key is an HS256 JWT, which a verifier of the
 * project's asymmetric keys (SUPABASE_JWKS) refuses. Any other token must verify and carry the
 * role service_role.
 */
export async function authenticateService(
  headers: Headers,
  verify: TokenVerifier,
  service: string,
  serviceRoleKey?: string,
): Promise<HttpError | null> {
  const token = bearerToken(headers);
  if (!token) {
    return unauthorized("missing_token", "An Authorization: Bearer <service_role key> header is required.");
  }
  if (serviceRoleKey !== undefined && await sameSecret(token, serviceRoleKey)) return null;
  let claims: JWTPayload;
  try {
    claims = await verify(token);
  } catch {
    return unauthorized("invalid_token", "The token is invalid or expired.");
  }
  return claims.role === "service_role" ? null : new HttpError(403, "forbidden", `${service} needs the service_role key.`);
}

/** Whether two secrets are equal, compared through their SHA-256 digests in constant time. */
async function sameSecret(candidate: string, secret: string): Promise<boolean> {
  const digest = async (text: string) => new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return timingSafeEqual(await digest(candidate), await digest(secret));
}
