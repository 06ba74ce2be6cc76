// Limits through the admin API, in-process on the real database: staff read the tiers' limits
// in each currency, an admin changes one or adds a currency (validated, idempotent, audited
// with the admin as actor) and moves an account to another tier; support changes nothing.
import { useTestSql } from "../../tests/support/test-sql.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  adminCaller,
  createStaff,
  FORBIDDEN,
  idempotencyKey,
  openAccount,
  refusal,
  type Staff,
} from "../../tests/support/admin-fixtures.ts";
import handler from "./handler.ts";

const sql = useTestSql();

let staff: Staff;
let verified: { max_single: number; max_daily: number; max_per_hour: number };
beforeAll(async () => {
  staff = await createStaff(sql, process.env.SUPABASE_JWT_SECRET!);
  const [row] = await sql<{ max_single: string; max_daily: string; max_per_hour: number }[]>`
    select max_single, max_daily, max_per_hour from public.wallet_tier_limits where tier = 'verified' and currency = 'USD'`;
  verified = { max_single: Number(row!.max_single), max_daily: Number(row!.max_daily), max_per_hour: row!.max_per_hour };
});
// The limits this suite changes go back to what they were: other suites read them.
afterAll(async () => {
  await sql`update public.wallet_tier_limits set max_single = ${verified.max_single}, max_daily = ${verified.max_daily},
              max_per_hour = ${verified.max_per_hour} where tier = 'verified' and currency = 'USD'`;
  await sql`delete from public.wallet_tier_limits where currency = ${ADDED_CURRENCY}`;
});

/** A currency the migration sets no limits in, which this suite adds to the verified tier. */
const ADDED_CURRENCY = "XAF";

const call = adminCaller(handler);

async function verifiedLimits() {
  return await sql`select currency, max_single, max_daily, max_per_hour from public.wallet_tier_limits
                    where tier = 'verified' order by currency`;
}

describe("GET /admin/limits", () => {
  it("shows staff every tier's limits in each currency, and refuses a plain user", async () => {
    for (const token of [staff.admin.token, staff.support.token]) {
      const answer = await call("GET", "/limits", { token });
      expect(answer.status).toBe(200);
      const rwf = answer.body.limits.filter((l: { currency: string }) => l.currency === "RWF");
      expect(rwf.map((l: { tier: string }) => l.tier)).toEqual(["standard", "verified", "merchant"]);
      expect(rwf[0]).toMatchObject({ max_single: 1000000, max_daily: 2000000, max_per_hour: 60 });
    }
    expect(refusal(await call("GET", "/limits", { token: staff.user.token }))).toEqual(FORBIDDEN);
  });
});

