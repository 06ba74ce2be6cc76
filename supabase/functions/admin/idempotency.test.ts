// The pure half of admin idempotency: which key a request carries, and the request hash that
// tells a replay (same hash) from a reuse of the key for another request (422).
import { describe, expect, it } from "vitest";
import { HttpError } from "../_shared/errors.ts";
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
    const invalid = { status: 400, code: "validation_failed", details: { fields: [{ path: "idempotency_key", message: "must be 1 to 255 visible ASCII characters" }] } };
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
