// The support cases of docs/ADMIN_API.md ("Support cases, end to end"), walked through the
// functions gateway with real JWTs as an operations person would: find the person by phone or
// email, their top-up and what the provider said, the payments held for review, the nightly
// reconciliation report, the audit of each action, who a WhatsApp number change moved, and
// what an admin may not do to their own wallet.
import type postgres from "postgres";
import { describe, expect, it } from "vitest";
import { useAdminGateway } from "../../tests/support/admin-api.ts";
import { asServiceRole, balanceOf } from "../../tests/support/payments-fixtures.ts";
import { createStaff, idempotencyKey, refusal } from "../../tests/support/admin-fixtures.ts";
import { newWaId, serviceContext } from "../../tests/support/whatsapp-fixtures.ts";
import { authAdminFromEnv, moveContactNumber } from "../_shared/providers/whatsapp/identity.ts";

const { sql, staff, call } = await useAdminGateway();
const asSupport = (path: string) => call("GET", path, { token: staff.support.token });
const asAdmin = (path: string, body: unknown) => call("POST", path, { token: staff.admin.token, idempotencyKey: idempotencyKey(), body });

/** A person as Auth holds them: email, a confirmed phone, a WhatsApp contact and an account in `currency`. */
async function person(currency: string): Promise<{ userId: string; email: string; phone: string; accountId: string }> {
  const userId = crypto.randomUUID();
  const phone = newWaId();
  const email = `${userId}@mfuko.test`;
  await sql`insert into auth.users (id, aud, role, email, phone, phone_confirmed_at)
            values (${userId}, 'authenticated', 'authenticated', ${email}, ${phone}, now())`;
  await sql`insert into public.whatsapp_contacts (wa_id, user_id) values (${phone}, ${userId}::uuid)`;
  const [account] = await sql<{ id: string }[]>`
    insert into public.wallet_accounts (owner_id, kind, currency) values (${userId}, 'user', ${currency}) returning id`;
  return { userId, email, phone, accountId: account!.id };
}

/** A MoMo top-up intent of `amount` for the account, sent to MoMo under a fresh reference (processing). */
async function momoTopUp(accountId: string, amount: number, currency: string): Promise<{ intentId: string; reference: string }> {
  const reference = crypto.randomUUID();
  const intentId = await asServiceRole(sql, async (tx) => {
    const [intent] = await tx<{ id: string }[]>`
      select id from public.payment_intent_create('momo', ${accountId}::uuid, ${amount}::bigint, ${currency}, ${idempotencyKey()})`;
    await tx`select 1 from public.payment_intent_attach(${intent!.id}::uuid, ${reference})`;
    return intent!.id;
  });
  return { intentId, reference };
}

/** A payment MoMo confirmed for the intent with `amount` (another amount than the intent's: needs_review). */
async function momoPayment(intentId: string, reference: string, amount: number, currency: string): Promise<{ id: string; status: string }> {
  return await asServiceRole(sql, async (tx) => {
    const [payment] = await tx<{ id: string; status: string }[]>`
      select id, status from public.payment_record_success('momo', ${reference}, ${intentId}::uuid, ${amount}::bigint, ${currency})`;
    return payment!;
  });
}