describe("PUT /admin/limits", () => {
  it("changes a tier's limits in a currency once per key, audited with the admin as actor", async () => {
    const body = {
      tier: "verified",
      currency: "USD",
      max_single: verified.max_single + 1,
      max_daily: verified.max_daily + 1,
      max_per_hour: 7,
    };
    const key = idempotencyKey();
    const first = await call("PUT", "/limits", { token: staff.admin.token, body, idempotencyKey: key });
    expect(first.status).toBe(200);
    expect(first.body.limits).toMatchObject({ tier: "verified", currency: "USD", max_single: body.max_single, max_per_hour: 7 });
    expect(first.headers.get("idempotent-replayed")).toBe("false");

    const again = await call("PUT", "/limits", { token: staff.admin.token, body, idempotencyKey: key });
    expect([again.status, again.headers.get("idempotent-replayed")]).toEqual([200, "true"]);
    expect(again.body).toEqual(first.body);

    const audit = await sql`select actor_id, new_record ->> 'max_per_hour' as per_hour from audit.log
                             where table_name = 'wallet_tier_limits' and record_id = ${first.body.limits.id}
                               and operation = 'UPDATE'
                             order by id desc limit 1`;
    expect(audit[0]).toEqual({ actor_id: staff.admin.id, per_hour: "7" });
  });

  it("adds limits in a currency the tier had none in, audited as an insert", async () => {
    const body = { tier: "verified", currency: ADDED_CURRENCY, max_single: 3_000_000, max_daily: 9_000_000, max_per_hour: 30 };
    const answer = await call("PUT", "/limits", { token: staff.admin.token, body, idempotencyKey: idempotencyKey() });
    expect(answer.status).toBe(200);
    expect(answer.body.limits).toMatchObject(body);
    const audit = await sql`select actor_id, operation from audit.log
                             where table_name = 'wallet_tier_limits' and record_id = ${answer.body.limits.id}`;
    expect(audit).toEqual([{ actor_id: staff.admin.id, operation: "INSERT" }]);
  });

  it("refuses a bad body with 400 and changes nothing", async () => {
    const before = await verifiedLimits();
    const bodies = [
      { tier: "gold", currency: "USD", max_single: 1, max_daily: 1, max_per_hour: 1 },
      { tier: "verified", currency: "USD", max_single: 10, max_daily: 9, max_per_hour: 1 },
      { tier: "verified", currency: "USD", max_single: 0, max_daily: 9, max_per_hour: 1 },
      { tier: "verified", currency: "USD", max_single: 1.5, max_daily: 9, max_per_hour: 1 },
      { tier: "verified", currency: "USD", max_single: 1, max_daily: 9, max_per_hour: 0 },
      { tier: "verified", currency: "USD", max_single: 1, max_daily: 9 },
      { tier: "verified", max_single: 1, max_daily: 9, max_per_hour: 1 },
      { tier: "verified", currency: "usd", max_single: 1, max_daily: 9, max_per_hour: 1 },
      { tier: "verified", currency: "USD", max_single: 1, max_daily: 9, max_per_hour: 1, account_id: crypto.randomUUID() },
    ];
    for (const body of bodies) {
      const answer = await call("PUT", "/limits", { token: staff.admin.token, body, idempotencyKey: idempotencyKey() });
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error.code).toBe("validation_failed");
    }
    expect(await verifiedLimits()).toEqual(before);
  });

  it("refuses support with 403 and changes nothing", async () => {
    const before = await verifiedLimits();
    const answer = await call("PUT", "/limits", {
      token: staff.support.token,
      body: { tier: "verified", currency: "USD", max_single: 1, max_daily: 1, max_per_hour: 1 },
      idempotencyKey: idempotencyKey(),
    });
    expect(refusal(answer)).toEqual(FORBIDDEN);
    expect(await verifiedLimits()).toEqual(before);
  });
});

describe("PUT /admin/accounts/:id/tier", () => {
  /** Moves `accountId` to `tier` as the caller of `token` (an admin by default), under a fresh Idempotency-Key. */
  const setTier = (accountId: string, tier: string, token = staff.admin.token) =>
    call("PUT", `/accounts/${accountId}/tier`, { token, body: { tier }, idempotencyKey: idempotencyKey() });

  it("moves an account to another tier, audited with the admin as actor", async () => {
    const account = await openAccount(sql, staff.user.id, "TZS");
    const answer = await setTier(account, "merchant");
    expect(answer.status).toBe(200);
    expect(answer.body.account).toMatchObject({ id: account, limit_tier: "merchant" });
    const audit = await sql`select actor_id from audit.log where table_name = 'wallet_accounts' and record_id = ${account}
                             and operation = 'UPDATE' and changed_fields @> array['limit_tier']`;
    expect(audit).toEqual([{ actor_id: staff.admin.id }]);
  });

  it("answers 400 for an unknown tier, 404 for an unknown account, 403 for support", async () => {
    const account = await openAccount(sql, staff.user.id, "RWF");
    const bad = await setTier(account, "gold");
    expect(refusal(bad)).toEqual({ status: 400, code: "validation_failed" });
    const unknown = await setTier(crypto.randomUUID(), "verified");
    expect(refusal(unknown)).toEqual({ status: 404, code: "not_found" });
    const support = await setTier(account, "verified", staff.support.token);
    expect(refusal(support)).toEqual(FORBIDDEN);
    expect((await sql`select limit_tier from public.wallet_accounts where id = ${account}`)[0]!.limit_tier).toBe("standard");
  });

  it("answers 400 for a tier with no limits in the account's currency, and moves nothing", async () => {
    const account = await openAccount(sql, staff.user.id, "MGA");
    const answer = await setTier(account, "merchant");
    expect(refusal(answer)).toEqual({ status: 400, code: "invalid_argument" });
    expect(answer.body.error.message).toBe("the merchant tier has no limits in MGA: set them first");
    expect((await sql`select limit_tier from public.wallet_accounts where id = ${account}`)[0]!.limit_tier).toBe("standard");
  });
});
