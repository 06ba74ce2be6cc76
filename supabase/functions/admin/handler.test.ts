// The admin API against the real database, in-process (handler.fetch with SUPABASE_DB_URL on
// the test database): accounts, ledger actions, idempotency and the audit trail, for admin,
// support and a plain user.
import { describe, expect, it } from "vitest";
import { useAdminApi } from "../../tests/support/admin-api.ts";
import { balances, createStaff, deposit, FORBIDDEN, idempotencyKey, openAccount, refusal } from "../../tests/support/admin-fixtures.ts";
import { newWaId } from "../../tests/support/whatsapp-fixtures.ts";
import handler from "./handler.ts";

const { sql, staff, call } = await useAdminApi(handler);
const key = idempotencyKey;

/** A new user with a WhatsApp contact. */
async function contact(): Promise<{ userId: string; waId: string }> {
  const userId = crypto.randomUUID();
  const waId = newWaId();
  await sql`insert into auth.users (id, aud, role, email) values (${userId}, 'authenticated', 'authenticated', ${`${userId}@mfuko.test`})`;
  await sql`insert into public.whatsapp_contacts (wa_id, user_id) values (${waId}, ${userId}::uuid)`;
  return { userId, waId };
}

/** The notifications queued for `waIds`, as [wa_id, text] pairs in sorted order. */
async function noticesTo(...waIds: string[]): Promise<string[][]> {
  const rows = await sql<{ wa_id: string; text: string }[]>`
    select wa_id, body -> 'text' ->> 'body' as text from public.whatsapp_outbox
     where wa_id = any (${waIds}) and purpose = 'notification'`;
  return rows.map((row) => [row.wa_id, row.text]).sort();
}
/** An admin's adjustment of `accountId` under a fresh Idempotency-Key. */
const adjust = (accountId: string, amount: number, direction: "credit" | "debit", reason = "x") =>
  call("POST", "/adjustments", {
    token: staff.admin.token,
    body: { account_id: accountId, amount, direction, reason },
    idempotencyKey: key(),
  });

describe("GET /admin/accounts", () => {
  it("pages newest first; following next_cursor visits every matching account exactly once", async () => {
    const owner = staff.user.id;
    const currencies = ["KES", "UGX", "TZS", "RWF", "USD"];
    const ids: string[] = [];
    for (const currency of currencies) ids.push(await openAccount(sql, owner, currency));

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `owner_id=${owner}&limit=2${cursor ? `&cursor=${cursor}` : ""}`;
      const answer = await call("GET", `/accounts?${query}`, { token: staff.support.token });
      expect(answer.status).toBe(200);
      expect(answer.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...answer.body.data.map((a: { id: string }) => a.id));
      cursor = answer.body.next_cursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen.length).toBe(5);
    expect(new Set(seen)).toEqual(new Set(ids));
    expect([...seen].reverse()).toEqual(ids); // inserted oldest first, listed newest first
  });

  it("filters by status and currency", async () => {
    const owner = (await createStaff(sql, process.env.SUPABASE_JWT_SECRET!)).user.id;
    const kes = await openAccount(sql, owner, "KES");
    await openAccount(sql, owner, "UGX");
    await sql`select public.wallet_set_status(${kes}::uuid, 'frozen', 'test')`;
    const frozen = await call("GET", `/accounts?owner_id=${owner}&status=frozen`, { token: staff.admin.token });
    expect(frozen.body.data.map((a: { id: string }) => a.id)).toEqual([kes]);
    const ugx = await call("GET", `/accounts?owner_id=${owner}&currency=UGX`, { token: staff.admin.token });
    expect(ugx.body.data.map((a: { currency: string }) => a.currency)).toEqual(["UGX"]);
    expect(ugx.body.next_cursor).toBeNull();
  });

  it("is refused to a plain user and to a user who wrote admin into user_metadata", async () => {
    for (const caller of [staff.user, staff.impostor]) {
      expect(refusal(await call("GET", "/accounts", { token: caller.token }))).toEqual(FORBIDDEN);
    }
  });
});

