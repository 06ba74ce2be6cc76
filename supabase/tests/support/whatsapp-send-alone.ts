// The suites share one database, so one WhatsApp outbox, but each has its own Graph API
// stand-in: a whatsapp-send run takes every due row, whichever suite queued it, and sends it
// through its own suite's stand-in. A block of tests that queues messages, runs whatsapp-send and
// reads what its stand-in received therefore runs alone among such blocks: it holds a session
// advisory lock from before its first test to after its last.
import { afterAll, beforeAll } from "vitest";
import type { Sql } from "./payments-fixtures.ts";

const KEY = "mfuko tests: whatsapp-send runs alone";

/** Called in a describe block: no other suite's block that calls it runs whatsapp-send meanwhile. */
export function runWhatsAppSendAlone(sql: Sql): void {
  let held: Awaited<ReturnType<Sql["reserve"]>> | undefined;
  beforeAll(async () => {
    held = await sql.reserve();
    await held`select pg_advisory_lock(hashtext(${KEY}))`;
  });
  afterAll(async () => {
    if (!held) return;
    await held`select pg_advisory_unlock(hashtext(${KEY}))`;
    held.release();
  });
}
