// momo-webhook through the real Deno gateway of the test stack. The gateway's MoMo client
// points at MOMO_API_BASE_URL from supabase/functions/.env.example, where this test runs the
// MoMo stand-in.
import { useTestSql } from "../../tests/support/test-sql.ts";
import { testFunctionsUrl } from "../../tests/support/functions-env.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MomoStandIn, momoStandInOptionsFromEnv, startMomoStandIn } from "../../tests/support/provider-standins.ts";
import { balanceOf, createTopUp, storedEvents } from "../../tests/support/payments-fixtures.ts";
import { momoCallbackRequest } from "../../tests/support/webhook-requests.ts";
import { amountFixture } from "../../tests/support/momo-fixtures.ts";

const sql = useTestSql();
const base = testFunctionsUrl();
let standIn: MomoStandIn;
beforeAll(async () => {
  standIn = await startMomoStandIn(momoStandInOptionsFromEnv(Number(new URL(process.env.MOMO_API_BASE_URL!).port)));
});
afterAll(() => standIn?.close());

describe("momo-webhook through the gateway", () => {
  it("credits a confirmed SUCCESSFUL callback once and refuses a wrong token", async () => {
    const ref = crypto.randomUUID();
    const topUp = await createTopUp(sql, { provider: "momo", amount: 5000, currency: "UGX", providerRef: ref });
    standIn.records.set(ref, amountFixture("SUCCESSFUL", "5000", "UGX"));
    const body = { externalId: topUp.intentId, amount: "5000", currency: "UGX", status: "SUCCESSFUL" };
    const first = await fetch(momoCallbackRequest(ref, body, {}, { base }));
    expect(first.status).toBe(200);
    expect((await fetch(momoCallbackRequest(ref, body, {}, { base, method: "POST" }))).status).toBe(200);
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 5000, available: 5000 });
    expect(standIn.requests).toContain(`GET /collection/v1_0/requesttopay/${ref}`);

    const other = crypto.randomUUID();
    const forged = await fetch(momoCallbackRequest(other, body, { secret: "not-our-callback-secret" }, { base }));
    expect({ status: forged.status, code: (await forged.json()).error.code }).toEqual({ status: 401, code: "invalid_signature" });
    expect(await storedEvents(sql, "momo", other)).toHaveLength(0);
  });
});
