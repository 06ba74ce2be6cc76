// The admin API behind the functions gateway (MFUKO_TEST_FUNCTIONS_URL), which verifies JWTs
// for it (verify_jwt = true): no token stops at the gateway, a signed-in user reaches the
// function and gets 403, an admin gets the data and can change it, and the audit records the
// request as the server accepted it.
import { describe, expect, it } from "vitest";
import { TokenMinter } from "@mfuko/local-stack/tokens";
import { useAdminGateway } from "../../tests/support/admin-api.ts";
import { balances, openAccount, refusal } from "../../tests/support/admin-fixtures.ts";

const { sql, staff, call } = await useAdminGateway();

describe("admin API through the gateway", () => {
  it("stops a request without a JWT, or with a forged one, at the gateway (401)", async () => {
    const missing = await call("GET", "/accounts");
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ code: 401, message: "Missing authorization header" });
    const forged = await new TokenMinter("forged-secret-that-is-at-least-32-characters").user({
      id: staff.admin.id,
      email: "forged@mfuko.test",
      appMetadata: { role: "admin" },
    });
    const refused = await call("GET", "/accounts", { token: forged });
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual({ code: 401, message: "Invalid JWT" });
  });

  it("answers 403 to a signed-in user and to support changing something", async () => {
    const user = await call("GET", "/accounts", { token: staff.user.token });
    expect(refusal(user)).toEqual({ status: 403, code: "forbidden" });
    const support = await call("POST", "/adjustments", {
      token: staff.support.token,
      idempotencyKey: "k",
      body: { account_id: crypto.randomUUID(), amount: 1, direction: "credit", reason: "x" },
    });
    expect(refusal(support)).toEqual({ status: 403, code: "forbidden" });
  });

  it("serves an admin: a list with rate-limit headers and the correlation id, and an adjustment", async () => {
    const list = await call("GET", `/accounts?owner_id=${staff.user.id}`, {
      token: staff.admin.token,
      headers: { "x-correlation-id": "gateway-admin-test" },
    });
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ data: [], next_cursor: null });
    expect(list.headers.get("x-correlation-id")).toBe("gateway-admin-test");
    expect(Number(list.headers.get("x-ratelimit-limit"))).toBeGreaterThan(0);

    const account = await openAccount(sql, staff.user.id, "KES");
    const adjustment = await call("POST", "/adjustments", {
      token: staff.admin.token,
      idempotencyKey: `gateway-${crypto.randomUUID()}`,
      body: { account_id: account, amount: 250, direction: "credit", reason: "gateway test" },
    });
    expect(adjustment.status).toBe(201);
    expect(await balances(sql, account)).toEqual({ balance: 250, available: 250 });
    expect((await call("GET", `/accounts/${account}`, { token: staff.support.token })).body.balance).toBe(250);
  });

  it("audits an admin's change with the correlation id the response returns and the hop the gateway appended, not forged ones", async () => {
    const account = await openAccount(sql, staff.user.id, "TZS");
    const adjustment = await call("POST", "/adjustments", {
      token: staff.admin.token,
      idempotencyKey: `gateway-${crypto.randomUUID()}`,
      headers: { "x-forwarded-for": "6.6.6.6", "x-correlation-id": "forged <correlation> id" },
      body: { account_id: account, amount: 100, direction: "credit", reason: "forged context" },
    });
    expect(adjustment.status).toBe(201);
    const returned = adjustment.headers.get("x-correlation-id");
    expect(returned).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // Every row the adjustment's transaction wrote: the admin request and the ledger rows (the
    // balance update they explain writes none).
    const rows = await sql`
      select table_name, correlation_id, host(ip) as ip, actor_id from audit.trail
       where txid = (select txid from audit.trail where table_name = 'wallet_entries' and new_record ->> 'account_id' = ${account})`;
    expect(rows.map((row) => row.table_name).sort()).toEqual(
      expect.arrayContaining(["wallet_entries", "wallet_entries", "wallet_transactions"]),
    );
    for (const row of rows) {
      expect(row).toMatchObject({ correlation_id: returned, ip: "127.0.0.1", actor_id: staff.admin.id });
    }
  });
});
