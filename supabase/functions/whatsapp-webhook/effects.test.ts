// whatsapp-webhook end to end in-process against the real database: inbound messages stored
// once (also under concurrent redelivery), statuses that only move forward whatever the
// delivery order, and a failing effect kept as failed (500) until it is dead.
import { useTestSql } from "../../tests/support/test-sql.ts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { storedEvents } from "../../tests/support/payments-fixtures.ts";
import { whatsAppRequest } from "../../tests/support/webhook-requests.ts";
import { mfukoPhoneNumberId, wamid, whatsAppNotification } from "../../tests/support/whatsapp-messages.ts";
import handler from "./handler.ts";

const sql = useTestSql();

const seconds = (offset = 0) => String(Math.floor(Date.now() / 1000) + offset);
const deliver = (payload: unknown) => handler.fetch(whatsAppRequest(payload));

const messages = (...items: Record<string, unknown>[]) => whatsAppNotification({ messages: items });
const statuses = (...items: Record<string, unknown>[]) => whatsAppNotification({ statuses: items });
const text = (id: string, body: string) => ({ from: "256712345678", id, timestamp: seconds(), type: "text", text: { body } });
const status = (id: string, value: string, offset: number) => ({
  id,
  status: value,
  timestamp: seconds(offset),
  recipient_id: "256712345678",
});

async function message(id: string) {
  const [row] = await sql<
    { direction: string; status: string; sender: string; body: string | null; type: string; phone_number_id: string }[]
  >`
    select direction, status, sender, body, type, phone_number_id from public.whatsapp_messages where wamid = ${id}`;
  return row;
}

