// The outbox sender on the real database against the Graph API stand-in: a message is sent
// once with its wamid; each of Meta's error classes gets its outcome (backoff, template
// fallback, dropped reply, dead); a notification outside the 24-hour window goes as the
// template, whether our record of the last message says so or Meta's status webhook does,
// with what it says as the template's parameter when the template has one (and dead when the
// template approved at Meta has another number of parameters); five attempts make a message
// dead; two senders racing for the same rows send each once; and the log names the masked
// number, never the message.
import "../../../../tests/support/functions-env.ts";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GraphApiStandIn, startGraphApiStandIn } from "../../../../tests/support/graph-api-standin.ts";
import { contactWhoWrote, enqueue, newWaId, outboxRow, standInSender } from "../../../../tests/support/whatsapp-fixtures.ts";
import { WhatsAppApiError } from "./client.ts";
import { backoffSeconds, MAX_ATTEMPTS, outcomeOfRefusal, type SenderDependencies, sendOutboxMessages } from "./outbox-sender.ts";
import { keepWhatsAppSendRunsOut } from "../../../../tests/support/whatsapp-send-alone.ts";

const sql = postgres(process.env.MFUKO_TEST_DB_URL!, { max: 6, onnotice: () => undefined });
let graph: GraphApiStandIn;
const logLines: string[] = [];

beforeAll(async () => {
  graph = await startGraphApiStandIn({ templates: { mfuko_notification: 0, mfuko_notification_text: 1 } });
});
afterAll(async () => {
  await graph?.close();
  await sql.end();
});
// After the hook that ends `sql`: after-hooks run last-registered first, so the lock is let go before.
keepWhatsAppSendRunsOut(sql);

const sender = (
  options: { notifyTemplate?: string | null; notifyTemplateWithText?: boolean; timeoutMs?: number; leaseSeconds?: number } = {},
): SenderDependencies => standInSender(sql, graph, { ...options, log: (line) => logLines.push(line) });
/** A sender whose notify template has the one body parameter the notification's text fills. */
const textSender = () => sender({ notifyTemplate: "mfuko_notification_text", notifyTemplateWithText: true });

/** Makes a queued row due now, as if its backoff had passed. */
const makeDue = (id: string) => sql`update public.whatsapp_outbox set next_attempt_at = now() where id = ${id}::uuid`;

