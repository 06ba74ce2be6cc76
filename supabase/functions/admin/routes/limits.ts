// Limits per account tier and currency (docs/LEDGER.md, "Limits"):
// GET /admin/limits             every tier's limits in every currency
// PUT /admin/limits             one tier's limits in one currency, new or changed (wallet_set_tier_limits)
// PUT /admin/accounts/:id/tier  an account's tier (wallet_set_limit_tier)
// The changes are idempotent (mutation.ts) and run as the admin, so the audit trail names them.
import { z } from "zod";
import { allowMethods } from "../../_shared/middleware.ts";
import type { AdminApp, AdminRoutes, Row } from "../types.ts";
import { idempotencyKeyField, idempotentMutation } from "../mutation.ts";
import { currencyParam, pathId } from "../params.ts";

const tier = z.enum(["standard", "verified", "merchant"], { error: "must be one of standard, verified, merchant" });
const minorUnits = z.number({ error: "must be a whole number of minor units" })
  .int("must be a whole number of minor units").positive("must be positive").max(Number.MAX_SAFE_INTEGER);

const tierBody = z.strictObject({
  tier,
  currency: currencyParam,
  max_single: minorUnits,
  max_daily: minorUnits,
  max_per_hour: z.number({ error: "must be a whole number" }).int("must be a whole number").positive("must be positive")
    .max(2_147_483_647),
  idempotency_key: idempotencyKeyField,
}).refine((body) => body.max_daily >= body.max_single, { path: ["max_daily"], message: "must be at least max_single" });

const accountTierBody = z.strictObject({ tier, idempotency_key: idempotencyKeyField });

export function registerLimitRoutes(app: AdminApp, routes: AdminRoutes): void {
  app.get("/limits", async (c) => {
    const rows = await routes.asCaller(c, (tx) =>
      tx<{ limits: Row }[]>`
      select to_jsonb(l) as limits from public.wallet_tier_limits l order by l.currency, l.max_single, l.tier`);
    return c.json({ limits: rows.map((row) => row.limits) });
  });

  app.put("/limits", (c) =>
    idempotentMutation(c, routes, tierBody, async (tx, input) => {
      const [row] = await tx<{ limits: Row }[]>`
        select to_jsonb(l) as limits
          from public.wallet_set_tier_limits(${input.tier}, ${input.currency}, ${input.max_single}::bigint,
                                             ${input.max_daily}::bigint, ${input.max_per_hour}::integer) l`;
      return { status: 200, body: { limits: row!.limits } };
    }));
  app.all("/limits", allowMethods("GET", "PUT"));

  app.put("/accounts/:id/tier", (c) => {
    const id = pathId(c);
    return idempotentMutation(c, routes, accountTierBody, async (tx, input) => {
      const [row] = await tx<{ account: Row }[]>`
        select to_jsonb(a) as account from public.wallet_set_limit_tier(${id}, ${input.tier}) a`;
      return { status: 200, body: { account: row!.account } };
    });
  });
  app.all("/accounts/:id/tier", allowMethods("PUT"));
}