describe("GET /admin/accounts/:id", () => {
  it("shows balance, available, active holds and the latest entries, paged", async () => {
    const account = await openAccount(sql, staff.user.id, "EUR");
    await deposit(sql, account, 10_000, "EUR");
    await deposit(sql, account, 2_000, "EUR");
    await sql`select public.wallet_hold(${account}::uuid, 2500, 'EUR', ${key()})`;

    const first = await call("GET", `/accounts/${account}?entries_limit=1`, { token: staff.support.token });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ balance: 12_000, available: 9_500, held: 2_500 });
    expect(first.body.holds).toHaveLength(1);
    expect(first.body.holds[0]).toMatchObject({ kind: "hold", status: "pending", hold_amount: 2500 });
    expect(first.body.entries).toHaveLength(1);
    expect(first.body.entries[0]).toMatchObject({ amount: 2_000, kind: "deposit" });
    const second = await call("GET", `/accounts/${account}?entries_limit=1&entries_cursor=${first.body.entries_next_cursor}`, {
      token: staff.support.token,
    });
    expect(second.body.entries[0]).toMatchObject({ amount: 10_000, kind: "deposit" });
    expect(second.body.entries_next_cursor).toBeNull();
  });

  it("counts the credits still in a hot account's balance shards, in the detail and in the list", async () => {
    const owner = (await createStaff(sql, process.env.SUPABASE_JWT_SECRET!)).user.id;
    const account = await openAccount(sql, owner, "GHS");
    await deposit(sql, account, 1_000, "GHS");
    await sql`select public.wallet_set_balance_shards(${account}::uuid, 4)`;
    // A deposit that finds the account's row busy takes a shard.
    const busy = await sql.reserve();
    await busy`begin`;
    await busy`select 1 from public.wallet_accounts where id = ${account}::uuid for update`;
    await deposit(sql, account, 300, "GHS");
    await busy`rollback`;
    busy.release();
    const [row] = await sql<{ balance: string }[]>`select balance from public.wallet_accounts where id = ${account}`;
    expect(row!.balance).toBe("1000");

    const detail = await call("GET", `/accounts/${account}`, { token: staff.support.token });
    expect(detail.body).toMatchObject({ balance: 1_300, available: 1_300, account: { balance: 1_300, balance_shards: 4 } });
    const list = await call("GET", `/accounts?owner_id=${owner}`, { token: staff.admin.token });
    expect(list.body.data).toMatchObject([{ id: account, balance: 1_300, available: 1_300 }]);
  });

  it("answers 404 for an account that does not exist", async () => {
    const answer = await call("GET", `/accounts/${crypto.randomUUID()}`, { token: staff.admin.token });
    expect(answer.status).toBe(404);
  });
});

