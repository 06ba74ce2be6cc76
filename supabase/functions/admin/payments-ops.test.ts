// Webhook events and reconciliation through the admin API, in-process on the real database:
// listing events, replaying a dead Stripe event with the Stripe webhook's own effect code, a
// replay that fails again, every reconciliation mismatch kind, and an admin's record of paying out
// what a closed account's former owner was owed.
import type postgres from "postgres";
import { describe, expect, it } from "vitest";
import { withRequestContext } from "../_shared/db.ts";
import { useAdminApi } from "../../tests/support/admin-api.ts";
import { balances, deposit, FORBIDDEN, idempotencyKey, openAccount, refusal } from "../../tests/support/admin-fixtures.ts";
import handler from "./handler.ts";
import { createMomoClient, type MomoClient } from "../_shared/providers/momo/client.ts";
import { createRevolutClient } from "../_shared/providers/revolut/client.ts";
import { type MomoStandIn, momoStandInOptionsFromEnv, startMomoStandIn } from "../../tests/support/provider-standins.ts";
import { momoStoredEventDecoder, replayWebhookEvent, revolutStoredEventDecoder } from "./webhook-replay.ts";

const { sql, staff, call } = await useAdminApi(handler);
const key = idempotencyKey;
const unique = () => crypto.randomUUID().replaceAll("-", "");

async function storeEvent(event: { provider?: string; eventId: string; type: string; payload: unknown; status: string; attempts: number }) {
  const [row] = await sql<{ id: string }[]>`
    insert into public.webhook_events (provider, event_id, type, payload, status, attempts, last_error)
    values (${event.provider ?? "stripe"}, ${event.eventId}, ${event.type}, ${sql.json(event.payload as postgres.JSONValue)},
            ${event.status}, ${event.attempts}, ${event.status === "processed" ? null : "earlier failure"})
    returning id`;
  return row!.id;
}

type EventState = { status: string; attempts: number };
/** A Revolut order event as revolut-webhook stores it: id `<order>:<event>`, typed by its event. */
const storeRevolutEvent = (orderId: string, event: string, state: EventState) =>
  storeEvent({ provider: "revolut", eventId: `${orderId}:${event}`, type: event, payload: { event, order_id: orderId }, ...state });
/** A MoMo event as momo-webhook stores it: id `<reference>:<suffix>`, its payload naming the reference. */
const storeMomoEvent = (referenceId: string, suffix: string, type: string, payload: Record<string, unknown>, state: EventState) =>
  storeEvent({ provider: "momo", eventId: `${referenceId}:${suffix}`, type, payload: { reference_id: referenceId, ...payload }, ...state });
/** A WhatsApp text message as whatsapp-webhook stores it: id the message's wamid. */
const storeWhatsAppText = (wamid: string, payload: Record<string, unknown>, state: EventState) =>
  storeEvent({ provider: "whatsapp", eventId: wamid, type: "message.text", payload, ...state });

/** A Stripe top-up intent for a new account of `ownerId`, the staff user unless named. */
async function stripeIntent(currency: string, amount: number, ownerId = staff.user.id): Promise<{ accountId: string; intentId: string }> {
  const accountId = await openAccount(sql, ownerId, currency);
  const [intent] = await sql<{ id: string }[]>`
    select id from public.payment_intent_create('stripe', ${accountId}::uuid, ${amount}::bigint, ${currency}, ${key()})`;
  return { accountId, intentId: intent!.id };
}

/**
 * A Stripe payment of 1,000 into a new account of `ownerId`, refunded whole, the account then
 * closed and the refund failed: the 1,000 is owed to the account's former owner (decision 0027).
 */
