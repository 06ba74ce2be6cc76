// Top-ups end to end through a real Deno gateway: POST /payments/topups -> provider stand-in
// -> the provider's webhook (signed as the provider signs it) -> the wallet credited once; and
// every way the provider call can end (declined, unavailable, retried, replayed, refused with no
// provider call for an intent that ended meanwhile).
import { useTestSql } from "../../tests/support/test-sql.ts";
import { describe, expect, it } from "vitest";
import { balanceOf, creditsTo, intentStatus } from "../../tests/support/payments-fixtures.ts";
import { createStaff } from "../../tests/support/admin-fixtures.ts";
import { callPayments, MOMO_TOKEN_LIFETIME_SECONDS, topUpUser } from "../../tests/support/payments-gateway.ts";
import { usePaymentsGateway } from "../../tests/support/use-payments-gateway.ts";
import { stripeCardDeclined, stripeError, stripeIdempotencyKeyInUse } from "../../tests/support/provider-standins.ts";
import { revolutRequest, stripeEvent, stripeRequest } from "../../tests/support/webhook-requests.ts";

const sql = useTestSql();
const gateway = usePaymentsGateway();

const topUp = (token: string, key: string, body: Record<string, unknown>) =>
  callPayments(gateway.url, "POST", "/topups", { token, idempotencyKey: key, body });

/** A new user's top-up of `body` into their account, accepted (201): the user, the answer and its intent's id. */
async function acceptedTopUp(body: { provider: string; amount: number; currency: string; msisdn?: string }) {
  const user = await topUpUser(sql, body.currency);
  const answer = await topUp(user.token, crypto.randomUUID(), { ...body, account_id: user.accountId });
  expect(answer.status).toBe(201);
  return { user, answer, intentId: answer.body.intent.id as string };
}

/** The PaymentIntents the Stripe stand-in created for our intent. */
const stripeCreatesFor = (intentId: string) =>
  [...gateway.stripe.paymentIntents.values()].filter((pi) => (pi.metadata as Record<string, string>).intent_id === intentId);

const ordersFor = (intentId: string) =>
  gateway.revolut.createdOrders.filter((id) =>
    (gateway.revolut.records.get(id) as Record<string, unknown>).merchant_order_ext_ref === intentId
  );

const tokenRequests = () => gateway.momo.requests.filter((r) => r === "POST /collection/token/").length;

async function referenceOf(intentId: string): Promise<{ status: string; provider_ref: string | null }> {
  const [row] = await sql<{ status: string; provider_ref: string | null }[]>`
    select status, provider_ref from public.payment_intents where id = ${intentId}::uuid`;
  return row!;
}

async function rowsOf(userId: string): Promise<{ intents: number; requests: number }> {
  const [row] = await sql<{ intents: number; requests: number }[]>`
    select (select count(*)::int from public.payment_intents where user_id = ${userId}::uuid) as intents,
           (select count(*)::int from private.api_requests where caller_id = ${userId}::uuid) as requests`;
  return row!;
}

