// Token verification: the HS256 project secret, or the project's JWKS (as a document or a
// URL) for asymmetric signing keys, chosen by SUPABASE_JWKS; and who counts as staff.
import { createServer, type Server } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { clearEnvCache, ConfigError } from "../_shared/env.ts";
import { HttpError } from "../_shared/errors.ts";
import { TokenMinter } from "@mfuko/local-stack/tokens";
import { authenticate, jwksVerifier, secretVerifier, verifierFromEnv } from "../_shared/auth.ts";
import { authorize } from "./auth.ts";

const SECRET = "auth-unit-test-secret-with-at-least-32-characters";
const USER = "6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5";
const { publicKey, privateKey } = await generateKeyPair("ES256");
const jwk = { ...(await exportJWK(publicKey)), kid: "key-1", alg: "ES256", use: "sig" };
const jwks = JSON.stringify({ keys: [jwk] });

const es256Token = (claims: Record<string, unknown> = {}, kid = "key-1") =>
  new SignJWT({ sub: USER, role: "authenticated", aud: "authenticated", app_metadata: { role: "admin" }, ...claims })
    .setProtectedHeader({ alg: "ES256", kid }).setIssuedAt().setExpirationTime("5m").sign(privateKey);

const bearer = (token: string) => new Headers({ authorization: `Bearer ${token}` });

let server: Server;
let jwksUrl: string;
let jwksFetches = 0;
beforeAll(async () => {
  server = createServer((_request, response) => {
    jwksFetches += 1;
    response.writeHead(200, { "content-type": "application/json" }).end(jwks);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  jwksUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/auth/v1/.well-known/jwks.json`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("verifiers", () => {
  it("accepts an ES256 token against a JWKS document, the bare array of its keys, and a JWKS URL (fetched once)", async () => {
    const token = await es256Token();
    expect((await jwksVerifier(jwks)(token)).sub).toBe(USER);
    expect((await jwksVerifier(JSON.stringify([jwk]))(token)).sub).toBe(USER);
    const remote = jwksVerifier(jwksUrl);
    expect((await remote(token)).sub).toBe(USER);
    expect((await remote(await es256Token())).sub).toBe(USER);
    expect(jwksFetches).toBe(1);
  });

  it("refuses with the JWKS: an HS256 token (no algorithm confusion), an unknown key id, another key", async () => {
    const verify = jwksVerifier(jwks);
    const hs256 = await new TokenMinter(SECRET).user({ id: USER, email: "a@test.local", appMetadata: { role: "admin" } });
    await expect(verify(hs256)).rejects.toMatchObject({ code: "ERR_JOSE_ALG_NOT_ALLOWED" });
    await expect(verify(await es256Token({}, "key-2"))).rejects.toMatchObject({ code: "ERR_JWKS_NO_MATCHING_KEY" });
    const other = await generateKeyPair("ES256");
    const foreign = await new SignJWT({ sub: USER }).setProtectedHeader({ alg: "ES256", kid: "key-1" })
      .setExpirationTime("5m").sign(other.privateKey);
    await expect(verify(foreign)).rejects.toMatchObject({ code: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" });
  });

  it("refuses with the secret: an ES256 token and an HS256 token signed with another secret", async () => {
    const verify = secretVerifier(SECRET);
    await expect(verify(await es256Token())).rejects.toMatchObject({ code: "ERR_JOSE_ALG_NOT_ALLOWED" });
    const foreign = await new TokenMinter("x".repeat(40)).user({ id: USER, email: "a@test.local" });
    await expect(verify(foreign)).rejects.toMatchObject({ code: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" });
    const own = await new TokenMinter(SECRET).user({ id: USER, email: "a@test.local" });
    expect((await verify(own)).sub).toBe(USER);
  });

  it("names SUPABASE_JWKS (never its value) when it is neither a JWKS document nor a URL", () => {
    for (const bad of ["{not json", '{"kty":"EC"}', "[not json", "ftp://example.com/jwks", "just text"]) {
      expect(() => jwksVerifier(bad)).toThrow(ConfigError);
      expect(() => jwksVerifier(bad)).toThrow(/SUPABASE_JWKS/);
    }
  });
});

describe("verifierFromEnv", () => {
  const saved = { jwks: process.env.SUPABASE_JWKS, secret: process.env.SUPABASE_JWT_SECRET };
  afterEach(() => {
    for (const [name, value] of [["SUPABASE_JWKS", saved.jwks], ["SUPABASE_JWT_SECRET", saved.secret]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    clearEnvCache();
  });

  it("uses the JWKS when SUPABASE_JWKS is set, else the HS256 secret", async () => {
    process.env.SUPABASE_JWT_SECRET = SECRET;
    process.env.SUPABASE_JWKS = jwks;
    clearEnvCache();
    await expect(verifierFromEnv()(await es256Token())).resolves.toMatchObject({ sub: USER });
    process.env.SUPABASE_JWKS = "";
    const hs256 = await new TokenMinter(SECRET).user({ id: USER, email: "a@test.local" });
    await expect(verifierFromEnv()(hs256)).resolves.toMatchObject({ sub: USER });
  });

  it("fails with a ConfigError when neither is set", () => {
    delete process.env.SUPABASE_JWKS;
    delete process.env.SUPABASE_JWT_SECRET;
    clearEnvCache();
    expect(() => verifierFromEnv()).toThrow(/SUPABASE_JWT_SECRET is missing/);
  });
});

describe("authenticate and authorize", () => {
  const verify = jwksVerifier(jwks);

  it("reads the staff role from app_metadata only", async () => {
    const admin = await authenticate(bearer(await es256Token()), verify);
    expect(admin).toMatchObject({ ok: true, caller: { userId: USER, staffRole: "admin" } });
    const impostor = await authenticate(bearer(await es256Token({ app_metadata: {}, user_metadata: { role: "admin" } })), verify);
    expect(impostor).toMatchObject({ ok: true, caller: { staffRole: null } });
  });

  it("says why a token is refused", async () => {
    expect(await authenticate(new Headers(), verify)).toMatchObject({ ok: false, error: { status: 401, code: "missing_token" } });
    expect(await authenticate(new Headers({ authorization: "Basic abc" }), verify))
      .toMatchObject({ ok: false, error: { status: 401, code: "missing_token" } });
    expect(await authenticate(bearer("abc.def.ghi"), verify)).toMatchObject({ ok: false, error: { status: 401, code: "invalid_token" } });
    expect(await authenticate(bearer(await es256Token({ sub: "not-a-uuid" })), verify))
      .toMatchObject({ ok: false, error: { status: 403, code: "forbidden" } });
    expect(await authenticate(bearer(await es256Token({ role: "service_role" })), verify))
      .toMatchObject({ ok: false, error: { status: 403, code: "forbidden" } });
  });

  it("lets admins do everything, support read, and nobody else anything", () => {
    const caller = (staffRole: "admin" | "support" | null) => ({ userId: USER, staffRole, claims: {} });
    for (const method of ["GET", "POST"]) expect(() => authorize(caller("admin"), method)).not.toThrow();
    expect(() => authorize(caller("support"), "GET")).not.toThrow();
    const refusalOf = (staffRole: "support" | null, method: string) => {
      try {
        authorize(caller(staffRole), method);
      } catch (error) {
        return error instanceof HttpError ? { status: error.status, code: error.code } : error;
      }
      return "allowed";
    };
    expect(refusalOf("support", "POST")).toEqual({ status: 403, code: "forbidden" });
    for (const method of ["GET", "POST"]) expect(refusalOf(null, method)).toEqual({ status: 403, code: "forbidden" });
  });
});
