// The pure half of request idempotency (admin and payments): which key a request carries, and
// the request hash that tells a replay (same hash) from a reuse of the key for another request (422).
import { describe, expect, it } from "vitest";
import { HttpError } from "./errors.ts";
import { idempotencyKeyOf, requestHash } from "./idempotency.ts";

function refusal(headers: Record<string, string>, body: Record<string, unknown>): HttpError {
  try {
    idempotencyKeyOf(new Headers(headers), body);
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error("expected an HttpError");
}

describe("idempotencyKeyOf", () => {
  it("takes the key from the header, the body field, or both when they agree", () => {
    expect(idempotencyKeyOf(new Headers({ "idempotency-key": "k-1" }), {})).toBe("k-1");
    expect(idempotencyKeyOf(new Headers(), { idempotency_key: "k-2" })).toBe("k-2");
    expect(idempotencyKeyOf(new Headers({ "idempotency-key": "k-3" }), { idempotency_key: "k-3" })).toBe("k-3");
  });

  it("refuses a header and a body field that disagree", () => {
    expect(refusal({ "idempotency-key": "k-1" }, { idempotency_key: "k-2" })).toMatchObject({
      status: 400,
      code: "validation_failed",
      details: { fields: [{ path: "idempotency_key", message: "differs from the Idempotency-Key header" }] },
    });
  });

  it("requires a key", () => {
    expect(refusal({}, {})).toMatchObject({ status: 400, code: "idempotency_key_required" });
  });

  it("accepts 1 to 255 visible ASCII characters and refuses anything else", () => {
    expect(idempotencyKeyOf(new Headers(), { idempotency_key: "x" })).toBe("x");
    expect(idempotencyKeyOf(new Headers(), { idempotency_key: "~".repeat(255) })).toBe("~".repeat(255));
    const invalid = {
      status: 400,
      code: "validation_failed",
      details: { fields: [{ path: "idempotency_key", message: "must be 1 to 255 visible ASCII characters" }] },
    };
    for (const key of ["", "x".repeat(256), "with space", "naïve", 42, null]) {
      expect(refusal({}, { idempotency_key: key })).toMatchObject(invalid);
    }
  });
});

describe("requestHash", () => {
  const hash = (body: Record<string, unknown>, method = "POST", path = "/admin/adjustments") => requestHash(method, path, body);

  it("is the same for the same request whatever the key order, the method's case or the idempotency_key", async () => {
    const body = { account_id: "a", amount: 5, meta: { b: [1, { y: 2, x: null }], a: "s" } };
    const reordered = { meta: { a: "s", b: [1, { x: null, y: 2 }] }, amount: 5, account_id: "a", idempotency_key: "k", skipped: undefined };
    expect(await hash(reordered, "post")).toBe(await hash(body));
    expect(await hash(body)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("differs when a value, an array's order, the method or the path differs", async () => {
    const base = await hash({ amount: 5, tags: ["a", "b"], note: null });
    expect(await hash({ amount: 6, tags: ["a", "b"], note: null })).not.toBe(base);
    expect(await hash({ amount: 5, tags: ["b", "a"], note: null })).not.toBe(base);
    expect(await hash({ amount: 5, tags: ["a", "b"] })).not.toBe(base);
    expect(await hash({ amount: 5, tags: ["a", "b"], note: null }, "PUT")).not.toBe(base);
    expect(await hash({ amount: 5, tags: ["a", "b"], note: null }, "POST", "/admin/transactions/x/reverse")).not.toBe(base);
    expect(await hash({ amount: "5", tags: ["a", "b"], note: null })).not.toBe(base);
  });
});

// One change at a time to a realistic adjustment: each part of the request is in the hash.
const METHOD = "POST";
const PATH = "/admin/adjustments";
const BODY = {
  account_id: "0b0c6a4e-5d1a-4f7e-9a55-3f2f2b1d0c01",
  amount: 100,
  direction: "credit",
  reason: "missing top-up",
  meta: { a: 1, b: [1, 2] },
};

describe("requestHash, one part of an adjustment at a time", () => {
  it("is the same for the same request: key order, the body's idempotency_key and the method's case do not count", async () => {
    const first = await requestHash(METHOD, PATH, BODY);
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    const reordered = {
      meta: { b: [1, 2], a: 1 },
      reason: "missing top-up",
      direction: "credit",
      amount: 100,
      account_id: BODY.account_id,
    };
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