describe("top-ups through the gateway, end to end", () => {
  it("Stripe: a PaymentIntent per intent, its client_secret, then payment_intent.succeeded credits once", async () => {
    const user = await topUpUser(sql, "USD");
    const key = crypto.randomUUID();
    const body = { provider: "stripe", account_id: user.accountId, amount: 1999, currency: "USD" };
    const first = await topUp(user.token, key, body);
    expect(first.status).toBe(201);
    const intentId = first.body.intent.id;
    const [pi] = stripeCreatesFor(intentId);
    expect(first.body).toEqual({
      intent: { id: intentId, status: "processing", provider: "stripe", amount: 1999, currency: "USD" },
      next_action: { type: "stripe_client_secret", client_secret: pi!.client_secret },
    });
    expect(pi).toMatchObject({ amount: 1999, currency: "usd" });

    const replay = await topUp(user.token, key, body);
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual(first.body);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(stripeCreatesFor(intentId)).toHaveLength(1);

    const succeeded = stripeEvent("payment_intent.succeeded", gateway.stripe.confirm(pi!.id as string));
    expect((await fetch(stripeRequest(succeeded, {}, { base: gateway.url }))).status).toBe(200);
    expect((await fetch(stripeRequest(succeeded, {}, { base: gateway.url }))).status).toBe(200);
    expect(await balanceOf(sql, user.accountId)).toEqual({ balance: 1999, available: 1999 });
    expect(await creditsTo(sql, user.accountId)).toBe(1);

    const read = await callPayments(gateway.url, "GET", `/topups/${intentId}`, { token: user.token });
    expect(read.status).toBe(200);
    expect(read.body.intent).toMatchObject({ id: intentId, status: "succeeded", provider_ref: pi!.id, amount: 1999 });
    expect(read.body.payment).toMatchObject({ provider_payment_id: pi!.id, status: "succeeded" });
  });

  it("MoMo: a request-to-pay with our reference and callback URL; the payer's approval calls back and credits once", async () => {
    const { user, answer, intentId } = await acceptedTopUp({ provider: "momo", amount: 5000, currency: "UGX", msisdn: "256772123456" });
    expect(answer.body).toEqual({
      intent: { id: intentId, status: "processing", provider: "momo", amount: 5000, currency: "UGX" },
      next_action: { type: "approve_on_phone", msisdn: "256772123456" },
    });
    const sent = gateway.momo.requestsToPay.get(intentId);
    expect(sent?.body).toMatchObject({
      amount: "5000",
      currency: "UGX",
      externalId: intentId,
      payer: { partyIdType: "MSISDN", partyId: "256772123456" },
    });
    expect(sent?.callbackUrl).toMatch(new RegExp(`^${gateway.url}/momo-webhook/callback/${intentId}\\?token=[0-9a-f]{64}$`));

    expect(await gateway.momo.decide(intentId, "SUCCESSFUL")).toBe(200);
    expect(gateway.momo.requests).toContain(`GET /collection/v1_0/requesttopay/${intentId}`);
    expect(await balanceOf(sql, user.accountId)).toEqual({ balance: 5000, available: 5000 });
    expect(await creditsTo(sql, user.accountId)).toBe(1);
    expect(await intentStatus(sql, intentId)).toMatchObject({ status: "succeeded" });
  });

  it("Revolut: an order with our reference, its checkout_url, then ORDER_COMPLETED credits once", async () => {
    const { user, answer, intentId } = await acceptedTopUp({ provider: "revolut", amount: 2500, currency: "EUR" });
    const [orderId] = ordersFor(intentId);
    const order = gateway.revolut.records.get(orderId!) as Record<string, unknown>;
    expect(answer.body.next_action).toEqual({ type: "redirect", url: order.checkout_url });
    expect(order).toMatchObject({ amount: 2500, currency: "EUR", merchant_order_ext_ref: intentId });

    gateway.revolut.complete(orderId!);
    const completed = { event: "ORDER_COMPLETED", order_id: orderId, merchant_order_ext_ref: intentId };
    expect((await fetch(revolutRequest(completed, {}, { base: gateway.url }))).status).toBe(200);
    expect((await fetch(revolutRequest(completed, {}, { base: gateway.url }))).status).toBe(200);
    expect(await balanceOf(sql, user.accountId)).toEqual({ balance: 2500, available: 2500 });
    expect(await creditsTo(sql, user.accountId)).toBe(1);
  });
});