async function owedRefund(currency: string, ownerId = staff.user.id) {
  const owed = await stripeIntent(currency, 1_000, ownerId);
  const paymentIntent = `pi_${unique()}`;
  const refundId = `re_${unique()}`;
  const [payment] = await sql<{ id: string }[]>`
    select id from public.payment_record_success('stripe', ${paymentIntent}, ${owed.intentId}::uuid, 1000, ${currency})`;
  const [refund] = await sql<{ id: string }[]>`select id from public.refund_record(${payment!.id}::uuid, 1000, ${refundId})`;
  await sql`select 1 from public.wallet_set_status(${owed.accountId}::uuid, 'closed', 'customer left')`;
  await sql`select 1 from public.refund_record_failure(${
    payment!.id
  }::uuid, ${refundId}, 1000, 'failed', 'stripe refund failed: lost_or_stolen_card')`;
  return { accountId: owed.accountId, paymentIntent, refundId: refund!.id };
}

const succeededEvent = (paymentIntent: string, intentId: string, amount: number, currency: string) => ({
  id: `evt_${unique()}`,
  object: "event",
  type: "payment_intent.succeeded",
  created: 1_763_800_000,
  data: {
    object: { id: paymentIntent, object: "payment_intent", amount, amount_received: amount, currency, metadata: { intent_id: intentId } },
  },
});

describe("GET /admin/webhook-events", () => {
  it("filters by provider, status and type and pages without payloads; one event shows its payload", async () => {
    const type = `test.admin.${unique()}`;
    const ids: string[] = [];
    for (const status of ["failed", "dead", "dead"]) {
      ids.push(await storeEvent({ eventId: `evt_${unique()}`, type, payload: { secret_looking: "no" }, status, attempts: 1 }));
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const answer = await call(
        "GET",
        `/webhook-events?provider=stripe&status=dead&type=${type}&limit=1${cursor ? `&cursor=${cursor}` : ""}`,
        {
          token: staff.support.token,
        },
      );
      expect(answer.status).toBe(200);
      for (const event of answer.body.data) {
        expect(event).not.toHaveProperty("payload");
        seen.push(event.id);
      }
      cursor = answer.body.next_cursor;
    } while (cursor);
    expect(new Set(seen)).toEqual(new Set(ids.slice(1)));
    expect(seen).toHaveLength(2);

    const one = await call("GET", `/webhook-events/${ids[0]}`, { token: staff.support.token });
    expect(one.body.event).toMatchObject({ id: ids[0], status: "failed", payload: { secret_looking: "no" } });
    expect((await call("GET", `/webhook-events/${crypto.randomUUID()}`, { token: staff.admin.token })).status).toBe(404);
  });

  it("is refused to a plain user", async () => {
    expect(refusal(await call("GET", "/webhook-events", { token: staff.user.token }))).toEqual(FORBIDDEN);
  });
});

