// What MoMo's GET requesttopay answers, for the tests of this function.
export function amountFixture(status: "PENDING" | "SUCCESSFUL" | "FAILED", amount: string, currency: string, extra: Record<string, unknown> = {}) {
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