describe("POST /admin/accounts/:id/status", () => {
  it("freezes an account as the admin, and the audit trail names the admin and the request", async () => {
    const account = await openAccount(sql, staff.user.id, "GBP");
    const correlation = `corr-${crypto.randomUUID()}`;
    const answer = await call("POST", `/accounts/${account}/status`, {
      token: staff.admin.token,
      body: { status: "frozen", reason: "fraud review" },
      idempotencyKey: key(),
      headers: { "x-correlation-id": correlation },
    });
    expect(answer.status).toBe(200);
    expect(answer.body.account).toMatchObject({ id: account, status: "frozen", status_reason: "fraud review" });

    const audit = await call("GET", `/audit?table=wallet_accounts&record_id=${account}`, { token: staff.support.token });
    expect(audit.status).toBe(200);
    const change = audit.body.data.find((row: { operation: string }) => row.operation === "UPDATE");
    expect(change).toMatchObject({
      actor_id: staff.admin.id,
      correlation_id: correlation,
      changed_fields: expect.arrayContaining(["status"]),
    });
    const byActor = await call("GET", `/audit?actor_id=${staff.admin.id}&table=api_requests`, { token: staff.admin.token });
    expect(byActor.body.data.length).toBeGreaterThan(0);
    expect(byActor.body.data.every((row: { actor_id: string }) => row.actor_id === staff.admin.id)).toBe(true);
  });

  it("replays the first answer for the same key and body, and answers 422 for the key with another body", async () => {
    const account = await openAccount(sql, staff.user.id, "CHF");
    const idempotencyKey = key();
    const body = { status: "frozen", reason: "chargeback" };
    const first = await call("POST", `/accounts/${account}/status`, { token: staff.admin.token, body, idempotencyKey });
    await sql`select public.wallet_set_status(${account}::uuid, 'active', 'meanwhile')`;
    const again = await call("POST", `/accounts/${account}/status`, {
      token: staff.admin.token,
      body: { reason: "chargeback", status: "frozen", idempotency_key: idempotencyKey },
    });
    expect(again.status).toBe(first.status);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(first.headers.get("idempotent-replayed")).toBe("false");
    expect((await sql`select status from public.wallet_accounts where id = ${account}::uuid`)[0]!.status).toBe("active");

    const reused = await call("POST", `/accounts/${account}/status`, {
      token: staff.admin.token,
      body: { status: "closed", reason: "chargeback" },
      idempotencyKey,
    });
    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe("idempotency_key_reused");
    const otherRoute = await call("POST", "/adjustments", {
      token: staff.admin.token,
      body: { account_id: account, amount: 1, direction: "credit", reason: "x" },
      idempotencyKey,
    });
    expect(otherRoute.status).toBe(422);
  });

  it("stores a refusal too: an unknown account is 404 now and on replay", async () => {
    const idempotencyKey = key();
    const path = `/accounts/${crypto.randomUUID()}/status`;
    const body = { status: "frozen", reason: "x" };
    const first = await call("POST", path, { token: staff.admin.token, body, idempotencyKey });
    expect(first.status).toBe(404);
    expect(first.body.error.details).toEqual({ sqlstate: "WL007" });
    const again = await call("POST", path, { token: staff.admin.token, body, idempotencyKey });
    expect(again.status).toBe(404);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
  });

  it("refuses closing an account with money in it (409) and changes nothing", async () => {
    const account = await openAccount(sql, staff.user.id, "JPY");
    await deposit(sql, account, 100, "JPY");
    const answer = await call("POST", `/accounts/${account}/status`, {
      token: staff.admin.token,
      body: { status: "closed", reason: "user left" },
      idempotencyKey: key(),
    });
    expect(answer.status).toBe(409);
    expect(answer.body.error.code).toBe("invalid_state");
    expect((await sql`select status from public.wallet_accounts where id = ${account}::uuid`)[0]!.status).toBe("active");
  });

  it("is refused to support and to a plain user, and writes nothing", async () => {
    const account = await openAccount(sql, staff.user.id, "AUD");
    const keys: string[] = [];
    for (const caller of [staff.support, staff.user, staff.impostor]) {
      keys.push(key());
      const answer = await call("POST", `/accounts/${account}/status`, {
        token: caller.token,
        body: { status: "frozen", reason: "x" },
        idempotencyKey: keys.at(-1),
      });
      expect(refusal(answer)).toEqual(FORBIDDEN);
    }
    // What an accepted call writes: the status change, its audit row, the idempotency record.
    expect((await sql`select status from public.wallet_accounts where id = ${account}::uuid`)[0]!.status).toBe("active");
    expect(await sql`select operation from audit.log where table_name = 'wallet_accounts' and record_id = ${account}`)
      .toEqual([{ operation: "INSERT" }]);
    expect(await sql`select idempotency_key from private.api_requests where idempotency_key = any(${keys})`).toEqual([]);
  });
});

