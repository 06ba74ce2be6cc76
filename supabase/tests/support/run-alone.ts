// The suites share one database, and a job run takes every due row whichever suite made it. A
// block whose job runs must not take another suite's rows, nor its rows be taken by another: it
// holds a session advisory lock from before its first test to after its last, on a connection
// of its own (released also when a test fails), exclusively to run alone among the blocks that
// hold the same key, shared to keep only the exclusive holders out.
import { afterAll, beforeAll } from "vitest";
import type { Sql } from "./payments-fixtures.ts";

export function holdDuringBlock(sql: Sql, key: string, shared: boolean): void {
  let held: Awaited<ReturnType<Sql["reserve"]>> | undefined;
  beforeAll(async () => {
    held = await sql.reserve();
    await (shared ? held`select pg_advisory_lock_shared(hashtext(${key}))` : held`select pg_advisory_lock(hashtext(${key}))`);
  });
  afterAll(async () => {
    if (!held) return;
    await (shared ? held`select pg_advisory_unlock_shared(hashtext(${key}))` : held`select pg_advisory_unlock(hashtext(${key}))`);
    held.release();
  });
}

/**
 * Called in a file that ages its Revolut rows past its gateway's poll mark and runs revolut-poll:
 * each such file's run would take the other's aged rows (and cancel, at its own stand-in, the
 * intents it does not know), so they run one after the other.
 */
export const runRevolutPollAlone = (sql: Sql): void => holdDuringBlock(sql, "mfuko tests: revolut-poll runs alone", false);
