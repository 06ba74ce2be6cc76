// The ledger's refusals (SQLSTATEs of docs/LEDGER.md) in words for the person who asked: what
// stopped the payment and, where it helps, the figure that did (the available balance, the
// limit). Never the SQLSTATE or the database's message itself.
import type { TransactionSql } from "../../_shared/db.ts";
import { sqlstateOf } from "../../_shared/sql-errors.ts";
import { formatMoney } from "./amounts.ts";

/** What a person whose own account is frozen or closed can do. */
export const ASK_SUPPORT = "Please contact mfuko support.";

/** How to add money, for a person told that there is not enough (and for "topup" written without an amount). */
export const TOP_UP_HOW = "To top up with MoMo, write: topup <amount>, e.g. topup 5000.";

const LIMIT_OF_AMOUNT = /^(single payment|daily) limit of (\d+) ([A-Z]{3}) would be exceeded$/;
const LIMIT_OF_COUNT = /^hourly limit of (\d+) payments would be exceeded$/;
const NO_LIMITS = /^no limits are set for the [a-z]+ tier in ([A-Z]{3})$/;

/** The limit a WL009 message names, in words, or null for a message of another shape. */
export function limitInWords(message: string): string | null {
  const amount = LIMIT_OF_AMOUNT.exec(message);
  if (amount) {
    const which = amount[1] === "daily" ? "daily limit" : "limit for a single payment";
    return `That is over your ${which} of ${formatMoney(BigInt(amount[2]!), amount[3]!)}.`;
  }
  const count = LIMIT_OF_COUNT.exec(message);
  if (count) return `You have reached your limit of ${count[1]} payments an hour. Try again later.`;
  const none = NO_LIMITS.exec(message);
  if (none) return `Payments in ${none[1]} are not open for your account yet.`;
  return null;
}

/**
 * The words for a refusal of a payment out of `fromAccount`, or null when `error` is not one
 * of the ledger's refusals (then it is a fault, not an answer).
 */
export async function refusalInWords(tx: TransactionSql, error: unknown, fromAccount: string | null): Promise<string | null> {
  switch (sqlstateOf(error)) {
    case "WL001": {
      const [account] = fromAccount === null ? [] : await tx<{ available: string; currency: string }[]>`
        select available::text, currency from public.wallet_account_balances where account_id = ${fromAccount}::uuid`;
      return account
        ? `Not enough money: you have ${
          formatMoney(BigInt(account.available), account.currency)
        } available. Nothing was sent. ${TOP_UP_HOW}`
        : `Not enough money in your wallet. Nothing was sent. ${TOP_UP_HOW}`;
    }
    case "WL009":
      return `${limitInWords((error as Error).message) ?? "That is over one of your limits."} Nothing was sent.`;
    case "WL004": {
      // The payer's own account (another's is WL007 to a user): what it is and who can help, as
      // a question asked of a frozen account is answered, not a dead end.
      const [account] = fromAccount === null ? [] : await tx<{ status: string; currency: string }[]>`
        select status, currency from public.wallet_accounts where id = ${fromAccount}::uuid`;
      const what = account ? `Your ${account.currency} wallet is ${account.status}` : "Your wallet account is not active";
      return `${what}, so it cannot pay. Nothing was sent. ${ASK_SUPPORT}`;
    }
    case "WL007":
      return "That number cannot receive this payment. Nothing was sent.";
    case "WL006":
      // The conversation refuses zero itself: the ledger's WL006 is an amount over its largest.
      return "That amount is more than mfuko moves in one payment. Nothing was sent.";
  }
  return null;
}
