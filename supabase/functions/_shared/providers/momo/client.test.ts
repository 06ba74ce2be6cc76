// The MoMo client against a local stand-in of MTN's Collection and Disbursement APIs.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "@mfuko/local-stack/ports";
import { type MomoStandIn, startMomoStandIn } from "../../../../tests/support/provider-standins.ts";
import { amountFixture } from "../../../../tests/support/momo-fixtures.ts";
import { createMomoClient, MomoApiError, type MomoClientConfig, MomoUnknownReferenceError } from "./client.ts";

const credentials = {
  subscriptionKey: "sub-key-for-tests",
  disbursementSubscriptionKey: "disbursement-key-for-tests",
  apiUser: "7f2e5d0c-5b2f-4c41-9f0b-8c1f1b0f6a11",
  apiKey: "api-key-for-tests",
  targetEnvironment: "sandbox",
};
let standIn: MomoStandIn;
let config: MomoClientConfig;

beforeAll(async () => {
  standIn = await startMomoStandIn(credentials);
  config = { baseUrl: `${standIn.url}/`, ...credentials };
});
afterAll(() => standIn.close());

describe("MoMo client", () => {
  it("gets a token once, then asks for each status with the required headers", async () => {
    const client = createMomoClient(config);
    const ref = crypto.randomUUID();
    standIn.records.set(ref, amountFixture("SUCCESSFUL", "1500", "UGX"));
    const before = standIn.requests.length;
    expect(await client.requestToPayStatus(ref)).toMatchObject({ status: "SUCCESSFUL", amount: "1500", currency: "UGX" });
    expect(await client.requestToPayStatus(ref)).toMatchObject({ status: "SUCCESSFUL" });
    expect(standIn.requests.slice(before)).toEqual([
      "POST /collection/token/",
      `GET /collection/v1_0/requesttopay/${ref}`,
      `GET /collection/v1_0/requesttopay/${ref}`,
    ]);
  });

  it("names the HTTP status when MoMo refuses the credentials or fails", async () => {
    const wrongKey = createMomoClient({ ...config, apiKey: "not-the-key" });
    const refused = await wrongKey.requestToPayStatus(crypto.randomUUID()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(MomoApiError);
    expect(refused).toMatchObject({ kind: "unavailable", httpStatus: 401 });
    const ref = crypto.randomUUID();
    standIn.records.set(ref, 503);
    await expect(createMomoClient(config).requestToPayStatus(ref)).rejects.toThrow(/HTTP 503/);
  });

  it("reports an unknown reference (MoMo's 404 RESOURCE_NOT_FOUND) and an unexpected body", async () => {
    const client = createMomoClient(config);
    const unknown = await client.requestToPayStatus(crypto.randomUUID()).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(MomoUnknownReferenceError);
    expect(unknown).toMatchObject({ httpStatus: 404, reason: "RESOURCE_NOT_FOUND: Requested resource was not found." });
    const ref = crypto.randomUUID();
    standIn.records.set(ref, { status: "MAYBE", amount: "ten" });
    await expect(client.requestToPayStatus(ref)).rejects.toThrow(/unexpected body \(amount, currency, status\)/);
  });

  it("fetches a new token once when MoMo no longer accepts the cached one", async () => {
    const client = createMomoClient(config);
    const ref = crypto.randomUUID();
    standIn.records.set(ref, amountFixture("FAILED", "10", "EUR"));
    await client.requestToPayStatus(ref);
    standIn.revokeTokens();
    const before = standIn.requests.length;
    expect(await client.requestToPayStatus(ref)).toMatchObject({ status: "FAILED" });
    expect(standIn.requests.slice(before)).toEqual([
      `GET /collection/v1_0/requesttopay/${ref}`,
      "POST /collection/token/",
      `GET /collection/v1_0/requesttopay/${ref}`,
    ]);
  });

  it("turns an unreachable API into a MomoApiError without the URL's secrets", async () => {
    const client = createMomoClient({ ...config, baseUrl: `http://127.0.0.1:${await freePort()}` });
    const error = await client.requestToPayStatus(crypto.randomUUID()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MomoApiError);
    expect((error as MomoApiError).httpStatus).toBeNull();
    expect((error as Error).message).not.toContain(credentials.apiKey);
  });

  /** A request-to-pay or a transfer of `amount` UGX with 256772123456, called back on `callbackPath`. */
  const momoOrder = (referenceId: string, amount: string, payerMessage: string, callbackPath: string) => ({
    referenceId,
    amount,
    currency: "UGX",
    externalId: referenceId,
    msisdn: "256772123456",
    payerMessage,
    payeeNote: "note",
    callbackUrl: `https://functions.example/momo-webhook/${callbackPath}/x?token=t`,
  });

  /** MoMo's documented request for momoOrder(...): the number is the payer of a request-to-pay, the payee of a transfer. */
  const momoReceived = (referenceId: string, amount: string, payerMessage: string, callbackPath: string, party: "payer" | "payee") => ({
    body: {
      amount,
      currency: "UGX",
      externalId: referenceId,
      [party]: { partyIdType: "MSISDN", partyId: "256772123456" },
      payerMessage,
      payeeNote: "note",
    },
    callbackUrl: `https://functions.example/momo-webhook/${callbackPath}/x?token=t`,
  });

  describe("request-to-pay", () => {
    const order = (referenceId: string) => momoOrder(referenceId, "2500", "top-up", "callback");

    it("sends MoMo's documented headers and body, and takes a duplicate reference id as already accepted", async () => {
      const client = createMomoClient(config);
      const ref = crypto.randomUUID();
      await client.requestToPay(order(ref));
      await client.requestToPay(order(ref));
      expect(standIn.requestsToPay.get(ref)).toEqual(momoReceived(ref, "2500", "top-up", "callback", "payer"));
      expect(standIn.records.get(ref)).toMatchObject({ status: "PENDING" });
    });

    it("tells a refusal (declined, with MoMo's code) from an outage (unavailable)", async () => {
      const client = createMomoClient({ ...config, timeoutMs: 500 });
      try {
        standIn.requestToPayBehaviour = { status: 400, body: { code: "PAYER_NOT_FOUND", message: "Payer not found" } };
        await expect(client.requestToPay(order(crypto.randomUUID())))
          .rejects.toMatchObject({ kind: "declined", httpStatus: 400, reason: "PAYER_NOT_FOUND: Payer not found", provider: "momo" });
        standIn.requestToPayBehaviour = { status: 500, body: { code: "INTERNAL_PROCESSING_ERROR", message: "An internal error occurred" } };
        await expect(client.requestToPay(order(crypto.randomUUID()))).rejects.toMatchObject({ kind: "unavailable", httpStatus: 500 });
        standIn.requestToPayBehaviour = "hang";
        const hung = await client.requestToPay(order(crypto.randomUUID())).catch((e: unknown) => e);
        expect(hung).toMatchObject({ kind: "unavailable", httpStatus: null });
        expect((hung as Error).message).toMatch(/no answer within 500 ms/);
      } finally {
        standIn.requestToPayBehaviour = "accept";
      }
      const wrongKey = createMomoClient({ ...config, apiKey: "not-the-key" });
      await expect(wrongKey.requestToPay(order(crypto.randomUUID()))).rejects.toMatchObject({ kind: "unavailable", httpStatus: 401 });
    });
  });

  describe("transfer (Disbursements)", () => {
    const payout = (referenceId: string) => momoOrder(referenceId, "7000", "cash-out", "disbursement");

    it("uses the Disbursement token and key, MoMo's documented body, and takes a duplicate reference id as accepted", async () => {
      const client = createMomoClient(config);
      const ref = crypto.randomUUID();
      const before = standIn.requests.length;
      await client.transfer(payout(ref));
      await client.transfer(payout(ref));
      expect(standIn.requests.slice(before)).toEqual([
        "POST /disbursement/token/",
        "POST /disbursement/v1_0/transfer",
        "POST /disbursement/v1_0/transfer",
      ]);
      expect(standIn.transfers.get(ref)).toEqual(momoReceived(ref, "7000", "cash-out", "disbursement", "payee"));
      expect(await client.transferStatus(ref)).toMatchObject({ status: "PENDING", amount: "7000", payee: { partyId: "256772123456" } });
      expect(standIn.requests.at(-1)).toBe(`GET /disbursement/v1_0/transfer/${ref}`);
    });

    it("a 404 of the status look-up without MoMo's RESOURCE_NOT_FOUND is no unknown transfer: unavailable", async () => {
      const client = createMomoClient(config);
      const ref = crypto.randomUUID();
      standIn.records.set(ref, 404);
      const error = await client.transferStatus(ref).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MomoApiError);
      expect(error).not.toBeInstanceOf(MomoUnknownReferenceError);
      expect(error).toMatchObject({ kind: "unavailable", httpStatus: 404 });
      await expect(client.transferStatus(crypto.randomUUID())).rejects.toBeInstanceOf(MomoUnknownReferenceError);
    });

    it("a refused access token is unavailable whatever its status, never a decline nor an unknown transfer", async () => {
      const ref = crypto.randomUUID();
      try {
        for (const status of [400, 404]) {
          standIn.tokenBehaviour.disbursement = { status, body: { statusCode: status, message: "Resource not found" } };
          const client = createMomoClient(config);
          const lookUp = await client.transferStatus(ref).catch((e: unknown) => e);
          expect(lookUp).not.toBeInstanceOf(MomoUnknownReferenceError);
          expect(lookUp).toMatchObject({ kind: "unavailable", httpStatus: status });
          await expect(client.transfer(payout(ref))).rejects.toMatchObject({ kind: "unavailable", httpStatus: status });
        }
      } finally {
        standIn.tokenBehaviour.disbursement = "accept";
      }
      expect(standIn.transfers.has(ref)).toBe(false);
    });

    it("a 409 to the transfer is accepted even when its body never arrives (MoMo holds the reference)", async () => {
      const client = createMomoClient({ ...config, timeoutMs: 500 });
      const ref = crypto.randomUUID();
      await client.transfer(payout(ref));
      try {
        standIn.transferBehaviour = "answers-cut-off";
        await expect(client.transfer(payout(ref))).resolves.toBeUndefined();
        standIn.transferBehaviour = { status: 409, body: "<html>Conflict</html>" };
        await expect(client.transfer(payout(ref))).resolves.toBeUndefined();
      } finally {
        standIn.transferBehaviour = "accept";
      }
      expect([...standIn.transfers.keys()].filter((key) => key === ref)).toHaveLength(1);
    });

    it("keeps the two products' tokens apart", async () => {
      const client = createMomoClient(config);
      const ref = crypto.randomUUID();
      standIn.records.set(ref, amountFixture("SUCCESSFUL", "10", "UGX"));
      const before = standIn.requests.length;
      await client.requestToPayStatus(ref);
      await client.transferStatus(ref);
      await client.transferStatus(ref);
      expect(standIn.requests.slice(before).filter((r) => r.endsWith("/token/"))).toEqual([
        "POST /collection/token/",
        "POST /disbursement/token/",
      ]);
    });

    it("tells a refusal (declined) from an outage (unavailable), and needs its own subscription key", async () => {
      const client = createMomoClient({ ...config, timeoutMs: 500 });
      try {
        standIn.transferBehaviour = { status: 400, body: { code: "PAYEE_NOT_FOUND", message: "Payee not found" } };
        await expect(client.transfer(payout(crypto.randomUUID())))
          .rejects.toMatchObject({ kind: "declined", httpStatus: 400, reason: "PAYEE_NOT_FOUND: Payee not found" });
        standIn.transferBehaviour = { status: 500, body: { code: "INTERNAL_PROCESSING_ERROR", message: "An internal error occurred" } };
        await expect(client.transfer(payout(crypto.randomUUID()))).rejects.toMatchObject({ kind: "unavailable", httpStatus: 500 });
        standIn.transferBehaviour = "hang";
        await expect(client.transfer(payout(crypto.randomUUID()))).rejects.toMatchObject({ kind: "unavailable", httpStatus: null });
      } finally {
        standIn.transferBehaviour = "accept";
      }
      const collectionOnly = createMomoClient({ ...config, disbursementSubscriptionKey: undefined });
      await expect(collectionOnly.transfer(payout(crypto.randomUUID()))).rejects.toMatchObject({ kind: "unavailable", httpStatus: null });
      const collectionKey = createMomoClient({ ...config, disbursementSubscriptionKey: config.subscriptionKey });
      await expect(collectionKey.transfer(payout(crypto.randomUUID()))).rejects.toMatchObject({ kind: "unavailable", httpStatus: 401 });
    });
  });
});
