// `npm start`: the local stack on the Supabase CLI's ports, with a banner of everything a
// newcomer needs, and the scheduled jobs on their production schedule (job-scheduler.ts).
// Ctrl-C, or SIGINT/SIGTERM sent to npm alone (npm passes them on to this process, which
// package.json's start script execs), stops the scheduler, the functions server and
// PostgreSQL and frees both ports.
import { join } from "node:path";
import { exitWithError } from "./cli-output.ts";
import { describeSchedule, localJobSchedule, startJobScheduler } from "./job-scheduler.ts";
import { localStateDir } from "./paths.ts";
import { type LocalStack, startStack } from "./stack.ts";
import { demoUsers, TokenMinter } from "./tokens.ts";

// The Supabase CLI's local ports; overridable so the stack's own tests can run it beside a live one.
const dbPort = Number(process.env.MFUKO_DB_PORT ?? 54322);
const functionsPort = Number(process.env.MFUKO_FUNCTIONS_PORT ?? 54321);
const stateDir = process.env.MFUKO_STATE_DIR ?? localStateDir;

async function printBanner(stack: LocalStack, seconds: number): Promise<void> {
  const minter = new TokenMinter(stack.functionsEnv.SUPABASE_JWT_SECRET);
  const users = await demoUsers(stack.dbUrl);
  const lines = [
    "",
    `mfuko local stack is ready (${seconds.toFixed(1)} s)`,
    "",
    `  Functions         ${stack.functionsUrl}/<name>`,
    `  Database          ${stack.dbUrl}`,
    `  JWT secret        ${stack.functionsEnv.SUPABASE_JWT_SECRET}`,
    `  anon key          ${await minter.apiKey("anon")}`,
    `  service_role key  ${await minter.apiKey("service_role")}`,
    "",
    "  Demo users (access tokens valid 24 h):",
    ...(await Promise.all(users.map(async (user) => {
      const role = typeof user.appMetadata.role === "string" ? ` [${user.appMetadata.role}]` : "";
      return `    ${(user.email + role).padEnd(30)} ${user.id}\n      ${await minter.user(user)}`;
    }))),
    "",
    "  Try:",
    `    curl -s ${stack.functionsUrl}/health/ready`,
    `    psql ${stack.dbUrl} -c 'select * from supabase_migrations.schema_migrations'`,
    "",
    "  Scheduled jobs (this process, against /jobs/<job>; one log line per request):",
    `    ${describeSchedule(localJobSchedule)};`,
    "    expire-holds every minute (pg_cron).",
    "",
    "  Ctrl-C stops everything.",
    "",
  ];
  console.log(lines.join("\n"));
}

async function main(): Promise<void> {
  const unknown = process.argv.slice(2).filter((arg) => arg !== "--reset");
  if (unknown.length > 0) throw new Error(`unknown option ${unknown[0]}; usage: npm start [-- --reset]`);
  const startedAt = performance.now();
  const stack = await startStack({
    home: join(stateDir, "postgres"),
    dbPort,
    functionsPort,
    durable: true,
    reset: process.argv.includes("--reset"),
    seed: true,
    functionsOutput: "inherit",
    onStep: (step) => console.log(`mfuko: ${step}`),
  });
  const scheduler = startJobScheduler({
    functionsUrl: stack.functionsUrl,
    serviceKey: await new TokenMinter(stack.functionsEnv.SUPABASE_JWT_SECRET).apiKey("service_role"),
    report: (line) => console.log(`mfuko jobs: ${line}`),
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    scheduler.stop();
    console.log("\nmfuko: stopping the functions server and PostgreSQL");
    await stack.stop();
    console.log(`mfuko: stopped, ports ${functionsPort} and ${dbPort} are free`);
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  await printBanner(stack, (performance.now() - startedAt) / 1000);
}

main().catch((error) => exitWithError("mfuko", error));
