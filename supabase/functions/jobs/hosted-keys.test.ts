// The jobs function configured as a hosted project configures it: the platform sets
// SUPABASE_JWKS (here as the bare array of keys it may give) and SUPABASE_SERVICE_ROLE_KEY, the
// legacy HS256 key that Supabase Cron sends from Vault. The key runs a job though the JWKS
// verifier refuses HS256 tokens; nothing else signed with the legacy secret does.
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { TokenMinter } from "@mfuko/local-stack/tokens";
import { usePaymentsGateway } from "../../tests/support/use-payments-gateway.ts";

const secret = process.env.SUPABASE_JWT_SECRET!;
const serviceRoleKey = await new TokenMinter(secret).apiKey("service_role");
const { publicKey } = await generateKeyPair("ES256");
const signingKey = { ...(await exportJWK(publicKey)), kid: "hosted-key-1", alg: "ES256", use: "sig" };
const gateway = usePaymentsGateway({ SUPABASE_JWKS: JSON.stringify([signingKey]), SUPABASE_SERVICE_ROLE_KEY: serviceRoleKey });

describe("who may run a job on a hosted project", () => {
  it("the platform's service_role key, as Vault holds it, runs a job", async () => {
    const run = await gateway.runJob("expire-intents", serviceRoleKey);
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({ job: "expire-intents" });
  });

  it("another service_role token signed with the legacy secret is refused (401): the JWKS verifies no HS256 token", async () => {
    const forged = await new SignJWT({ role: "service_role", iss: "someone-else" })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" }).setIssuedAt().setExpirationTime("1h").sign(new TextEncoder().encode(secret));
    const refused = await gateway.runJob("expire-intents", forged);
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe("invalid_token");
    expect((await gateway.runJob("expire-intents", null)).status).toBe(401);
  });
});
