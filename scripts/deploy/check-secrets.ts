// Checks the functions' secrets file of one environment before `supabase secrets set`, by the
// functions' own rules (supabase/functions/_shared/env.ts) plus what a hosted environment needs.
// Prints the names on success and the problems on failure, never a value.
//
//   tsx scripts/deploy/check-secrets.ts --env staging|production <file>
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type EnvName, envSchema } from "../../supabase/functions/_shared/env.ts";

export type DeployEnvironment = "staging" | "production";

/**
 * NAME=value lines as the Supabase CLI reads them: comments, blank lines and `export ` allowed,
 * one pair of surrounding quotes removed. Throws on a line that is not NAME=value.
 */
export function parseEnvFile(text: string): Map<string, string> {
  const entries = new Map<string, string>();
  text.split(/\r?\n/).forEach((line, index) => {
    if (/^\s*(#|$)/.test(line)) return;
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!match) throw new Error(`line ${index + 1} is not NAME=value`);
    const quoted = /^(["'])(.*)\1\s*$/.exec(match[2]);
    entries.set(match[1], quoted ? quoted[2] : match[2]);
  });
  return entries;
}

const isPlatformName = (name: string) => name.startsWith("SUPABASE_");

/** Every problem of `secrets` for `environment`; empty when they can be deployed. */
export function secretProblems(secrets: Map<string, string>, environment: DeployEnvironment): string[] {
  const problems: string[] = [];
  const value = (name: string) => (secrets.get(name) ?? "") || undefined;

  for (const name of secrets.keys()) {
    if (isPlatformName(name)) problems.push(`${name} is provided by the platform and cannot be set (remove it)`);
    else if (name === "MFUKO_VERSION") problems.push("MFUKO_VERSION is set by the deploy to the git commit (remove it)");
    else if (!(name in envSchema)) problems.push(`${name} is not read by the functions (a typo?)`);
  }

  for (const name of Object.keys(envSchema) as EnvName[]) {
    if (isPlatformName(name)) continue;
    const result = envSchema[name].safeParse(value(name));
    if (!result.success) {
      problems.push(value(name) === undefined ? `${name} is missing` : `${name} is invalid: ${result.error.issues[0]?.message}`);
    }
  }

  // Locally the rate limits are counted in Postgres; hosted, every function shares Upstash.
  for (const name of ["UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"]) {
    if (value(name) === undefined) problems.push(`${name} is missing (hosted environments count rate limits in Upstash)`);
  }
  for (
    const name of [
      "REVOLUT_API_BASE_URL",
      "MOMO_API_BASE_URL",
      "STRIPE_API_BASE_URL",
      "WHATSAPP_API_BASE_URL",
      "PUBLIC_FUNCTIONS_URL",
      "UPSTASH_REDIS_REST_URL",
    ]
  ) {
    if (value(name)?.startsWith("http://")) problems.push(`${name} must be an https:// URL outside local development`);
  }

  // Live money only in production, sandboxes and test keys only in staging.
  const mode = environment === "production" ? "live" : "test";
  const stripeKey = value("STRIPE_SECRET_KEY");
  if (stripeKey && !new RegExp(`^(sk|rk)_${mode}_`).test(stripeKey)) {
    problems.push(`STRIPE_SECRET_KEY must be a ${mode}-mode key (sk_${mode}_ or rk_${mode}_) in ${environment}`);
  }
  if (environment === "production") {
    const target = value("MOMO_TARGET_ENVIRONMENT");
    if (target === undefined || target === "sandbox") {
      problems.push("MOMO_TARGET_ENVIRONMENT must name the live market (e.g. mtnuganda) in production, not sandbox");
    }
    for (const name of ["REVOLUT_API_BASE_URL", "MOMO_API_BASE_URL"]) {
      if (value(name)?.includes("sandbox")) problems.push(`${name} points at a sandbox in production`);
    }
  }
  return problems;
}

function main(): void {
  const { values, positionals } = parseArgs({ options: { env: { type: "string" } }, allowPositionals: true });
  const [file] = positionals;
  if ((values.env !== "staging" && values.env !== "production") || positionals.length !== 1) {
    console.error("usage: tsx scripts/deploy/check-secrets.ts --env staging|production <file>");
    process.exit(2);
  }
  let secrets: Map<string, string>;
  try {
    secrets = parseEnvFile(readFileSync(file, "utf8"));
  } catch (error) {
    console.error(`${file}: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  const problems = secretProblems(secrets, values.env);
  if (problems.length > 0) {
    for (const problem of problems) console.error(`   ${file}: ${problem}`);
    process.exit(1);
  }
  console.log([...secrets.keys()].join(" "));
}

if (import.meta.url === `file://${process.argv[1]}`) main();
