import { describe, expect, it } from "vitest";
import { z } from "zod";
import { assertContentType, assertMethod, parseJsonBody, readBodyBytes } from "./body.ts";
import { HttpError } from "./errors.ts";

function caught(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error("expected an HttpError");
}

async function caughtAsync(promise: Promise<unknown>): Promise<HttpError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  if (error instanceof HttpError) return error;
  throw new Error(`expected an HttpError, got ${String(error)}`);
}

/** A request whose body streams `chunks`, each `chunkSize` bytes, `intervalMs` apart. */
function streamOf(chunks: number[], chunkSize: number, intervalMs = 0) {
  let pulled = 0;
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    cancel() {
      cancelled = true;
    },
    async pull(controller) {
      if (intervalMs > 0) await new Promise((resolve) => setTimeout(resolve, intervalMs));
      if (pulled >= chunks.length) return controller.close();
      controller.enqueue(new Uint8Array(chunkSize).fill(chunks[pulled++]!));
    },
  });
  const request = new Request("http://test/", { method: "POST", body, duplex: "half" } as RequestInit);
  return { request, pulled: () => pulled, cancelled: () => cancelled };
}

describe("assertMethod", () => {
  it("answers 405 with Allow for other methods", () => {
    const error = caught(() => assertMethod("DELETE", ["GET", "POST"]));
    expect(error).toMatchObject({ status: 405, code: "method_not_allowed", headers: { allow: "GET, POST" } });
    expect(() => assertMethod("post", ["GET", "POST"])).not.toThrow();
  });
});

describe("assertContentType", () => {
  it("accepts the media type with parameters and in any case, refuses others with 415", () => {
    expect(() => assertContentType(new Headers({ "content-type": "Application/JSON; charset=utf-8" }), ["application/json"])).not.toThrow();
    expect(caught(() => assertContentType(new Headers({ "content-type": "text/plain" }), ["application/json"])))
      .toMatchObject({ status: 415, code: "unsupported_media_type" });
    expect(caught(() => assertContentType(new Headers(), ["application/json"]))).toMatchObject({ status: 415 });
  });
});

describe("readBodyBytes", () => {
  it("returns the exact bytes up to the limit", async () => {
    const bytes = new Uint8Array([0, 1, 2, 255]);
    const request = new Request("http://test/", { method: "POST", body: bytes });
    expect(await readBodyBytes(request, 4, 1_000)).toEqual(bytes);
    expect(await readBodyBytes(new Request("http://test/"), 4, 1_000)).toEqual(new Uint8Array(0));
  });

  it("refuses an announced length over the limit with 413 without reading", async () => {
    // The body itself is small: only the announcement can cause the refusal.
    const announced = new Request("http://test/", { method: "POST", body: "tiny", headers: { "content-length": "30" } });
    expect(await caughtAsync(readBodyBytes(announced, 20, 1_000))).toMatchObject({ status: 413, code: "payload_too_large" });
    const atTheLimit = new Request("http://test/", { method: "POST", body: "tiny", headers: { "content-length": "20" } });
    expect(await readBodyBytes(atTheLimit, 20, 1_000)).toEqual(new TextEncoder().encode("tiny"));
  });

  it("stops reading a stream as soon as it passes the limit", async () => {
    const { request, pulled, cancelled } = streamOf(Array.from({ length: 100 }, (_, i) => i), 1024);
    expect(await caughtAsync(readBodyBytes(request, 4096, 1_000))).toMatchObject({ status: 413, details: { max_bytes: 4096 } });
    expect(pulled()).toBeLessThan(10);
    expect(cancelled()).toBe(true);
  });

  it("answers 408 and stops reading when the body trickles in slower than the deadline", async () => {
    // Every chunk comes well within the deadline; the whole body does not.
    const { request, pulled, cancelled } = streamOf(Array.from({ length: 40 }, (_, i) => i), 1, 20);
    const started = performance.now();
    const error = await caughtAsync(readBodyBytes(request, 4096, 150));
    expect(error).toMatchObject({ status: 408, code: "request_timeout", details: { timeout_ms: 150 } });
    expect(performance.now() - started).toBeLessThan(400);
    expect(cancelled()).toBe(true);
    expect(pulled()).toBeLessThan(40);
  });

  it("returns a body that arrives in pieces within the deadline", async () => {
    const { request } = streamOf([1, 2, 3], 2, 10);
    expect(await readBodyBytes(request, 4096, 1_000)).toEqual(new Uint8Array([1, 1, 2, 2, 3, 3]));
  });
});

describe("parseJsonBody", () => {
  const schema = z.object({ amount: z.number() });
  const bytes = (text: string) => new TextEncoder().encode(text);

  it("parses and validates", () => {
    expect(parseJsonBody(bytes('{"amount":5}'), schema)).toEqual({ amount: 5 });
  });

  it("answers 400 invalid_json for bad JSON or bad UTF-8 and 400 validation_failed for a bad shape", () => {
    expect(caught(() => parseJsonBody(bytes("{"), schema))).toMatchObject({ status: 400, code: "invalid_json" });
    expect(caught(() => parseJsonBody(new Uint8Array([0x7b, 0xff, 0x7d]), schema))).toMatchObject({ code: "invalid_json" });
    expect(caught(() => parseJsonBody(bytes('{"amount":"5"}'), schema))).toMatchObject({ status: 400, code: "validation_failed" });
  });
});