describe("a provider that declines or is unavailable", () => {
  it("Stripe 402 card_declined fails the intent, answers 422 and replays that answer without calling again", async () => {
    const user = await topUpUser(sql, "USD");
    const key = crypto.randomUUID();
    const body = { provider: "stripe", account_id: user.accountId, amount: 700, currency: "USD" };
    gateway.stripe.createBehaviour = stripeCardDeclined;
    const before = gateway.stripe.requests.length;
    try {
      const answer = await topUp(user.token, key, body);
      expect(answer.status).toBe(422);
      expect(answer.body.error).toMatchObject({ code: "provider_declined", details: { provider: "stripe", intent: { status: "failed" } } });
      expect(answer.body.error.details.reason).toMatch(/^generic_decline: Your card was declined/);
      expect(await intentStatus(sql, answer.body.error.details.intent.id)).toMatchObject({ status: "failed" });
      const replay = await topUp(user.token, key, body);
      expect(replay.status).toBe(422);
      expect(replay.body).toEqual(answer.body);
      expect(gateway.stripe.requests.length - before).toBe(1);
    } finally {
      gateway.stripe.createBehaviour = "accept";
    }
  });

  it("MoMo and Revolut 4xx refusals fail the intent with the provider's reason (422)", async () => {
    const ugx = await topUpUser(sql, "UGX");
    gateway.momo.requestToPayBehaviour = { status: 400, body: { code: "PAYER_NOT_FOUND", message: "Payer not found" } };
    const eur = await topUpUser(sql, "EUR");
    gateway.revolut.createOrderBehaviour = { status: 422, body: { code: "unprocessable_entity", message: "Currency not supported" } };
    try {
      const momo = await topUp(ugx.token, crypto.randomUUID(), {
        provider: "momo",
        account_id: ugx.accountId,
        amount: 100,
        currency: "UGX",
        msisdn: "256772000001",
      });
      expect(momo.status).toBe(422);
      expect(momo.body.error.details).toMatchObject({ provider: "momo", reason: "PAYER_NOT_FOUND: Payer not found" });
      expect(await intentStatus(sql, momo.body.error.details.intent.id)).toEqual({
        status: "failed",
        failure_reason: "momo: PAYER_NOT_FOUND: Payer not found",
      });
      const revolut = await topUp(eur.token, crypto.randomUUID(), {
        provider: "revolut",
        account_id: eur.accountId,
        amount: 100,
        currency: "EUR",
      });
      expect(revolut.status).toBe(422);
      expect(revolut.body.error.details).toMatchObject({ provider: "revolut", reason: "unprocessable_entity: Currency not supported" });
      expect(await intentStatus(sql, revolut.body.error.details.intent.id)).toMatchObject({ status: "failed" });
    } finally {
      gateway.momo.requestToPayBehaviour = "accept";
      gateway.revolut.createOrderBehaviour = "accept";
    }
  });

  it.each(
    [
      ["a 500", { status: 500, body: stripeError("api_error", undefined, "Something went wrong on Stripe's end.") }],
      ["no answer", "hang"],
      // An earlier call with the intent's Idempotency-Key is still running at Stripe (ours timed
      // out and the user retried at once): its outcome is not known yet, nothing was refused.
      ["a 409 idempotency_key_in_use", stripeIdempotencyKeyInUse],
    ] as const,
  )("Stripe with %s: 502, intent still requires_payment; the same key later creates exactly one PaymentIntent", async (_, behaviour) => {
    const user = await topUpUser(sql, "USD");
    const key = crypto.randomUUID();
    const body = { provider: "stripe", account_id: user.accountId, amount: 1500, currency: "USD" };
    gateway.stripe.createBehaviour = behaviour;
    const down = await topUp(user.token, key, body).finally(() => {
      gateway.stripe.createBehaviour = "accept";
    });
    expect(down.status).toBe(502);
    expect(down.body.error).toMatchObject({
      code: "provider_unavailable",
      details: { provider: "stripe", intent: { status: "requires_payment" } },
    });
    const intentId = down.body.error.details.intent.id;
    expect(await intentStatus(sql, intentId)).toMatchObject({ status: "requires_payment" });

    const retry = await topUp(user.token, key, body);
    expect(retry.status).toBe(201);
    expect(retry.body.intent).toMatchObject({ id: intentId, status: "processing" });
    expect(stripeCreatesFor(intentId)).toHaveLength(1);
    expect((await topUp(user.token, key, body)).body).toEqual(retry.body);
    expect(stripeCreatesFor(intentId)).toHaveLength(1);
  });

  it("MoMo and Revolut down (500, no answer): 502, then the same key makes exactly one request-to-pay and one order", async () => {
    const ugx = await topUpUser(sql, "UGX");
    const eur = await topUpUser(sql, "EUR");
    const momoBody = { provider: "momo", account_id: ugx.accountId, amount: 3000, currency: "UGX", msisdn: "256772000002" };
    const revolutBody = { provider: "revolut", account_id: eur.accountId, amount: 900, currency: "EUR" };
    const momoKey = crypto.randomUUID();
    const revolutKey = crypto.randomUUID();
    gateway.momo.requestToPayBehaviour = "hang";
    gateway.revolut.createOrderBehaviour = { status: 503, body: { code: "service_unavailable", message: "try later" } };
    let momoDown, revolutDown;
    try {
      [momoDown, revolutDown] = await Promise.all([topUp(ugx.token, momoKey, momoBody), topUp(eur.token, revolutKey, revolutBody)]);
    } finally {
      gateway.momo.requestToPayBehaviour = "accept";
      gateway.revolut.createOrderBehaviour = "accept";
    }
    expect([momoDown.status, revolutDown.status]).toEqual([502, 502]);
    const momoIntent = momoDown.body.error.details.intent.id;
    const revolutIntent = revolutDown.body.error.details.intent.id;
    // MoMo's reference (the intent id) is recorded before the call, so momo-poll asks MoMo about
    // a request it may have taken; Revolut's order id is known only from its answer.
    expect(await referenceOf(momoIntent)).toEqual({ status: "processing", provider_ref: momoIntent });
    expect(await referenceOf(revolutIntent)).toEqual({ status: "requires_payment", provider_ref: null });

    const [momo, revolut] = await Promise.all([topUp(ugx.token, momoKey, momoBody), topUp(eur.token, revolutKey, revolutBody)]);
    expect([momo.status, revolut.status]).toEqual([201, 201]);
    expect(momo.body.intent.id).toBe(momoIntent);
    expect(revolut.body.intent.id).toBe(revolutIntent);
    expect([...gateway.momo.requestsToPay.keys()].filter((ref) => ref === momoIntent)).toHaveLength(1);
    expect(ordersFor(revolutIntent)).toHaveLength(1);
  });
  it("MoMo refusing a retry of a request-to-pay it may hold keeps the intent processing (502): the payer's approval of the first then credits once", async () => {
    const user = await topUpUser(sql, "UGX");
    const key = crypto.randomUUID();
    const body = { provider: "momo", account_id: user.accountId, amount: 2500, currency: "UGX", msisdn: "256772000003" };
    // MoMo takes the request-to-pay and prompts the payer, but its answer is lost.
    gateway.momo.requestToPayBehaviour = "accept-silently";
    const lost = await topUp(user.token, key, body).finally(() => {
      gateway.momo.requestToPayBehaviour = "accept";
    });
    expect(lost.status).toBe(502);
    const intentId = lost.body.error.details.intent.id as string;

    // The retry's request-to-pay is refused: that says nothing of the first, which the payer is looking at.
    gateway.momo.requestToPayBehaviour = { status: 400, body: { code: "PAYER_NOT_FOUND", message: "Payer not found" } };
    const refused = await topUp(user.token, key, body).finally(() => {
      gateway.momo.requestToPayBehaviour = "accept";
    });
    expect(refused.status).toBe(502);
    expect(refused.body.error).toMatchObject({
      code: "provider_unavailable",
      details: { provider: "momo", intent: { id: intentId, status: "processing" } },
    });
    expect(await intentStatus(sql, intentId)).toMatchObject({ status: "processing", failure_reason: null });

    // The payer approves the request MoMo took first: the callback credits the wallet once.
    expect(await gateway.momo.decide(intentId, "SUCCESSFUL")).toBe(200);
    expect(await intentStatus(sql, intentId)).toMatchObject({ status: "succeeded" });
    expect(await balanceOf(sql, user.accountId)).toEqual({ balance: 2500, available: 2500 });
    expect(await creditsTo(sql, user.accountId)).toBe(1);
  });
});

