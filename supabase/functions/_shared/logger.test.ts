import { afterEach, describe, expect, it, vi } from "vitest";
import { clearEnvCache, env } from "./env.ts";
import { createLogger, maskPhone, redact } from "./logger.ts";

function capture() {
  const lines: string[] = [];
  return { logger: createLogger((line) => lines.push(line)), lines };
}

afterEach(() => {
  vi.unstubAllEnvs();
  clearEnvCache();
});

describe("maskPhone", () => {
  it("keeps the prefix (first four digits) and the last two", () => {
    expect(maskPhone("256712344321")).toBe("2567******21");
    expect(maskPhone("+256712344321")).toBe("+2567******21");
    expect(maskPhone("12345")).toBe("***45");
  });
});

describe("redaction", () => {
  const secrets = {
    whatsappAppSecret: "wa-app-secret-value-123",
    signature: "sha256=3f0c1e2d4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
    bearer: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
    stripeKey: "sk_test_51Habcdefghijklmnop",
    webhookSecret: "whsec_abcdefghijklmnop123",
    momoToken: "a".repeat(64),
    dbPassword: "postgresql://postgres:hunter2@db.example:5432/postgres",
  };

  it("never writes secret headers, tokens or credential shapes", () => {
    const { logger, lines } = capture();
    logger.warn("webhook_rejected", {
      headers: new Headers({
        authorization: `Bearer ${secrets.bearer}`,
        "x-hub-signature-256": secrets.signature,
        "stripe-signature": "t=1,v1=abc",
        "revolut-signature": "v1=abc",
        cookie: "session=abc",
        "user-agent": "facebookexternalua",
      }),
      query: { "hub.verify_token": "my-verify-token", token: secrets.momoToken },
      note: `failed with ${secrets.stripeKey} and ${secrets.webhookSecret} via ${secrets.dbPassword}`,
      detail: `signature was ${secrets.momoToken}`,
      nested: [{ api_key: "k-123", password: "pw-123", client_secret: "cs-123" }],
    });
    const output = lines.join("\n");
    for (
      const value of [...Object.values(secrets), "my-verify-token", "session=abc", "k-123", "pw-123", "cs-123", "hunter2", "t=1,v1=abc"]
    ) {
      expect(output).not.toContain(value);
    }
    expect(output).toContain("facebookexternalua");
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: "warn", event: "webhook_rejected" });
  });

  it("masks the values of configured secrets wherever they appear", () => {
    vi.stubEnv("WHATSAPP_APP_SECRET", secrets.whatsappAppSecret);
    env("WHATSAPP_APP_SECRET");
    const { logger, lines } = capture();
    logger.error("oops", { message: `the secret ${secrets.whatsappAppSecret} leaked`, list: [secrets.whatsappAppSecret] });
    expect(lines.join("\n")).not.toContain(secrets.whatsappAppSecret);
  });

  it("masks phone numbers in phone fields and in free text, and leaves ids alone", () => {
    expect(redact({ wa_id: "256712344321", from: 256712344321, msisdn: "+256712344321" })).toEqual({
      wa_id: "2567******21",
      from: "2567******21",
      msisdn: "+2567******21",
    });
    expect(redact("message from 256712344321 received")).toBe("message from 2567******21 received");
    const id = "123e4567-e89b-42d3-a456-426614174000";
    expect(redact(`intent ${id}`)).toBe(`intent ${id}`);
  });
});

describe("request log line", () => {
  it("writes one JSON line with the request fields", () => {
    const { logger, lines } = capture();
    const fields = {
      function: "stripe-webhook",
      method: "POST",
      path: "/stripe-webhook",
      status: 200,
      duration_ms: 12.5,
      correlation_id: "abc123def456abc123def456abc123def456",
      rate_limit: { allowed: true, limit: 50, remaining: 49, failed_open: false },
    };
    logger.request(fields);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: "info", event: "request", ...fields });
  });

  it("logs 5xx requests at error level", () => {
    const { logger, lines } = capture();
    logger.request({
      function: "admin",
      method: "GET",
      path: "/admin",
      status: 503,
      duration_ms: 1,
      correlation_id: "c",
      rate_limit: null,
    });
    expect(JSON.parse(lines[0]!).level).toBe("error");
  });
});
