// The WhatsApp Cloud API notification body, checked with zod, split into one webhook event per
// inbound message (dedupe key: its wamid) and per status update (key: wamid + status), each
// with its effect on whatsapp_messages. Changes that carry neither (account or template
// updates) are stored as one ignored event keyed by a hash of the change. An inbound message
// stored for the first time is handed to `answer` (the conversation) in the same savepoint.
import { z } from "zod";
import type { TransactionSql } from "../../db.ts";
import { parseOrThrow } from "../../errors.ts";
import { bytesToHex } from "../../hmac.ts";
import { jsonb } from "../../webhooks/jsonb.ts";
import type { AppliedOutcome, WebhookEvent } from "../../webhooks/store-then-apply.ts";

const unixSeconds = z.string().regex(/^\d{1,12}$/, "must be unix seconds");
const text = z.object({ body: z.string() });

const message = z.looseObject({
  id: z.string().min(1).max(255),
  // The person's phone number; Meta leaves it out for a person who took a WhatsApp username
  // and hides the number (`from_user_id`, a business-scoped user id, names them then).
  from: z.string().min(1).max(160).optional(),
  from_user_id: z.string().max(256).optional(),
  timestamp: unixSeconds,
  type: z.string().min(1).max(64),
  text: text.optional(),
  button: z.looseObject({ text: z.string() }).optional(),
  interactive: z.looseObject({
    button_reply: z.looseObject({ id: z.string().max(256).optional(), title: z.string() }).optional(),
    list_reply: z.looseObject({ id: z.string().max(256).optional(), title: z.string() }).optional(),
  }).optional(),
  image: z.looseObject({ caption: z.string().optional() }).optional(),
  document: z.looseObject({ caption: z.string().optional() }).optional(),
  video: z.looseObject({ caption: z.string().optional() }).optional(),
});

const status = z.looseObject({
  id: z.string().min(1).max(255),
  status: z.string().min(1).max(32),
  timestamp: unixSeconds,
  recipient_id: z.string().max(32).optional(),
  errors: z.array(z.looseObject({ code: z.number().optional(), title: z.string().optional() })).optional(),
});

const metadata = z.looseObject({ phone_number_id: z.string().max(64), display_phone_number: z.string().max(32).optional() });

const change = z.looseObject({
  field: z.string().min(1).max(64),
  value: z.looseObject({
    metadata: metadata.optional(),
    messages: z.array(message).optional(),
    statuses: z.array(status).optional(),
  }),
});

export const notificationSchema = z.object({
  object: z.literal("whatsapp_business_account"),
  entry: z.array(z.object({ id: z.string(), changes: z.array(change) })).min(1),
});

export type Notification = z.output<typeof notificationSchema>;
type Message = z.output<typeof message>;

/** Answers an inbound message in the transaction that stored it. */
export type AnswerMessage = (tx: TransactionSql, message: Message) => Promise<void>;
type Status = z.output<typeof status>;

const TRACKED_STATUSES = new Set(["sent", "delivered", "read", "failed"]);

const toDate = (seconds: string) => new Date(Number(seconds) * 1000);

/** The text a person sent: the body, the tapped button or list item, or a media caption. */
export function messageText(m: Message): string | null {
  return m.text?.body ?? m.button?.text ?? m.interactive?.button_reply?.title ?? m.interactive?.list_reply?.title ??
    m.image?.caption ?? m.document?.caption ?? m.video?.caption ?? null;
}

// The most characters a person can send in one WhatsApp message (Meta's cap on a text body), and
// the most of a message's text that is stored (whatsapp_messages.body's CHECK). Characters are
// Unicode code points, as Postgres counts them: an emoji is one, and is never cut in half.
export const MAX_TEXT_CHARACTERS = 4096;

/** `text` cut to MAX_TEXT_CHARACTERS, and the characters it had when it was longer (null when whole). */
export function boundedText(text: string): { text: string; cutFrom: number | null } {
  // Each character is one or two UTF-16 units: a string of at most the cap in units is within it.
  if (text.length <= MAX_TEXT_CHARACTERS) return { text, cutFrom: null };
  let characters = 0;
  let end = 0;
  for (const character of text) {
    if (characters < MAX_TEXT_CHARACTERS) end += character.length;
    characters++;
  }
  return characters <= MAX_TEXT_CHARACTERS ? { text, cutFrom: null } : { text: text.slice(0, end), cutFrom: characters };
}

// The fields of an inbound message that carry what the person wrote (messageText reads them).
const TEXT_FIELDS = [
  "text.body",
  "button.text",
  "interactive.button_reply.title",
  "interactive.list_reply.title",
  "image.caption",
  "document.caption",
  "video.caption",
] as const;

/**
 * `m` as it is stored (webhook_events.payload, whatsapp_messages.body): every text field cut to
 * MAX_TEXT_CHARACTERS, with the length its text had (`text_cut_from`) when that was cut.
 */
