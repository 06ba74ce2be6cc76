// When the database cannot be reached a webhook answers 503 (the provider retries) and the
// rate limiter, whose store is the same database, fails open with a logged warning.
import "../../tests/support/functions-env.ts";
import { describe, expect, it } from "vitest";
import { freePort } from "@mfuko/local-stack/ports";
import { stripeEvent, stripeRequest } from "../../tests/support/webhook-requests.ts";

process.env.SUPABASE_DB_URL = `postgresql://postgres@127.0.0.1:${await freePort()}/postgres`;
const { default: handler } = await import("./handler.ts");

describe("stripe-webhook without a database", () => {
  it("answers 503 database_unavailable after a valid signature, with the limiter failed open", async () => {
    const response = await handler.fetch(stripeRequest(stripeEvent("customer.created", { id: "cus_1" })));
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("database_unavailable");
    expect(response.headers.get("x-ratelimit-limit")).toBe("50");
  });

  it("still refuses a forged request with 401", async () => {
    const response = await handler.fetch(stripeRequest(stripeEvent("customer.created", { id: "cus_1" }), { secret: "whsec_forger" }));
    expect(response.status).toBe(401);
  });
});
