// PgBouncer in front of the test cluster: transaction pooling (clients share server
// connections between transactions), its users' passwords checked, and the test stack's
// functions configured to go through it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PgBouncer } from "../src/pgbouncer.ts";
import { freePort } from "../src/ports.ts";

const databaseUrl = process.env.MFUKO_TEST_DB_URL!;
let home: string;
let pooler: PgBouncer;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "mfuko-pgbouncer-test-"));
  pooler = new PgBouncer({
    home,
    port: await freePort(),
    serverPort: Number(new URL(databaseUrl).port),
    users: { postgres: "postgres" },
    poolSize: 1,
  });
  await pooler.start();
});

afterAll(async () => {
  await pooler.stop();
  rmSync(home, { recursive: true, force: true });
});

describe("PgBouncer", () => {
  it("pools in transaction mode: two open clients take turns on one server connection", async () => {
    const first = postgres(pooler.url(), { max: 1, prepare: false });
    const second = postgres(pooler.url(), { max: 1, prepare: false });
    try {
      const [{ pid: firstPid }] = await first`select pg_backend_pid() as pid`;
      // The first client's connection stays open; in session mode the second would wait for it.
      const [{ pid: secondPid }] = await second`select pg_backend_pid() as pid`;
      expect(secondPid).toBe(firstPid);
    } finally {
      await Promise.all([first.end(), second.end()]);
    }
  });

  it("refuses a wrong password", async () => {
    const url = new URL(pooler.url());
    url.password = "wrong";
    const client = postgres(url.toString(), { max: 1, prepare: false, connect_timeout: 5 });
    try {
      await expect(client`select 1`).rejects.toThrow(/SASL authentication failed/);
    } finally {
      await client.end();
    }
  });

  it("is where the test stack's functions connect", () => {
    const pooled = process.env.MFUKO_TEST_POOLER_URL;
    expect(pooled).toBeDefined();
    expect(process.env.SUPABASE_DB_URL).toBe(pooled);
    expect(new URL(pooled!).port).not.toBe(new URL(databaseUrl).port);
  });
});