describe("POST /admin/transactions/:id/reverse", () => {
  it("reverses partly, refuses more than remains, refuses spent money unless forced", async () => {
    const account = await openAccount(sql, staff.user.id, "CAD");
    const credit = await deposit(sql, account, 5_000, "CAD");
    const partial = await call("POST", `/transactions/${credit}/reverse`, {
      token: staff.admin.token,
      body: { amount: 2_000, reason: "duplicate charge" },
      idempotencyKey: key(),
    });
    expect(partial.status).toBe(201);
    expect(partial.body.transaction).toMatchObject({ kind: "reversal", amount: 2_000, reverses_id: credit, initiated_by: staff.admin.id });
    expect(await balances(sql, account)).toEqual({ balance: 3_000, available: 3_000 });

    const tooMuch = await call("POST", `/transactions/${credit}/reverse`, {
      token: staff.admin.token,
      body: { amount: 3_001, reason: "x" },
      idempotencyKey: key(),
    });
    expect(tooMuch.status).toBe(409);
    expect(tooMuch.body.error.code).toBe("invalid_state");

    await sql`select public.wallet_hold(${account}::uuid, 2500, 'CAD', ${key()})`; // spent elsewhere
    const unforced = await call("POST", `/transactions/${credit}/reverse`, {
      token: staff.admin.token,
      body: { reason: "chargeback" },
      idempotencyKey: key(),
    });
    expect(unforced.status).toBe(409);
    expect(unforced.body.error.code).toBe("insufficient_funds");
    const forced = await call("POST", `/transactions/${credit}/reverse`, {
      token: staff.admin.token,
      body: { reason: "chargeback", force: true },
      idempotencyKey: key(),
    });
    expect(forced.status).toBe(201);
    expect(forced.body.transaction).toMatchObject({ amount: 3_000, metadata: { force: true } });
    expect(await balances(sql, account)).toEqual({ balance: 0, available: -2_500 });
  });

  it("tells both users of a reversed payment on WhatsApp, once: a replay of the request tells nothing more", async () => {
    const [payer, payee] = [await contact(), await contact()];
    const [payerAccount, payeeAccount] = [await openAccount(sql, payer.userId, "UGX"), await openAccount(sql, payee.userId, "UGX")];
    await deposit(sql, payerAccount, 10_000, "UGX");
    const [payment] = await sql<{ id: string }[]>`
      select id from public.wallet_transfer(${payerAccount}::uuid, ${payeeAccount}::uuid, 4000, 'UGX', ${key()})`;
    const request = { token: staff.admin.token, body: { amount: 1_500, reason: "sent to the wrong person" }, idempotencyKey: key() };
    const first = await call("POST", `/transactions/${payment!.id}/reverse`, request);
    const replay = await call("POST", `/transactions/${payment!.id}/reverse`, request);
    expect([first.status, replay.status]).toEqual([201, 201]);
    expect(replay.body).toEqual(first.body);
    expect(await noticesTo(payer.waId, payee.waId)).toEqual([
      [payee.waId, `You received 4,000 UGX from +${payer.waId}. Write "balance" to see what you have.`],
      [payee.waId, `Our team reversed the payment of 4,000 UGX you received from +${payer.waId}: 1,500 UGX was taken from your wallet.`],
      [payer.waId, `Our team reversed your payment of 4,000 UGX to +${payee.waId}: 1,500 UGX is back in your wallet.`],
    ].sort());
  });

  it("answers 404 for an unknown transaction", async () => {
    const answer = await call("POST", `/transactions/${crypto.randomUUID()}/reverse`, {
      token: staff.admin.token,
      body: { reason: "x" },
      idempotencyKey: key(),
    });
    expect(answer.status).toBe(404);
  });
});

describe("POST /admin/adjustments", () => {
  it("credits and debits against adjustments:<CUR>; a debit never overdraws", async () => {
    const account = await openAccount(sql, staff.user.id, "NGN");
    const credit = await adjust(account, 700, "credit", "payment without credit");
    expect(credit.status).toBe(201);
    expect(credit.body.transaction).toMatchObject({
      kind: "adjustment",
      amount: 700,
      to_account_id: account,
      description: "payment without credit",
      metadata: { direction: "credit" },
    });
    const [system] = await sql`select code from public.wallet_accounts where id = ${credit.body.transaction.from_account_id}::uuid`;
    expect(system!.code).toBe("adjustments:NGN");

    const overdraw = await adjust(account, 701, "debit");
    expect(overdraw.status).toBe(409);
    expect(overdraw.body.error.code).toBe("insufficient_funds");
    expect(await balances(sql, account)).toEqual({ balance: 700, available: 700 });
  });

  it("tells the user of an adjustment on WhatsApp without the admin's reason; a refused one tells nothing", async () => {
    const person = await contact();
    const account = await openAccount(sql, person.userId, "UGX");
    expect((await adjust(account, 2_500, "credit", "goodwill: ticket 4411")).status).toBe(201);
    expect((await adjust(account, 2_501, "debit", "fee charged twice")).status).toBe(409);
    expect(await noticesTo(person.waId)).toEqual([[person.waId, "Our team added 2,500 UGX to your wallet."]]);
  });

  it("has one effect for concurrent requests with one key, and both get the same answer", async () => {
    const account = await openAccount(sql, staff.user.id, "ZAR");
    const request = {
      token: staff.admin.token,
      body: { account_id: account, amount: 50, direction: "credit", reason: "race" },
      idempotencyKey: key(),
    };
    const answers = await Promise.all([call("POST", "/adjustments", request), call("POST", "/adjustments", request)]);
    expect(answers.map((a) => a.status)).toEqual([201, 201]);
    expect(answers[0]!.body).toEqual(answers[1]!.body);
    expect(answers.map((a) => a.headers.get("idempotent-replayed")).sort()).toEqual(["false", "true"]);
    expect(await balances(sql, account)).toEqual({ balance: 50, available: 50 });
  });

  it("answers 404 for an unknown account and 409 for a frozen one", async () => {
    const missing = await adjust(crypto.randomUUID(), 1, "credit");
    expect(missing.status).toBe(404);
    const account = await openAccount(sql, staff.user.id, "GHS");
    await sql`select public.wallet_set_status(${account}::uuid, 'frozen', 'test')`;
    const frozen = await adjust(account, 1, "credit");
    expect(frozen.status).toBe(409);
    expect(frozen.body.error.code).toBe("account_not_active");
  });
});

