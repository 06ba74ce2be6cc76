// scripts/deploy/all.sh: the dry run prints the whole plan and touches nothing; every bad
// input stops it before any step runs, with a message that names the problem. The target's
// database and API are a TCP listener and an HTTP server started here, which record whether
// anything ever connected to them.
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { type AddressInfo, createServer as createTcpServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseEnvFile } from "../deploy/check-secrets.ts";
import { repoRoot, runScript, runScriptInTerminal, type ScriptResult } from "./run-script.ts";

const script = "scripts/deploy/all.sh";
const projectRef = "abcdefghijklmnopqrst";
const dbPassword = "db-password-must-not-show";
const accessToken = "sbp_access_token_must_not_show";

const secretNames = [
  "WHATSAPP_VERIFY_TOKEN",
  "WHATSAPP_APP_SECRET",
  "REVOLUT_API_KEY",
  "REVOLUT_WEBHOOK_SECRET",
  "MOMO_SUBSCRIPTION_KEY",
  "MOMO_DISBURSEMENT_SUBSCRIPTION_KEY",
  "MOMO_API_KEY",
  "MOMO_CALLBACK_SECRET",
  "UPSTASH_REDIS_REST_TOKEN",
];
const stripeKeys = { staging: "sk_test_must_not_show", production: "sk_live_must_not_show" };
const webhookSecret = "whsec_must_not_show";

/** The committed example with a recognisable value for every secret, shaped for `environment`. */
function secretValues(environment: "staging" | "production"): Record<string, string> {
  const values = Object.fromEntries(parseEnvFile(readFileSync(join(repoRoot, "scripts/deploy/functions.secrets.env.example"), "utf8")));
  for (const name of secretNames) values[name] = `${name}-must-not-show`;
  Object.assign(values, { STRIPE_SECRET_KEY: stripeKeys[environment], STRIPE_WEBHOOK_SECRET: webhookSecret });
  if (environment === "production") {
    Object.assign(values, {
      REVOLUT_API_BASE_URL: "https://merchant.revolut.com/api",
      MOMO_API_BASE_URL: "https://proxy.momoapi.mtn.com",
      MOMO_TARGET_ENVIRONMENT: "mtnuganda",
    });
  }
  return values;
}

const steps = [
  "check tools",
  "check variables",
  "check the functions' secrets file",
  "confirm the target",
  "run the test suite",
  "check the database connection",
  "audit RLS on the target",
  "push migrations",
  "audit RLS after the migrations",
  "check the default currency's limits",
  "set function secrets",
  "deploy functions",
  "verify health",
];

let work: string;
let apiUrl: string;
let dbUrl: string;
const apiRequests: string[] = [];
let dbConnections = 0;
const closers: (() => void)[] = [];

function envFile(name: string, values: Record<string, string>): string {
  const path = join(work, name);
  writeFileSync(path, Object.entries(values).map(([key, value]) => `${key}=${value}\n`).join(""));
  chmodSync(path, 0o600);
  return path;
}

function secretsFile(environment: "staging" | "production", extra: Record<string, string> = {}): string {
  return envFile(`${environment}-${Math.random().toString(36).slice(2)}.secrets.env`, { ...secretValues(environment), ...extra });
}

/** A complete configuration file for `environment`, with `changes` applied (undefined removes). */
function configFile(environment: "staging" | "production", changes: Record<string, string | undefined> = {}): string {
  const values: Record<string, string | undefined> = {
    SUPABASE_PROJECT_REF: projectRef,
    SUPABASE_ACCESS_TOKEN: accessToken,
    SUPABASE_DB_URL: dbUrl,
    SUPABASE_URL: apiUrl,
    FUNCTIONS_SECRETS_FILE: secretsFile(environment),
    ...changes,
  };
  const present = Object.fromEntries(Object.entries(values).filter((entry): entry is [string, string] => entry[1] !== undefined));
  return envFile(`${environment}-${Math.random().toString(36).slice(2)}.env`, present);
}

/** A configuration file for `environment` without the variables `missing`. */
const configWithout = (environment: "staging" | "production", ...missing: string[]) =>
  configFile(environment, Object.fromEntries(missing.map((name) => [name, undefined])));

