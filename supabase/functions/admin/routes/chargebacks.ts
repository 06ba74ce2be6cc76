// POST /admin/payments/:id/chargeback: an admin records a chargeback of a Revolut payment that
// mfuko lost. Revolut documents no body for its DISPUTE_* webhooks, so no event applies them
// (docs/WEBHOOKS.md, "Revolut's disputes"); its Retrieve a dispute (GET /api/disputes/{id})
// answers the dispute's state but no payment or amount. So the admin names the payment, the
// dispute and the amount Revolut took back, and the dispute is read from Revolut before anything
// is recorded: only one Revolut answers `lost` is (decision 0028). It is then recorded as
// Stripe's lost disputes are, a refund keyed by the dispute id through the refund machinery
// (api_private.revolut_chargeback_record): the credit reversed once, forced when the money was
// spent, borne by the losses account when the account was closed since.
//
// Idempotent twice over: the Idempotency-Key replays the answer, and the dispute id keys the
// refund, so the same dispute posted again (another key, another admin) returns the same refund
// and moves nothing. Revolut is asked outside any transaction (runIdempotentAcross). Stored for
// replays are the recorded chargeback (201) and the SQL's refusals, as for every change; what
// Revolut answered short of a lost dispute (not lost yet, unknown, no answer) is not: it
// releases the key, so that the same key asks again once the dispute has ended.
import { z } from "zod";
import { errorResponse, HttpError } from "../../_shared/errors.ts";
import { allowMethods } from "../../_shared/middleware.ts";
import { ProviderError } from "../../_shared/providers/errors.ts";
import { type RevolutDispute, RevolutUnknownDisputeError } from "../../_shared/providers/revolut/client.ts";
import { providerUnavailable } from "../../_shared/providers/unavailable.ts";
import { amount, idempotencyKeyField, idempotentProviderMutation, reason } from "../mutation.ts";
import { pathId } from "../params.ts";
import type { TransactionSql } from "../../_shared/db.ts";
import type { AdminApp, AdminRoutes, Row } from "../types.ts";

const chargebackBody = z.strictObject({
  /** Revolut's id of the dispute (a UUID in Revolut's answers); it keys the refund (refunds.provider_refund_id). */
  dispute_id: z.string({ error: "is required" }).min(1, "is required").max(255, "must be at most 255 characters")
    .regex(/^[A-Za-z0-9_-]+$/, "must be Revolut's id of the dispute"),
  amount,
  reason,
  idempotency_key: idempotencyKeyField,
});

/** A payment the admin API records a chargeback of: a Revolut one (404 unknown, 409 another provider's). */
async function requireRevolutPayment(tx: TransactionSql, paymentId: string): Promise<void> {
  const [payment] = await tx<{ provider: string }[]>`select provider from public.payments where id = ${paymentId}::uuid`;
  if (!payment) throw new HttpError(404, "not_found", `payment ${paymentId} not found`);
  if (payment.provider !== "revolut") {
    throw new HttpError(
      409,
      "invalid_state",
      `payment ${paymentId} is a ${payment.provider} payment: only Revolut chargebacks are recorded here ` +
        "(Stripe's disputes are applied by its webhook and stripe-poll; MoMo has none)",
      { provider: payment.provider },
    );
  }
}

/**
 * The dispute as Revolut has it, when Revolut says it was lost. 409 dispute_not_lost for any
 * other state, 422 dispute_not_found for a dispute Revolut does not know (provider_declined for
 * another refusal), 502 when Revolut did not answer.
 */
async function lostDispute(routes: AdminRoutes, paymentId: string, disputeId: string): Promise<RevolutDispute> {
  let dispute: RevolutDispute;
  try {
    dispute = await routes.providers().revolut().dispute(disputeId);
  } catch (error) {
    if (error instanceof RevolutUnknownDisputeError) {
      throw new HttpError(422, "dispute_not_found", `Revolut knows no dispute ${disputeId}.`, { dispute_id: disputeId });
    }
    if (!(error instanceof ProviderError)) throw error;
    if (error.kind === "declined") {
      throw new HttpError(422, "provider_declined", `Revolut refused the look-up of dispute ${disputeId}.`, {
        provider: error.provider,
        reason: error.reason,
      });
    }
    throw providerUnavailable(routes.logger, error, { payment_id: paymentId, dispute_id: disputeId });
  }
  if (dispute.state !== "lost") {
    throw new HttpError(
      409,
      "dispute_not_lost",
      `Revolut says dispute ${disputeId} is ${dispute.state}: only a lost dispute is recorded as a chargeback.`,
      { dispute_id: disputeId, state: dispute.state, substate: dispute.substate ?? null },
    );
  }
  return dispute;
}

export function registerChargebackRoutes(app: AdminApp, routes: AdminRoutes): void {
  app.post("/payments/:id/chargeback", (c) => {
    const paymentId = pathId(c);
    return idempotentProviderMutation(c, routes, chargebackBody, {
      start: (tx) => requireRevolutPayment(tx, paymentId),
      finish: async (_none, input) => {
        const dispute = await lostDispute(routes, paymentId, input.dispute_id);
        let refund: Row;
        try {
          [{ refund }] = await routes.asCaller(c, (tx) =>
            tx<[{ refund: Row }]>`
              select to_jsonb(r) as refund
                from api_private.revolut_chargeback_record(${paymentId}::uuid, ${input.dispute_id}, ${input.amount}, ${input.reason}) r`);
        } catch (error) {
          // The SQL's refusal (asCaller maps its SQLSTATE), stored as every change's is.
          if (!(error instanceof HttpError) || error.status >= 500) throw error;
          return { status: error.status, body: await errorResponse(error, c.get("correlationId")).json() };
        }
        const answered = { id: input.dispute_id, state: dispute.state, substate: dispute.substate ?? null };
        return { status: 201, body: { refund, dispute: answered } };
      },
    });
  });
  app.all("/payments/:id/chargeback", allowMethods("POST"));
}
