// stripe-webhook through the real Deno gateway of the test stack: signed event -> rows ->
// credit, a duplicate, a forgery, and the per-client rate limit ahead of the signature check.
import { useTestSql } from "../../tests/support/test-sql.ts";
import { testFunctionsUrl } from "../../tests/support/functions-env.ts";
import { describe, expect, it } from "vitest";
import { balanceOf, createTopUp, storedEvents, uniqueClientAddress } from "../../tests/support/payments-fixtures.ts";
import { startPaymentsGateway } from "../../tests/support/payments-gateway.ts";
import { stripeEvent, stripeRequest } from "../../tests/support/webhook-requests.ts";
import { startWithRoomInWindow } from "../../tests/support/rate-limit-probe.ts";

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

  // The stack the suites share raises the webhook limits (every suite's deliveries come from the
  // local gateway's address); this gateway keeps the production limit and trusts the client's
  // own hop, so that the 51 requests of one client address are its bucket alone.
  it("answers 429 with Retry-After once a client's 50 requests a minute are spent, before checking signatures", async () => {
    const gateway = await startPaymentsGateway({ RATE_LIMIT_STRIPE_WEBHOOK_PER_MIN: "50", TRUSTED_PROXY_HOPS: "2" });
    try {
      const address = uniqueClientAddress();
      const forged = () =>
        fetch(stripeRequest(stripeEvent("customer.created", { id: "cus_x" }), { header: "t=1,v1=00" }, { base: gateway.url, address }));
      await startWithRoomInWindow();
      const responses = await Promise.all(Array.from({ length: 51 }, forged));
      expect(responses.filter((r) => r.status === 401)).toHaveLength(50);
      const limited = responses.filter((r) => r.status === 429);
      expect(limited).toHaveLength(1);
      expect(limited[0]!.headers.get("x-ratelimit-limit")).toBe("50");
      expect(limited[0]!.headers.get("x-ratelimit-remaining")).toBe("0");
      expect(Number(limited[0]!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      // Another client of the same gateway has its own 50.
      const other = await fetch(
        stripeRequest(stripeEvent("customer.created", { id: "cus_y" }), { header: "t=1,v1=00" }, { base: gateway.url }),
      );
      expect(other.status).toBe(401);
    } finally {
      await gateway.stop();
    }
  });
});
