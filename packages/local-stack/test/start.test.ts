// `npm start` end to end, on its own ports and state folder so a developer's running stack is
// untouched: banner, healthy readiness, Supabase roles and CLI migration history, data kept
// between runs, --reset, Ctrl-C freeing both ports, kill -TERM/-INT sent to the npm process
// alone stopping the whole stack, and one clear line for a busy port.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { assertPortFree, freePort } from "../src/ports.ts";
import { spawnStart, type StartProcess, waitForOutput } from "../src/start-process.ts";

const stateDir = mkdtempSync(join(tmpdir(), "mfuko-start-test-"));
chmodSync(stateDir, 0o755);
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

const bannerLine = "mfuko local stack is ready";
// Tests that start the stack twice (one of them a fresh cluster) need more than the default
// minute when the machine is busy with other suites.
const twoStartsTimeoutMs = 180_000;

function npmStart(ports: { db: number; functions: number }, args: string[] = []): StartProcess {
  return spawnStart({ dbPort: ports.db, functionsPort: ports.functions, stateDir, args });
}

/** The processes of group `pgid` that have not exited (zombies have), with their command names. */
function liveGroupMembers(pgid: number): string[] {
  const members: string[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses, so split after the last ")".
    const command = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(pgrp) === pgid && state !== "Z") members.push(command);
  }
  return members;
}

async function groupGone(pgid: number, timeoutMs = 15_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let members = liveGroupMembers(pgid);
  while (members.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    members = liveGroupMembers(pgid);
  }
  return members;
}

describe("npm start", () => {
  it("serves a healthy stack with Supabase roles and the CLI's migration history, and Ctrl-C frees both ports", async () => {
    const ports = { db: await freePort(), functions: await freePort() };
    const run = npmStart(ports);
    await waitForOutput(run, bannerLine);
    const functionsUrl = `http://127.0.0.1:${ports.functions}/functions/v1`;
    // The two commands to try stand together, and the schedule names every job the stack runs.
    expect(run.output()).toMatch(new RegExp(`curl -s ${functionsUrl}/health/ready\n    psql `));
    expect(run.output()).toContain("whatsapp-send every 10 s");
    expect(run.output()).toMatch(/alice@mfuko\.test\s+11111111-1111-4111-8111-111111111111\n\s+eyJ/);

    const ready = await fetch(`${functionsUrl}/health/ready`);
    expect(ready.status).toBe(200);
    const body = await ready.json();
    expect(body.status).toBe("healthy");
    expect(body.checks.database.status).toBe("healthy");

    const sql = postgres(`postgresql://postgres:postgres@127.0.0.1:${ports.db}/postgres`, { max: 1 });
    try {
      const roles =
        await sql`select rolname, rolbypassrls from pg_roles where rolname in ('anon', 'authenticated', 'service_role', 'authenticator') order by rolname`;
      expect(roles.map((role) => `${role.rolname}:${role.rolbypassrls}`)).toEqual([
        "anon:false",
        "authenticated:false",
        "authenticator:false",
        "service_role:true",
      ]);
      const [{ count }] = await sql`select count(*)::int as count from supabase_migrations.schema_migrations`;
      expect(count).toBeGreaterThan(0);
      await sql`create table public.kept_between_runs (id int)`;
    } finally {
      await sql.end();
    }

    expect(await run.interrupt()).toBe(0);
    expect(run.output()).toContain("stopped");
    await assertPortFree(ports.db, "PostgreSQL");
    await assertPortFree(ports.functions, "functions");
  });

  it("keeps the data between runs, and --reset starts from an empty database", async () => {
    const ports = { db: await freePort(), functions: await freePort() };
    const tableExists = async () => {
      const sql = postgres(`postgresql://postgres:postgres@127.0.0.1:${ports.db}/postgres`, { max: 1 });
      try {
        const [{ exists }] = await sql`select to_regclass('public.kept_between_runs') is not null as exists`;
        return exists as boolean;
      } finally {
        await sql.end();
      }
    };
    const again = npmStart(ports);
    await waitForOutput(again, bannerLine);
    expect(await tableExists()).toBe(true);
    expect(await again.interrupt()).toBe(0);

    const reset = npmStart(ports, ["--reset"]);
    await waitForOutput(reset, bannerLine);
    expect(await tableExists()).toBe(false);
    expect(await reset.interrupt()).toBe(0);
  }, twoStartsTimeoutMs);

  it("recovers after it was killed: the PostgreSQL it left running is stopped and the stack starts again", async () => {
    const ports = { db: await freePort(), functions: await freePort() };
    const killed = npmStart(ports);
    await waitForOutput(killed, bannerLine);
    killed.child.kill("SIGKILL");
    await killed.exited;
    const again = npmStart(ports);
    await waitForOutput(again, bannerLine);
    expect(again.output()).toContain("stopped the PostgreSQL an earlier, killed run left running");
    expect(await again.interrupt()).toBe(0);
    await assertPortFree(ports.db, "PostgreSQL");
    await assertPortFree(ports.functions, "functions");
  }, twoStartsTimeoutMs);

  it.each(["SIGTERM", "SIGINT"] as const)(
    "stops PostgreSQL and the functions server when %s is sent to the npm process alone",
    async (signal) => {
      const ports = { db: await freePort(), functions: await freePort() };
      // A process group of its own, as a process manager gives it; only npm is signalled.
      const run = spawnStart({ dbPort: ports.db, functionsPort: ports.functions, stateDir, throughNpm: true });
      const pgid = run.child.pid!;
      try {
        await waitForOutput(run, bannerLine);
        expect(liveGroupMembers(pgid)).toEqual(expect.arrayContaining(["postgres", "deno"]));
        run.child.kill(signal);
        expect(await run.exited).toBe(0);
        expect(await groupGone(pgid)).toEqual([]);
        expect(run.output()).toContain(`stopped, ports ${ports.functions} and ${ports.db} are free`);
        await assertPortFree(ports.db, "PostgreSQL");
        await assertPortFree(ports.functions, "functions");
      } finally {
        // Whatever a failed run left behind.
        try {
          process.kill(-pgid, "SIGKILL");
        } catch {
          // the group is empty
        }
      }
    },
  );

  it("ends with one clear line when a port is busy", async () => {
    const blocker = createServer();
    const busyPort = await freePort();
    await new Promise<void>((resolve) => blocker.listen(busyPort, "127.0.0.1", resolve));
    try {
      const run = npmStart({ db: busyPort, functions: await freePort() });
      expect(await run.exited).toBe(1);
      const lines = run.output().trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^mfuko: port ${busyPort} \\(PostgreSQL\\) is busy: .+`));
    } finally {
      blocker.close();
    }
  });

  it("rejects an unknown option with its usage", async () => {
    const run = npmStart({ db: await freePort(), functions: await freePort() }, ["--bogus"]);
    expect(await run.exited).toBe(1);
    expect(run.output().trim()).toBe("mfuko: unknown option --bogus; usage: npm start [-- --reset]");
  });
});
