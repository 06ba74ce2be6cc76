// The secrets check the deploy runs before `supabase secrets set`: the functions' own rules
// (env.ts), hosted-only requirements, and live/test separation between the environments.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseEnvFile, secretProblems } from "../deploy/check-secrets.ts";
import { envSchema } from "../../supabase/functions/_shared/env.ts";
import { repoRoot } from "./run-script.ts";

const example = () => parseEnvFile(readFileSync(join(repoRoot, "scripts/deploy/functions.secrets.env.example"), "utf8"));

const production = () =>
  new Map([
    ...example(),
    ["STRIPE_SECRET_KEY", "sk_live_value"],
    ["REVOLUT_API_BASE_URL", "https://merchant.revolut.com/api"],
    ["MOMO_API_BASE_URL", "https://proxy.momoapi.mtn.com"],
    ["MOMO_TARGET_ENVIRONMENT", "mtnuganda"],
  ]);

const without = (secrets: Map<string, string>, name: string) => new Map([...secrets].filter(([key]) => key !== name));

describe("parseEnvFile", () => {
  it("reads NAME=value lines, skips comments and blanks, strips export and one pair of quotes", () => {
    const entries = parseEnvFile("# comment\n\nA=1\nexport B=\"two words\"\nC='x=y'\nD=\n");
    expect([...entries]).toEqual([["A", "1"], ["B", "two words"], ["C", "x=y"], ["D", ""]]);
  });

  it("names the line that is not NAME=value", () => {
    expect(() => parseEnvFile("A=1\nnot a pair\n")).toThrow("line 2 is not NAME=value");
  });
});

describe("the secrets example", () => {
  it("names every variable a deployment may set, optional ones as comments, so an operator sees each one", () => {
    const text = readFileSync(join(repoRoot, "scripts/deploy/functions.secrets.env.example"), "utf8");
    const named = new Set([...text.matchAll(/^#? ?([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]));
    // The platform sets SUPABASE_* (the deploy refuses them in the file).
    const settable = Object.keys(envSchema).filter((name) => !name.startsWith("SUPABASE_"));
    expect(settable.filter((name) => !named.has(name))).toEqual([]);
  });
});

describe("secretProblems", () => {
  it("accepts the committed example for staging and an equivalent live file for production", () => {
    expect(secretProblems(example(), "staging")).toEqual([]);
    expect(secretProblems(production(), "production")).toEqual([]);
  });

  it("reports every variable the functions cannot start without, except the platform's SUPABASE_*", () => {
    const required = Object.entries(envSchema)
      .filter(([name, schema]) => !name.startsWith("SUPABASE_") && !schema.safeParse(undefined).success)
      .map(([name]) => name);
    expect(required.length).toBeGreaterThan(5);
    for (const name of required) expect(secretProblems(without(example(), name), "staging")).toContain(`${name} is missing`);
  });

  it("treats an empty value as missing, and an invalid one by the functions' rule without showing it", () => {
    const problems = secretProblems(
      new Map([...example(), ["WHATSAPP_APP_SECRET", ""], ["MOMO_API_USER", "not-a-uuid-secret"]]),
      "staging",
    );
    expect(problems).toContain("WHATSAPP_APP_SECRET is missing");
    expect(problems).toContain("MOMO_API_USER is invalid: must be a UUID");
    expect(problems.join("\n")).not.toContain("not-a-uuid-secret");
  });

  it("requires Upstash and https in hosted environments", () => {
    expect(secretProblems(without(example(), "UPSTASH_REDIS_REST_TOKEN"), "staging")).toEqual([
      "UPSTASH_REDIS_REST_TOKEN is missing (hosted environments count rate limits in Upstash)",
    ]);
    expect(secretProblems(new Map([...example(), ["MOMO_API_BASE_URL", "http://127.0.0.1:54341"]]), "staging")).toEqual([
      "MOMO_API_BASE_URL must be an https:// URL outside local development",
    ]);
  });

  it("rejects platform names, MFUKO_VERSION and names the functions do not read", () => {
    const problems = secretProblems(
      new Map([...example(), ["SUPABASE_DB_URL", "x"], ["MFUKO_VERSION", "v"], ["STRIPE_SECRET", "x"]]),
      "staging",
    );
    expect(problems).toEqual([
      "SUPABASE_DB_URL is provided by the platform and cannot be set (remove it)",
      "MFUKO_VERSION is set by the deploy to the git commit (remove it)",
      "STRIPE_SECRET is not read by the functions (a typo?)",
    ]);
  });

  it("keeps live keys out of staging and test keys and sandboxes out of production", () => {
    expect(secretProblems(new Map([...example(), ["STRIPE_SECRET_KEY", "rk_live_x"]]), "staging")).toEqual([
      "STRIPE_SECRET_KEY must be a test-mode key (sk_test_ or rk_test_) in staging",
    ]);
    expect(secretProblems(example(), "production")).toEqual([
      "STRIPE_SECRET_KEY must be a live-mode key (sk_live_ or rk_live_) in production",
      "MOMO_TARGET_ENVIRONMENT must name the live market (e.g. mtnuganda) in production, not sandbox",
      "REVOLUT_API_BASE_URL points at a sandbox in production",
      "MOMO_API_BASE_URL points at a sandbox in production",
    ]);
    expect(secretProblems(without(production(), "MOMO_TARGET_ENVIRONMENT"), "production")).toEqual([
      "MOMO_TARGET_ENVIRONMENT must name the live market (e.g. mtnuganda) in production, not sandbox",
    ]);
  });
});
