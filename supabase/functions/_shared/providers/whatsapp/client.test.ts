// The Graph API client against the stand-in: the request Meta expects (Bearer token,
// messaging_product, to, the message object), the wamid back, and Meta's refusals as
// WhatsAppApiError with the HTTP status and Meta's code (including the stand-in's checks of
// interactive messages against Meta's field limits and of templates against the approved ones).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GraphApiStandIn, startGraphApiStandIn } from "../../../../tests/support/graph-api-standin.ts";
import { createWhatsAppClient, type OutboundMessage, WhatsAppApiError } from "./client.ts";

let graph: GraphApiStandIn;
beforeAll(async () => {
  graph = await startGraphApiStandIn({
    phoneNumberId: "100000000000009",
    accessToken: "client-test-access-token",
    templates: { mfuko_plain: 0, mfuko_with_text: 1 },
  });
});
afterAll(() => graph?.close());

const client = (accessToken = graph.accessToken, timeoutMs = 10_000) =>
  createWhatsAppClient({ baseUrl: graph.url, phoneNumberId: graph.phoneNumberId, accessToken, timeoutMs });
const buttons = (titles: string[]): OutboundMessage => ({
  type: "interactive",
  interactive: {
    type: "button",
    body: { text: "Send RWF 1,000 to 2507******56?" },
    action: { buttons: titles.map((title, n) => ({ type: "reply", reply: { id: `b${n}`, title } })) },
  },
});
const refusalOf = (promise: Promise<unknown>) => promise.then(() => null, (error: unknown) => error as WhatsAppApiError);

describe("createWhatsAppClient", () => {
  it("posts the message as Meta expects and resolves with its wamid", async () => {
    const { wamid } = await client().send("250788000123", { type: "text", text: { body: "hello" } });
    expect(wamid).toMatch(/^wamid\./);
    expect(graph.requests.at(-1)).toMatchObject({
      path: `/v21.0/${graph.phoneNumberId}/messages`,
      authorization: "Bearer client-test-access-token",
      body: { messaging_product: "whatsapp", recipient_type: "individual", to: "250788000123", type: "text", text: { body: "hello" } },
      status: 200,
    });
    expect(await client().send("250788000123", buttons(["Confirm", "Cancel"]))).toMatchObject({ wamid: expect.any(String) });
  });

  it("a bad token is 401 with Meta's code 190; a button title over 20 characters or a fourth button is 400 code 100", async () => {
    const badToken = await refusalOf(client("another-token-entirely").send("250788000123", { type: "text", text: { body: "x" } }));
    expect(badToken).toBeInstanceOf(WhatsAppApiError);
    expect(badToken).toMatchObject({ httpStatus: 401, code: 190 });
    for (const message of [buttons(["Confirm the payment now"]), buttons(["1", "2", "3", "4"])]) {
      const refused = await refusalOf(client().send("250788000123", message));
      expect(refused).toMatchObject({ httpStatus: 400, code: 100 });
      expect(refused!.kind).toBe("declined");
    }
  });

  it("Meta's error classes arrive with their codes; a 5xx and no answer have no code", async () => {
    for (const code of [130429, 131047, 131056] as const) {
      graph.fail(code);
      expect(await refusalOf(client().send("250788000123", { type: "text", text: { body: "x" } }))).toMatchObject({
        httpStatus: 400,
        code,
      });
    }
    graph.fail("server");
    expect(await refusalOf(client().send("250788000123", { type: "text", text: { body: "x" } }))).toMatchObject({
      httpStatus: 500,
      code: 1,
    });
    graph.fail("hang");
    const silent = await refusalOf(client(graph.accessToken, 1_000).send("250788000123", { type: "text", text: { body: "x" } }));
    expect(silent).toMatchObject({ httpStatus: null, code: null });
    expect(silent!.message).toBe("The Graph API did not answer POST /messages: no answer within 1000 ms");
  });

  it("a template is checked against the approved ones: 132001 for another name, 132000 for another number of body parameters, 132018 for a text Meta does not take", async () => {
    const template = (name: string, ...texts: string[]): OutboundMessage => ({
      type: "template",
      template: {
        name,
        language: { code: "en" },
        ...(texts.length === 0 ? {} : { components: [{ type: "body", parameters: texts.map((text) => ({ type: "text", text })) }] }),
      },
    });
    const send = (message: OutboundMessage) => refusalOf(client().send("250788000123", message));
    expect(await send(template("mfuko_plain"))).toBeNull();
    expect(await send(template("mfuko_with_text", "You received RWF 500.    Reply MENU"))).toBeNull();
    expect(await send(template("mfuko_unknown"))).toMatchObject({ httpStatus: 400, code: 132001 });
    for (const wrong of [template("mfuko_plain", "x"), template("mfuko_with_text"), template("mfuko_with_text", "x", "y")]) {
      const refused = await send(wrong);
      expect(refused).toMatchObject({ httpStatus: 400, code: 132000 });
      expect(refused!.message).toContain("Number of parameters does not match the expected number of params");
    }
    for (const text of ["two\nlines", "a\ttab", "five     spaces"]) {
      expect(await send(template("mfuko_with_text", text)), text).toMatchObject({ httpStatus: 400, code: 132018 });
    }
  });
});