const deploy = (args: string[], config: string, env: Record<string, string> = {}) =>
  runScript(script, args, { DEPLOY_ENV_FILE: config, ...env });

function expectNothingLeaked(result: ScriptResult): void {
  const output = result.stdout + result.stderr;
  for (
    const value of [
      dbPassword,
      accessToken,
      webhookSecret,
      ...secretNames.map((name) => `${name}-must-not-show`),
      ...Object.values(stripeKeys),
    ]
  ) {
    expect(output).not.toContain(value);
  }
}

/** The step titles in the order they were printed. */
const printedSteps = (stdout: string) => [...stdout.matchAll(/^== \d+\. (.+)$/gm)].map((match) => match[1]);

/** Function folders the deploy must ship: every folder with an index.ts, except _shared and the like. */
const functionNames = () =>
  readdirSync(join(repoRoot, "supabase/functions"), { withFileTypes: true })
    .filter((entry) =>
      entry.isDirectory() && !entry.name.startsWith("_") && existsSync(join(repoRoot, "supabase/functions", entry.name, "index.ts"))
    )
    .map((entry) => entry.name);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "mfuko-deploy-test-"));
  const api = createHttpServer((request, response) => {
    apiRequests.push(request.url ?? "");
    response.writeHead(500).end();
  });
  const db = createTcpServer((socket) => {
    dbConnections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
  await new Promise<void>((resolve) => db.listen(0, "127.0.0.1", resolve));
  closers.push(() => api.close(), () => db.close());
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  dbUrl = `postgresql://postgres:${dbPassword}@127.0.0.1:${(db.address() as AddressInfo).port}/postgres`;
});

afterAll(() => {
  for (const close of closers) close();
  rmSync(work, { recursive: true, force: true });
});

