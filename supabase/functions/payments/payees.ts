// GET /payments/payees (docs/APP_GUIDE.md, "Pay another person"): the account an app pays
// when its user pays a phone number, through api_private.wallet_find_payee as the caller.
// RLS shows a user only its own accounts, so this is how wallet_transfer's p_to is found; the
// function's per-user rate limit bounds how many numbers one user can try.
import { z } from "zod";
import { currencyField, msisdnField } from "./fields.ts";
import { parseOrThrow } from "../_shared/errors.ts";
import { allowMethods } from "../_shared/middleware.ts";
import type { PaymentsApp, PaymentsRoutes } from "./types.ts";

export const payeeQuerySchema = z.strictObject({
  msisdn: msisdnField,
  currency: currencyField,
});

export function registerPayeeRoutes(app: PaymentsApp, routes: PaymentsRoutes): void {
  app.get("/payees", async (c) => {
    const query = parseOrThrow(payeeQuerySchema, c.req.query());
    const [found] = await routes.asCaller(c, (tx) =>
      tx<{ account_id: string }[]>`
      select api_private.wallet_find_payee(${query.msisdn}, ${query.currency}) as account_id`);
    return c.json({ payee: { account_id: found!.account_id, currency: query.currency, msisdn: query.msisdn } });
  });
  app.all("/payees", allowMethods("GET"));
}
