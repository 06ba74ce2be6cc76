// POST /payments/topups and GET /payments/topups/:id (docs/PAYMENTS.md, docs/APP_GUIDE.md).
// A top-up: claim the Idempotency-Key, payment_intent_create as the user (committed before the
// provider is called, so that a retry finds the same intent), the provider call idempotent on
// that intent, payment_intent_attach as the service, then the answer, stored for replays. A
// provider's refusal fails the intent and is answered (and stored) as 422; a provider that is
// unavailable leaves the intent payable, releases the key and answers 502, so that the same key
// retried later finishes the job: with no provider call once the intent ended meanwhile, 201 for
// one paid (the job is done), 422 for one failed, 409 for one canceled.
import { z } from "zod";
import { accountIdField, amountField, currencyField, msisdnField } from "./fields.ts";
import { HttpError } from "../_shared/errors.ts";
import type { StoredResponse } from "../_shared/idempotency.ts";
import { allowMethods } from "../_shared/middleware.ts";
import type { PaymentsApp, PaymentsContext, PaymentsRoutes } from "./types.ts";
import { type Intent, IntentNotPayableError, type NextAction, startTopUp, type TopUpStart } from "../_shared/money/topups.ts";
import { errorBody, registerProviderRequest } from "./provider-request.ts";
import { stripeCountsInMinorUnits } from "../_shared/providers/stripe/currencies.ts";

export const topUpSchema = z.strictObject({
  provider: z.enum(["stripe", "momo", "revolut"]),
  account_id: accountIdField,
  amount: amountField,
  currency: currencyField,
  msisdn: msisdnField.optional(),
  idempotency_key: z.string().optional(),
}).refine((body) => body.provider !== "momo" || body.msisdn !== undefined, {
  path: ["msisdn"],
  message: "is required for momo (the payer's number)",
}).refine((body) => body.provider !== "stripe" || stripeCountsInMinorUnits(body.currency), {
  path: ["currency"],
  message: "is not taken by stripe (Stripe counts it in other units than the ledger's minor units)",
});
type TopUpInput = z.output<typeof topUpSchema>;

function intentView(intent: Intent) {
  return { id: intent.id, status: intent.status, provider: intent.provider, amount: Number(intent.amount), currency: intent.currency };
}

/** A top-up as GET /payments/topups/:id reads it: the intent's columns and its payment's, prefixed payment_. */
interface TopUpRead extends Intent {
  created_at: Date;
  updated_at: Date;
  payment_id: string | null;
  provider_payment_id: string | null;
  payment_status: string | null;
  payment_amount: string | null;
  payment_currency: string | null;
  payment_amount_refunded: string | null;
  payment_created_at: Date | null;
  next_action: NextAction | null;
}

/**
 * What the user sees of a top-up (docs/PAYMENTS.md, "GET /payments/topups/:id"): neither the
 * idempotency key nor the payment's provider payload, fee or review notes, which are ours; and,
 * while it takes a payment, the next step its POST answered, to resume the checkout.
 */
function topUpRead(row: TopUpRead) {
  return {
    intent: {
      ...intentView(row),
      account_id: row.account_id,
      provider_ref: row.provider_ref,
      failure_reason: row.failure_reason,
      created_at: row.created_at,
      updated_at: row.updated_at,
    },
    payment: row.payment_id === null ? null : {
      id: row.payment_id,
      provider_payment_id: row.provider_payment_id,
      status: row.payment_status,
      amount: Number(row.payment_amount),
      currency: row.payment_currency,
      amount_refunded: Number(row.payment_amount_refunded),
      created_at: row.payment_created_at,
    },
    next_action: row.next_action,
  };
}

function declined(intent: Intent, reason: string | null): HttpError {
  return new HttpError(422, "provider_declined", `The provider declined the top-up${reason ? `: ${reason}` : "."}`, {
    provider: intent.provider,
    reason,
    intent: intentView(intent),
  });
}

function notPayable(error: IntentNotPayableError): HttpError {
  return new HttpError(409, "intent_not_payable", `${error.message} Start a new top-up with a new Idempotency-Key.`, {
    intent: intentView(error.intent),
  });
}

export function registerTopUpRoutes(app: PaymentsApp, routes: PaymentsRoutes): void {
  /** The provider call and what follows it; the answer to store, or a throw for a 502/500. */
  async function topUp(c: PaymentsContext, intent: Intent, input: TopUpInput): Promise<StoredResponse> {
    const correlationId = c.get("correlationId");
    let started: TopUpStart;
    try {
      started = await startTopUp(routes.providers(), (fn) => routes.asService(c, fn), routes.logger, intent, { msisdn: input.msisdn });
    } catch (error) {
      if (!(error instanceof IntentNotPayableError)) throw error;
      // Resumed after the intent ended: paid meanwhile (a MoMo request-to-pay whose answer was
      // lost, approved by the payer), the retry's job is done: the top-up as it stands, nothing
      // left to do. A failure recorded before its answer was stored is the provider's refusal;
      // an intent canceled meanwhile takes nothing more.
      const ended = error.intent;
      if (ended.status === "succeeded") return { status: 201, body: { intent: intentView(ended), next_action: null } };
      return errorBody(ended.status === "failed" ? declined(ended, ended.failure_reason) : notPayable(error), correlationId);
    }
    if (started.outcome === "declined") return errorBody(declined(started.intent, started.reason), correlationId);
    return { status: 201, body: { intent: intentView(started.intent), next_action: started.nextAction } };
  }

  registerProviderRequest<TopUpInput, Intent>(app, routes, "/topups", {
    schema: topUpSchema,
    start: (tx, input, key) =>
      tx<Intent[]>`
      select * from public.payment_intent_create(${input.provider}, ${input.account_id}::uuid, ${input.amount}::bigint,
                                          ${input.currency}, ${key})`,
    finish: topUp,
    unavailable: (intent) => ({ details: { intent: intentView(intent) }, log: { intent_id: intent.id } }),
  });

  app.get("/topups/:id", async (c) => {
    const id = z.uuid().safeParse(c.req.param("id"));
    const found = !id.success ? [] : await routes.asCaller(c, (tx) =>
      tx<TopUpRead[]>`
      select i.id, i.status, i.provider, i.provider_ref, i.account_id, i.amount, i.currency, i.failure_reason, i.created_at,
             i.updated_at, p.id as payment_id, p.provider_payment_id, p.status as payment_status, p.amount as payment_amount,
             p.currency as payment_currency, p.amount_refunded as payment_amount_refunded, p.created_at as payment_created_at,
             api_private.topup_next_action(i.id) as next_action
        from public.payment_intents i
        left join lateral (select p.id, p.provider_payment_id, p.status, p.amount, p.currency, p.amount_refunded, p.created_at
                             from public.payments p where p.intent_id = i.id order by p.created_at limit 1) p on true
       where i.id = ${id.data}::uuid and i.user_id = (select auth.uid())`);
    // The caller's own only: RLS lets staff read every intent, but this is a user's API (staff
    // read other people's through the admin API), and it answers with the intent's next action.
    if (found.length === 0) throw new HttpError(404, "not_found", "No such top-up.");
    return c.json(topUpRead(found[0]!));
  });
  app.all("/topups/:id", allowMethods("GET"));
}