describe("a resumed top-up whose intent has ended", () => {
  /** A MoMo top-up answered 502 (MoMo down), whose intent then ends as `ended`; its user, key, body and intent. */
  async function endedSince502(ended: "canceled" | "succeeded") {
    const user = await topUpUser(sql, "UGX");
    const key = crypto.randomUUID();
    const body = { provider: "momo", account_id: user.accountId, amount: 4000, currency: "UGX", msisdn: "256772000005" };
    gateway.momo.requestToPayBehaviour = { status: 503, body: { code: "SERVICE_UNAVAILABLE", message: "try later" } };
    const down = await topUp(user.token, key, body).finally(() => {
      gateway.momo.requestToPayBehaviour = "accept";
    });
    expect(down.status).toBe(502);
    const intentId = down.body.error.details.intent.id as string;
    // Meanwhile the intent ended: expired, or paid through a request MoMo had after all.
    await sql`update public.payment_intents set status = ${ended} where id = ${intentId}::uuid`;
    return { user, key, body, intentId };
  }

  /** The resumed request's answer, its replay answered alike, and MoMo not asked again. */
  async function resumeOnce(ended: "canceled" | "succeeded") {
    const { user, key, body, intentId } = await endedSince502(ended);
    const requestsToPay = () => gateway.momo.requests.filter((r) => r === "POST /collection/v1_0/requesttopay").length;
    const asked = requestsToPay();
    const resumed = await topUp(user.token, key, body);
    const replay = await topUp(user.token, key, body);
    expect(replay.body).toEqual(resumed.body);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(requestsToPay()).toBe(asked);
    expect(gateway.momo.requestsToPay.has(intentId)).toBe(false);
    expect(await intentStatus(sql, intentId)).toMatchObject({ status: ended });
    return { resumed, intentId };
  }

  it("canceled since its 502: 409 intent_not_payable, stored for replays, and MoMo is not asked again", async () => {
    const { resumed, intentId } = await resumeOnce("canceled");
    expect(resumed.status).toBe(409);
    expect(resumed.body.error).toMatchObject({
      code: "intent_not_payable",
      message: `Top-up ${intentId} is canceled: it takes no more payment. Start a new top-up with a new Idempotency-Key.`,
      details: { intent: { id: intentId, status: "canceled" } },
    });
  });

  it("paid since its 502: 201 with the intent succeeded and nothing left to do, stored for replays, and MoMo is not asked again", async () => {
    const { resumed, intentId } = await resumeOnce("succeeded");
    expect(resumed.status).toBe(201);
    expect(resumed.body).toEqual({
      intent: { id: intentId, status: "succeeded", provider: "momo", amount: 4000, currency: "UGX" },
      next_action: null,
    });
  });
});