describe("finding the person and their top-up: 'my 5,000 RWF MoMo top-up never arrived'", () => {
  it("finds the person by any spelling of their phone number or by their email, with their accounts", async () => {
    const who = await person("RWF");
    const spaced = `+${who.phone.slice(0, 3)} ${who.phone.slice(3, 6)} ${who.phone.slice(6)}`;
    const queries = [
      `phone=${encodeURIComponent(spaced)}`,
      `phone=+${who.phone}`,
      `phone=${who.phone}`,
      `email=${who.email.toUpperCase()}`,
    ];
    for (const query of queries) {
      const found = await asSupport(`/users?${query}`);
      expect(found.status).toBe(200);
      expect(found.body.data).toHaveLength(1);
      expect(found.body.data[0]).toMatchObject({
        id: who.userId,
        email: who.email,
        phone: who.phone,
        wa_id: who.phone,
        staff_role: null,
        accounts: [{ id: who.accountId, currency: "RWF", status: "active", balance: 0, available: 0 }],
      });
    }
    expect((await asSupport(`/users?phone=${newWaId()}`)).body).toEqual({ data: [] });
  });

  it("refuses a lookup without exactly one well-formed phone or email (400), and a plain user (403)", async () => {
    for (const query of ["", "phone=250788123456&email=a%40b.test", "phone=call-me", "email=not-an-email", "phone=12"]) {
      const answer = await asSupport(`/users?${query}`);
      expect(refusal(answer), query).toEqual({ status: 400, code: query === "phone=12" ? "invalid_argument" : "validation_failed" });
    }
    expect(refusal(await call("GET", "/users?phone=250788123456", { token: staff.user.token }))).toEqual({
      status: 403,
      code: "forbidden",
    });
  });

  it("lists the person's intents and shows one with its payment, MoMo's record and the webhook events naming it", async () => {
    const who = await person("RWF");
    const { intentId, reference } = await momoTopUp(who.accountId, 5000, "RWF");
    await sql`insert into public.momo_transactions (reference_id, intent_id, user_id, payer_msisdn, amount, currency, status, reason)
              values (${reference}::uuid, ${intentId}::uuid, ${who.userId}::uuid, ${who.phone}, 5000, 'RWF', 'FAILED', 'PAYER_LIMIT_REACHED')`;
    const [event] = await sql<{ id: string }[]>`
      insert into public.webhook_events (provider, event_id, type, payload, status, attempts, last_error)
      values ('momo', ${`${reference}:FAILED`}, 'requesttopay.FAILED', ${sql.json({ referenceId: reference, status: "FAILED" })},
              'failed', 1, 'earlier failure')
      returning id`;

    const list = await asSupport(`/payment-intents?user_id=${who.userId}`);
    expect(list.status).toBe(200);
    expect(list.body.data.map((i: { id: string }) => i.id)).toEqual([intentId]);
    expect(list.body.data[0]).toMatchObject({ provider: "momo", provider_ref: reference, amount: 5000, status: "processing" });
    expect((await asSupport(`/payment-intents?account_id=${who.accountId}&status=succeeded`)).body.data).toEqual([]);

    const detail = await asSupport(`/payment-intents/${intentId}`);
    expect(detail.status).toBe(200);
    expect(detail.body.intent).toMatchObject({ id: intentId, status: "processing" });
    expect(detail.body.payments).toEqual([]);
    expect(detail.body.provider_records).toEqual([
      expect.objectContaining({ mirror: "momo_transactions", reference_id: reference, status: "FAILED", reason: "PAYER_LIMIT_REACHED" }),
    ]);
    expect(detail.body.webhook_events).toEqual([expect.objectContaining({ id: event!.id, status: "failed", attempts: 1 })]);
    expect(detail.body.webhook_events[0]).not.toHaveProperty("payload");

    // Once MoMo's payment is in, the intent shows it and it is found by its intent.
    const payment = await momoPayment(intentId, reference, 5000, "RWF");
    const credited = await asSupport(`/payment-intents/${intentId}`);
    expect(credited.body.intent.status).toBe("succeeded");
    expect(credited.body.payments).toEqual([expect.objectContaining({ id: payment.id, status: "succeeded", refunds: [] })]);
    expect(credited.body.payments[0]).not.toHaveProperty("raw");
    expect((await asSupport(`/payments?intent_id=${intentId}`)).body.data.map((p: { id: string }) => p.id)).toEqual([payment.id]);
    expect(refusal(await asSupport(`/payment-intents/${crypto.randomUUID()}`))).toEqual({ status: 404, code: "not_found" });
  });
});

