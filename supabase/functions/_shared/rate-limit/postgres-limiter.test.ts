// The Postgres store against a real database with the rate-limit migration applied.
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "@mfuko/local-stack/ports";
import type { WarningSink } from "./limiter.ts";
import { createPostgresLimiter } from "./postgres-limiter.ts";

const databaseUrl = process.env.MFUKO_TEST_DB_URL;
if (!databaseUrl) throw new Error("MFUKO_TEST_DB_URL is not set: run through `npm test` or export it");

const clients: postgres.Sql[] = [];
function client(url: string = databaseUrl!, options: postgres.Options<never> = {}): postgres.Sql {
  const sql = postgres(url, { prepare: false, max: 4, onnotice: () => undefined, ...options });
  clients.push(sql);
  return sql;
}

afterAll(async () => {
  await Promise.all(clients.map((sql) => sql.end({ timeout: 1 })));
});

function recordingWarnings(): { warn: WarningSink; events: Array<{ event: string; fields: Record<string, unknown> }> } {
  const events: Array<{ event: string; fields: Record<string, unknown> }> = [];
  return { warn: (event, fields) => events.push({ event, fields }), events };
}

/** A window of an hour keeps a burst inside one window, so that the count does not depend on when the test runs. */
const HOUR_MS = 3_600_000;

/** Waits until the current window of `windowMs` has just begun, so that the next hits share it. */
async function startOfNextWindow(windowMs: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, windowMs - (Date.now() % windowMs) + 20));
}

describe("postgres limiter", () => {
  it("allows exactly the limit when two clients hammer one key concurrently", async () => {
    const { warn, events } = recordingWarnings();
    const first = createPostgresLimiter(client(), warn, HOUR_MS);
    const second = createPostgresLimiter(client(), warn, HOUR_MS);
    const key = `exact:${crypto.randomUUID()}`;
    const decisions = await Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? first : second).limit(key, 25)),
    );
    expect(decisions.filter((d) => d.success)).toHaveLength(25);
    expect(decisions.filter((d) => !d.success).every((d) => d.remaining === 0 && d.limit === 25)).toBe(true);
    expect(events).toEqual([]);
  });

  it("reports the remaining hits and the end of the window, when the count next drops", async () => {
    const { warn } = recordingWarnings();
    const limiter = createPostgresLimiter(client(), warn, HOUR_MS);
    const key = `remaining:${crypto.randomUUID()}`;
    const windowEnd = (Math.floor(Date.now() / HOUR_MS) + 1) * HOUR_MS;
    const firstHit = await limiter.limit(key, 3);
    expect(firstHit).toMatchObject({ success: true, limit: 3, remaining: 2, reset: windowEnd, failedOpen: false });
    await limiter.limit(key, 3);
    expect(await limiter.limit(key, 3)).toMatchObject({ success: true, remaining: 0 });
    expect(await limiter.limit(key, 3)).toMatchObject({ success: false, remaining: 0, reset: windowEnd });
  });

  it("lets hits through again once the window they filled has slid past", async () => {
    const { warn } = recordingWarnings();
    const limiter = createPostgresLimiter(client(), warn, 1_000);
    const key = `window:${crypto.randomUUID()}`;
    await startOfNextWindow(1_000);
    expect((await limiter.limit(key, 1)).success).toBe(true);
    const refused = await limiter.limit(key, 1);
    expect(refused.success).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, refused.reset - Date.now()) + 50));
    expect((await limiter.limit(key, 1)).success).toBe(true);
  });

  it("fails open with a warning when the database is unreachable", async () => {
    const { warn, events } = recordingWarnings();
    const unreachable = client(`postgresql://postgres@127.0.0.1:${await freePort()}/postgres`, { connect_timeout: 2 });
    const limiter = createPostgresLimiter(unreachable, warn);
    expect(await limiter.limit("down", 10)).toMatchObject({ success: true, limit: 10, remaining: 10, failedOpen: true });
    expect(events.map((e) => e.event)).toEqual(["rate_limit_store_unavailable"]);
    expect(events[0]!.fields.store).toBe("postgres");
    await expect(limiter.ping()).rejects.toThrow();
  });
});
