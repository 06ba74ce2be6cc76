// The admin's decisions on payments, each one idempotent (mutation.ts) and carried out as the
// admin, so the SQL checks and the audit trail see who it was:
// POST /admin/payments/:id/refund   gives money back through the payment's provider; the ledger
//                                   moves only on the provider's confirmation (refund_record)
// POST /admin/payments/:id/resolve  closes a needs_review payment: credit once, or reject
//
// A refund locks the payment (api_private.refund_prepare) for the whole call, so two concurrent
// refunds are decided one after the other and never add up to more than the payment, then
// asks the provider with the refund request id as its idempotency key: a retry of a request
// the provider did not answer (502) reaches the same provider refund, never a second one.
import { z } from "zod";
import { errorResponse, HttpError } from "../../_shared/errors.ts";
import { sha256Hex } from "../../_shared/idempotency.ts";
import { allowMethods } from "../../_shared/middleware.ts";
import { ProviderError } from "../../_shared/providers/errors.ts";
import { providerUnavailable } from "../../_shared/providers/unavailable.ts";
import type { AdminApp, AdminContext, AdminRoutes } from "../types.ts";
import { amount, idempotencyKeyField, idempotentMutation, reason } from "../mutation.ts";
import { pathId } from "../params.ts";
import { type ProviderRefund, RefundNotSupported, requestProviderRefund } from "../refund-providers.ts";

type Row = Record<string, unknown>;

const refundBody = z.strictObject({ amount, reason, idempotency_key: idempotencyKeyField });

const resolveBody = z.strictObject({
  action: z.enum(["credit", "reject"], { error: "must be credit or reject" }),
  reason,
  idempotency_key: idempotencyKeyField,
});

interface RefundTargetRow {
  provider: string;
  provider_payment_id: string;
  currency: string;
}

/** The admin's refund request id: one per (admin, Idempotency-Key), the provider's idempotency key. */
async function refundRequestId(c: AdminContext, key: string): Promise<string> {
  return `rr_${(await sha256Hex(`${c.get("caller").userId}:${key}`)).slice(0, 40)}`;
}

function declined(provider: string, reason: string | null): HttpError {
  return new HttpError(422, "provider_declined", `The provider declined the refund${reason ? `: ${reason}` : "."}`, { provider, reason });
}

export function registerPaymentActionRoutes(app: AdminApp, routes: AdminRoutes): void {
  app.post("/payments/:id/refund", (c) => {
    const id = pathId(c);
    return idempotentMutation(c, routes, refundBody, async (tx, input, key) => {
      const [target] = await tx<RefundTargetRow[]>`
        select provider, provider_payment_id, currency from api_private.refund_prepare(${id}::uuid, ${input.amount}::bigint)`;
      const requestId = await refundRequestId(c, key);
      let refund: ProviderRefund;
      try {
        refund = await requestProviderRefund(
          routes.providers(),
          {
            paymentId: id,
            provider: target!.provider,
            providerPaymentId: target!.provider_payment_id,
          },
          input.amount,
          requestId,
          input.reason,
        );
      } catch (error) {
        if (error instanceof RefundNotSupported) throw new HttpError(422, "not_supported", error.message, { provider: error.provider });
        if (!(error instanceof ProviderError)) throw error;
        if (error.kind === "declined") {
          routes.logger.warn("provider_declined", {
            provider: error.provider,
            payment_id: id,
            http_status: error.httpStatus,
            reason: error.reason,
          });
          return { status: 422, body: await errorResponse(declined(error.provider, error.reason), c.get("correlationId")).json() };
        }
        throw providerUnavailable(routes.logger, error, { payment_id: id });
      }
      if (refund.outcome === "declined") {
        return {
          status: 422,
          body: await errorResponse(declined(target!.provider, `refund ${refund.providerStatus}`), c.get("correlationId")).json(),
        };
      }
      const [row] = refund.outcome === "succeeded"
        ? await tx<{ refund: Row }[]>`
            select to_jsonb(r) as refund from public.refund_record(${id}::uuid, ${input.amount}::bigint, ${refund.id}, ${input.reason}) r`
        : await tx<{ refund: Row }[]>`
            select to_jsonb(r) as refund
              from api_private.refund_record_pending(${id}::uuid, ${input.amount}::bigint, ${refund.id}, ${input.reason}) r`;
      return {
        status: 201,
        body: { refund: row!.refund, provider: { refund_id: refund.id, status: refund.providerStatus, request_id: requestId } },
      };
    });
  });
  app.all("/payments/:id/refund", allowMethods("POST"));

  app.post("/payments/:id/resolve", (c) => {
    const id = pathId(c);
    return idempotentMutation(c, routes, resolveBody, async (tx, input) => {
      const [row] = await tx<{ payment: Row }[]>`
        select to_jsonb(p) - 'raw' as payment from api_private.payment_resolve(${id}::uuid, ${input.action}, ${input.reason}) p`;
      return { status: 200, body: { payment: row!.payment } };
    });
  });
  app.all("/payments/:id/resolve", allowMethods("POST"));
}