describe("payments held for review", () => {
  it("lists them, credits one once with the admin's reason, and the audit names the admin", async () => {
    const who = await person("RWF");
    const { intentId, reference } = await momoTopUp(who.accountId, 5000, "RWF");
    const held = await momoPayment(intentId, reference, 4000, "RWF");
    expect(held.status).toBe("needs_review");

    const review = await asSupport(`/payments?status=needs_review&user_id=${who.userId}`);
    expect(review.status).toBe(200);
    expect(review.body.data).toEqual([expect.objectContaining({ id: held.id, amount: 4000, status: "needs_review" })]);
    expect(review.body.data[0].review_reason).toMatch(/amount/);

    const resolved = await asAdmin(`/payments/${held.id}/resolve`, { action: "credit", reason: "MoMo paid 4,000 of 5,000, ticket 51" });
    expect(resolved.status).toBe(200);
    expect(await balanceOf(sql, who.accountId)).toEqual({ balance: 4000, available: 4000 });
    const shown = await asSupport(`/payments/${held.id}`);
    expect(shown.body.payment).toMatchObject({
      id: held.id,
      status: "succeeded",
      resolution: "credited",
      resolved_by: staff.admin.id,
      refunds: [],
    });
    expect((await asSupport(`/payments?status=needs_review&user_id=${who.userId}`)).body.data).toEqual([]);

    const audit = await asSupport(`/audit?table=payments&record_id=${held.id}`);
    expect(audit.body.data[0]).toMatchObject({
      operation: "UPDATE",
      actor_id: staff.admin.id,
      correlation_id: resolved.headers.get("x-correlation-id"),
    });
    expect(audit.body.data[0].new_record.resolution_reason).toBe("MoMo paid 4,000 of 5,000, ticket 51");
  });
});

/** Runs `query` as the signed-in user `userId`, as PostgREST would. */
function asUser<T>(userId: string, query: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
  return sql.begin(async (tx) => {
    await tx`set local role authenticated`;
    await tx`select set_config('request.jwt.claims', ${JSON.stringify({ sub: userId, role: "authenticated" })}, true)`;
    return await query(tx);
  }) as Promise<T>;
}

/** The SQLSTATE `query` fails with (null when it succeeds). */
async function sqlstateOf(query: Promise<unknown>): Promise<string | null> {
  try {
    await query;
    return null;
  } catch (error) {
    return (error as { code?: string }).code ?? "unknown";
  }
}

describe("a fraud case", () => {
  it("freezes an account: its owner pays nobody, its cash-out already sent still settles, the audit names the admin, the request and the reason", async () => {
    const who = await person("UGX");
    const other = await person("UGX");
    await sql`select 1 from public.wallet_deposit(${who.accountId}::uuid, 1000::bigint, 'UGX', 'momo', ${idempotencyKey()})`;
    const [cashout] = await asUser(who.userId, (tx) =>
      tx<{ id: string; reference_id: string; hold_id: string }[]>`
        select id, reference_id, hold_id from api_private.cashout_create(${who.accountId}::uuid, 400::bigint, 'UGX', ${who.phone},
                                                                       ${idempotencyKey()})`);

    const frozen = await asAdmin(`/accounts/${who.accountId}/status`, { status: "frozen", reason: "fraud review #4411" });
    expect(frozen.status).toBe(200);
    expect(frozen.body.account).toMatchObject({ status: "frozen", status_reason: "fraud review #4411" });
    const audit = await asSupport(`/audit?table=wallet_status_reasons&record_id=${who.accountId}`);
    expect(audit.body.data[0]).toMatchObject({ actor_id: staff.admin.id, correlation_id: frozen.headers.get("x-correlation-id") });
    expect(audit.body.data[0].new_record).toMatchObject({ status: "frozen", reason: "fraud review #4411" });

    // What support sees: the pending cash-out and its hold.
    const cashouts = await asSupport(`/cashouts?account_id=${who.accountId}`);
    expect(cashouts.body.data).toEqual([
      expect.objectContaining({ id: cashout!.id, status: "pending", amount: 400, hold_id: cashout!.hold_id }),
    ]);
    const account = await asSupport(`/accounts/${who.accountId}`);
    expect(account.body).toMatchObject({ balance: 1000, available: 600, held: 400 });
    expect(account.body.holds.map((h: { id: string }) => h.id)).toEqual([cashout!.hold_id]);

    // The owner can neither pay nor cash out; MoMo paying the cash-out sent before still settles it.
    expect(
      await sqlstateOf(
        asUser(
          who.userId,
          (tx) =>
            tx`select 1 from public.wallet_transfer(${who.accountId}::uuid, ${other.accountId}::uuid, 100::bigint, 'UGX', ${idempotencyKey()})`,
        ),
      ),
    ).toBe("WL004");
    expect(
      await sqlstateOf(
        asUser(
          who.userId,
          (tx) =>
            tx`select 1 from api_private.cashout_create(${who.accountId}::uuid, 100::bigint, 'UGX', ${who.phone}, ${idempotencyKey()})`,
        ),
      ),
    ).toBe("WL004");
    await asServiceRole(
      sql,
      (tx) => tx`select 1 from public.cashout_settle(${cashout!.reference_id}::uuid, 'SUCCESSFUL', null, 400, 'UGX')`,
    );
    expect((await asSupport(`/cashouts?account_id=${who.accountId}&status=paid`)).body.data).toHaveLength(1);
    expect(await balanceOf(sql, who.accountId)).toEqual({ balance: 600, available: 600 });

    // Closing needs a zero balance: the money goes back where it came from first.
    expect(refusal(await asAdmin(`/accounts/${who.accountId}/status`, { status: "closed", reason: "fraud confirmed" })))
      .toEqual({ status: 409, code: "invalid_state" });
  });
});

