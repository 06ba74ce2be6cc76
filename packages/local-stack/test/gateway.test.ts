import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FunctionsServer, startFunctionsServer } from "../src/functions-server.ts";
import { freePort } from "../src/ports.ts";
import { TokenMinter } from "../src/tokens.ts";

const fixtures = join(import.meta.dirname, "fixtures");
const secret = "gateway-test-secret-with-at-least-32-characters";
let server: FunctionsServer;

beforeAll(async () => {
  server = await startFunctionsServer({
    port: await freePort(),
    functionsDir: join(fixtures, "functions"),
    configFile: join(fixtures, "config.toml"),
    env: { SUPABASE_JWT_SECRET: secret },
    output: "ignore",
  });
});

afterAll(() => server?.stop());

describe("functions gateway", () => {
  it("hands the function its path without /functions/v1, the query, and the client in x-forwarded-for", async () => {
    const response = await fetch(`${server.url}/open/a/b?x=1`, { headers: { "x-forwarded-for": "203.0.113.7" } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ path: "/open/a/b", search: "?x=1", forwardedFor: "203.0.113.7, 127.0.0.1" });
  });

  it("answers 401 without a JWT for a function that verifies JWTs by default", async () => {
    const response = await fetch(`${server.url}/guarded`);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ code: 401, message: "Missing authorization header" });
  });

  it("answers 401 for a JWT signed with another secret", async () => {
    const forged = await new TokenMinter("another-secret-that-is-also-32-characters-long").apiKey("anon");
    const response = await fetch(`${server.url}/guarded`, { headers: { authorization: `Bearer ${forged}` } });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ code: 401, message: "Invalid JWT" });
  });

  it("lets a valid JWT through", async () => {
    const token = await new TokenMinter(secret).apiKey("anon");
    const response = await fetch(`${server.url}/guarded`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ reached: true });
  });

  it("answers 404 for an unknown function and for paths outside /functions/v1, /rest/v1 and /auth/v1", async () => {
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
    expect((await fetch(server.url.replace("/functions/v1", "/storage/v1/x"))).status).toBe(404);
  });

  it("answers 501 for the REST and Auth APIs it does not serve, saying what to use instead", async () => {
    for (const path of ["/rest/v1/x", "/auth/v1/token"]) {
      const response = await fetch(server.url.replace("/functions/v1", path));
      expect(response.status).toBe(501);
      expect((await response.json()).message).toContain("use a hosted Supabase project or `supabase start`");
    }
  });
});

describe("functions gateway lifetime", () => {
  it("exits when the process that started it goes away (its stdin closes)", async () => {
    const orphan = await startFunctionsServer({
      port: await freePort(),
      functionsDir: join(fixtures, "functions"),
      configFile: join(fixtures, "config.toml"),
      env: { SUPABASE_JWT_SECRET: secret },
      output: "ignore",
    });
    const exited = new Promise<number | null>((resolve) => orphan.process.once("exit", (code) => resolve(code)));
    // What the death of the parent does to the pipe, without killing the test runner.
    orphan.process.stdin?.end();
    expect(await exited).toBe(0);
  });
});
