// whatsapp-webhook through the real Deno gateway of the test stack.
import { useTestSql } from "../../tests/support/test-sql.ts";
import { testFunctionsUrl } from "../../tests/support/functions-env.ts";
import { describe, expect, it } from "vitest";
import { storedEvents, uniqueClientAddress } from "../../tests/support/payments-fixtures.ts";
import { env, whatsAppRequest } from "../../tests/support/webhook-requests.ts";

const sql = useTestSql();
const base = testFunctionsUrl();

describe("whatsapp-webhook through the gateway", () => {
  it("answers the subscription challenge without a JWT", async () => {
    const response = await fetch(
      `${base}/whatsapp-webhook?hub.mode=subscribe&hub.verify_token=${env("WHATSAPP_VERIFY_TOKEN")}&hub.challenge=424242`,
      {
        headers: { "x-forwarded-for": uniqueClientAddress() },
      },
    );
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("424242");
  });

  it("stores a signed inbound message and its delivery statuses in order", async () => {
    const wamid = `wamid.${crypto.randomUUID().replaceAll("-", "")}`;
    const now = Math.floor(Date.now() / 1000);
    const value = (extra: Record<string, unknown>) => ({
      object: "whatsapp_business_account",
      entry: [{
        id: "1",
        changes: [{
          field: "messages",
          value: { messaging_product: "whatsapp", metadata: { phone_number_id: "106540352242922" }, ...extra },
        }],
      }],
    });
    const inbound = await fetch(
      whatsAppRequest(
        value({ messages: [{ from: "256712345678", id: wamid, timestamp: String(now), type: "text", text: { body: "balance" } }] }),
        {},
        { base },
      ),
    );
    expect(inbound.status).toBe(200);
    const outbound = `${wamid}.out`;
    const statuses = await fetch(
      whatsAppRequest(
        value({
          statuses: [{ id: outbound, status: "read", timestamp: String(now), recipient_id: "256712345678" }, {
            id: outbound,
            status: "delivered",
            timestamp: String(now - 1),
            recipient_id: "256712345678",
          }],
        }),
        {},
        { base },
      ),
    );
    expect(statuses.status).toBe(200);
    const rows = await sql<{ wamid: string; status: string }[]>`
      select wamid, status from public.whatsapp_messages where wamid in (${wamid}, ${outbound}) order by wamid`;
    expect(rows).toEqual([{ wamid, status: "received" }, { wamid: outbound, status: "read" }]);
    expect(await storedEvents(sql, "whatsapp", wamid)).toHaveLength(3);
    const forged = await fetch(whatsAppRequest(value({ messages: [] }), { secret: "not-the-app-secret" }, { base }));
    expect({ status: forged.status, code: (await forged.json()).error.code }).toEqual({ status: 401, code: "invalid_signature" });
  });
});
