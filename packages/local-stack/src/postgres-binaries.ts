import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { StackError } from "./stack-error.ts";

const debianRoot = "/usr/lib/postgresql";

/** The bin directory of the newest PostgreSQL installed the Debian way (what setup.mjs installs). */
export function postgresBinDir(): string {
  const versions = existsSync(debianRoot) ? readdirSync(debianRoot).filter((v) => existsSync(join(debianRoot, v, "bin", "postgres"))) : [];
  const newest = versions.map(Number).sort((a, b) => b - a)[0];
  if (newest === undefined) {
    throw new StackError("PostgreSQL is not installed: run `npm start` as root to install it, or `apt-get install postgresql-15`.");
  }
  return join(debianRoot, String(newest), "bin");
}

export function postgresBinary(name: string): string {
  return join(postgresBinDir(), name);
}