describe("all.sh --dry-run", () => {
  it("prints the whole staging plan in order, with every command, and changes nothing", async () => {
    const secrets = secretsFile("staging");
    const before = { content: readFileSync(secrets, "utf8"), mtime: statSync(secrets).mtimeMs };
    const result = await deploy(["--env", "staging", "--dry-run"], configFile("staging", { FUNCTIONS_SECRETS_FILE: secrets }));

    expect(result.code).toBe(0);
    expect(printedSteps(result.stdout)).toEqual(steps);
    const maskedDb = dbUrl.replace(dbPassword, "***");
    const plan = [
      "would run: npm test",
      `would run: env PGCONNECT_TIMEOUT=10 psql ${maskedDb} -v ON_ERROR_STOP=1`,
      `would run: npm run rls:audit -- --db-url ${maskedDb} --fail-on error`,
      `would run: node_modules/.bin/supabase db push --remote=${maskedDb} --yes`,
      `would run: npm run rls:audit -- --db-url ${maskedDb} --fail-on error`,
      `would run: node_modules/.bin/tsx scripts/deploy/check-currency-limits.ts --db-url ${maskedDb} ${secrets}`,
      `would run: node_modules/.bin/supabase secrets set --env-file ${secrets} --remote=${projectRef} --yes`,
      `would run: node_modules/.bin/supabase secrets set MFUKO_VERSION=`,
      ...functionNames().map((name) =>
        `would run: node_modules/.bin/supabase functions deploy ${name} --import-map supabase/functions/deno.json --remote=${projectRef} --use-api --yes`
      ),
      `would run: scripts/verify/health-checks.sh --url ${apiUrl} --expect-version `,
    ];
    let position = 0;
    for (const line of plan) {
      const found = result.stdout.indexOf(line, position);
      expect(found, `"${line}" after position ${position}`).toBeGreaterThan(-1);
      position = found;
    }
    for (const name of Object.keys(secretValues("staging"))) expect(result.stdout).toMatch(new RegExp(`names: .*\\b${name}\\b`));
    expect(result.stdout).toContain("staging: no confirmation needed");
    expect(result.stdout).toMatch(/dry run complete: nothing was changed\n$/);
    expectNothingLeaked(result);
    expect(readFileSync(secrets, "utf8")).toBe(before.content);
    expect(statSync(secrets).mtimeMs).toBe(before.mtime);
  });

  it("prints the production plan without asking, and says it would ask for the project ref", async () => {
    const result = await deploy(
      ["--env", "production", "--dry-run"],
      configFile("production", { FUNCTIONS_SECRETS_FILE: secretsFile("production") }),
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("mfuko deploy to production");
    expect(printedSteps(result.stdout)).toEqual(steps);
    expect(result.stdout).toContain(`would ask to type the project ref (${projectRef})`);
    expect(result.stdout).toContain("would run: node_modules/.bin/supabase db push");
    expectNothingLeaked(result);
  });

  it("marks skipped steps and needs only the variables of the steps that run", async () => {
    const config = configWithout("staging", "SUPABASE_DB_URL", "FUNCTIONS_SECRETS_FILE", "SUPABASE_ACCESS_TOKEN");
    const result = await deploy(["--env", "staging", "--dry-run", "--skip-migrations", "--skip-secrets", "--skip-functions"], config);
    expect(result.code).toBe(0);
    expect(printedSteps(result.stdout)).toEqual(steps);
    for (
      const [step, flag] of [
        ["check the functions' secrets file", "--skip-secrets"],
        ["check the database connection", "--skip-migrations"],
        ["audit RLS on the target", "--skip-migrations"],
        ["push migrations", "--skip-migrations"],
        ["audit RLS after the migrations", "--skip-migrations"],
        ["check the default currency's limits", "--skip-secrets"],
        ["set function secrets", "--skip-secrets"],
        ["deploy functions", "--skip-functions"],
      ]
    ) {
      expect(result.stdout).toMatch(new RegExp(`\\d+\\. ${step}\\n   skipped \\(${flag}\\)`));
    }
    expect(result.stdout).toContain("would run: npm test");
    expect(result.stdout).not.toContain("supabase db push");
    expect(result.stdout).not.toContain("functions deploy");
    // Without a fresh deploy there is no new version to expect.
    expect(result.stdout).toContain(`would run: scripts/verify/health-checks.sh --url ${apiUrl}\n`);
  });

  it("without any variable, prints the whole plan with each missing variable marked, then lists the problem and exits 1", async () => {
    const result = await deploy(["--env", "staging", "--dry-run"], envFile("empty.env", {}));
    expect(printedSteps(result.stdout)).toEqual(steps);
    expect(result.stdout).toContain(
      "PROBLEM: missing variables for staging: SUPABASE_PROJECT_REF SUPABASE_URL SUPABASE_DB_URL SUPABASE_ACCESS_TOKEN FUNCTIONS_SECRETS_FILE",
    );
    for (
      const line of [
        "would run: npm test",
        "psql <missing SUPABASE_DB_URL> -v ON_ERROR_STOP=1",
        "would run: npm run rls:audit -- --db-url <missing SUPABASE_DB_URL> --fail-on error",
        "would run: node_modules/.bin/supabase db push --remote=<missing SUPABASE_DB_URL> --yes",
        "would run: node_modules/.bin/supabase secrets set --env-file <missing FUNCTIONS_SECRETS_FILE> --remote=<missing SUPABASE_PROJECT_REF> --yes",
        ...functionNames().map((name) =>
          `would run: node_modules/.bin/supabase functions deploy ${name} --import-map supabase/functions/deno.json --remote=<missing SUPABASE_PROJECT_REF>`
        ),
        "would run: scripts/verify/health-checks.sh --url <missing SUPABASE_URL> --expect-version ",
      ]
    ) {
      expect(result.stdout).toContain(line);
    }
    expect(result.stdout).toMatch(/dry run complete: nothing was changed; 1 problem\(s\) would stop a deploy\n$/);
    expect(result.stderr).toContain(
      "deploy: error: missing variables for staging: SUPABASE_PROJECT_REF SUPABASE_URL SUPABASE_DB_URL SUPABASE_ACCESS_TOKEN FUNCTIONS_SECRETS_FILE",
    );
    expect(result.code).toBe(1);
  });

  it("marks every failed check where it is found, goes on to the end and lists them all", async () => {
    const config = configFile("staging", {
      SUPABASE_PROJECT_REF: "Not-A-Ref",
      SUPABASE_URL: "not a url",
      SUPABASE_ANON_KEY: "x",
      FUNCTIONS_SECRETS_FILE: "/nonexistent/secrets.env",
    });
    const result = await deploy(["--env", "staging", "--dry-run"], config);
    expect(printedSteps(result.stdout)).toEqual(steps);
    const messages = [
      "sets SUPABASE_ANON_KEY, which the deploy does not read",
      "SUPABASE_PROJECT_REF must be 20 lower-case letters",
      "SUPABASE_URL must be an http(s) URL",
      "FUNCTIONS_SECRETS_FILE /nonexistent/secrets.env does not exist",
    ];
    for (const message of messages) {
      expect(result.stdout).toMatch(new RegExp(`PROBLEM: .*${message.replace(/[()/.]/g, "\\$&")}`));
      expect(result.stderr).toContain(message);
    }
    expect(result.stdout).toContain("would run: node_modules/.bin/supabase db push");
    expect(result.stdout).toMatch(/4 problem\(s\) would stop a deploy\n$/);
    expect(result.code).toBe(1);
    expectNothingLeaked(result);
  });

  it("reads the environment's file before the shell, so a stray export cannot redirect a deploy", async () => {
    const result = await deploy(["--env", "staging", "--dry-run", "--skip-secrets"], configFile("staging"), {
      SUPABASE_URL: "https://wrong-project.example.com",
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`--url ${apiUrl}`);
    expect(result.stdout).not.toContain("wrong-project");
  });
});

// Without --dry-run: a deploy stops at the first failed check, before any step runs.
describe("all.sh refuses bad input before any step runs", () => {
  const refusedEarly = (result: ScriptResult) => {
    expect(result.stdout).not.toContain("run the test suite");
    expect(result.stdout).not.toContain("would run");
    expectNothingLeaked(result);
  };

  it.each([
    [["--env", "qa"], "unknown environment 'qa' (staging or production)"],
    [[], "--env is required (staging or production)"],
    [["--env"], "--env needs a value"],
    [["--env", "staging", "--force"], "unknown option '--force'"],
  ])("usage %j exits 2 with a clear message", async (args, message) => {
    const result = await deploy(args, configFile("staging"));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain("usage: scripts/deploy/all.sh --env staging|production");
    refusedEarly(result);
  });

  it("names every missing variable at once", async () => {
    const config = configWithout("staging", "SUPABASE_ACCESS_TOKEN", "SUPABASE_DB_URL", "SUPABASE_URL", "FUNCTIONS_SECRETS_FILE");
    const result = await deploy(["--env", "staging"], config);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "missing variables for staging: SUPABASE_URL SUPABASE_DB_URL SUPABASE_ACCESS_TOKEN FUNCTIONS_SECRETS_FILE (set them in scripts/deploy/staging.env or the environment)",
    );
    refusedEarly(result);
  });

  it.each([
    [{ SUPABASE_PROJECT_REF: "Not-A-Ref" }, "SUPABASE_PROJECT_REF must be 20 lower-case letters"],
    [{ SUPABASE_DB_URL: "mysql://x@y/z" }, "SUPABASE_DB_URL must be a postgres:// or postgresql:// URL"],
    [{ SUPABASE_URL: "not a url" }, "SUPABASE_URL must be an http(s) URL"],
    [{ SUPABASE_ANON_KEY: "x" }, "sets SUPABASE_ANON_KEY, which the deploy does not read"],
    [{ FUNCTIONS_SECRETS_FILE: "/nonexistent/secrets.env" }, "FUNCTIONS_SECRETS_FILE /nonexistent/secrets.env does not exist"],
  ])("rejects the configuration %j", async (changes, message) => {
    const result = await deploy(["--env", "staging"], configFile("staging", changes));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(message);
    refusedEarly(result);
  });

  it("rejects a configuration line that is not NAME=value, and a missing DEPLOY_ENV_FILE", async () => {
    const broken = join(work, "broken.env");
    writeFileSync(broken, "SUPABASE_URL=https://x.supabase.co\n$(touch /tmp/pwned)\n");
    const result = await deploy(["--env", "staging", "--dry-run"], broken);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("broken.env line 2 is not NAME=value");

    const absent = await deploy(["--env", "staging", "--dry-run"], join(work, "absent.env"));
    expect(absent.code).toBe(1);
    expect(absent.stderr).toContain("absent.env does not exist");
  });

  // Every rule of the check has its own test in check-secrets.test.ts; this is the wiring.
  it("stops on a secrets file that fails the check, without printing values", async () => {
    const config = configFile("staging", { FUNCTIONS_SECRETS_FILE: secretsFile("staging", { STRIPE_SECRET_KEY: stripeKeys.production }) });
    const result = await deploy(["--env", "staging"], config);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("STRIPE_SECRET_KEY must be a test-mode key (sk_test_ or rk_test_) in staging");
    expect(result.stderr).toContain("are not ready for staging (problems above)");
    refusedEarly(result);
  });

  it("names each missing tool", async () => {
    // A PATH with what the script uses up to its tool check, but neither npm nor psql.
    const bin = join(work, "bin");
    mkdirSync(bin);
    for (const name of ["bash", "dirname", "sed", "git", "node", "curl", "head"]) {
      symlinkSync(execFileSync("which", [name], { encoding: "utf8" }).trim(), join(bin, name));
    }
    const result = await deploy(["--env", "staging"], configFile("staging"), { PATH: bin });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("missing tools: npm psql");
    refusedEarly(result);
  });

  it("refuses production without --yes when there is no terminal to confirm on", async () => {
    const result = await deploy(["--env", "production", "--skip-secrets"], configFile("production"));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("production needs confirmation: run in a terminal, or pass --yes (CI); nothing was changed");
    expect(printedSteps(result.stdout)).toEqual(steps.slice(0, 4));
    refusedEarly(result);
  });

  it("on a terminal, stops production when the typed project ref does not match", async () => {
    const result = await runScriptInTerminal(script, ["--env", "production", "--skip-secrets"], {
      DEPLOY_ENV_FILE: configFile("production"),
    }, "tsrqponmlkjihgfedcba\n");
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`Type the project ref (${projectRef}) to deploy to production:`);
    expect(result.stdout).toContain("confirmation did not match the project ref; nothing was changed");
    refusedEarly(result);
  });
});