describe("POST /admin/webhook-events/:id/replay", () => {
  it("applies a dead Stripe event with the webhook's effect: the wallet is credited once, the event processed", async () => {
    const { accountId, intentId } = await stripeIntent("KES", 4_200);
    const paymentIntent = `pi_${unique()}`;
    const event = succeededEvent(paymentIntent, intentId, 4_200, "kes");
    const id = await storeEvent({ eventId: event.id, type: event.type, payload: event, status: "dead", attempts: 5 });

    const idempotencyKey = key();
    const replay = await call("POST", `/webhook-events/${id}/replay`, { token: staff.admin.token, idempotencyKey });
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ outcome: "processed", error: null, event: { id, status: "processed", attempts: 6 } });
    expect(await balances(sql, accountId)).toEqual({ balance: 4_200, available: 4_200 });
    const [payment] = await sql`select status, wallet_transaction_id from public.payments where provider_payment_id = ${paymentIntent}`;
    expect(payment!.status).toBe("succeeded");

    // The same call again is the stored answer; a new call finds the event processed.
    const again = await call("POST", `/webhook-events/${id}/replay`, { token: staff.admin.token, idempotencyKey });
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body).toEqual(replay.body);
    const fresh = await call("POST", `/webhook-events/${id}/replay`, { token: staff.admin.token, idempotencyKey: key() });
    expect(fresh.status).toBe(409);
    expect(await balances(sql, accountId)).toEqual({ balance: 4_200, available: 4_200 });

    // The deposit was made in the service scope, as the webhook would have made it, and the
    // audit trail names the admin.
    const [credit] = await sql`select initiated_by from public.wallet_transactions where id = ${payment!.wallet_transaction_id}`;
    expect(credit!.initiated_by).toBeNull();
    const audit = await call("GET", `/audit?table=wallet_transactions&record_id=${payment!.wallet_transaction_id}`, {
      token: staff.admin.token,
    });
    expect(audit.body.data[0]).toMatchObject({ operation: "INSERT", actor_id: staff.admin.id });
    // So does the event's own change from dead to processed, with the replay's request (the
    // fixture's insert of the event, already dead, is audited too: it carries an outcome).
    const eventAudit = await call("GET", `/audit?table=webhook_events&record_id=${id}`, { token: staff.admin.token });
    expect(eventAudit.body.data.filter((row: { operation: string }) => row.operation === "UPDATE")).toMatchObject([{
      operation: "UPDATE",
      actor_id: staff.admin.id,
      actor_app_role: "admin",
      correlation_id: replay.headers.get("x-correlation-id"),
      old_record: { status: "dead", payload: "[redacted]" },
      new_record: { status: "processed", attempts: 6 },
    }]);
  });

  it("records a replay that fails again as another failed attempt, with the error", async () => {
    const dispute = { id: `dp_${unique()}`, charge: `ch_${unique()}`, payment_intent: `pi_${unique()}`, amount: 100, currency: "kes" };
    const event = { id: `evt_${unique()}`, type: "charge.dispute.created", created: 1_763_800_000, data: { object: dispute } };
    const id = await storeEvent({ eventId: event.id, type: event.type, payload: event, status: "failed", attempts: 2 });
    const replay = await call("POST", `/webhook-events/${id}/replay`, { token: staff.admin.token, idempotencyKey: key() });
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ outcome: "failed", event: { status: "failed", attempts: 3 } });
    expect(replay.body.error).toContain("no recorded Stripe payment");
  });

  it("records a replay whose effect waits as another failed attempt, never dead: a lost dispute while a refund is pending at Stripe", async () => {
    const { intentId } = await stripeIntent("JMD", 1_000);
    const paymentIntent = `pi_${unique()}`;
    const [payment] = await sql<{ id: string }[]>`
      select id from public.payment_record_success('stripe', ${paymentIntent}, ${intentId}::uuid, 1000, 'JMD')`;
    await sql`select 1 from api_private.refund_record_pending(${payment!.id}::uuid, 600, ${`re_${unique()}`}, 'customer asked')`;
    const dispute = { id: `dp_${unique()}`, charge: `ch_${unique()}`, payment_intent: paymentIntent, amount: 1000, currency: "jmd" };
    const event = {
      id: `evt_${unique()}`,
      type: "charge.dispute.closed",
      created: 1_763_800_000,
      data: { object: { ...dispute, status: "lost", reason: "fraudulent" } },
    };
    const id = await storeEvent({ eventId: event.id, type: event.type, payload: event, status: "failed", attempts: 5 });
    const replay = await call("POST", `/webhook-events/${id}/replay`, { token: staff.admin.token, idempotencyKey: key() });
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ outcome: "failed", event: { status: "failed", attempts: 6 } });
    expect(replay.body.error).toContain("reserved by refunds pending at Stripe");
    const [recorded] = await sql<{ n: number }[]>`select count(*)::int as n from public.refunds where provider_refund_id = ${dispute.id}`;
    expect(recorded!.n).toBe(0);
  });

  it("answers 409 for an event that is not failed or dead, and 404 for an unknown one", async () => {
    const id = await storeEvent({
      eventId: `evt_${unique()}`,
      type: "payment_intent.succeeded",
      payload: {},
      status: "processed",
      attempts: 1,
    });
    expect((await call("POST", `/webhook-events/${id}/replay`, { token: staff.admin.token, idempotencyKey: key() })).status).toBe(409);
    expect(
      (await call("POST", `/webhook-events/${crypto.randomUUID()}/replay`, { token: staff.admin.token, idempotencyKey: key() })).status,
    )
      .toBe(404);
  });

  const asAdmin = () => ({
    role: "authenticated" as const,
    claims: { sub: staff.admin.id, role: "authenticated", app_metadata: { role: "admin" } },
    headers: {},
    correlationId: `replay-${unique()}`,
    clientAddress: "203.0.113.7",
  });
  /** A MoMo client on a MoMo stand-in that knows `referenceId` as a SUCCESSFUL payment of 100 UGX, closed after `run`. */
  async function withMomoKnowing(referenceId: string, run: (client: MomoClient, standIn: MomoStandIn) => Promise<void>) {
    const standIn = await startMomoStandIn(momoStandInOptionsFromEnv());
    try {
      standIn.records.set(referenceId, { amount: "100", currency: "UGX", status: "SUCCESSFUL" });
      await run(createMomoClient({ ...momoStandInOptionsFromEnv(), baseUrl: standIn.url }), standIn);
    } finally {
      await standIn.close();
    }
  }
  /** Replays event `id` as an admin with the given stored-event decoders. */
  const replayAsAdmin = (id: string, decoders: Parameters<typeof replayWebhookEvent>[2]) =>
    withRequestContext(sql, asAdmin(), (tx) => replayWebhookEvent(tx, id, decoders));

  it("replays a MoMo event by asking MoMo's API again; when MoMo does not answer, that is the attempt's failure", async () => {
    const referenceId = crypto.randomUUID();
    const id = await storeMomoEvent(referenceId, "SUCCESSFUL", "requesttopay.successful", {
      callback: { status: "SUCCESSFUL", amount: "100", currency: "UGX" },
    }, { status: "dead", attempts: 5 });
    const unreachable = createMomoClient({
      baseUrl: "http://127.0.0.1:1",
      subscriptionKey: "k",
      apiUser: crypto.randomUUID(),
      apiKey: "k",
      targetEnvironment: "sandbox",
      timeoutMs: 2_000,
    });
    const result = await replayAsAdmin(id, { momo: momoStoredEventDecoder(() => unreachable) });
    expect(result).toMatchObject({ outcome: "dead", event: { status: "dead", attempts: 6 } });
    expect(result.error).toMatch(/MoMo did not answer/);
  });

  it("replays a MoMo transfer (cash-out) event by asking MoMo's Disbursement API, not Collection", async () => {
    const referenceId = crypto.randomUUID();
    const id = await storeMomoEvent(referenceId, "unconfirmed", "transfer.unconfirmed", {
      product: "disbursement",
      callback: { status: "SUCCESSFUL" },
    }, { status: "failed", attempts: 1 });
    await withMomoKnowing(referenceId, async (client, standIn) => {
      const result = await replayAsAdmin(id, { momo: momoStoredEventDecoder(() => client) });
      expect(standIn.requests).toEqual(["POST /disbursement/token/", `GET /disbursement/v1_0/transfer/${referenceId}`]);
      // No cash-out has this reference: cashout_settle's WL007 is the attempt's failure.
      expect(result).toMatchObject({ outcome: "failed", event: { status: "failed", attempts: 2 } });
      expect(result.error).toMatch(/cash-out .* not found/);
    });
  });

  it("replays a MoMo refund transfer event with the refund's effect, and momo-poll's not_accepted without asking MoMo", async () => {
    const referenceId = crypto.randomUUID();
    await withMomoKnowing(referenceId, async (client, standIn) => {
      const replay = async (suffix: string, payload: Record<string, unknown>) =>
        replayAsAdmin(
          await storeMomoEvent(referenceId, suffix, "refund.unconfirmed", payload, { status: "failed", attempts: 1 }),
          { momo: momoStoredEventDecoder(() => client) },
        );
      const confirmed = await replay("unconfirmed", {
        product: "disbursement",
        purpose: "refund",
        callback: { status: "SUCCESSFUL" },
      });
      // No MoMo refund has this reference: momo_refund_settle's WL007 is the attempt's failure.
      expect(confirmed.error).toMatch(/MoMo refund .* not found/);
      expect(standIn.requests).toEqual(["POST /disbursement/token/", `GET /disbursement/v1_0/transfer/${referenceId}`]);

      const notAccepted = await replay("not_accepted", {
        product: "disbursement",
        purpose: "refund",
        not_accepted: true,
        callback: null,
      });
      expect(notAccepted.error).toMatch(/MoMo refund .* not found/);
      expect(standIn.requests).toHaveLength(2);
    });
  });

  it("replays a Revolut ORDER_FAILED with revolut-webhook's effect: the intent fails", async () => {
    const accountId = await openAccount(sql, staff.user.id, "PLN");
    const orderId = `ord-${unique()}`;
    const [intent] = await sql<{ id: string }[]>`
      select id from public.payment_intent_create('revolut', ${accountId}::uuid, 900, 'PLN', ${key()})`;
    await sql`select public.payment_intent_attach(${intent!.id}::uuid, ${orderId})`;
    const id = await storeRevolutEvent(orderId, "ORDER_FAILED", { status: "dead", attempts: 5 });
    const replay = await call("POST", `/webhook-events/${id}/replay`, { token: staff.admin.token, idempotencyKey: key() });
    expect(replay.body).toMatchObject({ outcome: "processed", event: { status: "processed" } });
    const [row] = await sql`select status from public.payment_intents where id = ${intent!.id}`;
    expect(row!.status).toBe("failed");
  });

  it("looks a completed Revolut order up again; when Revolut does not answer, that is the attempt's failure", async () => {
    const orderId = `ord-${unique()}`;
    const id = await storeRevolutEvent(orderId, "ORDER_COMPLETED", { status: "failed", attempts: 1 });
    const unreachable = createRevolutClient({ baseUrl: "http://127.0.0.1:1", secretKey: "sk", apiVersion: "2024-09-01", timeoutMs: 2_000 });
    const result = await replayAsAdmin(id, { revolut: revolutStoredEventDecoder(() => unreachable) });
    expect(result).toMatchObject({ outcome: "failed", event: { status: "failed", attempts: 2 } });
    expect(result.error).toMatch(/Revolut/);
  });

  it("replays a WhatsApp inbound message with whatsapp-webhook's effect: the message is stored once", async () => {
    const wamid = `wamid.${unique()}`;
    const message = { id: wamid, from: "256772123456", timestamp: "1763800000", type: "text", text: { body: "balance?" } };
    const id = await storeWhatsAppText(wamid, { phone_number_id: "1234567890", message }, { status: "failed", attempts: 1 });
    const replay = await call("POST", `/webhook-events/${id}/replay`, { token: staff.admin.token, idempotencyKey: key() });
    expect(replay.body).toMatchObject({ outcome: "processed", event: { status: "processed", attempts: 2 } });
    const rows = await sql`select direction, sender, body, phone_number_id from public.whatsapp_messages where wamid = ${wamid}`;
    expect(rows).toEqual([{ direction: "inbound", sender: "256772123456", body: "balance?", phone_number_id: "1234567890" }]);
  });

  it("answers 409 replay_unavailable for a provider without a stored-event decoder, and changes nothing", async () => {
    const id = await storeWhatsAppText(`wamid.${unique()}`, {}, { status: "dead", attempts: 5 });
    await expect(replayAsAdmin(id, {})).rejects.toMatchObject({
      status: 409,
      code: "replay_unavailable",
    });
    const [row] = await sql`select status, attempts from public.webhook_events where id = ${id}`;
    expect(row).toEqual({ status: "dead", attempts: 5 });
  });

  it("is refused to support, and changes nothing", async () => {
    const id = await storeEvent({ eventId: `evt_${unique()}`, type: "payment_intent.succeeded", payload: {}, status: "dead", attempts: 5 });
    const idempotencyKey = key();
    expect(refusal(await call("POST", `/webhook-events/${id}/replay`, { token: staff.support.token, idempotencyKey }))).toEqual(FORBIDDEN);
    // A replay that ran would have counted an attempt and stored its answer under the key.
    expect(await sql`select status, attempts, last_error from public.webhook_events where id = ${id}`)
      .toEqual([{ status: "dead", attempts: 5, last_error: "earlier failure" }]);
    expect(await sql`select 1 from private.api_requests where idempotency_key = ${idempotencyKey}`).toEqual([]);
  });
});

