// POST /payments/cashouts and GET /payments/cashouts/:id (docs/PAYMENTS.md, "Cash-outs").
// A cash-out: claim the Idempotency-Key, cashout_create as the user (holds the funds and
// records the cash-out; committed before MoMo is called, so that a retry finds the same
// cash-out and its reference), then MoMo Disbursements' transfer with X-Reference-Id = the
// cash-out's reference: a retry re-sends the same reference and MoMo answers 409 for one it
// already has, so a cash-out is never paid twice. A refusal (4xx) of its first send settles the
// cash-out failed, which voids the hold, and answers 422; a refusal of a re-send (MoMo may hold
// the earlier one) and a MoMo that is down leave it pending with its hold
// (502) until a retry, the callback or the momo-poll job learns MoMo's answer. Only a status
// confirmed with MoMo's API captures the hold (momo-webhook, momo-poll).
import { z } from "zod";
import { accountIdField, amountField, currencyField, msisdnField } from "./fields.ts";
import { HttpError } from "../_shared/errors.ts";
import type { StoredResponse } from "../_shared/idempotency.ts";
import { allowMethods } from "../_shared/middleware.ts";
import { type CashOut, sendCashOut } from "../_shared/money/cashouts.ts";
import type { PaymentsApp, PaymentsContext, PaymentsRoutes } from "./types.ts";
import { errorBody, registerProviderRequest } from "./provider-request.ts";

export const cashOutSchema = z.strictObject({
  account_id: accountIdField,
  amount: amountField,
  currency: currencyField,
  msisdn: msisdnField,
  idempotency_key: z.string().optional(),
});
type CashOutInput = z.output<typeof cashOutSchema>;

/** What the user sees of a cash-out (not the hold or MoMo's reference). */
function cashOutView(cashOut: CashOut) {
  return {
    id: cashOut.id,
    account_id: cashOut.account_id,
    status: cashOut.status,
    amount: Number(cashOut.amount),
    currency: cashOut.currency,
    msisdn: cashOut.msisdn,
    reason: cashOut.reason,
    created_at: cashOut.created_at,
    settled_at: cashOut.settled_at,
  };
}

function declined(cashOut: CashOut): HttpError {
  return new HttpError(422, "provider_declined", `MoMo declined the cash-out${cashOut.reason ? `: ${cashOut.reason}` : "."}`, {
    provider: "momo",
    reason: cashOut.reason,
    cashout: cashOutView(cashOut),
  });
}

export function registerCashOutRoutes(app: PaymentsApp, routes: PaymentsRoutes): void {
  /** MoMo's transfer and what follows it; the answer to store, or a throw for a 502/500. */
  async function cashOut(c: PaymentsContext, cashOut: CashOut): Promise<StoredResponse> {
    const sent = await sendCashOut(routes.providers(), (fn) => routes.asService(c, fn), routes.logger, cashOut);
    if (sent.outcome === "declined") return errorBody(declined(sent.cashOut), c.get("correlationId"));
    return { status: 201, body: { cashout: cashOutView(sent.cashOut) } };
  }

  registerProviderRequest<CashOutInput, CashOut>(app, routes, "/cashouts", {
    schema: cashOutSchema,
    start: (tx, input, key) =>
      tx<CashOut[]>`
      select * from api_private.cashout_create(${input.account_id}::uuid, ${input.amount}::bigint, ${input.currency},
                                         ${input.msisdn}, ${key})`,
    finish: (c, created) => cashOut(c, created),
    unavailable: (created) => ({ details: { cashout: cashOutView(created) }, log: { cashout_id: created.id } }),
  });

  app.get("/cashouts/:id", async (c) => {
    const id = z.uuid().safeParse(c.req.param("id"));
    const found = !id.success ? [] : await routes.asCaller(c, (tx) =>
      tx<CashOut[]>`
      select * from public.cashouts where id = ${id.data}::uuid and user_id = (select auth.uid())`);
    // The caller's own only, as GET /topups/:id: staff read other people's through the admin API.
    if (found.length === 0) throw new HttpError(404, "not_found", "No such cash-out.");
    return c.json({ cashout: cashOutView(found[0]!) });
  });
  app.all("/cashouts/:id", allowMethods("GET"));
}