describe("inbound messages", () => {
  it("stores each message of a notification once, with sender, type and text", async () => {
    const [first, second] = [wamid(), wamid()];
    const tap = {
      from: "256700000001",
      id: second,
      timestamp: seconds(),
      type: "interactive",
      interactive: { type: "button_reply", button_reply: { id: "b1", title: "Balance" } },
    };
    const response = await deliver(messages(text(first, "send 5000 to Bob"), tap));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      events: [{ event_id: first, outcome: "processed" }, { event_id: second, outcome: "processed" }],
    });
    expect(await message(first)).toEqual({
      direction: "inbound",
      status: "received",
      sender: "256712345678",
      body: "send 5000 to Bob",
      type: "text",
      phone_number_id: mfukoPhoneNumberId(),
    });
    expect(await message(second)).toMatchObject({ body: "Balance", type: "interactive" });
    expect(await storedEvents(sql, "whatsapp", first)).toMatchObject([{ type: "message.text", status: "processed" }]);
  });

  it("stores a text over WhatsApp's 4096 characters cut to them, marked cut, and the rest of the delivery whole", async () => {
    const [long, next] = [wamid(), wamid()];
    // Characters, not UTF-16 units: an emoji is one, and is never cut in half.
    const typed = "\u{1F600}".repeat(3_000) + "a".repeat(7_000);
    const response = await deliver(messages(text(long, typed), text(next, "balance")));
    expect(await response.json()).toMatchObject({
      events: [{ event_id: long, outcome: "processed" }, { event_id: next, outcome: "processed" }],
    });
    const rows = await sql<{ wamid: string; body: string; chars: number; body_cut_from: number | null }[]>`
      select wamid, body, length(body) as chars, body_cut_from from public.whatsapp_messages
       where wamid in (${long}, ${next}) order by wamid = ${next}`;
    expect(rows.map(({ body: _, ...row }) => row)).toEqual([
      { wamid: long, chars: 4096, body_cut_from: 10_000 },
      { wamid: next, chars: 7, body_cut_from: null },
    ]);
    expect(rows[0]!.body).toBe([...typed].slice(0, 4096).join(""));
    // The event's payload keeps the text bounded too, and a replay from it stores the same row.
    const [event] = await storedEvents(sql, "whatsapp", long);
    const payload = event!.payload as { message: { text: { body: string } }; text_cut_from?: number };
    expect([[...payload.message.text.body].length, payload.text_cut_from]).toEqual([4096, 10_000]);
    const { whatsAppStoredEvent } = await import("../_shared/providers/whatsapp/events.ts");
    await sql`delete from public.whatsapp_messages where wamid = ${long}`;
    await sql.begin(async (tx) => {
      await tx`set local role service_role`;
      return (await whatsAppStoredEvent(payload)).apply(tx);
    });
    expect(await sql`select length(body) as chars, body_cut_from from public.whatsapp_messages where wamid = ${long}`).toEqual([
      { chars: 4096, body_cut_from: 10_000 },
    ]);
  });

  it("stores one row from 10 concurrent deliveries of the same message", async () => {
    const id = wamid();
    const payload = messages(text(id, "hi"));
    const responses = await Promise.all(Array.from({ length: 10 }, () => deliver(payload)));
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from public.whatsapp_messages where wamid = ${id}`;
    expect(row!.n).toBe(1);
    expect(await storedEvents(sql, "whatsapp", id)).toMatchObject([{ status: "processed", attempts: 1 }]);
  });
});

describe("statuses of outbound messages", () => {
  it("moves sent -> delivered -> read and ignores a late delivered", async () => {
    const id = wamid();
    expect((await deliver(statuses(status(id, "sent", -30)))).status).toBe(200);
    expect((await deliver(statuses(status(id, "read", -10)))).status).toBe(200);
    const late = await deliver(statuses(status(id, "delivered", -20)));
    expect(late.status).toBe(200);
    expect(await late.json()).toMatchObject({ events: [{ event_id: `${id}:delivered`, outcome: "ignored" }] });
    expect(await message(id)).toMatchObject({ direction: "outbound", status: "read" });
  });

  it("applies a batch delivered in reverse order and keeps the furthest status", async () => {
    const id = wamid();
    expect((await deliver(statuses(status(id, "read", -1), status(id, "delivered", -2), status(id, "sent", -3)))).status).toBe(200);
    expect(await message(id)).toMatchObject({ status: "read" });
    expect((await storedEvents(sql, "whatsapp", id)).map((e) => e.event_id).sort()).toEqual([
      `${id}:delivered`,
      `${id}:read`,
      `${id}:sent`,
    ]);
  });

  it("records a failure with its errors, and never leaves read for failed", async () => {
    const id = wamid();
    const failed = { ...status(id, "failed", 0), errors: [{ code: 131047, title: "Re-engagement message" }] };
    expect((await deliver(statuses(status(id, "sent", -5), failed))).status).toBe(200);
    const [row] = await sql<{ status: string; error: unknown }[]>`select status, error from public.whatsapp_messages where wamid = ${id}`;
    expect(row).toEqual({ status: "failed", error: [{ code: 131047, title: "Re-engagement message" }] });

    const read = wamid();
    expect((await deliver(statuses(status(read, "read", -1)))).status).toBe(200);
    expect((await deliver(statuses(status(read, "failed", 0)))).status).toBe(200);
    expect(await message(read)).toMatchObject({ status: "read" });
  });

  it("stores statuses it does not track as ignored", async () => {
    const id = wamid();
    expect((await deliver(statuses(status(id, "deleted", 0)))).status).toBe(200);
    expect(await storedEvents(sql, "whatsapp", id)).toMatchObject([{ event_id: `${id}:deleted`, status: "ignored" }]);
    expect(await message(id)).toBeUndefined();
  });
});

describe("failures", () => {
  it("keeps a failing status update as failed with 500, dead after 5 attempts, while the rest of the batch applies", async () => {
    const inbound = wamid();
    expect((await deliver(messages(text(inbound, "hello")))).status).toBe(200);
    // A delivery status for a message we received is a contradiction the database refuses.
    const bad = status(inbound, "delivered", 0);
    const good = wamid();
    const statusesSeen: number[] = [];
    for (let i = 0; i < 6; i++) statusesSeen.push((await deliver(statuses(bad, status(good, "sent", 0)))).status);
    expect(statusesSeen).toEqual([500, 500, 500, 500, 200, 200]);
    expect(await storedEvents(sql, "whatsapp", `${inbound}:`)).toMatchObject([
      { status: "dead", attempts: 5, last_error: expect.stringContaining("22023") },
    ]);
    expect(await storedEvents(sql, "whatsapp", good)).toMatchObject([{ status: "processed", attempts: 1 }]);
    expect(await message(good)).toMatchObject({ status: "sent" });
    expect(await message(inbound)).toMatchObject({ direction: "inbound", status: "received" });
  });

  it("stores a message with U+0000 or a lone surrogate in its text, with U+FFFD in their place, next to the good one", async () => {
    const [good, evil, broken] = [wamid(), wamid(), wamid()];
    const payload = messages(text(good, "send 5000 to Bob"), text(evil, "evil\u0000text"), text(broken, "half \ud83d"));
    const response = await deliver(payload);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ events: [good, evil, broken].map((id) => ({ event_id: id, outcome: "processed" })) });
    expect(await message(good)).toMatchObject({ body: "send 5000 to Bob" });
    expect(await message(evil)).toMatchObject({ body: "evil\uFFFDtext" });
    expect(await message(broken)).toMatchObject({ body: "half \uFFFD" });
    const [stored] = await storedEvents(sql, "whatsapp", evil);
    expect(stored).toMatchObject({ status: "processed", payload: { message: { text: { body: "evil\uFFFDtext" } } } });
    // The provider's retry of the same delivery is a duplicate of every event.
    expect(await (await deliver(payload)).json()).toMatchObject({
      events: [good, evil, broken].map((id) => ({ event_id: id, outcome: "duplicate" })),
    });
  });

  it("keeps the other events of a delivery when one cannot even be stored", async () => {
    const good = wamid();
    // 255 characters are a valid id, but its event id (id:status) is longer than webhook_events takes.
    const unstorable = { ...status(`wamid.${"x".repeat(249)}`, "sent", 0) };
    const response = await deliver(whatsAppNotification({ messages: [text(good, "still here")], statuses: [unstorable] }));
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ error: { code: "event_failed", details: { event_ids: [`${unstorable.id}:sent`] } } });
    expect(await message(good)).toMatchObject({ body: "still here" });
    expect(await storedEvents(sql, "whatsapp", good)).toMatchObject([{ status: "processed", attempts: 1 }]);
  });

  it("stores a change without messages or statuses once, as ignored", async () => {
    const payload = {
      object: "whatsapp_business_account",
      entry: [{ id: "1", changes: [{ field: "account_update", value: { event: "VERIFIED_ACCOUNT", nonce: crypto.randomUUID() } }] }],
    };
    const first = await deliver(payload);
    const again = await deliver(payload);
    const [firstEvent] = ((await first.json()) as { events: { event_id: string; outcome: string }[] }).events;
    expect(firstEvent).toMatchObject({ outcome: "ignored", event_id: expect.stringMatching(/^account_update:[0-9a-f]{64}$/) });
    expect(await again.json()).toMatchObject({ events: [{ event_id: firstEvent!.event_id, outcome: "duplicate" }] });
  });
});

describe("replay from the stored payload", () => {
  it("rebuilds each stored event with the effect of its first delivery", async () => {
    const { whatsAppStoredEvent } = await import("../_shared/providers/whatsapp/events.ts");
    const id = wamid();
    const out = wamid();
    expect((await deliver(whatsAppNotification({ messages: [text(id, "hi")], statuses: [status(out, "sent", 0)] }))).status).toBe(200);
    const stored = [...await storedEvents(sql, "whatsapp", id), ...await storedEvents(sql, "whatsapp", out)];
    expect(stored).toHaveLength(2);
    const outcomes: string[] = [];
    for (const event of stored) {
      const rebuilt = await whatsAppStoredEvent(event.payload);
      expect(rebuilt.eventId).toBe(event.event_id);
      outcomes.push(
        await sql.begin(async (tx) => {
          await tx`set local role service_role`;
          return rebuilt.apply(tx);
        }),
      );
    }
    // The message is not stored twice; the status is where the event puts it.
    expect(outcomes).toEqual(["ignored", "processed"]);
    expect(await message(out)).toMatchObject({ status: "sent" });
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from public.whatsapp_messages where wamid in (${id}, ${out})`;
    expect(row!.n).toBe(2);
  });
});

describe("statuses in any order (property)", () => {
  const RANK = { sent: 1, delivered: 2, read: 3 } as const;
  type Tracked = keyof typeof RANK;

  it("ends at the furthest status delivered, whatever the order, batching and duplicates", async () => {
    const deliveries = fc.array(fc.constantFrom<Tracked>("sent", "delivered", "read"), { minLength: 1, maxLength: 6 });
    const batching = fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 6, maxLength: 6 });
    await fc.assert(
      fc.asyncProperty(deliveries, batching, async (order, sizes) => {
        const id = wamid();
        let next = 0;
        for (const size of sizes) {
          const batch = order.slice(next, next + size);
          next += size;
          if (batch.length === 0) break;
          const response = await deliver(statuses(...batch.map((value) => status(id, value, RANK[value]))));
          expect(response.status).toBe(200);
        }
        const furthest = order.reduce((a, b) => (RANK[b] > RANK[a] ? b : a));
        expect(await message(id)).toMatchObject({ status: furthest });
      }),
      { numRuns: 15 },
    );
  });
});
