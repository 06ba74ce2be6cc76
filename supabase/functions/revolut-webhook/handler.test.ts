// The HTTP contract of revolut-webhook, in-process against the test database: every signature
// case (401, nothing written), malformed signed bodies (400, nothing written), method limits.
import { testDatabaseUrl } from "../../tests/support/functions-env.ts";
import { afterAll, describe, expect, it } from "vitest";
import { eventsMentioning, storedEvents, testSql, uniqueClientAddress } from "../../tests/support/payments-fixtures.ts";
import { expectLimitAt } from "../../tests/support/rate-limit-probe.ts";
import { revolutRequest, revolutSignature } from "../../tests/support/webhook-requests.ts";
import handler from "./handler.ts";

const sql = testSql(testDatabaseUrl);
afterAll(() => sql.end({ timeout: 1 }));

// An order event applied without asking the Merchant API (this file runs without a Revolut stand-in).
const authorised = () => ({ event: "ORDER_AUTHORISED", order_id: crypto.randomUUID(), merchant_order_ext_ref: "ext-1" });
const FIVE_MINUTES = 5 * 60 * 1000;

/** `marker` is in the refused body: its order id, or wherever the case put it. */
async function expectRejected(request: Request, status: number, code: string, marker: string) {
  const response = await handler.fetch(request);
  const body = (await response.json()) as { error: { code: string; details: unknown } };
  expect(response.status).toBe(status);
  expect(body.error.code).toBe(code);
  expect(await eventsMentioning(sql, "revolut", [marker])).toBe(0);
  const [mirror] = await sql<{ n: number }[]>`
    select count(*)::int as n from public.revolut_transactions where revolut_id = ${marker} or strpos(raw_payload::text, ${marker}) > 0`;
  expect(mirror!.n).toBe(0);
  return body;
}

describe("revolut-webhook signatures", () => {
  it("accepts a valid signature and stores the event", async () => {
    const body = authorised();
    const response = await handler.fetch(revolutRequest(body));
    expect(response.status).toBe(200);
    expect(response.headers.get("x-ratelimit-limit")).toBe("50");
    expect(await storedEvents(sql, "revolut", body.order_id)).toMatchObject([{
      event_id: `${body.order_id}:ORDER_AUTHORISED`,
      status: "ignored",
    }]);
  });

  it("refuses a wrong secret, a tampered body, a missing signature or timestamp", async () => {
    const body = authorised();
    await expectRejected(revolutRequest(body, { secret: "wsk_someoneElse" }), 401, "invalid_signature", body.order_id);
    const timestamp = Date.now();
    const header = revolutSignature(JSON.stringify({ ...body, event: "ORDER_FAILED" }), timestamp);
    await expectRejected(revolutRequest(body, { header, timestamp }), 401, "invalid_signature", body.order_id);
    await expectRejected(revolutRequest(body, { header: null }), 401, "invalid_signature", body.order_id);
    await expectRejected(revolutRequest(body, { header: "sha256=abc" }), 401, "invalid_signature", body.order_id);
    const noTimestamp = revolutRequest(body);
    noTimestamp.headers.delete("revolut-request-timestamp");
    await expectRejected(noTimestamp, 401, "invalid_signature", body.order_id);
  });

  it("refuses a signature whose timestamp is more than 5 minutes old or ahead", async () => {
    const body = authorised();
    const stale = await expectRejected(
      revolutRequest(body, { timestamp: Date.now() - FIVE_MINUTES - 5_000 }),
      401,
      "invalid_signature",
      body.order_id,
    );
    expect(stale.error.details).toEqual({ reason: "stale_timestamp" });
    const future = await expectRejected(
      revolutRequest(body, { timestamp: Date.now() + FIVE_MINUTES + 5_000 }),
      401,
      "invalid_signature",
      body.order_id,
    );
    expect(future.error.details).toEqual({ reason: "future_timestamp" });
  });

  it("refuses a valid signature moved to another timestamp", async () => {
    const body = authorised();
    const header = revolutSignature(JSON.stringify(body), Date.now() - 1_000);
    await expectRejected(revolutRequest(body, { header, timestamp: Date.now() }), 401, "invalid_signature", body.order_id);
  });

  it("accepts a rotated secret: one of several v1 signatures is valid", async () => {
    const body = authorised();
    const timestamp = Date.now();
    const header = `${revolutSignature(JSON.stringify(body), timestamp, "wsk_retiredSecret")},${
      revolutSignature(JSON.stringify(body), timestamp)
    }`;
    expect((await handler.fetch(revolutRequest(body, { header, timestamp }))).status).toBe(200);
    expect(await storedEvents(sql, "revolut", body.order_id)).toHaveLength(1);
  });
});

describe("revolut-webhook malformed signed bodies", () => {
  it("answers 400 invalid_json for a signed body that is not JSON", async () => {
    const response = await handler.fetch(revolutRequest("event=ORDER_COMPLETED"));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("invalid_json");
  });

  // Each body carries the id, where no order id can: that is what an accepted one would store.
  const cases: Array<[string, (id: string) => unknown]> = [
    ["no event", (id) => ({ order_id: id })],
    ["an order event without order_id", (id) => ({ event: "ORDER_COMPLETED", merchant_order_ext_ref: id })],
    ["an order id that is a number", (id) => ({ event: "ORDER_FAILED", order_id: 42, merchant_order_ext_ref: id })],
    ["a transaction change to an unknown state", (id) => ({ event: "TransactionStateChanged", data: { id, new_state: "teleported" } })],
    ["a JSON array", (id) => [{ event: "ORDER_FAILED", order_id: id }]],
  ];
  it.each(cases)("answers 400 for %s, writing nothing", async (_name, make) => {
    const id = crypto.randomUUID();
    await expectRejected(revolutRequest(make(id)), 400, "validation_failed", id);
  });
});

describe("revolut-webhook request limits", () => {
  it("answers 413 for a body over 1 MiB and 415 for form data, writing nothing", async () => {
    const big = { ...authorised(), padding: "x".repeat(1024 * 1024) };
    await expectRejected(revolutRequest(big), 413, "payload_too_large", big.order_id);
    const form = authorised();
    await expectRejected(
      revolutRequest(form, {}, { headers: { "content-type": "application/x-www-form-urlencoded" } }),
      415,
      "unsupported_media_type",
      form.order_id,
    );
  });

  it("lets a client's 50th request of a minute through and answers the 51st 429, before checking signatures", async () => {
    const address = uniqueClientAddress();
    await expectLimitAt(50, () => handler.fetch(revolutRequest(authorised(), { header: null }, { address })), 401);
  });

  it("answers 405 with Allow for GET", async () => {
    const response = await handler.fetch(revolutRequest(authorised(), {}, { method: "GET" }));
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("POST");
  });
});
