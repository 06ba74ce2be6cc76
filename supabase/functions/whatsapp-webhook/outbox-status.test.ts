// Status webhooks move the outbox row of the same wamid, in-process against the real database:
// sent -> delivered -> read in any delivery order (a late delivered after read never goes
// back), failed with Meta's error kept as the reason, and a status that overtakes the sender
// (delivered before the wamid is recorded) is kept when it records it.
import { useTestSql } from "../../tests/support/test-sql.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GraphApiStandIn, startGraphApiStandIn } from "../../tests/support/graph-api-standin.ts";
import { whatsAppRequest } from "../../tests/support/webhook-requests.ts";
import { enqueue, newWaId, outboxRow, standInSender } from "../../tests/support/whatsapp-fixtures.ts";
import type { WhatsAppClient } from "../_shared/providers/whatsapp/client.ts";
import { sendOutboxMessages } from "../_shared/providers/whatsapp/outbox-sender.ts";
import handler from "./handler.ts";
import { keepWhatsAppSendRunsOut } from "../../tests/support/whatsapp-send-alone.ts";

const sql = useTestSql();
keepWhatsAppSendRunsOut(sql);
let graph: GraphApiStandIn;
beforeAll(async () => {
  graph = await startGraphApiStandIn();
});
afterAll(() => graph?.close());

const seconds = (offset = 0) => String(Math.floor(Date.now() / 1000) + offset);
const statuses = (...items: Record<string, unknown>[]) => ({
  object: "whatsapp_business_account",
  entry: [{
    id: "102290129340398",
    changes: [{
      field: "messages",
      value: { messaging_product: "whatsapp", metadata: { phone_number_id: graph.phoneNumberId }, statuses: items },
    }],
  }],
});
const status = (wamid: string, waId: string, value: string, offset: number, extra: Record<string, unknown> = {}) => ({
  id: wamid,
  status: value,
  timestamp: seconds(offset),
  recipient_id: waId,
  ...extra,
});
const deliver = async (payload: unknown) => expect((await handler.fetch(whatsAppRequest(payload))).status).toBe(200);

const send = (ids: string[], client?: WhatsAppClient) => sendOutboxMessages(standInSender(sql, graph, { client }), ids);

/** A message sent through the stand-in: its outbox id and wamid. */
async function sentMessage(waId: string): Promise<{ id: string; wamid: string }> {
  const id = await enqueue(sql, waId, "status test");
  await send([id]);
  const { wamid } = await outboxRow(sql, id);
  return { id, wamid: wamid! };
}

describe("status webhooks and the outbox", () => {
  it("in order: sent, delivered, read", async () => {
    const waId = newWaId();
    const { id, wamid } = await sentMessage(waId);
    for (const [value, offset] of [["sent", 0], ["delivered", 1], ["read", 2]] as const) {
      await deliver(statuses(status(wamid, waId, value, offset)));
      expect((await outboxRow(sql, id)).status).toBe(value);
    }
  });

  it("out of order: read before delivered and sent stays read", async () => {
    const waId = newWaId();
    const { id, wamid } = await sentMessage(waId);
    await deliver(statuses(status(wamid, waId, "read", 2)));
    await deliver(statuses(status(wamid, waId, "delivered", 1), status(wamid, waId, "sent", 0)));
    expect((await outboxRow(sql, id)).status).toBe("read");
  });

  it("failed after delivered keeps Meta's error as the reason", async () => {
    const waId = newWaId();
    const { id, wamid } = await sentMessage(waId);
    await deliver(statuses(status(wamid, waId, "delivered", 1)));
    await deliver(statuses(status(wamid, waId, "failed", 2, { errors: [{ code: 131026, title: "Message undeliverable" }] })));
    const row = await outboxRow(sql, id);
    expect(row.status).toBe("failed");
    expect(row.last_error).toContain("131026");
  });

  it("a delivered that overtakes the sender is kept when the sender records the wamid", async () => {
    const waId = newWaId();
    const id = await enqueue(sql, waId, "overtaken");
    const wamid = `wamid.${crypto.randomUUID().replaceAll("-", "")}`;
    // A Graph API whose answer reaches the sender only after the delivered webhook has been applied.
    const slow: WhatsAppClient = {
      send: async () => {
        await deliver(statuses(status(wamid, waId, "delivered", 1)));
        return { wamid };
      },
    };
    expect(await send([id], slow)).toMatchObject({ sent: 1 });
    expect(await outboxRow(sql, id)).toMatchObject({ status: "delivered", wamid });
  });
});
