// A person's journey as a mobile app makes it (docs/APP_GUIDE.md), with real JWTs: the edge
// routes through supabase-js's functions.invoke against a real Deno gateway and the provider
// stand-ins, the tables and wallet functions as PostgREST runs them for that JWT (one
// transaction, the JWT's role, its claims in request.jwt.claims). Each step checks the answer
// the guide documents, that a retry after a lost answer moves no money twice, and that nothing
// of another person's is read or touched.
import { createClient, FunctionsHttpError } from "@supabase/supabase-js";
import type postgres from "postgres";
import { describe, expect, it } from "vitest";
import { TokenMinter } from "@mfuko/local-stack/tokens";
import { adminRequest, answerOf, createStaff } from "../../tests/support/admin-fixtures.ts";
import { asServiceRole, creditsTo } from "../../tests/support/payments-fixtures.ts";
import { MOMO_PAYER, type TopUpUser, topUpUser } from "../../tests/support/payments-gateway.ts";
import { useTestSql } from "../../tests/support/test-sql.ts";
import { usePaymentsGateway } from "../../tests/support/use-payments-gateway.ts";
import { stripeEvent, stripeRequest } from "../../tests/support/webhook-requests.ts";

const sql = useTestSql();
const gateway = usePaymentsGateway();
const anonKey = await new TokenMinter(process.env.SUPABASE_JWT_SECRET!).apiKey("anon");

/** The app's supabase-js client for a signed-in user (the access token Supabase Auth issued). */
const appClient = (user: TopUpUser) =>
  createClient(gateway.url.replace(/\/functions\/v1$/, ""), anonKey, {
    accessToken: () => Promise.resolve(user.token),
    realtime: { transport: class {} as never },
  });

interface Answer {
  status: number;
  // deno-lint-ignore no-explicit-any
  body: any;
  replayed: string | null;
}

/** supabase.functions.invoke as the app calls a payments route: the status and JSON body, errors included. */
async function invoke(user: TopUpUser, route: string, options: { body?: object; key?: string } = {}): Promise<Answer> {
  const { data, error, response } = await appClient(user).functions.invoke(`payments/${route}`, {
    method: options.body ? "POST" : "GET",
    body: options.body,
    headers: options.key ? { "Idempotency-Key": options.key } : {},
  });
  if (error && !(error instanceof FunctionsHttpError)) throw error;
  const answered = error ? error.context as Response : response!;
  return {
    status: answered.status,
    body: error ? await answered.json() : data,
    replayed: answered.headers.get("idempotent-replayed"),
  };
}

/**
 * POST /payments/topups of `amount` USD through Stripe, answered 201: the answer, the intent's
 * id and the PaymentIntent the stand-in made for it.
 */
async function stripeTopUp(user: TopUpUser, amount: number) {
  const started = await invoke(user, "topups", {
    body: { provider: "stripe", account_id: user.accountId, amount, currency: "USD" },
    key: crypto.randomUUID(),
  });
  expect(started.status).toBe(201);
  const intentId: string = started.body.intent.id;
  const [pi] = [...gateway.stripe.paymentIntents.values()].filter((p) => (p.metadata as Record<string, string>).intent_id === intentId);
  return { started, intentId, pi: pi! };
}

/** An admin's POST /admin/payments/<the payment of `intentId`>/<action> with `body`, through the gateway. */
async function adminOnPaymentOf(intentId: string, action: "refund" | "resolve", body: object) {
  const staff = await createStaff(sql, process.env.SUPABASE_JWT_SECRET!);
  const [payment] = await sql<{ id: string }[]>`select id from public.payments where intent_id = ${intentId}::uuid`;
  return answerOf(
    await fetch(adminRequest(gateway.url, "POST", `/admin/payments/${payment!.id}/${action}`, {
      token: staff.admin.token,
      idempotencyKey: crypto.randomUUID(),
      body,
    })),
  );
}