describe("sendOutboxMessages", () => {
  it("sends a queued message once, records its wamid, and a second call sends nothing", async () => {
    const waId = newWaId();
    const id = await enqueue(sql, waId, "Your balance is RWF 1,000");
    expect(await sendOutboxMessages(sender(), [id])).toEqual({ taken: 1, sent: 1, retried: 0, failed: 0, dead: 0 });
    const [message] = graph.deliveredTo(waId);
    expect(message).toMatchObject({ type: "text", message: { body: "Your balance is RWF 1,000" } });
    expect(await outboxRow(sql, id)).toMatchObject({ status: "sent", attempts: 1, wamid: message!.wamid, last_error: null });
    expect(await sendOutboxMessages(sender(), [id])).toMatchObject({ taken: 0, sent: 0 });
    expect(graph.deliveredTo(waId)).toHaveLength(1);
  });

  it("sends one person's messages one after another in the order given, and another person's meanwhile", async () => {
    const [first, other] = [newWaId(), newWaId()];
    const ids = [
      await enqueue(sql, first, "Send 500 RWF to +250 788 123 456?"),
      await enqueue(sql, first, "Sent 500 RWF."),
      await enqueue(sql, other, "You received 500 RWF."),
      await enqueue(sql, first, "Your balance is RWF 1,500"),
    ];
    const requestsTo = (waId: string) => graph.requests.filter((request) => request.body?.to === waId);
    graph.answerAfter(150);
    try {
      expect(await sendOutboxMessages(sender(), ids)).toMatchObject({ taken: 4, sent: 4 });
    } finally {
      graph.answerAfter(0);
    }
    expect(graph.deliveredTo(first).map((message) => message.message.body)).toEqual([
      "Send 500 RWF to +250 788 123 456?",
      "Sent 500 RWF.",
      "Your balance is RWF 1,500",
    ]);
    const [one, two, three] = requestsTo(first);
    // Each asked only once Meta had answered the one before.
    expect(two!.receivedAt).toBeGreaterThanOrEqual(one!.answeredAt!);
    expect(three!.receivedAt).toBeGreaterThanOrEqual(two!.answeredAt!);
    // The other person's did not wait for them.
    expect(requestsTo(other)[0]!.receivedAt).toBeLessThan(one!.answeredAt!);
  });

  it.each([[130429 as const], [131056 as const], ["server" as const]])(
    "%s: queued again after 30 s, then 60 s; sent once it passes",
    async (failure) => {
      const waId = newWaId();
      const id = await enqueue(sql, waId, "retry me");
      graph.fail(failure, { times: 2, to: waId });
      const before = Date.now();
      expect(await sendOutboxMessages(sender(), [id])).toMatchObject({ taken: 1, retried: 1 });
      const first = await outboxRow(sql, id);
      expect(first).toMatchObject({ status: "queued", attempts: 1 });
      expect(first.last_error).toContain(failure === "server" ? "500" : String(failure));
      expect((first.next_attempt_at.getTime() - before) / 1000).toBeGreaterThanOrEqual(29);
      expect((first.next_attempt_at.getTime() - before) / 1000).toBeLessThan(32);
      // Not due yet: nothing is sent.
      expect(await sendOutboxMessages(sender(), [id])).toMatchObject({ taken: 0 });
      await makeDue(id);
      const secondBefore = Date.now();
      expect(await sendOutboxMessages(sender(), [id])).toMatchObject({ retried: 1 });
      const second = await outboxRow(sql, id);
      expect((second.next_attempt_at.getTime() - secondBefore) / 1000).toBeGreaterThanOrEqual(59);
      await makeDue(id);
      expect(await sendOutboxMessages(sender(), [id])).toMatchObject({ sent: 1 });
      expect(await outboxRow(sql, id)).toMatchObject({ status: "sent", attempts: 3 });
      expect(graph.deliveredTo(waId)).toHaveLength(1);
    },
  );

  it("no answer within the timeout backs off like a 5xx", async () => {
    const waId = newWaId();
    const id = await enqueue(sql, waId, "slow");
    graph.fail("hang", { to: waId });
    expect(await sendOutboxMessages(sender({ timeoutMs: 1_000 }), [id])).toMatchObject({ retried: 1 });
    expect((await outboxRow(sql, id)).last_error).toContain("did not answer");
  });

  it(`dead after ${MAX_ATTEMPTS} attempts of a transient error`, async () => {
    const waId = newWaId();
    const id = await enqueue(sql, waId, "never");
    graph.fail("server", { times: MAX_ATTEMPTS, to: waId });
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      await makeDue(id);
      await sendOutboxMessages(sender(), [id]);
    }
    const row = await outboxRow(sql, id);
    expect(row).toMatchObject({ status: "dead", attempts: MAX_ATTEMPTS });
    expect(row.last_error).toMatch(/^gave up after 5 attempts/);
    await makeDue(id);
    expect(await sendOutboxMessages(sender(), [id])).toMatchObject({ taken: 0 });
    expect(graph.deliveredTo(waId)).toHaveLength(0);
  });

  it("another 4xx (100, invalid parameter) is dead at once", async () => {
    const waId = newWaId();
    const id = await enqueue(sql, waId, "bad");
    graph.fail(100, { to: waId });
    expect(await sendOutboxMessages(sender(), [id])).toMatchObject({ dead: 1 });
    expect(await outboxRow(sql, id)).toMatchObject({ status: "dead", attempts: 1 });
  });

  it.each([
    ["without parameters", () => sender(), { name: "mfuko_notification", language: { code: "en" } }],
    ["with its text when WHATSAPP_NOTIFY_TEMPLATE_WITH_TEXT", textSender, {
      name: "mfuko_notification_text",
      language: { code: "en" },
      components: [{ type: "body", parameters: [{ type: "text", text: "You received RWF 500" }] }],
    }],
  ])("131047 for a notification: sent again as the notify template in the contact's language, %s", async (_, makeSender, template) => {
    const waId = newWaId();
    await contactWhoWrote(sql, waId, 1);
    const id = await enqueue(sql, waId, "You received RWF 500", "notification");
    graph.fail(131047, { to: waId });
    expect(await sendOutboxMessages(makeSender(), [id])).toMatchObject({ sent: 1 });
    const [message] = graph.deliveredTo(waId);
    expect(message).toMatchObject({ type: "template" });
    expect(message!.message).toEqual(template);
    expect(await outboxRow(sql, id)).toMatchObject({
      status: "sent",
      kind: "template",
      wamid: message!.wamid,
      body: { type: "template", template },
    });
  });

  it("131047 for a notification without a template configured: failed with the reason", async () => {
    const waId = newWaId();
    await contactWhoWrote(sql, waId, 1);
    const id = await enqueue(sql, waId, "You received RWF 500", "notification");
    graph.fail(131047, { to: waId });
    expect(await sendOutboxMessages(sender({ notifyTemplate: null }), [id])).toMatchObject({ failed: 1 });
    expect((await outboxRow(sql, id)).last_error).toMatch(/^outside the 24-hour window and no WHATSAPP_NOTIFY_TEMPLATE/);
  });

  it("131047 for a command reply: dropped (failed with the reason), no template sent", async () => {
    const waId = newWaId();
    const id = await enqueue(sql, waId, "Your balance is RWF 0");
    graph.fail(131047, { to: waId });
    expect(await sendOutboxMessages(sender(), [id])).toMatchObject({ failed: 1 });
    const row = await outboxRow(sql, id);
    expect(row).toMatchObject({ status: "failed", kind: "text" });
    expect(row.last_error).toMatch(/^outside the 24-hour window, not sent/);
    expect(graph.deliveredTo(waId)).toHaveLength(0);
  });

  it("a notification to someone who has not written within 24 hours goes as the template at once; a reply is sent as it is", async () => {
    const waId = newWaId();
    await contactWhoWrote(sql, waId, 25);
    const notification = await enqueue(sql, waId, "You received RWF 500", "notification");
    const reply = await enqueue(sql, waId, "Your balance is RWF 500");
    expect(await sendOutboxMessages(sender(), [notification, reply])).toMatchObject({ taken: 2, sent: 2 });
    expect(graph.deliveredTo(waId).map((m) => m.type).sort()).toEqual(["template", "text"]);
    expect(await outboxRow(sql, notification)).toMatchObject({ status: "sent", kind: "template", attempts: 1, last_error: null });
    expect(await outboxRow(sql, reply)).toMatchObject({ status: "sent", kind: "text" });
    // With no template configured, such a notification fails at once, saying why, and nothing is sent.
    const untold = await enqueue(sql, waId, "You received RWF 700", "notification");
    expect(await sendOutboxMessages(sender({ notifyTemplate: null }), [untold])).toMatchObject({ failed: 1 });
    expect((await outboxRow(sql, untold)).last_error).toBe(
      "outside the 24-hour window and no WHATSAPP_NOTIFY_TEMPLATE: the recipient has not written within 24 hours",
    );
    expect(graph.deliveredTo(waId)).toHaveLength(2);
  });

  /** Meta's status webhook for `wamid`, as the WhatsApp webhook applies it. */
  const applyStatus = (wamid: string, status: string, errors?: unknown) =>
    sql.begin(async (tx) => {
      await tx`set local role service_role`;
      await tx`select set_config('request.jwt.claims', '{"role":"service_role"}', true)`;
      await tx`select 1 from public.whatsapp_message_status_apply(${wamid}, ${status}, now(), null, null,
                                                                  ${errors ? tx.json(errors as never) : null})`;
    });
  const outsideWindowError = [{ code: 131047, title: "Re-engagement message" }];

  it("a notification Meta takes and then fails with 131047 in its status webhook is queued again and sent as the template", async () => {
    const waId = newWaId();
    await contactWhoWrote(sql, waId, 23.9);
    const id = await enqueue(sql, waId, "You received RWF 500", "notification");
    expect(await sendOutboxMessages(sender(), [id])).toMatchObject({ sent: 1 });
    const [text] = graph.deliveredTo(waId);
    expect(text).toMatchObject({ type: "text" });

    await applyStatus(text!.wamid, "failed", outsideWindowError);
    expect(await outboxRow(sql, id)).toMatchObject({
      status: "queued",
      kind: "template",
      body: { type: "template", notification: { type: "text", text: { body: "You received RWF 500" } } },
      wamid: null,
    });
    expect(await sendOutboxMessages(sender(), [id])).toMatchObject({ sent: 1 });
    const [, template] = graph.deliveredTo(waId);
    expect(template).toMatchObject({ type: "template", message: { name: "mfuko_notification", language: { code: "en" } } });
    expect(await outboxRow(sql, id)).toMatchObject({ status: "sent", kind: "template", wamid: template!.wamid });

    // The template's own delivery follows its wamid; the failed text's status changes nothing more.
    await applyStatus(template!.wamid, "delivered");
    await applyStatus(text!.wamid, "failed", outsideWindowError);
    expect(await outboxRow(sql, id)).toMatchObject({ status: "delivered", kind: "template" });
    expect(graph.deliveredTo(waId)).toHaveLength(2);
  });

  it("the 131047 failure that reaches us before the sender records the wamid queues the notification again too", async () => {
    const waId = newWaId();
    await contactWhoWrote(sql, waId, 1);
    const id = await enqueue(sql, waId, "You received RWF 500", "notification");
    const wamid = `wamid.overtaken-${crypto.randomUUID()}`;
    const [row] = await sql.begin(async (tx) => {
      await tx`set local role service_role`;
      await tx`select set_config('request.jwt.claims', '{"role":"service_role"}', true)`;
      await tx`select 1 from private.whatsapp_outbox_lease(${[id]}::uuid[], 30)`;
      await tx`select 1 from public.whatsapp_message_status_apply(${wamid}, 'failed', now(), null, null, ${tx.json(outsideWindowError)})`;
      return await tx<{ status: string; kind: string }[]>`
        select status, kind from private.whatsapp_outbox_record(${id}::uuid, 'sent', ${wamid})`;
    });
    expect(row).toEqual({ status: "queued", kind: "template" });
  });

  it("a command reply Meta fails with 131047 in its status webhook stays failed: replies are never sent as the template", async () => {
    const waId = newWaId();
    await contactWhoWrote(sql, waId, 1);
    const id = await enqueue(sql, waId, "Your balance is RWF 0");
    await sendOutboxMessages(sender(), [id]);
    const [text] = graph.deliveredTo(waId);
    await applyStatus(text!.wamid, "failed", outsideWindowError);
    expect(await outboxRow(sql, id)).toMatchObject({ status: "failed", kind: "text" });
    expect(await sendOutboxMessages(sender(), [id])).toMatchObject({ taken: 0 });
    expect(graph.deliveredTo(waId)).toHaveLength(1);
  });

  /** The text parameters of the templates delivered to `waId`. */
  const templateTexts = (waId: string) =>
    graph.deliveredTo(waId).filter((m) => m.type === "template").map((m) =>
      (m.message as { components?: { parameters: { text: string }[] }[] }).components?.[0]?.parameters.map((p) => p.text)
    );

  describe("with WHATSAPP_NOTIFY_TEMPLATE_WITH_TEXT, the template carries what the notification says", () => {
    it("to someone who has not written within 24 hours, at once", async () => {
      const waId = newWaId();
      await contactWhoWrote(sql, waId, 25);
      const id = await enqueue(sql, waId, "You received RWF 5,000 from Alice", "notification");
      expect(await sendOutboxMessages(textSender(), [id])).toMatchObject({ sent: 1 });
      expect(templateTexts(waId)).toEqual([["You received RWF 5,000 from Alice"]]);
      expect(await outboxRow(sql, id)).toMatchObject({
        status: "sent",
        kind: "template",
        body: {
          type: "template",
          template: {
            name: "mfuko_notification_text",
            components: [{ type: "body", parameters: [{ type: "text", text: "You received RWF 5,000 from Alice" }] }],
          },
        },
      });
    });

    it("after Meta's status webhook fails the text with 131047 and the row is queued again", async () => {
      const waId = newWaId();
      await contactWhoWrote(sql, waId, 23.9);
      const id = await enqueue(sql, waId, "Top-up failed: RWF 1,000", "notification");
      await sendOutboxMessages(textSender(), [id]);
      const [text] = graph.deliveredTo(waId);
      await applyStatus(text!.wamid, "failed", outsideWindowError);
      expect(await sendOutboxMessages(textSender(), [id])).toMatchObject({ sent: 1 });
      expect(templateTexts(waId)).toEqual([["Top-up failed: RWF 1,000"]]);
      expect(await outboxRow(sql, id)).toMatchObject({ status: "sent", kind: "template" });
    });

    it("on one line, which Meta takes, and cut with an ellipsis past 1024 characters", async () => {
      const waId = newWaId();
      await contactWhoWrote(sql, waId, 25);
      const lines = await enqueue(sql, waId, "You received RWF 500 from Alice.\n\nBalances:\n\tRWF 1,500\nUSD      2", "notification");
      const long = await enqueue(sql, waId, `Long: ${"x".repeat(2000)}`, "notification");
      expect(await sendOutboxMessages(textSender(), [lines])).toMatchObject({ sent: 1 });
      expect(await sendOutboxMessages(textSender(), [long])).toMatchObject({ sent: 1 });
      const [oneLine, cut] = templateTexts(waId);
      expect(oneLine).toEqual(["You received RWF 500 from Alice. Balances: RWF 1,500 - USD 2"]);
      expect(cut![0]).toBe(`Long: ${"x".repeat(1017)}\u2026`);
      expect(cut![0]).toHaveLength(1024);
    });

    it("the text never reaches the log", async () => {
      const waId = newWaId();
      await contactWhoWrote(sql, waId, 25);
      const id = await enqueue(sql, waId, "a private notification body", "notification");
      logLines.length = 0;
      expect(await sendOutboxMessages(textSender(), [id])).toMatchObject({ sent: 1 });
      expect(logLines.join("\n")).toContain(id);
      expect(logLines.join("\n")).not.toContain("a private notification body");
    });
  });

  it.each([
    [
      "the setting on, the approved template without parameters",
      { notifyTemplate: "mfuko_notification", notifyTemplateWithText: true },
      132000,
    ],
    [
      "the setting off, the approved template with one",
      { notifyTemplate: "mfuko_notification_text", notifyTemplateWithText: false },
      132000,
    ],
    ["a template Meta has not approved", { notifyTemplate: "mfuko_not_approved", notifyTemplateWithText: true }, 132001],
  ])("%s: the notification is dead at once, with Meta's error", async (_, options, code) => {
    const waId = newWaId();
    await contactWhoWrote(sql, waId, 25);
    const id = await enqueue(sql, waId, "You received RWF 500", "notification");
    expect(await sendOutboxMessages(sender(options), [id])).toMatchObject({ dead: 1 });
    const row = await outboxRow(sql, id);
    expect(row).toMatchObject({ status: "dead", kind: "text", attempts: 1 });
    expect(row.last_error).toContain(`400: ${code} (#${code})`);
    expect(graph.deliveredTo(waId)).toHaveLength(0);
  });

  it("two senders racing for the same rows send each row exactly once", async () => {
    const waId = newWaId();
    const ids = await Promise.all(Array.from({ length: 12 }, (_, n) => enqueue(sql, waId, `message ${n}`)));
    const [a, b] = await Promise.all([sendOutboxMessages(sender(), ids), sendOutboxMessages(sender(), [...ids].reverse())]);
    expect(a.taken + b.taken).toBe(12);
    expect(a.sent + b.sent).toBe(12);
    expect(graph.deliveredTo(waId)).toHaveLength(12);
    expect(new Set(graph.deliveredTo(waId).map((m) => (m.message as { body: string }).body)).size).toBe(12);
  });

  it("behind a slow Graph API, a row late in a batch is still leased when sent: the next run sends no row twice", async () => {
    // Sixteen people, one message each: one person's messages go one after another, different
    // people's eight at a time.
    const waIds = Array.from({ length: 16 }, () => newWaId());
    const ids = await Promise.all(waIds.map((waId, n) => enqueue(sql, waId, `slow ${n}`)));
    // Each call waits out its 1.5 s timeout; eight at a time, so the second eight start at about
    // 1.5 s, past the first half of a 2 s lease, and are still waiting when the next run comes.
    for (const waId of waIds) graph.fail("hang", { times: Infinity, to: waId });
    const slow = sender({ timeoutMs: 1_500, leaseSeconds: 2 });
    try {
      const first = sendOutboxMessages(slow, ids);
      await new Promise((resolve) => setTimeout(resolve, 2_300));
      const next = await sendOutboxMessages(slow, ids);
      expect(await first).toMatchObject({ taken: 16, retried: 16 });
      expect(next).toMatchObject({ taken: 0 });
    } finally {
      graph.recover();
    }
    const calls = graph.requests.filter((r) => waIds.includes((r.body as { to?: string } | null)?.to ?? ""));
    expect(calls).toHaveLength(16);
    expect(new Set(calls.map((r) => (r.body as { text: { body: string } }).text.body)).size).toBe(16);
  });

  it("logs the masked number and the outcome, never the message", async () => {
    const waId = newWaId();
    const id = await enqueue(sql, waId, "a private message body");
    logLines.length = 0;
    await sendOutboxMessages(sender(), [id]);
    const line = logLines.find((l) => l.includes(id));
    expect(JSON.parse(line!)).toMatchObject({
      event: "whatsapp_send",
      outcome: "sent",
      wa_id: `${waId.slice(0, 4)}******${waId.slice(-2)}`,
    });
    expect(logLines.join("\n")).not.toContain("a private message body");
    expect(logLines.join("\n")).not.toContain(waId);
  });
});