describe("GET /admin/reconciliation", () => {
  it("lists a missing credit, a credit without payment and an amount that differs, and not a clean payment", async () => {
    const from = new Date(Date.now() - 1000).toISOString();
    // Clean: a replayed payment that was credited in full.
    const clean = await stripeIntent("XOF", 1_000);
    const cleanPi = `pi_${unique()}`;
    await sql`select public.payment_record_success('stripe', ${cleanPi}, ${clean.intentId}::uuid, 1000, 'XOF')`;
    // Missing credit: a payment for an intent nobody knows.
    const unknownPi = `pi_${unique()}`;
    await sql`select public.payment_record_success('stripe', ${unknownPi}, null, 400, 'XOF')`;
    // Credit without payment: a deposit from Stripe's clearing account that no payment explains.
    const orphan = await deposit(sql, clean.accountId, 300, "XOF", "stripe");
    // Amount differs: a payment pointing at a deposit of another amount.
    const short = await deposit(sql, clean.accountId, 700, "XOF", "stripe");
    const shortPi = `pi_${unique()}`;
    await sql`insert into public.payments (provider, provider_payment_id, amount, currency, status, wallet_transaction_id)
              values ('stripe', ${shortPi}, 750, 'XOF', 'succeeded', ${short}::uuid)`;
    const to = new Date(Date.now() + 1000).toISOString();

    const answer = await call("GET", `/reconciliation?provider=stripe&from=${from}&to=${to}`, { token: staff.support.token });
    expect(answer.status).toBe(200);
    const mine = answer.body.mismatches.filter((m: { provider_payment_id: string | null; wallet_transaction_id: string | null }) =>
      [unknownPi, shortPi, cleanPi].includes(m.provider_payment_id ?? "") || m.wallet_transaction_id === orphan
    );
    expect(mine.map((m: { kind: string }) => m.kind).sort()).toEqual(["amount_differs", "credit_without_payment", "missing_credit"]);
    expect(mine.find((m: { kind: string }) => m.kind === "amount_differs")).toMatchObject({ provider_amount: 750, ledger_amount: 700 });
    expect(mine.find((m: { kind: string }) => m.kind === "missing_credit")).toMatchObject({
      provider_payment_id: unknownPi,
      provider_amount: 400,
    });
    expect(answer.body.balanced).toBe(false);
    expect(answer.body.counts.missing_credit).toBeGreaterThanOrEqual(1);
  });

  it("lists a deposit reversed through the admin API that the payment never refunded, and not a refund that matches", async () => {
    const from = new Date(Date.now() - 1000).toISOString();
    const reversed = await stripeIntent("XAF", 1_000);
    const reversedPi = `pi_${unique()}`;
    const [payment] = await sql<{ wallet_transaction_id: string }[]>`
      select wallet_transaction_id from public.payment_record_success('stripe', ${reversedPi}, ${reversed.intentId}::uuid, 1000, 'XAF')`;
    const reversal = await call("POST", `/transactions/${payment!.wallet_transaction_id}/reverse`, {
      token: staff.admin.token,
      body: { amount: 400, reason: "goodwill, by hand" },
      idempotencyKey: key(),
    });
    expect(reversal.status).toBe(201);
    // Matched: a refund recorded with the provider, which reversed the same amount in the ledger.
    const refunded = await stripeIntent("XPF", 800);
    const refundedPi = `pi_${unique()}`;
    const [matched] = await sql<{ id: string }[]>`
      select id from public.payment_record_success('stripe', ${refundedPi}, ${refunded.intentId}::uuid, 800, 'XPF')`;
    await sql`select public.refund_record(${matched!.id}::uuid, 300, ${`re_${unique()}`})`;
    const to = new Date(Date.now() + 1000).toISOString();

    const answer = await call("GET", `/reconciliation?provider=stripe&from=${from}&to=${to}`, { token: staff.support.token });
    expect(answer.status).toBe(200);
    const mine = answer.body.mismatches.filter((m: { provider_payment_id: string | null }) =>
      [reversedPi, refundedPi].includes(m.provider_payment_id ?? "")
    );
    expect(mine).toEqual([expect.objectContaining({
      kind: "reversal_differs",
      provider_payment_id: reversedPi,
      wallet_transaction_id: payment!.wallet_transaction_id,
      account_id: reversed.accountId,
      provider_amount: 0,
      ledger_amount: 400,
      detail: "ledger reversed 400 XAF of the deposit, payment refunded 0",
    })]);
    expect(answer.body.counts.reversal_differs).toBeGreaterThanOrEqual(1);
    expect(answer.body.balanced).toBe(false);
  });

  it("lists a refund that failed after its account closed apart from the mismatches, owed to the account's former owner", async () => {
    const from = new Date(Date.now() - 1000).toISOString();
    const owed = await owedRefund("GYD");
    const to = new Date(Date.now() + 1000).toISOString();

    const answer = await call("GET", `/reconciliation?provider=stripe&from=${from}&to=${to}`, { token: staff.support.token });
    expect(answer.status).toBe(200);
    const isMine = (m: { provider_payment_id: string | null }) => m.provider_payment_id === owed.paymentIntent;
    expect(answer.body.mismatches.filter(isMine)).toEqual([]);
    expect(answer.body.resolutions.filter(isMine)).toEqual([expect.objectContaining({
      kind: "refund_failed_owed",
      account_id: owed.accountId,
      currency: "GYD",
      provider_amount: 1000,
      ledger_amount: 1000,
      detail: expect.stringContaining(`owed to its former owner, user ${staff.user.id}, held on unclaimed:GYD`),
    })]);
    expect(answer.body.counts).not.toHaveProperty("refund_failed_owed");
  });

  it("is refused to a plain user", async () => {
    expect(refusal(await call("GET", "/reconciliation", { token: staff.user.token }))).toEqual(FORBIDDEN);
  });
});

