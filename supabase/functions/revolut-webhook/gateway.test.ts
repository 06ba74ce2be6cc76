// revolut-webhook through the real Deno gateway of the test stack. The gateway's Revolut
// client points at REVOLUT_API_BASE_URL from supabase/functions/.env.example, where this test
// runs the Merchant API stand-in.
import { testDatabaseUrl, testFunctionsUrl } from "../../tests/support/functions-env.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { revolutStandInOptionsFromEnv, type StandIn, startRevolutStandIn } from "../../tests/support/provider-standins.ts";
import { balanceOf, createTopUp, storedEvents, testSql } from "../../tests/support/payments-fixtures.ts";
import { revolutRequest } from "../../tests/support/webhook-requests.ts";

const sql = testSql(testDatabaseUrl);
const base = testFunctionsUrl();
let standIn: StandIn<Record<string, unknown>>;
beforeAll(async () => {
  standIn = await startRevolutStandIn(revolutStandInOptionsFromEnv(Number(new URL(process.env.REVOLUT_API_BASE_URL!).port)));
});
afterAll(async () => {
  await standIn?.close();
  await sql.end({ timeout: 1 });
});

describe("revolut-webhook through the gateway", () => {
  it("credits a completed order once and refuses a stale signature", async () => {
    const orderId = crypto.randomUUID();
    const topUp = await createTopUp(sql, { provider: "revolut", amount: 2500, currency: "EUR", providerRef: orderId });
    standIn.records.set(orderId, { id: orderId, state: "completed", amount: 2500, currency: "EUR" });
    const body = { event: "ORDER_COMPLETED", order_id: orderId, merchant_order_ext_ref: "ext" };
    expect((await fetch(revolutRequest(body, {}, { base }))).status).toBe(200);
    expect((await fetch(revolutRequest(body, {}, { base }))).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 2500, available: 2500 });
    expect(await storedEvents(sql, "revolut", orderId)).toMatchObject([{ status: "processed", attempts: 1 }]);

    const stale = { event: "ORDER_CANCELLED", order_id: crypto.randomUUID() };
    const refused = await fetch(revolutRequest(stale, { timestamp: Date.now() - 10 * 60 * 1000 }, { base }));
    expect({ status: refused.status, code: (await refused.json()).error.code }).toEqual({ status: 401, code: "invalid_signature" });
    expect(await storedEvents(sql, "revolut", stale.order_id)).toHaveLength(0);
  });
});
