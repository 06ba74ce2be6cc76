// The admin's decisions on payments, each one idempotent (mutation.ts) and carried out as the
// admin, so the SQL checks and the audit trail see who it was:
// POST /admin/payments/:id/refund   gives money back through the payment's provider; the ledger
//                                   moves only on the provider's confirmation (refund_record)
// POST /admin/payments/:id/resolve  closes a needs_review payment: credit once, or reject
// POST /admin/refunds/:id/retry     asks Revolut or Stripe again for a refund it never named,
//                                   as the retry of the admin who asked for it would; any
//                                   admin may, so that a refund past the polls' first day does
//                                   not wait for the one admin who holds its Idempotency-Key
// POST /admin/refunds/:id/resolve   settles a MoMo refund no job can (MoMo confirmed another
//                                   sum, or never stops answering PENDING) as MoMo says it ended
// POST /admin/cashouts/:id/resolve  the same for a cash-out
// POST /admin/refunds/:id/paid-out  records that the admin paid a former customer another way
//                                   what mfuko owed them on a refund that failed after their
//                                   account closed (decision 0027)
//
// Every refund reserves its amount as a pending refund committed before the provider is asked
// (momo-refund.ts, _shared/money/provider-refunds.ts), so two concurrent refunds never add up to
// more than the payment and no lock is held while the provider answers. Each asks the provider
// with the refund request id as its idempotency key (MoMo: a transfer reference derived from
// it; Revolut: also the refund order's reference; Stripe: also the refund's metadata): a retry
// of a request the provider did not answer (502) reaches the same provider refund, never a
// second one.
import { z } from "zod";
import { errorResponse, HttpError } from "../../_shared/errors.ts";
import { sha256Hex, type StoredResponse } from "../../_shared/idempotency.ts";
import { allowMethods } from "../../_shared/middleware.ts";
import { ProviderError, providerLabel } from "../../_shared/providers/errors.ts";
import { providerUnavailable } from "../../_shared/providers/unavailable.ts";
import type { AdminApp, AdminContext, AdminRoutes, Row } from "../types.ts";
import { amount, idempotencyKeyField, idempotentMutation, idempotentProviderMutation, reason } from "../mutation.ts";
import { pathId } from "../params.ts";
import { recordMomoRefund, sendRecordedMomoRefund } from "../momo-refund.ts";
import { askRevolutForRefund } from "../../_shared/money/revolut-refunds.ts";
import { askStripeForRefund } from "../../_shared/money/stripe-refunds.ts";
import { type RecordedRefund, recordRefundRequest, type RefundProvider } from "../../_shared/money/provider-refunds.ts";
import type { Refund } from "../../_shared/money/momo-refunds.ts";
import type { InTransaction } from "../../_shared/idempotent-run.ts";
import type { TransactionSql } from "../../_shared/db.ts";
import { REFUND_REQUEST_PREFIX } from "../../_shared/providers/refund-request.ts";

const refundBody = z.strictObject({ amount, reason, idempotency_key: idempotencyKeyField });

const retryBody = z.strictObject({ idempotency_key: idempotencyKeyField });

/** The body of an admin's settlement of a MoMo transfer: how MoMo says it ended, and why the admin says so. */
const transferResolveBody = <Outcome extends string>(outcomes: readonly [Outcome, Outcome]) =>
  z.strictObject({
    outcome: z.enum(outcomes, { error: `must be ${outcomes.join(" or ")}` }),
    reason,
    idempotency_key: idempotencyKeyField,
  });
const refundResolveBody = transferResolveBody(["succeeded", "failed"]);
const cashOutResolveBody = transferResolveBody(["paid", "failed"]);

/**
 * What an admin paid a former customer outside the providers (exactly what is still owed), how,
 * and the payout's own reference (a bank's, a receipt's).
 */
const paidOutBody = z.strictObject({
  amount,
  method: z.enum(["bank_transfer", "mobile_money", "cash", "other"], {
    error: "must be bank_transfer, mobile_money, cash or other",
  }),
  reference: z.string({ error: "is required" }).trim().min(1, "is required").max(255, "must be at most 255 characters"),
  reason,
  idempotency_key: idempotencyKeyField,
});

const resolveBody = z.strictObject({
  action: z.enum(["credit", "reject"], { error: "must be credit or reject" }),
  reason,
  idempotency_key: idempotencyKeyField,
});

/** The admin's refund request id: one per (admin, Idempotency-Key), the provider's idempotency key. */
async function refundRequestId(c: AdminContext, key: string): Promise<string> {
  return `${REFUND_REQUEST_PREFIX}${(await sha256Hex(`${c.get("caller").userId}:${key}`)).slice(0, 40)}`;
}

function declined(provider: string, reason: string | null): HttpError {
  return new HttpError(422, "provider_declined", `The provider declined the refund${reason ? `: ${reason}` : "."}`, { provider, reason });
}