describe("a cash-out no job can settle", () => {
  const asService = (query: (tx: postgres.TransactionSql) => Promise<unknown>) => sqlstateOf(asServiceRole(sql, query));

  /** A person's pending cash-out of all of 5,000 UGX deposited for it. */
  async function heldCashOut() {
    const who = await person("UGX");
    await sql`select 1 from public.wallet_deposit(${who.accountId}::uuid, 5000::bigint, 'UGX', 'momo', ${idempotencyKey()})`;
    const [cashout] = await asUser(who.userId, (tx) =>
      tx<{ id: string; reference_id: string }[]>`
        select id, reference_id from api_private.cashout_create(${who.accountId}::uuid, 5000::bigint, 'UGX', ${who.phone},
                                                               ${idempotencyKey()})`);
    return { who, cashout };
  }

  it("MoMo confirmed another sum: once momo-poll closed its sending an admin settles it as MoMo says, once, and the person is told", async () => {
    const { who, cashout } = await heldCashOut();
    // MoMo's record says 50,000 moved: cashout_settle refuses it, and the hold stays (decision 0024).
    expect(
      await asService((tx) => tx`select 1 from public.cashout_settle(${cashout!.reference_id}::uuid, 'SUCCESSFUL', null, 50000, 'UGX')`),
    )
      .toBe("WL008");
    const resolve = (key: string, body: unknown, token = staff.admin.token) =>
      call("POST", `/cashouts/${cashout!.id}/resolve`, { token, idempotencyKey: key, body });

    expect(refusal(await resolve(idempotencyKey(), { outcome: "failed", reason: "MoMo reversed it, ticket 88" })))
      .toEqual({ status: 409, code: "invalid_state" });
    expect(await asService((tx) => tx`select 1 from api_private.cashout_close_sending(${cashout!.reference_id}::uuid, 1)`)).toBeNull();

    expect(refusal(await resolve(idempotencyKey(), { outcome: "failed", reason: "x" }, staff.support.token)))
      .toEqual({ status: 403, code: "forbidden" });
    expect(refusal(await resolve(idempotencyKey(), { outcome: "refunded", reason: "x" }))).toEqual({
      status: 400,
      code: "validation_failed",
    });
    expect(refusal(await resolve(idempotencyKey(), { outcome: "failed" }))).toEqual({ status: 400, code: "validation_failed" });
    expect(refusal(
      await call("POST", `/cashouts/${crypto.randomUUID()}/resolve`, {
        token: staff.admin.token,
        idempotencyKey: idempotencyKey(),
        body: { outcome: "paid", reason: "x" },
      }),
    )).toEqual({ status: 404, code: "not_found" });
    expect(await balanceOf(sql, who.accountId)).toEqual({ balance: 5000, available: 0 });

    const key = idempotencyKey();
    const resolved = await resolve(key, { outcome: "failed", reason: "MoMo reversed it, ticket 88" });
    expect(resolved.status).toBe(200);
    expect(resolved.body.cashout).toMatchObject({
      id: cashout!.id,
      status: "failed",
      reason: "resolved",
      resolved_by: staff.admin.id,
      resolution_reason: "MoMo reversed it, ticket 88",
    });
    expect((await resolve(key, { outcome: "failed", reason: "MoMo reversed it, ticket 88" })).body).toEqual(resolved.body);
    expect(refusal(await resolve(idempotencyKey(), { outcome: "paid", reason: "changed my mind" })))
      .toEqual({ status: 409, code: "invalid_state" });
    expect(await balanceOf(sql, who.accountId)).toEqual({ balance: 5000, available: 5000 });

    const told = await sql<{ text: string }[]>`
      select body -> 'text' ->> 'body' as text from public.whatsapp_outbox where wa_id = ${who.phone} and purpose = 'notification'`;
    expect(told.map((row) => row.text)).toEqual([expect.stringContaining("The money is back in your wallet.")]);
    expect(told[0]!.text).not.toContain("ticket 88");
    const audit = await asSupport(`/audit?table=cashouts&record_id=${cashout!.id}`);
    expect(audit.body.data[0]).toMatchObject({ actor_id: staff.admin.id, correlation_id: resolved.headers.get("x-correlation-id") });
    expect(audit.body.data[0].new_record).toMatchObject({ status: "failed", resolution_reason: "MoMo reversed it, ticket 88" });
  });
  it("an admin's failed and MoMo's SUCCESSFUL arriving together settle a cash-out once, one way", async () => {
    for (let round = 0; round < 4; round++) {
      const { who, cashout } = await heldCashOut();
      expect(await asService((tx) => tx`select 1 from api_private.cashout_close_sending(${cashout!.reference_id}::uuid, 1)`)).toBeNull();
      const [resolved, settled] = await Promise.all([
        call("POST", `/cashouts/${cashout!.id}/resolve`, {
          token: staff.admin.token,
          idempotencyKey: idempotencyKey(),
          body: { outcome: "failed", reason: "MoMo says it never paid, ticket 91" },
        }),
        asService((tx) => tx`select 1 from public.cashout_settle(${cashout!.reference_id}::uuid, 'SUCCESSFUL', null, 5000, 'UGX')`),
      ]);
      const [state] = await sql<{ status: string; hold: string }[]>`
        select c.status, t.status as hold from public.cashouts c join public.wallet_transactions t on t.id = c.hold_id
         where c.id = ${cashout!.id}::uuid`;
      // Whichever came second found it settled: the admin's 409, MoMo's WL008 (its event goes dead for an operator).
      if (state!.status === "failed") {
        expect([resolved.status, settled, state!.hold]).toEqual([200, "WL008", "voided"]);
        expect(await balanceOf(sql, who.accountId)).toEqual({ balance: 5000, available: 5000 });
      } else {
        expect([refusal(resolved), settled, state]).toEqual([{ status: 409, code: "invalid_state" }, null, {
          status: "paid",
          hold: "posted",
        }]);
        expect(await balanceOf(sql, who.accountId)).toEqual({ balance: 0, available: 0 });
      }
    }
  });
});

