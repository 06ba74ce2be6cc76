// Limits through the admin API, in-process on the real database: staff read the tiers, an
// admin changes one (validated, idempotent, audited with the admin as actor) and moves an
// account to another tier; support changes nothing.
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
    select max_single, max_daily, max_per_hour from public.wallet_limit_tiers where tier = 'verified'`;
  verified = { max_single: Number(row!.max_single), max_daily: Number(row!.max_daily), max_per_hour: row!.max_per_hour };
});
// The tier this suite changes goes back to what it was: other suites read the tiers.
afterAll(async () => {
  await sql`update public.wallet_limit_tiers set max_single = ${verified.max_single}, max_daily = ${verified.max_daily},
              max_per_hour = ${verified.max_per_hour} where tier = 'verified'`;
});

const call = adminCaller(handler);

async function verifiedTier() {
  const [row] = await sql`select max_single::int, max_daily::int, max_per_hour from public.wallet_limit_tiers where tier = 'verified'`;
  return row;
}

describe("GET /admin/limits", () => {
  it("shows staff every tier, and refuses a plain user", async () => {
    for (const token of [staff.admin.token, staff.support.token]) {
      const answer = await call("GET", "/limits", { token });
      expect(answer.status).toBe(200);
      expect(answer.body.tiers.map((t: { tier: string }) => t.tier)).toEqual(["standard", "verified", "merchant"]);
    }
    expect(refusal(await call("GET", "/limits", { token: staff.user.token }))).toEqual(FORBIDDEN);
  });
});

describe("PUT /admin/limits", () => {
  it("changes a tier once per key, audited with the admin as actor", async () => {
    const body = { tier: "verified", max_single: verified.max_single + 1, max_daily: verified.max_daily + 1, max_per_hour: 7 };
    const key = idempotencyKey();
    const first = await call("PUT", "/limits", { token: staff.admin.token, body, idempotencyKey: key });
    expect(first.status).toBe(200);
    expect(first.body.tier).toMatchObject({ tier: "verified", max_single: body.max_single, max_per_hour: 7 });
    expect(first.headers.get("idempotent-replayed")).toBe("false");

    const again = await call("PUT", "/limits", { token: staff.admin.token, body, idempotencyKey: key });
    expect([again.status, again.headers.get("idempotent-replayed")]).toEqual([200, "true"]);
    expect(again.body).toEqual(first.body);

    const audit = await sql`select actor_id, new_record ->> 'max_per_hour' as per_hour from audit.log
                             where table_name = 'wallet_limit_tiers' and record_id = 'verified' and operation = 'UPDATE'
                             order by id desc limit 1`;
    expect(audit[0]).toEqual({ actor_id: staff.admin.id, per_hour: "7" });
  });

  it("refuses a bad body with 400 and changes nothing", async () => {
    const before = await verifiedTier();
    const bodies = [
      { tier: "gold", max_single: 1, max_daily: 1, max_per_hour: 1 },
      { tier: "verified", max_single: 10, max_daily: 9, max_per_hour: 1 },
      { tier: "verified", max_single: 0, max_daily: 9, max_per_hour: 1 },
      { tier: "verified", max_single: 1.5, max_daily: 9, max_per_hour: 1 },
      { tier: "verified", max_single: 1, max_daily: 9, max_per_hour: 0 },
      { tier: "verified", max_single: 1, max_daily: 9 },
      { tier: "verified", max_single: 1, max_daily: 9, max_per_hour: 1, currency: "USD" },
    ];
    for (const body of bodies) {
      const answer = await call("PUT", "/limits", { token: staff.admin.token, body, idempotencyKey: idempotencyKey() });
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error.code).toBe("validation_failed");
    }
    expect(await verifiedTier()).toEqual(before);
  });

  it("refuses support with 403 and changes nothing", async () => {
    const before = await verifiedTier();
    const answer = await call("PUT", "/limits", {
      token: staff.support.token,
      body: { tier: "verified", max_single: 1, max_daily: 1, max_per_hour: 1 },
      idempotencyKey: idempotencyKey(),
    });
    expect(refusal(answer)).toEqual(FORBIDDEN);
    expect(await verifiedTier()).toEqual(before);
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
});