/** The answer to a provider that refused the refund (422) or did not answer (502, not stored). */
function providerFailure(c: AdminContext, routes: AdminRoutes, paymentId: string, error: ProviderError): Promise<StoredResponse> {
  if (error.kind === "declined") {
    routes.logger.warn("provider_declined", {
      provider: error.provider,
      payment_id: paymentId,
      http_status: error.httpStatus,
      reason: error.reason,
    });
    return errorBody(c, declined(error.provider, error.reason));
  }
  return errorBody(c, providerUnavailable(routes.logger, error, { payment_id: paymentId }));
}

async function errorBody(c: AdminContext, error: HttpError): Promise<StoredResponse> {
  return { status: error.status, body: await errorResponse(error, c.get("correlationId")).json() };
}

/**
 * The provider refused a later try of a refund request whose refund stays pending (an
 * earlier try may have reached the provider, which may still pay it): 502, not stored, so that
 * the answer never calls the refund declined and the same key asks again (docs/PAYMENTS.md).
 */
function refusedRetry(routes: AdminRoutes, paymentId: string, error: ProviderError): HttpError {
  routes.logger.warn("provider_declined_retry", {
    provider: error.provider,
    payment_id: paymentId,
    http_status: error.httpStatus,
    reason: error.reason,
  });
  return new HttpError(
    502,
    "provider_unavailable",
    `${providerLabel[error.provider]} refused this try, but an earlier one may have reached it: ` +
      "the refund stays pending with its amount reserved; retry later with the same Idempotency-Key.",
    { provider: error.provider, reason: error.reason, refund_status: "pending" },
  );
}

/** How the provider of a refund recorded by request is asked (provider-refunds.ts). */
function askerOf(c: AdminContext, routes: AdminRoutes, provider: RefundProvider) {
  const asAdmin: InTransaction = (fn) => routes.asCaller(c, fn);
  const asService: InTransaction = (fn) => routes.asService(c, fn);
  return (recorded: RecordedRefund) =>
    provider === "revolut"
      ? askRevolutForRefund(routes.providers().revolut(), asAdmin, asService, recorded)
      : askStripeForRefund(routes.providers().stripe(), asAdmin, asService, recorded);
}

/**
 * The provider's answer to `ask` for the recorded refund, as the refund requests answer it:
 * 201 with the refund, 422 declined, 502 for no answer or a refusal of a later try.
 */
async function askedAnswer(
  c: AdminContext,
  routes: AdminRoutes,
  provider: RefundProvider,
  recorded: RecordedRefund,
): Promise<StoredResponse> {
  const paymentId = recorded.refund.payment_id;
  let outcome;
  try {
    outcome = await askerOf(c, routes, provider)(recorded);
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    // A refusal of a later try (its call, or the search for an earlier try's refund) closes
    // nothing: an earlier call may have reached the provider, so the refund stays pending
    // with its amount reserved. Stored as a 422, that answer would tell the refund declined
    // while it is not, and every retry with the key would replay it instead of asking the
    // provider again, which is the one way to settle a refund the provider never got.
    if (error.kind === "declined" && !recorded.fresh) return errorBody(c, refusedRetry(routes, paymentId, error));
    return providerFailure(c, routes, paymentId, error);
  }
  const { refund, providerStatus } = outcome;
  if (refund.status === "failed" || refund.status === "canceled") return errorBody(c, declined(provider, `refund ${providerStatus}`));
  const answered = { refund_id: refund.provider_refund_id, status: providerStatus, request_id: recorded.requestId };
  return { status: 201, body: { refund, provider: answered } };
}

/**
 * Revolut or Stripe: the pending refund is recorded, and committed, first, under the request
 * id; then the provider is asked (or its refund found again by the request id) and its answer
 * recorded.
 */
function refundRecordedFirst(c: AdminContext, routes: AdminRoutes, paymentId: string, provider: RefundProvider): Promise<Response> {
  return idempotentProviderMutation(c, routes, refundBody, {
    start: async (tx, input, key) =>
      recordRefundRequest(tx, provider, paymentId, input.amount, input.reason, await refundRequestId(c, key)),
    finish: (recorded) => askedAnswer(c, routes, provider, recorded),
  });
}

/**
 * A pending Revolut or Stripe refund its provider never named, asked for again under its
 * request id (api_private.refund_retry_begin): the provider's refund that carries the request id
 * is looked for first and only when there is none is the request sent again, with the request
 * id as its Idempotency-Key, as the retry of the admin who asked for it does.
 */
