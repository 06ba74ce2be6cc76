import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError } from "./env.ts";
import { errorResponse, HttpError, parseOrThrow, toHttpError } from "./errors.ts";

describe("errorResponse", () => {
  it("renders an HttpError in the shared shape with the correlation id in body and header", async () => {
    const response = errorResponse(new HttpError(409, "conflict", "Already done.", { id: 7 }, { "x-extra": "1" }), "corr-1");
    expect(response.status).toBe(409);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(response.headers.get("x-correlation-id")).toBe("corr-1");
    expect(response.headers.get("x-extra")).toBe("1");
    expect(await response.json()).toEqual({
      error: { code: "conflict", message: "Already done.", correlation_id: "corr-1", details: { id: 7 } },
    });
  });

  it("maps zod errors to 400 with every failing field", async () => {
    const schema = z.object({ amount: z.number().int().positive(), account: z.object({ id: z.uuid() }) });
    const result = schema.safeParse({ amount: -1, account: { id: "nope" } });
    const response = errorResponse(result.error, "corr-2");
    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body.error.code).toBe("validation_failed");
    expect(body.error.details.fields.map((f: { path: string }) => f.path)).toEqual(["amount", "account.id"]);
    expect(() => parseOrThrow(schema, {})).toThrowError(expect.objectContaining({ status: 400 }));
  });

  it("hides unexpected errors behind an opaque 500 without message or stack", async () => {
    const secretish = new Error("connect ECONNREFUSED postgres://postgres:hunter2@db:5432");
    const response = errorResponse(secretish, "corr-3");
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("ECONNREFUSED");
    expect(text).not.toMatch(/at .*\.ts/);
    expect(JSON.parse(text).error).toMatchObject({ code: "internal_error", details: null });
  });

  it("answers a configuration error as 500 without naming secrets", () => {
    const error = toHttpError(new ConfigError("STRIPE_WEBHOOK_SECRET", "is missing"));
    expect(error).toMatchObject({ status: 500, code: "configuration_error" });
    expect(error.message).not.toContain("STRIPE");
  });
});
