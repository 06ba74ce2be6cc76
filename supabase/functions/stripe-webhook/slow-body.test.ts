// A client that sends its headers and then trickles the body is answered 408 once the body
// read deadline (REQUEST_BODY_TIMEOUT_MS, lowered here) has passed, and nothing is stored,
// although the trickled body is a validly signed event that is stored when sent at once.
import { useTestSql } from "../../tests/support/test-sql.ts";
import { afterAll, expect, it } from "vitest";
import { clearEnvCache } from "../_shared/env.ts";
import { storedEvents } from "../../tests/support/payments-fixtures.ts";
import { stripeEvent, stripeRequest } from "../../tests/support/webhook-requests.ts";
import handler from "./handler.ts";

const DEADLINE_MS = 300;
const previous = process.env.REQUEST_BODY_TIMEOUT_MS;
process.env.REQUEST_BODY_TIMEOUT_MS = String(DEADLINE_MS);
clearEnvCache();

const sql = useTestSql();
afterAll(async () => {
  if (previous === undefined) delete process.env.REQUEST_BODY_TIMEOUT_MS;
  else process.env.REQUEST_BODY_TIMEOUT_MS = previous;
  clearEnvCache();
  await sql.end({ timeout: 1 });
});

/** `request` with its body sent in ten pieces `intervalMs` apart; `done` resolves after the last. */
async function trickled(request: Request, intervalMs: number): Promise<{ request: Request; done: Promise<void> }> {
  const bytes = new Uint8Array(await request.arrayBuffer());
  const size = Math.ceil(bytes.length / 10);
  let sent = 0;
  let finish: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
      if (sent >= bytes.length) {
        controller.close();
        return finish();
      }
      controller.enqueue(bytes.slice(sent, sent + size));
      sent += size;
    },
    cancel: () => finish(),
  });
  return {
    request: new Request(request.url, { method: request.method, headers: request.headers, body, duplex: "half" } as RequestInit),
    done,
  };
}

it("answers 408 with the JSON error to a body that trickles past the deadline, and stores nothing", async () => {
  const event = stripeEvent("customer.created", { id: "cus_slow", object: "customer" });
  const slow = await trickled(stripeRequest(event), DEADLINE_MS / 5);
  const response = await handler.fetch(slow.request);
  const body = await response.json() as { error: { code: string; correlation_id: string; details: unknown } };
  expect(response.status).toBe(408);
  expect(body.error).toMatchObject({ code: "request_timeout", details: { timeout_ms: DEADLINE_MS } });
  expect(body.error.correlation_id).toBe(response.headers.get("x-correlation-id"));
  await slow.done;
  expect(await storedEvents(sql, "stripe", event.id)).toHaveLength(0);

  // The same delivery sent at once is stored: the refusal above was the deadline's.
  expect((await handler.fetch(stripeRequest(event))).status).toBe(200);
  expect(await storedEvents(sql, "stripe", event.id)).toHaveLength(1);
});