describe("a WhatsApp number change: 'I changed my number and my wallet is not there'", () => {
  it("lists each of Meta's notices with whom it moved, both numbers, Meta's time and the webhook delivery's correlation id", async () => {
    const who = await person("RWF");
    const to = newWaId();
    const notice = `wamid.support-${crypto.randomUUID()}`;
    const context = serviceContext();
    const since = new Date(Date.now() - 1_000).toISOString();
    const at = Math.floor(Date.now() / 1000);
    const deps = { sql, context, authAdmin: authAdminFromEnv(), defaultCurrency: "RWF" };
    expect(await moveContactNumber(deps, { from: who.phone, to, notice, at })).toBe("moved");
    const audit = await asSupport(`/audit?table=whatsapp_number_changes&from=${encodeURIComponent(since)}&limit=100`);
    expect(audit.status).toBe(200);
    const rows = (audit.body.data as { new_record: { notice_wamid: string; noticed_at: string } }[]).filter((r) =>
      r.new_record.notice_wamid === notice
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      operation: "INSERT",
      correlation_id: context.correlationId,
      new_record: { user_id: who.userId, old_wa_id: who.phone, new_wa_id: to, outcome: "moved", moved_to: to },
    });
    expect(new Date(rows[0]!.new_record.noticed_at).getTime()).toBe(at * 1000);
  });
});

