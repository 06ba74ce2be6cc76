// What every MoMo Disbursement transfer shares, a cash-out's (cashouts.ts) and a refund's
// (momo-refunds.ts): it is sent under a reference we chose, so a retry re-sends the same
// reference and MoMo answers 409 for one it already has (never paid twice), and every send is
// recorded on its row before its POST, none once momo-poll has closed the row's sending, so that
// momo-poll's verdict not_accepted never follows a send it missed (the sending rules of the
// cash-outs' migration: private.momo_transfer_sendable and the functions beside it).
import type { TransactionSql } from "../db.ts";
import { toMajorUnits } from "../providers/momo/amount.ts";
import type { MomoCallbackProduct } from "../providers/momo/callback-url.ts";
import type { AsService, ProviderClients } from "./topups.ts";

/** The columns of a transfer's row (public.cashouts, public.refunds) that say whether it may be sent. */
export interface TransferSending {
  status: string;
  last_sent_at: Date | null;
  sending_closed_at: Date | null;
}

/** What a transfer pays and to whom; `amount` in minor units. */
export interface MomoTransferOrder {
  referenceId: string;
  amount: number;
  currency: string;
  externalId: string;
  msisdn: string;
  payerMessage: string;
  payeeNote: string;
  /** The momo-webhook route of its callback: a cash-out's (disbursement) or a refund's. */
  callback: Extract<MomoCallbackProduct, "disbursement" | "refund">;
}

/**
 * MoMo's transfer of a row, unless it may no longer be sent: `begin` records the send first
 * (api_private.cashout_send_begin, api_private.momo_refund_send_begin, as the service), which
 * records none for a row settled meanwhile or whose sending momo-poll has closed, and returns
 * the row as it stands; `order` says what to send. The row and whether its transfer was posted.
 * Throws ProviderError when MoMo refused the transfer (declined) or did not answer
 * (unavailable); what a refusal means is the caller's to say.
 */
export async function postMomoTransfer<Row extends TransferSending>(
  providers: Pick<ProviderClients, "momo" | "momoCallbackUrl">,
  asService: AsService,
  begin: (tx: TransactionSql) => Promise<Row[]>,
  order: (row: Row) => MomoTransferOrder,
): Promise<{ posted: boolean; row: Row }> {
  const [row] = await asService(begin);
  // The send was recorded exactly when this holds (private.momo_transfer_sendable).
  if (row!.status !== "pending" || row!.sending_closed_at !== null) return { posted: false, row: row! };
  const { amount, callback, ...transfer } = order(row!);
  await providers.momo.transfer({
    ...transfer,
    amount: toMajorUnits(amount, transfer.currency),
    callbackUrl: await providers.momoCallbackUrl(transfer.referenceId, callback),
  });
  return { posted: true, row: row! };
}
