// The provider side of a cash-out, shared by the payments API and the WhatsApp conversation:
// MoMo Disbursements' transfer with X-Reference-Id = the cash-out's reference, so a retry
// re-sends the same reference and MoMo answers 409 for one it already has (never paid twice).
import type { Logger } from "../logger.ts";
import { ProviderError } from "../providers/errors.ts";
import { toMajorUnits } from "../providers/momo/amount.ts";
import type { AsService, ProviderClients } from "./topups.ts";

/** A public.cashouts row as the function reads it. */
export interface CashOut {
  id: string;
  reference_id: string;
  account_id: string;
  msisdn: string;
  amount: string | number;
  currency: string;
  status: "pending" | "paid" | "failed";
  reason: string | null;
  created_at: Date;
  settled_at: Date | null;
}

export type CashOutSend = { outcome: "sent" | "declined"; cashOut: CashOut };

/**
 * MoMo's transfer of a pending cash-out (the payments API and the WhatsApp conversation): sent,
 * or settled failed (its hold voided) when MoMo refuses it. A cash-out no longer pending is
 * returned as it is. Throws ProviderError when MoMo is unavailable (the cash-out stays pending
 * with its hold until a retry, the callback or momo-poll learns MoMo's answer).
 */
export async function sendCashOut(
  providers: Pick<ProviderClients, "momo" | "momoCallbackUrl">,
  asService: AsService,
  logger: Logger,
  cashOut: CashOut,
): Promise<CashOutSend> {
  if (cashOut.status !== "pending") return { outcome: cashOut.status === "failed" ? "declined" : "sent", cashOut };
  try {
    await providers.momo.transfer({
      referenceId: cashOut.reference_id,
      amount: toMajorUnits(Number(cashOut.amount), cashOut.currency),
      currency: cashOut.currency,
      externalId: cashOut.id,
      msisdn: cashOut.msisdn,
      payerMessage: "mfuko wallet cash-out",
      payeeNote: `cash-out ${cashOut.id}`,
      callbackUrl: await providers.momoCallbackUrl(cashOut.reference_id, "disbursement"),
    });
  } catch (error) {
    if (!(error instanceof ProviderError) || error.kind !== "declined") throw error;
    const reason = error.reason ?? error.message;
    // MoMo refused the transfer, so it will never pay it: release the hold.
    const [failed] = await asService((tx) =>
      tx<CashOut[]>`
      select * from public.cashout_settle(${cashOut.reference_id}::uuid, 'FAILED', ${reason.slice(0, 500)})`
    );
    logger.warn("provider_declined", { provider: "momo", cashout_id: cashOut.id, http_status: error.httpStatus, reason });
    return { outcome: "declined", cashOut: failed! };
  }
  return { outcome: "sent", cashOut };
}
