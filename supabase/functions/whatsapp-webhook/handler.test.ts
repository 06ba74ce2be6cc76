// The HTTP contract of whatsapp-webhook, in-process against the test database: the GET
// subscription challenge, every signature case (401, nothing written), malformed signed
// bodies (400, nothing written), and the method and 3 MiB body limits.
import { useTestSql } from "../../tests/support/test-sql.ts";
import { describe, expect, it, vi } from "vitest";
import { eventsMentioning, uniqueClientAddress } from "../../tests/support/payments-fixtures.ts";
import { expectLimitAt } from "../../tests/support/rate-limit-probe.ts";
import { env, IN_PROCESS_ORIGIN, whatsAppRequest, whatsAppSignature } from "../../tests/support/webhook-requests.ts";
import { wamid, whatsAppNotification } from "../../tests/support/whatsapp-messages.ts";
import handler from "./handler.ts";

// The per-address guard is 6000 a minute by default (Meta sends from a few shared addresses);
// 100 here keeps the probe of its boundary short.
vi.hoisted(() => {
  process.env.RATE_LIMIT_WHATSAPP_WEBHOOK_PER_MIN = "100";
});

const sql = useTestSql();

function inbound(id: string, body = "hello") {
  return whatsAppNotification({
    contacts: [{ profile: { name: "Amina" }, wa_id: "256712345678" }],
    messages: [{ from: "256712345678", id, timestamp: String(Math.floor(Date.now() / 1000)), type: "text", text: { body } }],
  });
}

/** The events and messages that mention `id`: by their keys, or in what they stored. */
async function rowsFor(id: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from public.whatsapp_messages where wamid = ${id} or strpos(body, ${id}) > 0`;
  return row!.n + await eventsMentioning(sql, "whatsapp", [id]);
}

async function expectRejected(request: Request, status: number, code: string, id: string) {
  const response = await handler.fetch(request);
  expect(response.status).toBe(status);
  expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code);
  expect(await rowsFor(id)).toBe(0);
}

const verification = (query: string) =>
  handler.fetch(new Request(`${IN_PROCESS_ORIGIN}/whatsapp-webhook?${query}`, { headers: { "x-forwarded-for": uniqueClientAddress() } }));

describe("whatsapp-webhook subscription (GET)", () => {
  it("echoes hub.challenge as plain text for the right verify token", async () => {
    const response = await verification(`hub.mode=subscribe&hub.verify_token=${env("WHATSAPP_VERIFY_TOKEN")}&hub.challenge=1158201444`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await response.text()).toBe("1158201444");
  });

  it("answers 403 for a wrong token, another mode, or a missing challenge", async () => {
    const token = env("WHATSAPP_VERIFY_TOKEN");
    for (
      const query of [
        "hub.mode=subscribe&hub.verify_token=wrong-token&hub.challenge=1",
        `hub.mode=unsubscribe&hub.verify_token=${token}&hub.challenge=1`,
        `hub.mode=subscribe&hub.verify_token=${token}`,
        `hub.mode=subscribe&hub.verify_token=${token}&hub.challenge=%3Cscript%3E`,
      ]
    ) {
      const refused = await verification(query);
      expect({ status: refused.status, code: ((await refused.json()) as { error: { code: string } }).error.code })
        .toEqual({ status: 403, code: "verification_failed" });
    }
  });
});

describe("whatsapp-webhook signatures (POST)", () => {
  it("accepts a valid signature and stores the message", async () => {
    const id = wamid();
    const response = await handler.fetch(whatsAppRequest(inbound(id)));
    expect(response.status).toBe(200);
    expect(response.headers.get("x-ratelimit-limit")).toBe("100");
    expect(await rowsFor(id)).toBe(2);
  });

  it("refuses a wrong secret, a tampered body, a missing and a malformed header", async () => {
    const id = wamid();
    await expectRejected(whatsAppRequest(inbound(id), { secret: "someone-elses-app-secret" }), 401, "invalid_signature", id);
    const signedOther = whatsAppSignature(JSON.stringify(inbound(id, "pay 10")));
    await expectRejected(whatsAppRequest(inbound(id, "pay 10000"), { header: signedOther }), 401, "invalid_signature", id);
    await expectRejected(whatsAppRequest(inbound(id), { header: null }), 401, "invalid_signature", id);
    await expectRejected(whatsAppRequest(inbound(id), { header: "sha1=abc" }), 401, "invalid_signature", id);
  });

  it("verifies the exact bytes: the same JSON re-serialised with other spacing does not match", async () => {
    const id = wamid();
    const compact = JSON.stringify(inbound(id));
    await expectRejected(
      whatsAppRequest(JSON.stringify(inbound(id), null, 2), { header: whatsAppSignature(compact) }),
      401,
      "invalid_signature",
      id,
    );
  });
});

describe("whatsapp-webhook malformed signed bodies", () => {
  it("answers 400 invalid_json for a signed body that is not JSON", async () => {
    const response = await handler.fetch(whatsAppRequest('{"object":'));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("invalid_json");
  });

  const cases: Array<[string, (body: ReturnType<typeof inbound>) => unknown]> = [
    ["another object", (b) => ({ ...b, object: "page" })],
    ["no entries", (b) => ({ ...b, entry: [] })],
    ["a message without id", (b) => {
      delete (b.entry[0]!.changes[0]!.value.messages[0] as Record<string, unknown>).id;
      return b;
    }],
    ["a timestamp that is not unix seconds", (b) => {
      b.entry[0]!.changes[0]!.value.messages[0]!.timestamp = "yesterday";
      return b;
    }],
    ["a text body that is a number", (b) => {
      (b.entry[0]!.changes[0]!.value.messages[0]!.text as unknown as { body: number }).body = 5;
      return b;
    }],
  ];
  it.each(cases)("answers 400 for %s, writing nothing", async (_name, mutate) => {
    const id = wamid();
    // The id is in the text too, so that a body that lost the message id is still found.
    await expectRejected(whatsAppRequest(mutate(inbound(id, `hello ${id}`))), 400, "validation_failed", id);
  });
});

describe("whatsapp-webhook request limits", () => {
  it("accepts a body of 2 MiB and refuses one over 3 MiB with 413", async () => {
    const big = wamid();
    expect((await handler.fetch(whatsAppRequest(inbound(big, "x".repeat(2 * 1024 * 1024))))).status).toBe(200);
    const huge = wamid();
    await expectRejected(whatsAppRequest(inbound(huge, "x".repeat(3 * 1024 * 1024))), 413, "payload_too_large", huge);
  });

  it("lets a client's 100th request of a minute through and answers the 101st 429, before checking signatures", async () => {
    const address = uniqueClientAddress();
    await expectLimitAt(100, () => handler.fetch(whatsAppRequest(inbound(wamid()), { header: "sha256=00" }, { address })), 401);
  });

  it("answers 405 with Allow for PUT", async () => {
    const response = await handler.fetch(whatsAppRequest(inbound(wamid()), {}, { method: "PUT" }));
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET, POST");
  });
});
