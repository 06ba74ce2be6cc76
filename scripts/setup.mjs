#!/usr/bin/env node
// Installs whatever `npm start` and `npm test` need and is missing: system packages (PostgreSQL,
// pgTAP, pg_cron, plpgsql_check, pg_prove, redis-server, pgbouncer) with apt when running as root
// on Debian/Ubuntu, pnpm through corepack, and the workspace packages. Plain Node, no
// dependencies: it runs before anything is installed. Prints one line per action; exits 1 with
// one clear line on failure.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function fail(message) {
  console.error(`mfuko setup: ${message}`);
  process.exit(1);
}

function onPath(command) {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

function postgresVersions() {
  const base = "/usr/lib/postgresql";
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .filter((v) => existsSync(join(base, v, "bin", "postgres")))
    .map(Number)
    .sort((a, b) => b - a);
}

function missingSystemPackages() {
  const versions = postgresVersions();
  const version = versions[0] ?? 15;
  const missing = [];
  if (versions.length === 0) missing.push(`postgresql-${version}`);
  const pgtapControl = `/usr/share/postgresql/${version}/extension/pgtap.control`;
  if (!existsSync(pgtapControl)) missing.push(`postgresql-${version}-pgtap`);
  // The local stack preloads pg_cron, which runs the pure-SQL scheduled jobs (expire-holds).
  const pgCronControl = `/usr/share/postgresql/${version}/extension/pg_cron.control`;
  if (!existsSync(pgCronControl)) missing.push(`postgresql-${version}-cron`);
  // npm test lints every PL/pgSQL function with plpgsql_check.
  const plpgsqlCheckControl = `/usr/share/postgresql/${version}/extension/plpgsql_check.control`;
  if (!existsSync(plpgsqlCheckControl)) missing.push(`postgresql-${version}-plpgsql-check`);
  if (!onPath("pg_prove")) missing.push("libtap-parser-sourcehandler-pgtap-perl");
  if (!onPath("redis-server")) missing.push("redis-server");
  // Tests and benchmarks also reach the database through PgBouncer in transaction mode.
  if (!existsSync("/usr/sbin/pgbouncer")) missing.push("pgbouncer");
  return missing;
}

function installSystemPackages() {
  const missing = missingSystemPackages();
  if (missing.length === 0) return;
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !onPath("apt-get")) {
    fail(
      `missing system packages: ${missing.join(" ")}. Install them (Debian/Ubuntu: sudo apt-get install ${
        missing.join(" ")
      }) and run again.`,
    );
  }
  console.log(`mfuko setup: installing ${missing.join(" ")} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const run = (args) => spawnSync("apt-get", args, { stdio: ["ignore", "ignore", "inherit"], env }).status === 0;
  if (!run(["update", "-qq"]) || !run(["install", "-y", "-qq", "--no-install-recommends", ...missing])) {
    fail(`apt-get could not install ${missing.join(" ")}; install them by hand and run again.`);
  }
  const still = missingSystemPackages();
  if (still.length > 0) fail(`still missing after apt-get: ${still.join(" ")}.`);
}

function packagesAreCurrent() {
  const marker = join(root, "node_modules", ".modules.yaml");
  const lockfile = join(root, "pnpm-lock.yaml");
  if (!existsSync(marker)) return false;
  const installedAt = statSync(marker).mtimeMs;
  return [lockfile, join(root, "package.json")].every((file) => !existsSync(file) || statSync(file).mtimeMs <= installedAt);
}

function installPackages() {
  if (packagesAreCurrent()) return;
  console.log("mfuko setup: installing packages with pnpm (corepack)");
  // The registry these machines reach serves package metadata without npm's signatures, so
  // corepack's signature check cannot pass; the tarball is still pinned by the sha512 in
  // package.json's packageManager field, which corepack verifies.
  const env = { ...process.env, COREPACK_ENABLE_DOWNLOAD_PROMPT: "0", COREPACK_INTEGRITY_KEYS: "0" };
  const args = ["pnpm", "install", existsSync(join(root, "pnpm-lock.yaml")) ? "--frozen-lockfile" : "--no-frozen-lockfile"];
  // --config.confirmModulesPurge=false: without a terminal pnpm would abort instead of asking.
  args.push("--config.confirmModulesPurge=false");
  const result = spawnSync("corepack", args, { cwd: root, stdio: ["ignore", "pipe", "inherit"], env, encoding: "utf8" });
  if (result.error) fail(`corepack is not available (${result.error.message}); install Node >= 20 with corepack.`);
  if (result.status !== 0) {
    process.stderr.write(result.stdout.split("\n").slice(-15).join("\n"));
    fail("pnpm install failed (see above); fix the error and run again.");
  }
}

const [major] = process.versions.node.split(".").map(Number);
if (major < 20) fail(`Node ${process.versions.node} is too old; mfuko needs Node >= 20.`);
installSystemPackages();
installPackages();
try {
  execFileSync(join(root, "node_modules", ".bin", "deno"), ["--version"], { stdio: "ignore" });
} catch {
  fail("the deno binary from the npm package `deno` does not run; remove node_modules and run again.");
}