describe("all.sh when a step fails", () => {
  it("stops at the failing step with its name and runs nothing after it", async () => {
    // npm's own setting makes `npm test` fail at once (its script shell exits 1), without
    // running the suites from inside the suites.
    const result = await deploy(["--env", "staging", "--skip-secrets"], configFile("staging"), { npm_config_script_shell: "/bin/false" });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("running: npm test");
    expect(result.stderr).toContain("deploy: error: step 'run the test suite' failed (exit 1); later steps were not run");
    expect(printedSteps(result.stdout)).toEqual(steps.slice(0, 5));
    expectNothingLeaked(result);
  });
});

describe(".github/workflows/deploy.yml", () => {
  const workflow = readFileSync(join(repoRoot, ".github/workflows/deploy.yml"), "utf8");

  it("is a manual dispatch of staging or production, in that GitHub environment, through all.sh --yes", () => {
    expect(workflow).toMatch(/^on:\n {2}workflow_dispatch:\n {4}inputs:\n {6}environment:/m);
    expect(workflow).toContain("options: [staging, production]");
    expect(workflow).toContain("environment: ${{ inputs.environment }}");
    expect(workflow).toContain('run: bash scripts/deploy/all.sh --env "$DEPLOY_ENVIRONMENT" --yes');
  });

  it("gives the deploy step every variable all.sh reads", () => {
    const variables = readFileSync(join(repoRoot, script), "utf8").match(/^readonly DEPLOY_VARIABLES=\(([^)]*)\)/m)?.[1].split(" ") ?? [];
    expect(variables.length).toBe(5);
    const deployStep = workflow.slice(workflow.indexOf("- name: Deploy"));
    for (const name of variables) expect(deployStep).toMatch(new RegExp(`^ {10}${name}: \\$\\{\\{ (vars|secrets|runner)\\.`, "m"));
  });
});

describe("the target during all of the above", () => {
  it("was never contacted: no dry run and no refused deploy connects to its database or API", () => {
    expect(apiRequests).toEqual([]);
    expect(dbConnections).toBe(0);
  });
});
