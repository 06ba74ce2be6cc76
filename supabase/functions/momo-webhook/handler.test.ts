// The HTTP contract of momo-webhook, in-process against the test database: the callback token
// (401 and nothing written for every bad case, before MoMo is asked), malformed signed bodies
// (400, nothing written), methods and routes.
import { useTestSql } from "../../tests/support/test-sql.ts";
import { describe, expect, it } from "vitest";
import { storedEvents, uniqueClientAddress } from "../../tests/support/payments-fixtures.ts";
import { expectLimitAt } from "../../tests/support/rate-limit-probe.ts";
import { IN_PROCESS_ORIGIN, momoCallbackRequest, momoCallbackToken } from "../../tests/support/webhook-requests.ts";
import handler from "./handler.ts";
import { amountFixture, useMomoStandIn } from "../../tests/support/momo-fixtures.ts";

const sql = useTestSql();
const momo = useMomoStandIn();

const callback = {
  financialTransactionId: "3728171",
  externalId: "order-1",
  amount: "1500",
  currency: "UGX",
  payer: { partyIdType: "MSISDN", partyId: "256772123456" },
  status: "SUCCESSFUL",
};

async function rowsFor(ref: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select (select count(*) from public.webhook_events where provider = 'momo' and starts_with(event_id, ${ref}))::int
         + (select count(*) from public.momo_transactions where reference_id = ${ref}::uuid)::int as n`;
  return row!.n;
}

async function expectRejected(request: Request, status: number, code: string, ref: string) {
  const asked = momo.current.requests.length;
  const response = await handler.fetch(request);
  expect(response.status).toBe(status);
  expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code);
  expect(await rowsFor(ref)).toBe(0);
  expect(momo.current.requests.length).toBe(asked);
}

describe("momo-webhook callback token", () => {
  it("accepts the token of the reference id, over PUT and POST", async () => {
    for (const method of ["PUT", "POST"]) {
      const ref = crypto.randomUUID();
      momo.current.records.set(ref, amountFixture("SUCCESSFUL", "1500", "UGX"));
      const response = await handler.fetch(momoCallbackRequest(ref, callback, {}, { method }));
      expect(response.status).toBe(200);
      expect(response.headers.get("x-ratelimit-limit")).toBe("50");
      expect(await storedEvents(sql, "momo", ref)).toMatchObject([{ event_id: `${ref}:SUCCESSFUL`, status: "processed" }]);
    }
  });

  it("refuses a token made with another secret, for another reference, missing or malformed", async () => {
    const ref = crypto.randomUUID();
    await expectRejected(momoCallbackRequest(ref, callback, { secret: "someone-elses-callback-secret" }), 401, "invalid_signature", ref);
    await expectRejected(
      momoCallbackRequest(ref, callback, { token: momoCallbackToken(crypto.randomUUID()) }),
      401,
      "invalid_signature",
      ref,
    );
    await expectRejected(momoCallbackRequest(ref, callback, { token: null }), 401, "invalid_signature", ref);
    await expectRejected(momoCallbackRequest(ref, callback, { token: "abc" }), 401, "invalid_signature", ref);
  });

  it("refuses a signed reference that is not a lower-case UUID v4 with 400", async () => {
    const ref = crypto.randomUUID().toUpperCase();
    const response = await handler.fetch(momoCallbackRequest(ref, callback));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("invalid_reference");
  });
});

describe("momo-webhook malformed signed bodies", () => {
  const cases: Array<[string, unknown, string]> = [
    ["a body that is not JSON", "status=SUCCESSFUL", "invalid_json"],
    ["an unknown status", { ...callback, status: "DONE" }, "validation_failed"],
    ["no status", { amount: "1500" }, "validation_failed"],
    ["a reason that is a number", { ...callback, status: "FAILED", reason: 42 }, "validation_failed"],
    ["an array", [callback], "validation_failed"],
  ];
  it.each(cases)("answers 400 for %s, writing nothing and asking MoMo nothing", async (_name, body, code) => {
    const ref = crypto.randomUUID();
    await expectRejected(momoCallbackRequest(ref, body), 400, code, ref);
  });
});

describe("momo-webhook routes, methods and limits", () => {
  it("answers 413 for a body over 1 MiB, writing nothing and asking MoMo nothing", async () => {
    const ref = crypto.randomUUID();
    await expectRejected(momoCallbackRequest(ref, { ...callback, payeeNote: "x".repeat(1024 * 1024) }), 413, "payload_too_large", ref);
  });

  it("lets a client's 50th callback of a minute through and answers the 51st 429, before checking tokens", async () => {
    const address = uniqueClientAddress();
    await expectLimitAt(50, () => handler.fetch(momoCallbackRequest(crypto.randomUUID(), callback, { token: null }, { address })), 401);
  });

  it("answers 405 for GET and 404 outside /callback/<reference>", async () => {
    const ref = crypto.randomUUID();
    const get = await handler.fetch(momoCallbackRequest(ref, null, {}, { method: "GET" }));
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("PUT, POST");
    const elsewhere = await handler.fetch(
      new Request(`${IN_PROCESS_ORIGIN}/momo-webhook/${ref}?token=${momoCallbackToken(ref)}`, {
        method: "PUT",
        headers: { "content-type": "application/json", "x-forwarded-for": "198.51.100.9" },
        body: JSON.stringify(callback),
      }),
    );
    expect(elsewhere.status).toBe(404);
  });
});