function retryRefund(c: AdminContext, routes: AdminRoutes, refundId: string): Promise<Response> {
  return idempotentProviderMutation(c, routes, retryBody, {
    start: async (tx) => {
      const [row] = await tx<{ refund: Refund & { provider: RefundProvider; refund_request_id: string }; provider_payment_id: string }[]>`
        select refund, provider_payment_id from api_private.refund_retry_begin(${refundId}::uuid)`;
      const { refund, provider_payment_id } = row!;
      return {
        provider: refund.provider,
        recorded: { refund, providerPaymentId: provider_payment_id, fresh: false, requestId: refund.refund_request_id },
      };
    },
    finish: ({ provider, recorded }) => askedAnswer(c, routes, provider, recorded),
  });
}

/**
 * MoMo: the pending refund is recorded, and committed, first; then its transfer is sent and
 * MoMo's answer is the request's (a retry finds the refund failed when MoMo refused the
 * transfer meanwhile, through momo-poll).
 */
function refundThroughMomo(c: AdminContext, routes: AdminRoutes, paymentId: string): Promise<Response> {
  return idempotentProviderMutation(c, routes, refundBody, {
    start: async (tx, input, key) => recordMomoRefund(tx, paymentId, input.amount, input.reason, await refundRequestId(c, key)),
    finish: async (transfer, _input, key) => {
      try {
        await sendRecordedMomoRefund(routes.providers(), (fn) => routes.asService(c, fn), transfer);
      } catch (error) {
        if (!(error instanceof ProviderError)) throw error;
        // A refused re-send closes nothing (sendRecordedMomoRefund): momo-poll learns what MoMo did.
        if (error.kind === "declined" && !transfer.fresh) return errorBody(c, refusedRetry(routes, paymentId, error));
        return providerFailure(c, routes, paymentId, error);
      }
      const { refund } = transfer;
      if (refund.status === "failed") return errorBody(c, declined("momo", "refund failed"));
      const provider = { refund_id: refund.provider_refund_id, status: refund.status, request_id: await refundRequestId(c, key) };
      return { status: 201, body: { refund, provider } };
    },
  });
}

export function registerPaymentActionRoutes(app: AdminApp, routes: AdminRoutes): void {
  app.post("/payments/:id/refund", async (c) => {
    const id = pathId(c);
    // An unknown payment goes the Stripe way, where refund_begin answers WL007.
    const [payment] = await routes.asCaller(
      c,
      (tx) => tx<{ provider: string }[]>`select provider from public.payments where id = ${id}::uuid`,
    );
    if (payment?.provider === "momo") return refundThroughMomo(c, routes, id);
    if (payment?.provider === "revolut") return refundRecordedFirst(c, routes, id, "revolut");
    return refundRecordedFirst(c, routes, id, "stripe");
  });
  app.all("/payments/:id/refund", allowMethods("POST"));

  app.post("/refunds/:id/retry", (c) => retryRefund(c, routes, pathId(c)));
  app.all("/refunds/:id/retry", allowMethods("POST"));

  registerRecordAction(app, routes, "refund", "resolve", refundResolveBody, (tx, id, input) =>
    tx<{ record: Row }[]>`
      select to_jsonb(r) as record from api_private.momo_refund_resolve(${id}::uuid, ${input.outcome}, ${input.reason}) r`);
  registerRecordAction(app, routes, "payment", "resolve", resolveBody, (tx, id, input) =>
    tx<{ record: Row }[]>`
      select to_jsonb(p) - 'raw' as record from api_private.payment_resolve(${id}::uuid, ${input.action}, ${input.reason}) p`);
  registerRecordAction(app, routes, "cashout", "resolve", cashOutResolveBody, (tx, id, input) =>
    tx<{ record: Row }[]>`
      select to_jsonb(k) as record from api_private.cashout_resolve(${id}::uuid, ${input.outcome}, ${input.reason}) k`);
  registerRecordAction(app, routes, "refund", "paid-out", paidOutBody, (tx, id, input) =>
    tx<{ record: Row }[]>`
      select to_jsonb(r) as record
        from api_private.refund_paid_out(${id}::uuid, ${input.amount}, ${input.method}, ${input.reference}, ${input.reason}) r`);
}

/**
 * POST /<record>s/:id/<action>, an admin's decision on one record, idempotent: `act` makes it in
 * one SQL call and returns the record, answered 200 as `{<record>: …}`.
 */
function registerRecordAction<S extends z.ZodType>(
  app: AdminApp,
  routes: AdminRoutes,
  record: "payment" | "refund" | "cashout",
  action: "resolve" | "paid-out",
  schema: S,
  act: (tx: TransactionSql, id: string, input: z.output<S>) => Promise<{ record: Row }[]>,
): void {
  const path = `/${record}s/:id/${action}`;
  app.post(path, (c) => {
    const id = pathId(c);
    return idempotentMutation(c, routes, schema, async (tx, input) => {
      const [row] = await act(tx, id, input);
      return { status: 200, body: { [record]: row!.record } };
    });
  });
  app.all(path, allowMethods("POST"));
}
