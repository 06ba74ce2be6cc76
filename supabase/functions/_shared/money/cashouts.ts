// The provider side of a cash-out, shared by the payments API, the WhatsApp conversation and
// momo-poll: MoMo Disbursements' transfer with X-Reference-Id = the cash-out's reference, sent
// as every MoMo transfer is (momo-transfers.ts: each send recorded on the cash-out before its
// POST, none once momo-poll has closed its sending).
import type { Logger } from "../logger.ts";
import { ProviderError, storableReason } from "../providers/errors.ts";
import { postMomoTransfer } from "./momo-transfers.ts";
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
  last_sent_at: Date | null;
  sending_closed_at: Date | null;
  created_at: Date;
  settled_at: Date | null;
}

export type CashOutSend = { outcome: "sent" | "declined"; cashOut: CashOut };

/**
 * MoMo's transfer of `cashOut`, unless it may no longer be sent (postMomoTransfer, the send
 * recorded by api_private.cashout_send_begin). The cash-out as it stands and whether its
 * transfer was posted. Throws ProviderError when MoMo refused the transfer (declined) or did not
 * answer (unavailable); what a refusal means is the caller's to say.
 */
export async function postCashOutTransfer(
  providers: Pick<ProviderClients, "momo" | "momoCallbackUrl">,
  asService: AsService,
  cashOut: CashOut,
): Promise<{ posted: boolean; cashOut: CashOut }> {
  const { posted, row } = await postMomoTransfer(
    providers,
    asService,
    (tx) => tx<CashOut[]>`select * from api_private.cashout_send_begin(${cashOut.reference_id}::uuid)`,
    (current) => ({
      referenceId: current.reference_id,
      amount: Number(current.amount),
      currency: current.currency,
      externalId: current.id,
      msisdn: current.msisdn,
      payerMessage: "mfuko wallet cash-out",
      payeeNote: `cash-out ${current.id}`,
      callback: "disbursement",
    }),
  );
  return { posted, cashOut: row };
}

/**
 * MoMo's transfer of a cash-out the user asked for (the payments API and the WhatsApp
 * conversation): sent, or settled failed (its hold voided) when MoMo refuses its first send. A
 * cash-out no longer pending, or whose sending momo-poll has closed, is returned as it is
 * ("declined" once failed). Throws ProviderError when MoMo is unavailable, and when MoMo refuses
 * a re-send (`cashOut` records an earlier send): MoMo may hold that earlier send and pay it, so
 * the cash-out stays pending with its hold until a retry, the callback or momo-poll learns
 * MoMo's answer (momo-poll fails it not_accepted if MoMo never took it).
 */
export async function sendCashOut(
  providers: Pick<ProviderClients, "momo" | "momoCallbackUrl">,
  asService: AsService,
  logger: Logger,
  cashOut: CashOut,
): Promise<CashOutSend> {
  let sent;
  try {
    sent = await postCashOutTransfer(providers, asService, cashOut);
  } catch (error) {
    // A refusal of a re-send says nothing of the earlier send (MoMo answers 409 only once it holds
    // the reference): releasing the hold then could pay the person twice.
    if (!(error instanceof ProviderError) || error.kind !== "declined" || cashOut.last_sent_at !== null) throw error;
    const reason = storableReason(error.reason ?? error.message);
    // MoMo refused the transfer this request asked for, so it will never pay it: release the hold.
    const [failed] = await asService((tx) =>
      tx<CashOut[]>`
      select * from public.cashout_settle(${cashOut.reference_id}::uuid, 'FAILED', ${reason})`
    );
    logger.warn("provider_declined", { provider: "momo", cashout_id: cashOut.id, http_status: error.httpStatus, reason });
    return { outcome: "declined", cashOut: failed! };
  }
  return { outcome: sent.cashOut.status === "failed" ? "declined" : "sent", cashOut: sent.cashOut };
}