describe("POST /admin/refunds/:id/paid-out", () => {
  /** The balance of the system account `code` (unclaimed, clearing:manual) of `currency`. */
  async function systemBalance(code: "unclaimed" | "clearing:manual", currency: string): Promise<number> {
    const [row] = await sql<{ id: string }[]>`select private.wallet_system_account(${code}, ${currency}) as id`;
    return (await balances(sql, row!.id)).balance;
  }

  it("records an admin's bank transfer of what a closed account's former owner was owed: once, and reconciliation lists it paid", async () => {
    const from = new Date(Date.now() - 1000).toISOString();
    const owed = await owedRefund("BZD");
    const to = new Date(Date.now() + 1000).toISOString();
    const before = { unclaimed: await systemBalance("unclaimed", "BZD"), manual: await systemBalance("clearing:manual", "BZD") };
    const body = { amount: 1000, method: "bank_transfer", reference: "FT2412070001", reason: "paid to the IBAN she gave on ticket 88" };
    const paidOut = (key: string, payout: unknown, token = staff.admin.token) =>
      call("POST", `/refunds/${owed.refundId}/paid-out`, { token, idempotencyKey: key, body: payout });

    expect(refusal(await paidOut(key(), body, staff.support.token))).toEqual(FORBIDDEN);
    expect(refusal(await paidOut(key(), body, staff.user.token))).toEqual(FORBIDDEN);
    for (
      const bad of [
        { ...body, method: "cheque" },
        { ...body, reference: " " },
        { ...body, reference: "r".repeat(256) },
        { ...body, amount: 0 },
        { ...body, amount: 10.5 },
        { method: "cash", reference: "receipt 12", reason: "paid at the office" },
        { amount: 1000, method: "cash", reference: "receipt 12" },
      ]
    ) {
      expect(refusal(await paidOut(key(), bad))).toEqual({ status: 400, code: "validation_failed" });
    }
    expect(refusal(
      await call("POST", `/refunds/${crypto.randomUUID()}/paid-out`, { token: staff.admin.token, idempotencyKey: key(), body }),
    )).toEqual({ status: 404, code: "not_found" });
    // What the admin says they paid must be what is owed: 999 of the 1000 is refused, naming it.
    const short = await paidOut(key(), { ...body, amount: 999 });
    expect([short.status, short.body.error.code, short.body.error.message]).toEqual([
      409,
      "invalid_state",
      `refund ${owed.refundId} owes 1000 BZD to its former owner, not 999: record what is owed`,
    ]);
    expect(await systemBalance("unclaimed", "BZD")).toBe(before.unclaimed);

    const once = key();
    const paid = await paidOut(once, body);
    expect(paid.status).toBe(200);
    expect(paid.body.refund).toMatchObject({
      id: owed.refundId,
      status: "failed",
      owed_to_closed_account: true,
      paid_out_amount: 1000,
      paid_out_by: staff.admin.id,
      payout_method: "bank_transfer",
      payout_reference: "FT2412070001",
      payout_reason: "paid to the IBAN she gave on ticket 88",
    });
    const again = await paidOut(once, body);
    expect([again.body, again.headers.get("idempotent-replayed")]).toEqual([paid.body, "true"]);
    expect(refusal(await paidOut(key(), body))).toEqual({ status: 409, code: "invalid_state" });
    expect(await systemBalance("unclaimed", "BZD")).toBe(before.unclaimed - 1000);
    expect(await systemBalance("clearing:manual", "BZD")).toBe(before.manual + 1000);

    const answer = await call("GET", `/reconciliation?provider=stripe&from=${from}&to=${to}`, { token: staff.support.token });
    const isMine = (m: { provider_payment_id: string | null }) => m.provider_payment_id === owed.paymentIntent;
    expect(answer.body.mismatches.filter(isMine)).toEqual([]);
    expect(answer.body.resolutions.filter(isMine)).toEqual([expect.objectContaining({
      kind: "refund_owed_paid_out",
      account_id: owed.accountId,
      provider_amount: 1000,
      ledger_amount: 1000,
      wallet_transaction_id: paid.body.refund.paid_out_transaction_id,
      detail: expect.stringContaining(`paid out by admin ${staff.admin.id}`),
    })]);
    const audit = await call("GET", `/audit?table=refunds&record_id=${owed.refundId}`, { token: staff.support.token });
    expect(audit.body.data[0]).toMatchObject({ actor_id: staff.admin.id, correlation_id: paid.headers.get("x-correlation-id") });
    expect(audit.body.data[0].new_record).toMatchObject({ payout_reference: "FT2412070001" });
  });

  it("refuses a debt owed to the admin themselves (403) and a refund that owes nothing (409)", async () => {
    const body = { amount: 200, method: "cash", reference: "receipt 12", reason: "paid at the office" };
    const own = await owedRefund("BMD", staff.admin.id);
    expect(refusal(await call("POST", `/refunds/${own.refundId}/paid-out`, { token: staff.admin.token, idempotencyKey: key(), body })))
      .toEqual(FORBIDDEN);

    const open = await stripeIntent("BND", 500);
    const [payment] = await sql<{ id: string }[]>`
      select id from public.payment_record_success('stripe', ${`pi_${unique()}`}, ${open.intentId}::uuid, 500, 'BND')`;
    const [refund] = await sql<{ id: string }[]>`select id from public.refund_record(${payment!.id}::uuid, 200, ${`re_${unique()}`})`;
    expect(refusal(await call("POST", `/refunds/${refund!.id}/paid-out`, { token: staff.admin.token, idempotencyKey: key(), body })))
      .toEqual({ status: 409, code: "invalid_state" });
  });
});
