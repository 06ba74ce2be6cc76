// stripe-webhook through the real Deno gateway of the test stack: signed event -> rows ->
// credit, a duplicate, a forgery, and the per-client rate limit ahead of the signature check.
import { useTestSql } from "../../tests/support/test-sql.ts";
import { testFunctionsUrl } from "../../tests/support/functions-env.ts";
import { describe, expect, it } from "vitest";
import { balanceOf, createTopUp, storedEvents } from "../../tests/support/payments-fixtures.ts";
import { stripeEvent, stripeRequest } from "../../tests/support/webhook-requests.ts";

const sql = useTestSql();
const base = testFunctionsUrl();

describe("stripe-webhook through the gateway", () => {
  it("credits a signed payment_intent.succeeded once and refuses a forgery", async () => {
    const ref = `pi_${crypto.randomUUID().replaceAll("-", "")}`;
    const topUp = await createTopUp(sql, { provider: "stripe", amount: 1999, currency: "USD", providerRef: ref });
    const paymentIntent = { id: ref, object: "payment_intent", amount: 1999, amount_received: 1999, currency: "usd", metadata: {} };
    const event = stripeEvent("payment_intent.succeeded", paymentIntent);
    const first = await fetch(stripeRequest(event, {}, { base }));
    expect(first.status).toBe(200);
    expect(first.headers.get("x-correlation-id")).toBeTruthy();
    expect(await first.json()).toMatchObject({ events: [{ event_id: event.id, outcome: "processed" }] });
    const again = await fetch(stripeRequest(event, {}, { base }));
    expect(await again.json()).toMatchObject({ events: [{ outcome: "duplicate" }] });
    expect(await balanceOf(sql, topUp.accountId)).toEqual({ balance: 1999, available: 1999 });

    const forged = stripeEvent("payment_intent.succeeded", paymentIntent);
    const refused = await fetch(stripeRequest(forged, { secret: "whsec_forger" }, { base }));
    expect(refused.status).toBe(401);
    expect(await storedEvents(sql, "stripe", forged.id)).toHaveLength(0);
  });

  // Every request of this run reaches the function from the gateway's own address, so this
  // spends the minute's Stripe allowance of that address: it runs last.
  it("answers 429 with Retry-After once the client's 50 requests a minute are spent, before checking signatures", async () => {
    const forged = () => fetch(stripeRequest(stripeEvent("customer.created", { id: "cus_x" }), { header: "t=1,v1=00" }, { base }));
    const responses = await Promise.all(Array.from({ length: 51 }, forged));
    const limited = responses.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(1);
    expect(responses.every((r) => r.status === 401 || r.status === 429)).toBe(true);
    expect(limited[0]!.headers.get("x-ratelimit-limit")).toBe("50");
    expect(limited[0]!.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(Number(limited[0]!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });
});
