// The request hash that tells the replay of an admin change from the reuse of its key for
// another request (422 idempotency_key_reused): equal for the same request however its body
// is spelled, different when any one part of it changes.
import { describe, expect, it } from "vitest";
import { requestHash } from "./idempotency.ts";

const METHOD = "POST";
const PATH = "/admin/adjustments";
const BODY = { account_id: "0b0c6a4e-5d1a-4f7e-9a55-3f2f2b1d0c01", amount: 100, direction: "credit", reason: "missing top-up", meta: { a: 1, b: [1, 2] } };

describe("requestHash", () => {
  it("is the same for the same request: key order, the body's idempotency_key and the method's case do not count", async () => {
    const first = await requestHash(METHOD, PATH, BODY);
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    const reordered = { meta: { b: [1, 2], a: 1 }, reason: "missing top-up", direction: "credit", amount: 100, account_id: BODY.account_id };
    expect(await requestHash("post", PATH, { ...reordered, idempotency_key: "k-1" })).toBe(first);
  });

  const changes: Array<[string, string, string, Record<string, unknown>]> = [
    ["the method", "PUT", PATH, BODY],
    ["the path", METHOD, "/admin/accounts/0b0c6a4e-5d1a-4f7e-9a55-3f2f2b1d0c01/status", BODY],
    ["the account", METHOD, PATH, { ...BODY, account_id: "0b0c6a4e-5d1a-4f7e-9a55-3f2f2b1d0c02" }],
    ["the amount", METHOD, PATH, { ...BODY, amount: 101 }],
    ["the amount's type", METHOD, PATH, { ...BODY, amount: "100" }],
    ["the direction", METHOD, PATH, { ...BODY, direction: "debit" }],
    ["the reason", METHOD, PATH, { ...BODY, reason: "missing top-up." }],
    ["a nested value", METHOD, PATH, { ...BODY, meta: { a: 1, b: [2, 1] } }],
    ["a field more", METHOD, PATH, { ...BODY, force: true }],
    ["a field less", METHOD, PATH, { account_id: BODY.account_id, amount: 100, direction: "credit", reason: "missing top-up" }],
  ];
  it.each(changes)("differs when %s changes", async (_what, method, path, body) => {
    expect(await requestHash(method, path, body)).not.toBe(await requestHash(METHOD, PATH, BODY));
  });
});
