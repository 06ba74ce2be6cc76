import { spawnSync } from "node:child_process";
import { StackError } from "./stack-error.ts";

export interface ServiceAccount {
  uid: number;
  gid: number;
  name: string;
}

function idOf(flag: "-u" | "-g", name: string): number | null {
  const result = spawnSync("id", [flag, name], { encoding: "utf8" });
  return result.status === 0 ? Number(result.stdout.trim()) : null;
}

/**
 * PostgreSQL refuses to run as root. When we are root, the cluster runs as the `postgres`
 * system user (created by Debian's packages), or as a dedicated `mfuko-postgres` user that
 * is created on first use. Otherwise it runs as the current user (null: no switch needed).
 */
export function postgresServiceAccount(): ServiceAccount | null {
  if (process.getuid?.() !== 0) return null;
  for (const name of ["postgres", "mfuko-postgres"]) {
    const uid = idOf("-u", name);
    const gid = idOf("-g", name);
    if (uid !== null && gid !== null) return { uid, gid, name };
  }
  const created = spawnSync(
    "useradd",
    ["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", "mfuko-postgres"],
    { stdio: "ignore" },
  );
  if (created.status !== 0) {
    throw new StackError("running as root but no unprivileged user exists for PostgreSQL; create one: useradd --system postgres");
  }
  return postgresServiceAccount();
}