function storedMessage(m: Message): { message: Message; textCutFrom: number | null } {
  const message = structuredClone(m);
  for (const path of TEXT_FIELDS) {
    const keys = path.split(".");
    const holder = keys.slice(0, -1).reduce<Record<string, unknown> | undefined>(
      (at, key) => at?.[key] as Record<string, unknown> | undefined,
      message as Record<string, unknown>,
    );
    const last = keys.at(-1)!;
    if (typeof holder?.[last] === "string") holder[last] = boundedText(holder[last] as string).text;
  }
  const text = messageText(m);
  return { message, textCutFrom: text === null ? null : boundedText(text).cutFrom };
}

function inboundMessageEvent(
  m: Message,
  phoneNumberId: string | null,
  answer?: AnswerMessage,
  replayedCutFrom: number | null = null,
): WebhookEvent {
  // Stored bounded; answered as it came (the conversation reads no text over the cap).
  const { message, textCutFrom } = storedMessage(m);
  const cutFrom = textCutFrom ?? replayedCutFrom;
  return {
    eventId: m.id,
    type: `message.${m.type}`,
    payload: { phone_number_id: phoneNumberId, message, ...(cutFrom === null ? {} : { text_cut_from: cutFrom }) },
    apply: async (tx: TransactionSql): Promise<AppliedOutcome> => {
      const stored = await tx`
        insert into public.whatsapp_messages (wamid, direction, phone_number_id, sender, type, body, body_cut_from, sent_at, status,
                                              status_at)
        values (${m.id}, 'inbound', ${phoneNumberId}, ${m.from ?? null}, ${m.type}, ${messageText(message)}, ${cutFrom},
                ${toDate(m.timestamp)}, 'received', ${toDate(m.timestamp)})
        on conflict (wamid) do nothing
        returning id`;
      if (stored.length === 0) return "ignored";
      await answer?.(tx, m);
      return "processed";
    },
  };
}

function statusEvent(s: Status, phoneNumberId: string | null): WebhookEvent {
  return {
    eventId: `${s.id}:${s.status}`,
    type: `status.${s.status}`,
    payload: { phone_number_id: phoneNumberId, status: s },
    apply: async (tx: TransactionSql): Promise<AppliedOutcome> => {
      if (!TRACKED_STATUSES.has(s.status)) return "ignored";
      // A late, older status (delivered after read) leaves the row as it is: ignored.
      const [row] = await tx<{ status: string }[]>`
        select status from public.whatsapp_message_status_apply(${s.id}, ${s.status}, ${toDate(s.timestamp)},
          ${s.recipient_id ?? null}, ${phoneNumberId}, ${s.errors ? jsonb(tx, s.errors) : null})`;
      return row!.status === s.status ? "processed" : "ignored";
    },
  };
}

async function otherChangeEvent(c: z.output<typeof change>): Promise<WebhookEvent> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(c)));
  return {
    eventId: `${c.field}:${bytesToHex(new Uint8Array(digest))}`,
    type: c.field,
    payload: { change: c },
    apply: () => Promise.resolve("ignored"),
  };
}

const storedEvent = z.union([
  z.object({ phone_number_id: z.string().nullable(), message, text_cut_from: z.int().positive().optional() }),
  z.object({ phone_number_id: z.string().nullable(), status }),
  z.object({ change }),
]);

/**
 * Rebuilds an event, effect bound, from the payload it was stored with (admin replay): the
 * same effect as on first delivery, so a replay cannot store a message twice.
 */
export function whatsAppStoredEvent(payload: unknown): Promise<WebhookEvent> {
  const stored = parseOrThrow(storedEvent, payload);
  if ("message" in stored) {
    return Promise.resolve(inboundMessageEvent(stored.message, stored.phone_number_id, undefined, stored.text_cut_from ?? null));
  }
  if ("status" in stored) return Promise.resolve(statusEvent(stored.status, stored.phone_number_id));
  return Promise.resolve(otherChangeEvent(stored.change));
}

/** One webhook event per message, status and other change, in the order Meta listed them. */
export async function whatsAppEvents(notification: Notification, answer?: AnswerMessage): Promise<WebhookEvent[]> {
  const events: WebhookEvent[] = [];
  for (const entry of notification.entry) {
    for (const c of entry.changes) {
      const phoneNumberId = c.value.metadata?.phone_number_id ?? null;
      const messages = c.value.messages ?? [];
      const statuses = c.value.statuses ?? [];
      for (const m of messages) events.push(inboundMessageEvent(m, phoneNumberId, answer));
      for (const s of statuses) events.push(statusEvent(s, phoneNumberId));
      if (messages.length === 0 && statuses.length === 0) events.push(await otherChangeEvent(c));
    }
  }
  return events;
}