describe("the nightly reconciliation report", () => {
  it("lists the stored reports newest first with their counts and shows one day's findings", async () => {
    // Dates of their own, long past, so that the reconcile job's report of today is not touched.
    const base = Math.floor(Math.random() * 3000) * 3;
    const day = (offset: number) => new Date(Date.UTC(1990, 0, 1 + base + offset)).toISOString().slice(0, 10);
    const older = day(0);
    const newer = day(1);
    const finding = { kind: "missing_credit", provider: "momo", payment_id: crypto.randomUUID(), detail: "payment needs_review" };
    // The newer one also counts 3 WhatsApp messages that died that day.
    for (const [date, findings, undelivered] of [[older, [], 0], [newer, [finding, { ...finding, kind: "refund_pending" }], 3]] as const) {
      await sql`insert into private.reconciliation_reports (report_date, invariant_violations, reconciliation_findings, undelivered_messages)
                values (${date}::date, '[]', ${sql.json(findings)}, ${undelivered})`;
    }

    const page = await asSupport(
      `/reconciliation/reports?cursor=${btoa(JSON.stringify({ report_date: day(2) })).replace(/=+$/, "")}&limit=2`,
    );
    expect(page.status).toBe(200);
    // The largest page: the route asks the reader for one report more, to tell whether another page follows.
    expect((await asSupport("/reconciliation/reports?limit=200")).status).toBe(200);
    const ours = page.body.data.filter((r: { report_date: string }) => [older, newer].includes(r.report_date));
    expect(ours).toEqual([
      expect.objectContaining({
        report_date: newer,
        findings: 5,
        counts: {
          invariant_violations: 0,
          missing_credit: 1,
          credit_without_payment: 0,
          amount_differs: 0,
          reversal_differs: 0,
          refund_pending: 1,
          cashout_pending: 0,
          revolut_dispute_lost: 0,
          rejected: 0,
          credited: 0,
          refund_borne: 0,
          refund_failed_owed: 0,
          refund_owed_paid_out: 0,
          undelivered_messages: 3,
        },
      }),
      expect.objectContaining({ report_date: older, findings: 0 }),
    ]);
    expect(page.body.data[0]).not.toHaveProperty("reconciliation_findings");

    const report = await asSupport(`/reconciliation/reports/${newer}`);
    expect(report.status).toBe(200);
    expect(report.body.report).toMatchObject({ report_date: newer, invariant_violations: [], findings: 5, undelivered_messages: 3 });
    expect(report.body.report.reconciliation_findings).toEqual([finding, { ...finding, kind: "refund_pending" }]);
    expect(refusal(await asSupport("/reconciliation/reports/1989-12-31"))).toEqual({ status: 404, code: "not_found" });
    expect(refusal(await asSupport("/reconciliation/reports/yesterday"))).toEqual({ status: 400, code: "validation_failed" });
    expect(refusal(await call("GET", `/reconciliation/reports/${newer}`, { token: staff.user.token }))).toEqual({
      status: 403,
      code: "forbidden",
    });
  });
});

