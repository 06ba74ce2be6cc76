// The suites share one database, so one WhatsApp outbox, but each has its own Graph API
// stand-in: a whatsapp-send run takes every due row, whichever suite queued it, and sends it
// through its own suite's stand-in. So the tests that run whatsapp-send and read what their
// stand-in received hold a session advisory lock exclusively (runWhatsAppSendAlone), and the
// tests that queue messages and send them by id, or expect them still queued, hold it shared
// (keepWhatsAppSendRunsOut): no run takes another suite's messages, and the suites that only
// send their own rows still run side by side. Held from before a block's first test to after
// its last (run-alone.ts).
import type { Sql } from "./payments-fixtures.ts";
import { holdDuringBlock } from "./run-alone.ts";

const KEY = "mfuko tests: whatsapp-send runs alone";

/** Called in a file or describe block that runs whatsapp-send: it runs alone among the blocks that call either function. */
export const runWhatsAppSendAlone = (sql: Sql): void => holdDuringBlock(sql, KEY, false);

/** Called in a file or describe block that queues messages and sends them by id: no whatsapp-send run takes them meanwhile. */
export const keepWhatsAppSendRunsOut = (sql: Sql): void => holdDuringBlock(sql, KEY, true);