describe("idempotency, callers and input", () => {
  it("the same key with another body is 422 and calls no provider", async () => {
    const user = await topUpUser(sql, "EUR");
    const key = crypto.randomUUID();
    const body = { provider: "revolut", account_id: user.accountId, amount: 1000, currency: "EUR" };
    expect((await topUp(user.token, key, body)).status).toBe(201);
    const orders = gateway.revolut.createdOrders.length;
    const other = await topUp(user.token, key, { ...body, amount: 1001 });
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe("idempotency_key_reused");
    expect(gateway.revolut.createdOrders.length).toBe(orders);
    expect(await rowsOf(user.userId)).toEqual({ intents: 1, requests: 1 });
  });

  it("a second request with the key while the first waits on the provider is 409, and calls no provider", async () => {
    const user = await topUpUser(sql, "USD");
    const key = crypto.randomUUID();
    const body = { provider: "stripe", account_id: user.accountId, amount: 100, currency: "USD" };
    gateway.stripe.createBehaviour = "hang";
    const before = gateway.stripe.requests.length;
    try {
      const first = topUp(user.token, key, body);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const second = await topUp(user.token, key, body);
      expect(second.status).toBe(409);
      expect(second.body.error.code).toBe("request_in_progress");
      expect(second.headers.get("retry-after")).toBe("1");
      expect((await first).status).toBe(502);
    } finally {
      gateway.stripe.createBehaviour = "accept";
    }
    expect(gateway.stripe.requests.length - before).toBe(1);
    expect((await topUp(user.token, key, body)).status).toBe(201);
  });

  it("needs a user's JWT (401), refuses another user's account (403) and hides another user's intent (404), from staff too", async () => {
    const owner = await topUpUser(sql, "EUR");
    const stranger = await topUpUser(sql, "EUR");
    const body = { provider: "revolut", account_id: owner.accountId, amount: 1000, currency: "EUR" };
    expect((await callPayments(gateway.url, "POST", "/topups", { idempotencyKey: "k", body })).status).toBe(401);

    const orders = gateway.revolut.createdOrders.length;
    const foreign = await topUp(stranger.token, crypto.randomUUID(), body);
    expect(foreign.status).toBe(403);
    expect(foreign.body.error).toMatchObject({ code: "forbidden", details: { sqlstate: "42501" } });
    expect(gateway.revolut.createdOrders.length).toBe(orders);
    expect(await rowsOf(stranger.userId)).toMatchObject({ intents: 0 });

    const mine = await topUp(owner.token, crypto.randomUUID(), body);
    const peek = await callPayments(gateway.url, "GET", `/topups/${mine.body.intent.id}`, { token: stranger.token });
    expect(peek.status).toBe(404);
    // Staff, who read every intent through RLS, get the user API's answer too: the caller's own only.
    const { admin, support } = await createStaff(sql, process.env.SUPABASE_JWT_SECRET!);
    for (const staff of [admin, support]) {
      expect((await callPayments(gateway.url, "GET", `/topups/${mine.body.intent.id}`, { token: staff.token })).status).toBe(404);
    }
    expect((await callPayments(gateway.url, "GET", `/topups/${mine.body.intent.id}`, { token: owner.token })).status).toBe(200);
    expect((await callPayments(gateway.url, "GET", "/topups/not-a-uuid", { token: owner.token })).status).toBe(404);
  });

  it.each(
    [
      ["no Idempotency-Key", null, {}],
      ["momo without msisdn", "k1", { provider: "momo", currency: "UGX", msisdn: undefined }],
      ["an msisdn with a plus", "k2", { provider: "momo", currency: "UGX", msisdn: "+256772000003" }],
      ["a zero amount", "k3", { amount: 0 }],
      ["a fractional amount", "k4", { amount: 10.5 }],
      ["a lower-case currency", "k5", { currency: "eur" }],
      ["an unknown provider", "k6", { provider: "paypal" }],
      ["an account id that is no UUID", "k7", { account_id: "acct_1" }],
      ["an unknown field", "k8", { note: "hi" }],
    ] as const,
  )("answers 400 for %s and writes nothing", async (_, key, change) => {
    const user = await topUpUser(sql, "EUR");
    const body = { provider: "revolut", account_id: user.accountId, amount: 1000, currency: "EUR", ...change };
    const answer = await callPayments(gateway.url, "POST", "/topups", { token: user.token, idempotencyKey: key ?? undefined, body });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toMatch(/^(validation_failed|idempotency_key_required)$/);
    expect(await rowsOf(user.userId)).toEqual({ intents: 0, requests: 0 });
  });

  it.each([
    ["ISK", "in hundredths of a króna, which has no minor unit"],
    ["MGA", "in whole ariary, whose minor unit is a hundredth"],
  ])("answers 400 for a Stripe top-up in %s, which Stripe counts %s, and asks Stripe nothing", async (currency) => {
    const user = await topUpUser(sql, currency);
    const created = gateway.stripe.requests.length;
    const body = { provider: "stripe", account_id: user.accountId, amount: 5000, currency };
    const answer = await topUp(user.token, crypto.randomUUID(), body);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe("validation_failed");
    expect(JSON.stringify(answer.body.error.details)).toContain("currency");
    expect(gateway.stripe.requests.length).toBe(created);
    expect(await rowsOf(user.userId)).toEqual({ intents: 0, requests: 0 });
    expect((await topUp(user.token, crypto.randomUUID(), { ...body, provider: "revolut" })).status).toBe(201);
  });

  it("MoMo: one access token serves two top-ups, and a new one is fetched once it expires", async () => {
    // The client renews a token 60 s before expires_in: the stand-in's tokens last 2 s for it.
    const lifetimeMs = (MOMO_TOKEN_LIFETIME_SECONDS - 60) * 1000;
    await new Promise((resolve) => setTimeout(resolve, lifetimeMs + 200));
    const user = await topUpUser(sql, "UGX");
    const momo = (amount: number) =>
      topUp(user.token, crypto.randomUUID(), {
        provider: "momo",
        account_id: user.accountId,
        amount,
        currency: "UGX",
        msisdn: "256772000004",
      });
    const before = tokenRequests();
    expect((await momo(100)).status).toBe(201);
    expect((await momo(200)).status).toBe(201);
    expect(tokenRequests() - before).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, lifetimeMs + 200));
    expect((await momo(300)).status).toBe(201);
    expect(tokenRequests() - before).toBe(2);
  });
});