describe("an admin's own wallet", () => {
  it("refuses an admin crediting, unfreezing, re-tiering, reversing into or resolving to their own account (403), and writes nothing", async () => {
    const [own] = await sql<{ id: string }[]>`
      insert into public.wallet_accounts (owner_id, kind, currency) values (${staff.admin.id}, 'user', 'RWF') returning id`;
    const ownAccount = own!.id;
    const other = await person("RWF");
    await sql`select 1 from public.wallet_deposit(${other.accountId}::uuid, 1000::bigint, 'RWF', 'stripe', ${idempotencyKey()})`;
    const [transfer] = await asUser(other.userId, (tx) =>
      tx<{ id: string }[]>`
        select id from public.wallet_transfer(${other.accountId}::uuid, ${ownAccount}::uuid, 300::bigint, 'RWF', ${idempotencyKey()})`);
    const { intentId, reference } = await momoTopUp(ownAccount, 5000, "RWF");
    const held = await momoPayment(intentId, reference, 6000, "RWF");
    await sql`insert into public.momo_transactions (reference_id, intent_id, user_id, payer_msisdn, amount, currency, status)
              values (${reference}::uuid, ${intentId}::uuid, ${staff.admin.id}::uuid, ${newWaId()}, 6000, 'RWF', 'SUCCESSFUL')`;

    const attempts = [
      await asAdmin("/adjustments", { account_id: ownAccount, amount: 1_000_000, direction: "credit", reason: "bonus" }),
      await asAdmin(`/accounts/${ownAccount}/status`, { status: "frozen", reason: "self" }),
      await call("PUT", `/accounts/${ownAccount}/tier`, {
        token: staff.admin.token,
        idempotencyKey: idempotencyKey(),
        body: { tier: "merchant" },
      }),
      await asAdmin(`/transactions/${transfer!.id}/reverse`, { reason: "self" }),
      await asAdmin(`/payments/${held.id}/resolve`, { action: "credit", reason: "self" }),
      await asAdmin(`/payments/${held.id}/refund`, { amount: 100, reason: "self" }),
    ];
    for (const attempt of attempts) {
      expect(refusal(attempt)).toEqual({ status: 403, code: "forbidden" });
      expect(attempt.body.error.message).toMatch(/of their own: another admin must/);
    }
    expect(await balanceOf(sql, ownAccount)).toEqual({ balance: 300, available: 300 });
    const [account] = await sql`select status, limit_tier from public.wallet_accounts where id = ${ownAccount}::uuid`;
    expect(account).toEqual({ status: "active", limit_tier: "standard" });
    const [payment] = await sql`select status from public.payments where id = ${held.id}::uuid`;
    expect(payment!.status).toBe("needs_review");
    // The admin changed nothing of theirs: no account, status, payment or refund row, no posting.
    const written = await sql`
      select table_name from audit.trail
       where actor_id = ${staff.admin.id}::uuid and table_name <> 'api_requests'
         and (record_id in (${ownAccount}, ${held.id}) or new_record ->> 'account_id' = ${ownAccount}
              or new_record ->> 'payment_id' = ${held.id})`;
    expect(written).toEqual([]);

    // Another admin may: the same adjustment by a second admin is a plain credit.
    const second = await createStaff(sql, process.env.SUPABASE_JWT_SECRET!);
    const credited = await call("POST", "/adjustments", {
      token: second.admin.token,
      idempotencyKey: idempotencyKey(),
      body: { account_id: ownAccount, amount: 200, direction: "credit", reason: "goodwill, ticket 77" },
    });
    expect(credited.status).toBe(201);
    expect(await balanceOf(sql, ownAccount)).toEqual({ balance: 500, available: 500 });
  });
});

describe("an admin taken off the role", () => {
  it("loses admin power at the next request, though the token is still valid: refused adjustments (403), no support reads", async () => {
    const demoted = await createStaff(sql, process.env.SUPABASE_JWT_SECRET!);
    const other = await person("RWF");
    const adjust = () =>
      call("POST", "/adjustments", {
        token: demoted.admin.token,
        idempotencyKey: idempotencyKey(),
        body: { account_id: other.accountId, amount: 700, direction: "credit", reason: "goodwill, ticket 78" },
      });
    expect((await adjust()).status).toBe(201);

    // Taken off the role, as Supabase's auth.admin.updateUserById({ app_metadata }) stores it.
    await sql`update auth.users set raw_app_meta_data = '{}' where id in (${demoted.admin.id}, ${demoted.support.id})`;
    expect(refusal(await adjust())).toEqual({ status: 403, code: "forbidden" });
    expect(await balanceOf(sql, other.accountId)).toEqual({ balance: 700, available: 700 });
    expect(refusal(await call("GET", `/users?phone=${other.phone}`, { token: demoted.support.token }))).toEqual({
      status: 403,
      code: "forbidden",
    });
  });
});
