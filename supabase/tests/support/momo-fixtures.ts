// Fixtures for the tests of this function: what MoMo's GET requesttopay answers, and a MoMo
// stand-in for a whole test file.
import { afterAll, beforeAll } from "vitest";
import { type MomoStandIn, momoStandInOptionsFromEnv, startMomoStandIn } from "./provider-standins.ts";

/** What MoMo's GET requesttopay answers for one reference. */
export function amountFixture(
  status: "PENDING" | "SUCCESSFUL" | "FAILED",
  amount: string,
  currency: string,
  extra: Record<string, unknown> = {},
) {
  return {
    amount,
    currency,
    financialTransactionId: status === "SUCCESSFUL" ? String(Math.floor(Math.random() * 1e9)) : undefined,
    externalId: "order-1",
    payer: { partyIdType: "MSISDN", partyId: "256772123456" },
    payerMessage: "top up",
    payeeNote: "mfuko",
    status,
    ...extra,
  };
}

/**
 * A MoMo stand-in for the whole test file, with MOMO_API_BASE_URL pointing at it (the
 * functions read the variable per call). `current` is the stand-in once beforeAll has run.
 */
export function useMomoStandIn(): { readonly current: MomoStandIn } {
  let standIn: MomoStandIn | undefined;
  beforeAll(async () => {
    standIn = await startMomoStandIn(momoStandInOptionsFromEnv());
    process.env.MOMO_API_BASE_URL = standIn.url;
  });
  afterAll(() => standIn?.close());
  return {
    get current(): MomoStandIn {
      if (!standIn) throw new Error("the MoMo stand-in is only there once beforeAll has run");
      return standIn;
    },
  };
}
