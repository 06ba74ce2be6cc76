// WhatsApp's inbound side as Meta sends it, for tests, the benchmark and the demo: the
// notification of a person's messages (with its contact's profile), texts and taps, and fresh
// numbers to write from. No side effects: importing it needs no stack.
import { randomInt } from "node:crypto";

/** A fresh Rwandan mobile number's wa_id (250 7x xxx xxxx). */
export function newWaId(): string {
  return `2507${[2, 3, 8, 9][randomInt(4)]}${String(randomInt(10_000_000)).padStart(7, "0")}`;
}

/** What a person taps: a reply button or a list row, by the id mfuko gave it. */
export type Tap = { button: string } | { row: string };

export function wamid(): string {
  return `wamid.${crypto.randomUUID().replaceAll("-", "")}`;
}

/**
 * The id of the business number mfuko answers from, as the functions have it
 * (WHATSAPP_PHONE_NUMBER_ID; the Graph API stand-in's, supabase/functions/.env.example's):
 * messages to another number are not read as commands.
 */
export const mfukoPhoneNumberId = (): string => process.env.WHATSAPP_PHONE_NUMBER_ID ?? "100000000000001";

/** The envelope Meta sends one change's `value` in, to mfuko's business number. */
export function whatsAppNotification<V extends Record<string, unknown>>(value: V, phoneNumberId = mfukoPhoneNumberId()) {
  return {
    object: "whatsapp_business_account",
    entry: [{
      id: "102290129340398",
      changes: [{
        field: "messages",
        value: {
          messaging_product: "whatsapp",
          metadata: { display_phone_number: "15550783881", phone_number_id: phoneNumberId },
          ...value,
        },
      }],
    }],
  };
}

/** The notification Meta sends for `messages` from `waId`. */
export function inboundNotification(
  waId: string,
  name: string,
  messages: Record<string, unknown>[],
  phoneNumberId = mfukoPhoneNumberId(),
) {
  return whatsAppNotification({
    contacts: [{ profile: { name }, wa_id: waId }],
    messages: messages.map((m) => ({ from: waId, id: wamid(), timestamp: String(Math.floor(Date.now() / 1000)), ...m })),
  }, phoneNumberId);
}

export const textOf = (body: string) => ({ type: "text", text: { body } });
export const tapOf = (tap: Tap) =>
  "button" in tap
    ? { type: "interactive", interactive: { type: "button_reply", button_reply: { id: tap.button, title: "Confirm" } } }
    : { type: "interactive", interactive: { type: "list_reply", list_reply: { id: tap.row, title: "Balance" } } };
