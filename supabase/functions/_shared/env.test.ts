import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { clearEnvCache, ConfigError, env, type EnvName, envSchema, readEnv } from "./env.ts";
import { providerConfigFromEnv } from "./providers/from-env.ts";
import { rateLimitPerMinute } from "./rate-limit/config.ts";

afterEach(() => {
  vi.unstubAllEnvs();
  clearEnvCache();
});

describe("env", () => {
  it("reads and validates variables", () => {
    vi.stubEnv("STRIPE_WEBHOOK_SECRET", "whsec_abc");
    vi.stubEnv("MOMO_API_BASE_URL", "http://127.0.0.1:9999");
    expect(env("STRIPE_WEBHOOK_SECRET", "MOMO_API_BASE_URL")).toEqual({
      STRIPE_WEBHOOK_SECRET: "whsec_abc",
      MOMO_API_BASE_URL: "http://127.0.0.1:9999",
    });
    expect(readEnv("STRIPE_WEBHOOK_SECRET")).toBe("whsec_abc");
  });

  it("names a missing variable and treats empty as missing", () => {
    vi.stubEnv("WHATSAPP_APP_SECRET", "");
    expect(() => env("WHATSAPP_APP_SECRET")).toThrowError(new ConfigError("WHATSAPP_APP_SECRET", "is missing"));
  });

  it("names an invalid variable without echoing its value", () => {
    vi.stubEnv("STRIPE_WEBHOOK_SECRET", "not-a-webhook-secret-value");
    let message = "";
    try {
      env("STRIPE_WEBHOOK_SECRET");
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      message = (error as Error).message;
    }
    expect(message).toContain("STRIPE_WEBHOOK_SECRET");
    expect(message).toContain("whsec_");
    expect(message).not.toContain("not-a-webhook-secret-value");
  });

  it("reads the browser origins as * by default, or as a list of origins, and refuses anything else", () => {
    vi.stubEnv("CORS_ALLOWED_ORIGINS", "");
    expect(env("CORS_ALLOWED_ORIGINS").CORS_ALLOWED_ORIGINS).toEqual(["*"]);
    clearEnvCache();
    vi.stubEnv("CORS_ALLOWED_ORIGINS", "https://app.mfuko.rw, http://localhost:5173");
    expect(env("CORS_ALLOWED_ORIGINS").CORS_ALLOWED_ORIGINS).toEqual(["https://app.mfuko.rw", "http://localhost:5173"]);
    for (const wrong of ["https://app.mfuko.rw/", "app.mfuko.rw", "https://*.mfuko.rw", "https://app.mfuko.rw,"]) {
      clearEnvCache();
      vi.stubEnv("CORS_ALLOWED_ORIGINS", wrong);
      expect(() => env("CORS_ALLOWED_ORIGINS"), wrong).toThrowError(/CORS_ALLOWED_ORIGINS is invalid: must be \* or origins/);
    }
  });

  it("reads WHATSAPP_NOTIFY_TEMPLATE_WITH_TEXT as false when unset, true or false when so written, and refuses anything else", () => {
    const withText = (value: string) => {
      clearEnvCache();
      vi.stubEnv("WHATSAPP_NOTIFY_TEMPLATE_WITH_TEXT", value);
      return env("WHATSAPP_NOTIFY_TEMPLATE_WITH_TEXT").WHATSAPP_NOTIFY_TEMPLATE_WITH_TEXT;
    };
    expect([withText(""), withText("true"), withText("false")]).toEqual([false, true, false]);
    for (const wrong of ["TRUE", "1", "yes"]) {
      expect(() => withText(wrong), wrong).toThrowError(/WHATSAPP_NOTIFY_TEMPLATE_WITH_TEXT is invalid: must be true or false/);
    }
  });

  it("reads a variable once", () => {
    vi.stubEnv("WHATSAPP_VERIFY_TOKEN", "first-token-value");
    expect(env("WHATSAPP_VERIFY_TOKEN").WHATSAPP_VERIFY_TOKEN).toBe("first-token-value");
    vi.stubEnv("WHATSAPP_VERIFY_TOKEN", "second-token-value");
    expect(env("WHATSAPP_VERIFY_TOKEN").WHATSAPP_VERIFY_TOKEN).toBe("first-token-value");
  });

  it("gives each function its rate limit, defaulted and overridable", () => {
    for (const name of ["WHATSAPP_WEBHOOK", "WHATSAPP_SENDER", "STRIPE_WEBHOOK", "MOMO_WEBHOOK", "REVOLUT_WEBHOOK", "ADMIN", "PAYMENTS"]) {
      vi.stubEnv(`RATE_LIMIT_${name}_PER_MIN`, "");
    }
    expect(rateLimitPerMinute("whatsapp-webhook")).toBe(6000);
    expect(env("RATE_LIMIT_WHATSAPP_SENDER_PER_MIN").RATE_LIMIT_WHATSAPP_SENDER_PER_MIN).toBe(100);
    expect(rateLimitPerMinute("stripe-webhook")).toBe(50);
    expect(rateLimitPerMinute("momo-webhook")).toBe(50);
    expect(rateLimitPerMinute("revolut-webhook")).toBe(50);
    expect(rateLimitPerMinute("admin")).toBe(200);
    expect(rateLimitPerMinute("payments")).toBe(30);
    clearEnvCache();
    vi.stubEnv("RATE_LIMIT_PAYMENTS_PER_MIN", "7");
    vi.stubEnv("RATE_LIMIT_ADMIN_PER_MIN", "0");
    expect(rateLimitPerMinute("payments")).toBe(7);
    expect(() => rateLimitPerMinute("admin")).toThrowError(/RATE_LIMIT_ADMIN_PER_MIN is invalid: must be at least 1/);
  });
});