/** What PostgREST runs for this user's JWT: `fn` in one transaction as the JWT's role, with its claims. */
function asApp<T>(user: TopUpUser, fn: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
  const claims = JSON.parse(Buffer.from(user.token.split(".")[1]!, "base64url").toString());
  return sql.begin(async (tx) => {
    await tx`select set_config('role', ${claims.role}, true), set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
    return fn(tx);
  }) as Promise<T>;
}

/** supabase.from("wallet_account_balances").select("account_id, currency, status, balance, available"). */
const myBalances = (user: TopUpUser) =>
  asApp(user, (tx) => tx`select account_id, currency, status, balance::int, available::int from public.wallet_account_balances`);

/** A user with a confirmed phone number (as Supabase Auth stores it: digits, no '+') and an account in `currency`. */
async function personWithPhone(currency: string): Promise<TopUpUser & { phone: string }> {
  const user = await topUpUser(sql, currency);
  const phone = `2567${String(Math.floor(Math.random() * 1e8)).padStart(8, "0")}`;
  await sql`update auth.users set phone = ${phone}, phone_confirmed_at = now() where id = ${user.userId}::uuid`;
  return { ...user, phone };
}

async function fund(user: TopUpUser, amount: number, currency: string): Promise<void> {
  await asServiceRole(sql, (tx) =>
    tx`
    select public.wallet_deposit(${user.accountId}::uuid, ${amount}::bigint, ${currency}, 'momo', ${crypto.randomUUID()})`);
}

describe("the app's journey", () => {
  it("sees only its own account and balance, and reads its history newest first, a page at a time", async () => {
    const alice = await topUpUser(sql, "UGX");
    const bob = await topUpUser(sql, "UGX");
    await fund(alice, 9000, "UGX");
    expect(await myBalances(alice)).toEqual([{
      account_id: alice.accountId,
      currency: "UGX",
      status: "active",
      balance: 9000,
      available: 9000,
    }]);
    expect(await myBalances(bob)).toEqual([{ account_id: bob.accountId, currency: "UGX", status: "active", balance: 0, available: 0 }]);

    for (const amount of [100, 200, 300]) {
      await asApp(alice, (tx) =>
        tx`
        select 1 from public.wallet_transfer(${alice.accountId}::uuid, ${bob.accountId}::uuid, ${amount}::bigint, 'UGX',
                                             ${crypto.randomUUID()}, 'lunch')`);
    }
    // supabase.from("wallet_entries").select("id, amount, created_at, wallet_transactions(kind, description)")
    //   .order("id", { ascending: false }).limit(2), then .lt("id", <last id>) for the next page.
    const page = (before: number | null) =>
      asApp(alice, (tx) =>
        tx<{ id: string; amount: number; kind: string; description: string | null }[]>`
        select e.id, e.amount::int, t.kind, t.description
          from public.wallet_entries e join public.wallet_transactions t on t.id = e.transaction_id
         where ${before}::bigint is null or e.id < ${before}::bigint
         order by e.id desc limit 2`);
    const first = await page(null);
    expect(first.map((e) => [e.amount, e.kind])).toEqual([[-300, "transfer"], [-200, "transfer"]]);
    const second = await page(Number(first[1]!.id));
    expect(second.map((e) => [e.amount, e.kind, e.description])).toEqual([[-100, "transfer", "lunch"], [9000, "deposit", null]]);

    // select=* on wallet_transactions is refused (the attribution columns are not the API roles'):
    // the guide names the columns to select.
    await expect(asApp(alice, (tx) => tx`select * from public.wallet_transactions`)).rejects.toMatchObject({ code: "42501" });
  });

  it("tops up by card: the client_secret, a retry after a lost answer makes no second PaymentIntent, then reads the top-up succeeded", async () => {
    const user = await topUpUser(sql, "USD");
    const key = crypto.randomUUID();
    const body = { provider: "stripe", account_id: user.accountId, amount: 1999, currency: "USD" };
    const first = await invoke(user, "topups", { body, key });
    expect(first.status).toBe(201);
    const intentId = first.body.intent.id;
    const created = [...gateway.stripe.paymentIntents.values()].filter((pi) =>
      (pi.metadata as Record<string, string>).intent_id === intentId
    );
    expect(created).toHaveLength(1);
    expect(first.body).toEqual({
      intent: { id: intentId, status: "processing", provider: "stripe", amount: 1999, currency: "USD" },
      next_action: { type: "stripe_client_secret", client_secret: created[0]!.client_secret },
    });
    // The app lost the answer and sends the same request again: the same answer, no new PaymentIntent.
    const again = await invoke(user, "topups", { body, key });
    expect([again.status, again.body, again.replayed]).toEqual([201, first.body, "true"]);

    // The app was closed before the card sheet was confirmed: the top-up's read gives the sheet's
    // client_secret back, to its owner only.
    const pending = await invoke(user, `topups/${intentId}`);
    expect(pending).toMatchObject({
      status: 200,
      body: { intent: { status: "processing" }, payment: null, next_action: first.body.next_action },
    });
    // Staff, whom RLS lets read every intent, get nothing from this user API: not the top-up,
    // still less its client_secret (they read other people's through the admin API).
    for (const role of ["admin", "support"]) {
      const staffId = crypto.randomUUID();
      await sql`insert into auth.users (id, aud, role, email, raw_app_meta_data)
                values (${staffId}, 'authenticated', 'authenticated', ${`${staffId}@mfuko.test`}, ${sql.json({ role })})`;
      const staff = {
        ...user,
        token: await new TokenMinter(process.env.SUPABASE_JWT_SECRET!).user({
          id: staffId,
          email: `${staffId}@mfuko.test`,
          appMetadata: { role },
        }),
      };
      expect(await invoke(staff, `topups/${intentId}`), role).toMatchObject({ status: 404, body: { error: { code: "not_found" } } });
    }

    const succeeded = stripeEvent("payment_intent.succeeded", gateway.stripe.confirm(created[0]!.id as string));
    expect((await fetch(stripeRequest(succeeded, {}, { base: gateway.url }))).status).toBe(200);
    const read = await invoke(user, `topups/${intentId}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual({
      intent: {
        id: intentId,
        status: "succeeded",
        provider: "stripe",
        amount: 1999,
        currency: "USD",
        account_id: user.accountId,
        provider_ref: created[0]!.id,
        failure_reason: null,
        created_at: expect.any(String),
        updated_at: expect.any(String),
      },
      payment: {
        id: expect.any(String),
        provider_payment_id: created[0]!.id,
        status: "succeeded",
        amount: 1999,
        currency: "USD",
        amount_refunded: 0,
        created_at: expect.any(String),
      },
      next_action: null,
    });
    expect(await creditsTo(sql, user.accountId)).toBe(1);
    expect(await myBalances(user)).toMatchObject([{ balance: 1999, available: 1999 }]);

    // Another person's top-up is not found; an id that is not a UUID neither.
    const stranger = await topUpUser(sql, "USD");
    expect(await invoke(stranger, `topups/${intentId}`)).toMatchObject({ status: 404, body: { error: { code: "not_found" } } });
    expect(await invoke(user, "topups/not-a-uuid")).toMatchObject({ status: 404, body: { error: { code: "not_found" } } });
  });

  it("a card declined in the sheet reads failed with Stripe's words, and another card in the same sheet still credits once", async () => {
    const user = await topUpUser(sql, "USD");
    const { intentId, pi } = await stripeTopUp(user, 2500);
    const declined = stripeEvent("payment_intent.payment_failed", {
      ...pi,
      status: "requires_payment_method",
      last_payment_error: {
        type: "card_error",
        code: "card_declined",
        decline_code: "generic_decline",
        message: "Your card was declined.",
      },
    });
    expect((await fetch(stripeRequest(declined, {}, { base: gateway.url }))).status).toBe(200);
    expect(await invoke(user, `topups/${intentId}`)).toMatchObject({
      status: 200,
      body: { intent: { status: "failed", failure_reason: "Your card was declined." }, payment: null, next_action: null },
    });

    const succeeded = stripeEvent("payment_intent.succeeded", gateway.stripe.confirm(pi.id as string));
    expect((await fetch(stripeRequest(succeeded, {}, { base: gateway.url }))).status).toBe(200);
    expect(await invoke(user, `topups/${intentId}`)).toMatchObject({
      status: 200,
      body: { intent: { status: "succeeded", failure_reason: null }, payment: { status: "succeeded", amount: 2500 } },
    });
    expect(await creditsTo(sql, user.accountId)).toBe(1);
  });

  it("tops up with MoMo (approve on the phone) and Revolut (a checkout URL), and lists its top-ups", async () => {
    const momoUser = await topUpUser(sql, "UGX");
    const momo = await invoke(momoUser, "topups", {
      body: { provider: "momo", account_id: momoUser.accountId, amount: 5000, currency: "UGX", msisdn: MOMO_PAYER },
      key: crypto.randomUUID(),
    });
    expect(momo.status).toBe(201);
    expect(momo.body.next_action).toEqual({ type: "approve_on_phone", msisdn: MOMO_PAYER });
    expect(await gateway.momo.decide(momo.body.intent.id, "SUCCESSFUL")).toBe(200);
    expect(await invoke(momoUser, `topups/${momo.body.intent.id}`)).toMatchObject({
      status: 200,
      body: { intent: { status: "succeeded" }, payment: { status: "succeeded", amount: 5000 }, next_action: null },
    });

    const revolutUser = await topUpUser(sql, "EUR");
    const revolut = await invoke(revolutUser, "topups", {
      body: { provider: "revolut", account_id: revolutUser.accountId, amount: 2500, currency: "EUR" },
      key: crypto.randomUUID(),
    });
    expect(revolut.status).toBe(201);
    expect(revolut.body.next_action).toEqual({ type: "redirect", url: expect.stringMatching(/^https?:\/\//) });
    expect((await invoke(revolutUser, `topups/${revolut.body.intent.id}`)).body.next_action).toEqual(revolut.body.next_action);

    // supabase.from("payment_intents").select("id, provider, amount, currency, status").order("created_at", ...)
    const listed = await asApp(revolutUser, (tx) => tx`select id, provider, status from public.payment_intents order by created_at desc`);
    expect(listed).toEqual([{ id: revolut.body.intent.id, provider: "revolut", status: "processing" }]);
  });

  it("finds the person it pays by phone number, pays once whatever the retries, and learns nothing of strangers", async () => {
    const payer = await personWithPhone("UGX");
    const payee = await personWithPhone("UGX");
    await fund(payer, 10_000, "UGX");

    const found = await invoke(payer, `payees?msisdn=${payee.phone}&currency=UGX`);
    expect(found).toMatchObject({ status: 200, body: { payee: { account_id: payee.accountId, currency: "UGX", msisdn: payee.phone } } });

    // supabase.rpc("wallet_transfer", {...}) twice with one key (the answer was lost): one payment.
    const key = crypto.randomUUID();
    const pay = () =>
      asApp(payer, (tx) =>
        tx<{ id: string }[]>`
        select id from public.wallet_transfer(${payer.accountId}::uuid, ${found.body.payee.account_id}::uuid, 2500::bigint,
                                               'UGX', ${key})`);
    const [paid] = await pay();
    const [retried] = await pay();
    expect(retried!.id).toBe(paid!.id);
    expect(await myBalances(payer)).toMatchObject([{ balance: 7500 }]);
    expect(await myBalances(payee)).toMatchObject([{ balance: 2500 }]);

    // A number nobody has, a currency the payee holds no account in, a frozen payee: one answer.
    const nobody = await invoke(payer, "payees?msisdn=256700000001&currency=UGX");
    const otherCurrency = await invoke(payer, `payees?msisdn=${payee.phone}&currency=KES`);
    await asServiceRole(sql, (tx) => tx`select 1 from public.wallet_set_status(${payee.accountId}::uuid, 'frozen', 'test')`);
    const frozen = await invoke(payer, `payees?msisdn=${payee.phone}&currency=UGX`);
    for (const answer of [nobody, otherCurrency, frozen]) {
      expect(answer).toMatchObject({ status: 404, body: { error: { code: "not_found", details: { sqlstate: "WL007" } } } });
    }
    expect(otherCurrency.body.error.message).toBe(`no wallet of ${payee.phone} takes KES`);
    expect(frozen.body.error.message).toBe(`no wallet of ${payee.phone} takes UGX`);

    const bad = await invoke(payer, "payees?msisdn=%2B256772123456&currency=ugx");
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("validation_failed");
    expect(bad.body.error.details.fields.map((f: { path: string }) => f.path).sort()).toEqual(["currency", "msisdn"]);
    const unknownField = await invoke(payer, `payees?msisdn=${payee.phone}&currency=UGX&name=x`);
    expect(unknownField).toMatchObject({ status: 400, body: { error: { code: "validation_failed" } } });

    // Without a session there is no look-up at all: no token 401, the anon key (no user) 403.
    const lookUp = (headers: Record<string, string>) =>
      fetch(`${gateway.url}/payments/payees?msisdn=${payee.phone}&currency=UGX`, { headers }).then((r) => r.status);
    expect(await lookUp({})).toBe(401);
    expect(await lookUp({ authorization: `Bearer ${anonKey}` })).toBe(403);
  });

  it("cashes out, reads the cash-out and lists its own cash-outs only", async () => {
    const user = await topUpUser(sql, "UGX");
    const other = await topUpUser(sql, "UGX");
    await fund(user, 6000, "UGX");
    const key = crypto.randomUUID();
    const body = { account_id: user.accountId, amount: 4000, currency: "UGX", msisdn: MOMO_PAYER };
    const first = await invoke(user, "cashouts", { body, key });
    expect(first.status).toBe(201);
    expect(first.body).toEqual({
      cashout: {
        id: expect.any(String),
        account_id: user.accountId,
        status: "pending",
        amount: 4000,
        currency: "UGX",
        msisdn: MOMO_PAYER,
        reason: null,
        created_at: expect.any(String),
        settled_at: null,
      },
    });
    expect(await invoke(user, "cashouts", { body, key })).toMatchObject({ status: 201, body: first.body, replayed: "true" });
    expect(await myBalances(user)).toMatchObject([{ balance: 6000, available: 2000 }]);

    expect(await invoke(user, `cashouts/${first.body.cashout.id}`)).toEqual({ status: 200, body: first.body, replayed: null });
    expect(await invoke(other, `cashouts/${first.body.cashout.id}`)).toMatchObject({ status: 404 });
    // supabase.from("cashouts").select("id, status, amount, reason").order("created_at", { ascending: false })
    expect(await asApp(user, (tx) => tx`select id, status from public.cashouts`)).toEqual([{
      id: first.body.cashout.id,
      status: "pending",
    }]);
    expect(await asApp(other, (tx) => tx`select id from public.cashouts`)).toEqual([]);

    const short = await invoke(user, "cashouts", { body: { ...body, amount: 2001 }, key: crypto.randomUUID() });
    expect(short).toMatchObject({ status: 409, body: { error: { code: "insufficient_funds", details: { sqlstate: "WL001" } } } });

    // Over the standard tier's largest single cash-out in UGX (5,000,000): 422 limit_exceeded, nothing held.
    await fund(user, 5_100_000, "UGX");
    const over = await invoke(user, "cashouts", { body: { ...body, amount: 5_000_001 }, key: crypto.randomUUID() });
    expect(over).toMatchObject({
      status: 422,
      body: {
        error: { code: "limit_exceeded", message: "single payment limit of 5000000 UGX would be exceeded", details: { sqlstate: "WL009" } },
      },
    });
    expect(await myBalances(user)).toMatchObject([{ balance: 5_106_000, available: 5_102_000 }]);
  });

  it("hears a frozen account, a missing key and another person's account as codes it can switch on", async () => {
    const user = await topUpUser(sql, "UGX");
    const other = await topUpUser(sql, "UGX");
    const body = { provider: "momo", account_id: user.accountId, amount: 1000, currency: "UGX", msisdn: MOMO_PAYER };
    expect(await invoke(user, "topups", { body })).toMatchObject({ status: 400, body: { error: { code: "idempotency_key_required" } } });
    expect(await invoke(other, "topups", { body, key: crypto.randomUUID() })).toMatchObject({
      status: 403,
      body: { error: { code: "forbidden", details: { sqlstate: "42501" } } },
    });
    await asServiceRole(sql, (tx) => tx`select 1 from public.wallet_set_status(${user.accountId}::uuid, 'frozen', 'test')`);
    expect(await invoke(user, "topups", { body, key: crypto.randomUUID() })).toMatchObject({
      status: 409,
      body: { error: { code: "account_not_active", details: { sqlstate: "WL004" } } },
    });
    expect(await myBalances(user)).toMatchObject([{ status: "frozen" }]);
    await expect(asApp(user, (tx) =>
      tx`
      select 1 from public.wallet_transfer(${user.accountId}::uuid, ${other.accountId}::uuid, 1::bigint, 'UGX', ${crypto.randomUUID()})`))
      .rejects.toMatchObject({ code: "WL004" });
  });

  it("a top-up paid into an account frozen meanwhile reads under review with no checkout to resume, and ends canceled when rejected", async () => {
    const user = await topUpUser(sql, "USD");
    const { intentId, pi } = await stripeTopUp(user, 3000);
    // An admin freezes the account while the person pays in Stripe's sheet: Stripe takes the
    // money, the frozen account takes no credit, and the payment waits for a check.
    await asServiceRole(sql, (tx) => tx`select 1 from public.wallet_set_status(${user.accountId}::uuid, 'frozen', 'test')`);
    const succeeded = stripeEvent("payment_intent.succeeded", gateway.stripe.confirm(pi.id as string));
    expect((await fetch(stripeRequest(succeeded, {}, { base: gateway.url }))).status).toBe(200);
    // Paid already: no client_secret to present the sheet again, the payment says why no credit.
    expect(await invoke(user, `topups/${intentId}`)).toMatchObject({
      status: 200,
      body: { intent: { status: "processing" }, payment: { status: "needs_review", amount: 3000 }, next_action: null },
    });

    const rejected = await adminOnPaymentOf(intentId, "resolve", { action: "reject", reason: "account under investigation" });
    expect(rejected.status).toBe(200);
    // The top-up is over: it reads canceled with a reason (not the admin's own words), never
    // processing for good, and no poll asks Stripe about it any more.
    expect(await invoke(user, `topups/${intentId}`)).toMatchObject({
      status: 200,
      body: {
        intent: { status: "canceled", failure_reason: "payment rejected after review" },
        payment: { status: "rejected" },
        next_action: null,
      },
    });
    expect(await sql`select 1 from private.stripe_poll_intents where id = ${intentId}::uuid`).toHaveLength(0);
    expect(await myBalances(user)).toMatchObject([{ status: "frozen", balance: 0 }]);
  });

  it("retries a MoMo top-up whose answer was lost after the payer approved it: the top-up reads paid, not a call to pay again", async () => {
    const user = await topUpUser(sql, "UGX");
    const key = crypto.randomUUID();
    const body = { provider: "momo", account_id: user.accountId, amount: 3500, currency: "UGX", msisdn: MOMO_PAYER };
    // MoMo takes the request-to-pay and prompts the payer, but its answer never comes back.
    gateway.momo.requestToPayBehaviour = "accept-silently";
    const lost = await invoke(user, "topups", { body, key }).finally(() => {
      gateway.momo.requestToPayBehaviour = "accept";
    });
    expect(lost).toMatchObject({ status: 502, body: { error: { code: "provider_unavailable" } } });
    const intentId = lost.body.error.details.intent.id;
    // The payer approves the prompt on the phone: MoMo's callback credits the wallet.
    expect(await gateway.momo.decide(intentId, "SUCCESSFUL")).toBe(200);

    // The app retries with the same key, as the guide says after a 502: the top-up is done, and
    // the answer says so (no "start a new top-up", which would have the person pay twice).
    const retried = await invoke(user, "topups", { body, key });
    expect(retried).toMatchObject({
      status: 201,
      body: { intent: { id: intentId, status: "succeeded", amount: 3500 }, next_action: null },
    });
    expect(await invoke(user, "topups", { body, key })).toMatchObject({ status: 201, body: retried.body, replayed: "true" });
    expect(gateway.momo.requestsToPay.size).toBeGreaterThan(0);
    expect(await creditsTo(sql, user.accountId)).toBe(1);
    expect(await myBalances(user)).toMatchObject([{ balance: 3500, available: 3500 }]);
  });

  it("offers no checkout to resume while the top-up's account is frozen, and offers it again once unfrozen", async () => {
    const user = await topUpUser(sql, "USD");
    const { started, intentId } = await stripeTopUp(user, 1500);
    const setStatus = (status: string) =>
      asServiceRole(sql, (tx) => tx`select 1 from public.wallet_set_status(${user.accountId}::uuid, ${status}, 'test')`);
    // Frozen: no top-up starts, and none resumes either (money paid now would only be held for review).
    await setStatus("frozen");
    expect(await invoke(user, `topups/${intentId}`)).toMatchObject({
      status: 200,
      body: { intent: { status: "processing" }, payment: null, next_action: null },
    });
    await setStatus("active");
    expect(await invoke(user, `topups/${intentId}`)).toMatchObject({ status: 200, body: { next_action: started.body.next_action } });
  });

  it("learns where its money is: what holds it (a cash-out under way, a card payment disputed), and a balance below zero after a refund of money spent", async () => {
    const user = await topUpUser(sql, "USD");
    const payee = await topUpUser(sql, "USD");
    const { intentId, pi } = await stripeTopUp(user, 5000);
    const deliver = async (event: unknown) => (await fetch(stripeRequest(event, {}, { base: gateway.url }))).status;
    expect(await deliver(stripeEvent("payment_intent.succeeded", gateway.stripe.confirm(pi.id as string)))).toBe(200);
    // The cardholder disputes 2000 of the card payment at their bank: Stripe tells mfuko, which holds it.
    const dispute = gateway.stripe.openDispute(pi.id as string, 2000);
    expect(await deliver(stripeEvent("charge.dispute.created", dispute))).toBe(200);
    expect(await myBalances(user)).toMatchObject([{ balance: 5000, available: 3000 }]);
    // supabase.from("wallet_transactions").select("id, kind, hold_amount, currency, metadata, created_at").eq("status", "pending")
    const held = () =>
      asApp(user, (tx) =>
        tx<{ kind: string; hold_amount: number; metadata: Record<string, unknown> }[]>`
        select id, kind, hold_amount::int, currency, metadata, created_at from public.wallet_transactions
         where status = 'pending' order by created_at`);
    expect(await held()).toMatchObject([{ kind: "hold", hold_amount: 2000, metadata: { stripe_dispute_id: dispute.id } }]);

    // Lost: Stripe takes the 2000 back, which leaves the wallet; then the person pays 2500 and
    // an admin refunds the other 3000 to the card, which the wallet no longer holds in full.
    expect(await deliver(stripeEvent("charge.dispute.closed", gateway.stripe.settleDispute(dispute.id as string, "lost")))).toBe(200);
    expect(await myBalances(user)).toMatchObject([{ balance: 3000, available: 3000 }]);
    await asApp(
      user,
      (tx) =>
        tx`select 1 from public.wallet_transfer(${user.accountId}::uuid, ${payee.accountId}::uuid, 2500::bigint, 'USD',
                                             ${crypto.randomUUID()})`,
    );
    const refunded = await adminOnPaymentOf(intentId, "refund", { amount: 3000, reason: "customer asked" });
    expect(refunded.status).toBe(201);
    expect(await held()).toEqual([]);
    expect(await myBalances(user)).toMatchObject([{ balance: -2500, available: -2500 }]);
    // Its history says why: the reversals of the top-up, newest first.
    const entries = await asApp(user, (tx) =>
      tx<{ amount: number; kind: string }[]>`
      select e.amount::int, t.kind from public.wallet_entries e join public.wallet_transactions t on t.id = e.transaction_id
       where e.account_id = ${user.accountId}::uuid order by e.id desc`);
    expect(entries).toEqual([
      { amount: -3000, kind: "reversal" },
      { amount: -2500, kind: "transfer" },
      { amount: -2000, kind: "reversal" },
      { amount: 5000, kind: "deposit" },
    ]);
    expect(await invoke(user, `topups/${intentId}`)).toMatchObject({
      status: 200,
      body: { payment: { status: "refunded", amount_refunded: 5000 } },
    });
    // Below zero it pays nothing until a top-up fills it.
    await expect(
      asApp(user, (tx) =>
        tx`select 1 from public.wallet_transfer(${user.accountId}::uuid, ${payee.accountId}::uuid, 1::bigint, 'USD',
                                             ${crypto.randomUUID()})`),
    ).rejects.toMatchObject({ code: "WL001" });
  });
});