describe("GET /admin/audit", () => {
  it("pages by id; the cursor walks a record's history once", async () => {
    const account = await openAccount(sql, staff.user.id, "MAD");
    for (const status of ["frozen", "active", "frozen"]) {
      await sql`select public.wallet_set_status(${account}::uuid, ${status}, 'audit paging')`;
    }
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const answer = await call("GET", `/audit?table=wallet_accounts&record_id=${account}&limit=1${cursor ? `&cursor=${cursor}` : ""}`, {
        token: staff.support.token,
      });
      seen.push(...answer.body.data.map((row: { id: number }) => row.id));
      cursor = answer.body.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(4); // insert and three updates
    expect([...seen].sort((a, b) => b - a)).toEqual(seen);
  });

  it("shows a ledger posting with its actor and request, its entries through their transaction, in id order with the audit rows", async () => {
    const account = await openAccount(sql, staff.user.id, "SEK");
    const correlation = `corr-${crypto.randomUUID()}`;
    const credit = await call("POST", "/adjustments", {
      token: staff.admin.token,
      body: { account_id: account, amount: 300, direction: "credit", reason: "audit trail probe" },
      idempotencyKey: key(),
      headers: { "x-correlation-id": correlation },
    });
    expect(credit.status).toBe(201);
    const transaction = credit.body.transaction.id;
    const posting = { operation: "INSERT", actor_id: staff.admin.id, actor_app_role: "admin", correlation_id: correlation };

    const byRecord = await call("GET", `/audit?table=wallet_transactions&record_id=${transaction}`, { token: staff.support.token });
    expect(byRecord.body.data).toMatchObject([{ ...posting, new_record: { id: transaction, amount: 300 } }]);
    const [entry] = await sql`select id::text from public.wallet_entries where transaction_id = ${transaction} and account_id = ${account}`;
    const byEntry = await call("GET", `/audit?table=wallet_entries&record_id=${entry!.id}`, { token: staff.support.token });
    expect(byEntry.body.data).toMatchObject([{ ...posting, new_record: { transaction_id: transaction, amount: 300 } }]);

    // The admin's request record and the ledger rows it wrote, newest first in one sequence of ids.
    const byActor = await call("GET", `/audit?actor_id=${staff.admin.id}&limit=10`, { token: staff.support.token });
    const rows: { id: number; table_name: string; correlation_id: string }[] = byActor.body.data;
    const request = rows.filter((row) => row.correlation_id === correlation);
    expect(request.map((row) => row.table_name).sort()).toEqual(
      expect.arrayContaining(["api_requests", "wallet_entries", "wallet_entries", "wallet_transactions"]),
    );
    expect(rows.map((row) => row.id)).toEqual([...rows.map((row) => row.id)].sort((a, b) => b - a));
  });

  it("is refused to a plain user", async () => {
    expect(refusal(await call("GET", "/audit", { token: staff.user.token }))).toEqual(FORBIDDEN);
  });
});
