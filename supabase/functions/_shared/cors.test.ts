// A browser page calling the user APIs through a real functions gateway: its preflight passes
// the gateway without a JWT and is answered before the rate limit and authentication, every
// answer (errors too) names the allowed origin, and CORS_ALLOWED_ORIGINS narrows the origins
// to a list. The webhooks, called by providers' servers, answer no browser.
import "../../tests/support/functions-env.ts";
import { randomUUID } from "node:crypto";
import { TokenMinter } from "@mfuko/local-stack/tokens";
import { describe, expect, it } from "vitest";
import { testFunctionsUrl } from "../../tests/support/functions-env.ts";
import { usePaymentsGateway } from "../../tests/support/use-payments-gateway.ts";

const APP = "https://app.mfuko.test";
const minter = new TokenMinter(process.env.SUPABASE_JWT_SECRET!);

/** A browser's preflight of a POST that carries supabase-js's headers and an Idempotency-Key. */
const preflight = (url: string, origin: string) =>
  fetch(url, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization,x-client-info,apikey,content-type,idempotency-key",
    },
  });

const signedIn = async (url: string, origin: string) =>
  fetch(url, {
    headers: { origin, authorization: `Bearer ${await minter.user({ id: randomUUID(), email: "page@mfuko.test" })}` },
  });

describe("cross-origin calls with the default CORS_ALLOWED_ORIGINS (*)", () => {
  it("answers a preflight of either user API with no token, naming the methods and the headers the API reads", async () => {
    for (const [path, methods] of [["payments/topups", "GET,POST"], ["admin/audit", "GET,POST,PUT"]] as const) {
      const answer = await preflight(`${testFunctionsUrl()}/${path}`, APP);
      expect(answer.status, path).toBe(204);
      expect(answer.headers.get("access-control-allow-origin"), path).toBe("*");
      expect(answer.headers.get("access-control-allow-methods"), path).toBe(methods);
      expect(answer.headers.get("access-control-allow-headers")?.split(","), path).toEqual([
        "authorization",
        "x-client-info",
        "apikey",
        "content-type",
        "idempotency-key",
        "x-correlation-id",
      ]);
      expect(answer.headers.get("access-control-max-age"), path).toBe("600");
    }
  });

  it("names the origin on answers and refusals, and lets the page read the replay mark, the request id and the rate limit", async () => {
    const missing = await signedIn(`${testFunctionsUrl()}/payments/topups/${randomUUID()}`, APP);
    expect(missing.status).toBe(404);
    const refused = await fetch(`${testFunctionsUrl()}/admin/audit`, {
      headers: { origin: APP, authorization: `Bearer ${await minter.apiKey("anon")}` },
    });
    expect(refused.status).toBe(403);
    for (const answer of [missing, refused]) {
      expect(answer.headers.get("access-control-allow-origin")).toBe("*");
      expect(answer.headers.get("access-control-expose-headers")?.split(",")).toEqual([
        "idempotent-replayed",
        "x-correlation-id",
        "retry-after",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
      ]);
    }
  });

  it("gives a webhook's preflight no cross-origin answer: providers' servers call them, never a page", async () => {
    const answer = await preflight(`${testFunctionsUrl()}/stripe-webhook`, APP);
    expect(answer.headers.get("access-control-allow-origin")).toBeNull();
    expect(answer.status).toBe(405);
  });
});

describe("cross-origin calls with CORS_ALLOWED_ORIGINS listing origins", () => {
  const gateway = usePaymentsGateway({ CORS_ALLOWED_ORIGINS: `${APP}, https://admin.mfuko.test` });

  it("names a listed origin itself, varying by origin, on the preflight and the answer", async () => {
    const answers = [
      await preflight(`${gateway.url}/payments/topups`, "https://admin.mfuko.test"),
      await signedIn(`${gateway.url}/payments/topups/${randomUUID()}`, APP),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([204, 404]);
    expect(answers.map((answer) => answer.headers.get("access-control-allow-origin"))).toEqual(["https://admin.mfuko.test", APP]);
    for (const answer of answers) expect(answer.headers.get("vary")).toMatch(/\bOrigin\b/);
  });

  it("names no origin for a page of an origin not listed, so that its browser keeps the answer from it", async () => {
    const answers = [
      await preflight(`${gateway.url}/payments/topups`, "https://evil.example"),
      await signedIn(`${gateway.url}/payments/topups/${randomUUID()}`, "https://evil.example"),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([204, 404]);
    for (const answer of answers) expect(answer.headers.get("access-control-allow-origin")).toBeNull();
  });
});
