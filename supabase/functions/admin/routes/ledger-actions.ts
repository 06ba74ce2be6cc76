// The admin's changes to the ledger, each one idempotent (mutation.ts) and carried out by the
// ledger's own functions as the admin, so the SQL checks and the audit trail see who it was:
// POST /admin/accounts/:id/status       wallet_set_status (freeze, unfreeze, close)
// POST /admin/transactions/:id/reverse  wallet_reverse (partial allowed; force for spent money)
// POST /admin/adjustments               wallet_adjust (credit or debit against adjustments:<CUR>)
// A reversal or adjustment is told on WhatsApp to each user it moved, in its transaction
// (whatsapp_notify_correction): once, since a replayed request answers from its stored answer.
import { z } from "zod";
import type { TransactionSql } from "../../_shared/db.ts";
import type { StoredResponse } from "../../_shared/idempotency.ts";
import { allowMethods } from "../../_shared/middleware.ts";
import type { AdminApp, AdminRoutes, Row } from "../types.ts";
import { amount, idempotencyKeyField, idempotentMutation, reason } from "../mutation.ts";
import { pathId, uuidParam } from "../params.ts";

const statusBody = z.strictObject({
  status: z.enum(["active", "frozen", "closed"], { error: "must be one of active, frozen, closed" }),
  reason,
  idempotency_key: idempotencyKeyField,
});

const reverseBody = z.strictObject({
  amount: amount.optional(),
  reason,
  // Lets the reversal take the receiver below zero (refund or chargeback of spent money).
  force: z.boolean({ error: "must be true or false" }).default(false),
  idempotency_key: idempotencyKeyField,
});

const adjustmentBody = z.strictObject({
  account_id: uuidParam,
  amount,
  direction: z.enum(["credit", "debit"], { error: "must be credit or debit" }),
  reason,
  idempotency_key: idempotencyKeyField,
});

/** The 201 answer of a correction, once its users' WhatsApp notices are queued with it. */
async function toldCorrection(tx: TransactionSql, transaction: Row): Promise<StoredResponse> {
  await tx`select api_private.whatsapp_notify_correction(${transaction.id as string}::uuid)`;
  return { status: 201, body: { transaction } };
}

export function registerLedgerActionRoutes(app: AdminApp, routes: AdminRoutes): void {
  app.post("/accounts/:id/status", (c) => {
    const id = pathId(c);
    return idempotentMutation(c, routes, statusBody, async (tx, input) => {
      const [row] = await tx<{ account: Row }[]>`
        select to_jsonb(a) as account from public.wallet_set_status(${id}, ${input.status}, ${input.reason}) a`;
      // The reason lives apart from the account row, which its owner reads; a second
      // statement sees what wallet_set_status wrote.
      const [note] = await tx<{ reason: string }[]>`
        select reason from public.wallet_status_reasons where account_id = ${id}`;
      return { status: 200, body: { account: { ...row!.account, status_reason: note?.reason ?? null } } };
    });
  });
  app.all("/accounts/:id/status", allowMethods("POST"));

  app.post("/transactions/:id/reverse", (c) => {
    const id = pathId(c);
    return idempotentMutation(c, routes, reverseBody, async (tx, input, key) => {
      const [row] = await tx<{ transaction: Row }[]>`
        select to_jsonb(t) as transaction
          from public.wallet_reverse(${id}, ${key}, ${input.amount ?? null}::bigint, ${input.reason}, ${input.force}) t`;
      return await toldCorrection(tx, row!.transaction);
    });
  });
  app.all("/transactions/:id/reverse", allowMethods("POST"));

  app.post("/adjustments", (c) =>
    idempotentMutation(c, routes, adjustmentBody, async (tx, input, key) => {
      const [row] = await tx<{ transaction: Row }[]>`
        select to_jsonb(t) as transaction
          from public.wallet_adjust(${input.account_id}::uuid, ${input.amount}::bigint, ${input.direction},
                                    ${input.reason}, ${key}) t`;
      return await toldCorrection(tx, row!.transaction);
    }));
  app.all("/adjustments", allowMethods("POST"));
}