describe("backoff and error classes", () => {
  it("backs off 30 s, four times longer per attempt, at most 15 minutes: the attempts span 25.5 minutes of an outage", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 10].map(backoffSeconds)).toEqual([30, 120, 480, 900, 900, 900, 900, 900]);
    const waits = Array.from({ length: MAX_ATTEMPTS - 1 }, (_, attempt) => backoffSeconds(attempt + 1));
    expect(waits.reduce((sum, seconds) => sum + seconds, 0)).toBe(1530);
  });

  it("sorts Meta's errors into their outcomes", () => {
    const refusal = (status: number | null, code: number | null) => new WhatsAppApiError("x", status, code);
    const reply = { purpose: "reply", kind: "text", attempts: 1 };
    const notification = { purpose: "notification", kind: "text", attempts: 1 };
    expect(outcomeOfRefusal(refusal(400, 131047), notification).outcome).toBe("template");
    expect(outcomeOfRefusal(refusal(400, 131047), { ...notification, kind: "template" }).outcome).toBe("failed");
    expect(outcomeOfRefusal(refusal(400, 131047), reply).outcome).toBe("failed");
    expect(outcomeOfRefusal(refusal(400, 130429), reply).outcome).toBe("retry");
    expect(outcomeOfRefusal(refusal(400, 131056), reply).outcome).toBe("retry");
    expect(outcomeOfRefusal(refusal(503, null), reply).outcome).toBe("retry");
    expect(outcomeOfRefusal(refusal(null, null), reply).outcome).toBe("retry");
    expect(outcomeOfRefusal(refusal(400, 100), reply).outcome).toBe("dead");
    expect(outcomeOfRefusal(refusal(401, 190), reply).outcome).toBe("dead");
    // A template Meta does not have as sent (parameters, name, a parameter's text): no retry mends it.
    for (const code of [132000, 132001, 132018]) {
      expect(outcomeOfRefusal(refusal(400, code), { ...notification, kind: "template" }).outcome).toBe("dead");
    }
    expect(outcomeOfRefusal(refusal(500, null), { ...reply, attempts: MAX_ATTEMPTS }).outcome).toBe("dead");
    expect(outcomeOfRefusal(refusal(500, null), { ...reply, attempts: MAX_ATTEMPTS - 1 }).outcome).toBe("retry");
  });
});
