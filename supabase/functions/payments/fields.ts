// The fields the payments API's requests share (top-ups, cash-outs, payee look-ups), each with
// the message a client sees in validation_failed's details.fields (docs/PAYMENTS.md).
import { z } from "zod";
import { MSISDN } from "../_shared/providers/momo/msisdn.ts";

export const accountIdField = z.uuid({ error: "must be a UUID" });

/** Minor units of the currency, as the ledger counts them. */
export const amountField = z.int({ error: "must be a whole number of minor units" }).positive("must be positive")
  .max(Number.MAX_SAFE_INTEGER);

export const currencyField = z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as UGX");

/** A MoMo payer or payee, or a payee's phone: the digits Supabase Auth and MoMo store (no '+'). */
export const msisdnField = z.string().regex(MSISDN, "must be E.164 digits with the country code, no +");