describe(".env.example", () => {
  it("defines every variable the functions read, with values that pass validation", () => {
    const file = readFileSync(new URL("../.env.example", import.meta.url), "utf8");
    const defined = new Map(
      file.split("\n").filter((line) => /^[A-Z0-9_]+=/.test(line)).map((line) => {
        const [name, ...value] = line.split("=");
        return [name!, value.join("=")] as const;
      }),
    );
    const names = Object.keys(envSchema) as EnvName[];
    // SUPABASE_JWKS is only for projects that sign with asymmetric keys.
    expect(names.filter((name) => name !== "SUPABASE_JWKS" && !defined.has(name))).toEqual([]);
    for (const [name, value] of defined) vi.stubEnv(name, value);
    expect(() => env(...names)).not.toThrow();
  });
});

describe("providerConfigFromEnv", () => {
  it("maps each setting to its variable's validated value, with PROVIDER_TIMEOUT_MS as timeoutMs", () => {
    vi.stubEnv("REVOLUT_API_BASE_URL", "http://127.0.0.1:9999");
    vi.stubEnv("REVOLUT_API_KEY", "sk_revolut_test");
    vi.stubEnv("REVOLUT_API_VERSION", "");
    vi.stubEnv("PROVIDER_TIMEOUT_MS", "2500");
    expect(providerConfigFromEnv({ baseUrl: "REVOLUT_API_BASE_URL", secretKey: "REVOLUT_API_KEY", apiVersion: "REVOLUT_API_VERSION" }))
      .toEqual({ baseUrl: "http://127.0.0.1:9999", secretKey: "sk_revolut_test", apiVersion: "2024-09-01", timeoutMs: 2500 });
  });

  it("throws ConfigError naming a missing setting's variable", () => {
    vi.stubEnv("STRIPE_SECRET_KEY", "");
    expect(() => providerConfigFromEnv({ secretKey: "STRIPE_SECRET_KEY", baseUrl: "STRIPE_API_BASE_URL" }))
      .toThrowError(new ConfigError("STRIPE_SECRET_KEY", "is missing"));
  });
});
