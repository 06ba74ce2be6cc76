// The Cloud API message objects of the conversation (what whatsapp_outbox.body holds: the
// message without messaging_product and to), kept within Meta's field limits: a text body of
// 4096 characters, an interactive body of 1024, a header of 60, at most 3 reply buttons with
// titles of 20, and a list of at most 10 rows whose titles take 24 and descriptions 72
// characters, in sections titled in 24. A field over its limit is a programming error here
// (every text is ours), so it throws rather than being cut.
import type { OutboundMessage } from "../../_shared/providers/whatsapp/client.ts";
import { decisionId, MENU_IDS } from "./commands.ts";

export type { OutboundMessage };

export const LIMITS = {
  textBody: 4096,
  interactiveBody: 1024,
  header: 60,
  buttonTitle: 20,
  buttons: 3,
  listButton: 20,
  rowTitle: 24,
  rowDescription: 72,
  sectionTitle: 24,
  rows: 10,
  id: 200,
} as const;

function within(value: string, limit: number, field: string): string {
  if (value.length === 0 || [...value].length > limit) throw new Error(`WhatsApp ${field} must be 1 to ${limit} characters`);
  return value;
}

/**
 * The first `characters` characters (code points) of `text`, to quote what someone else wrote.
 * Never cut by UTF-16 units: half a surrogate pair (an emoji) is no text, and the jsonb body
 * of the outbox row refuses it, which would fail the whole answer.
 */
export function clip(text: string, characters: number): string {
  return [...text].slice(0, characters).join("");
}

export function textMessage(body: string): OutboundMessage {
  return { type: "text", text: { body: within(body, LIMITS.textBody, "text body") } };
}

export interface ReplyButton {
  id: string;
  title: string;
}

export function buttonsMessage(body: string, buttons: readonly ReplyButton[]): OutboundMessage {
  if (buttons.length === 0 || buttons.length > LIMITS.buttons) throw new Error(`WhatsApp reply buttons must be 1 to ${LIMITS.buttons}`);
  return {
    type: "interactive",
    interactive: {
      type: "button",
      body: { text: within(body, LIMITS.interactiveBody, "interactive body") },
      action: {
        buttons: buttons.map((b) => ({
          type: "reply",
          reply: { id: within(b.id, LIMITS.id, "button id"), title: within(b.title, LIMITS.buttonTitle, "button title") },
        })),
      },
    },
  };
}

export interface ListRow {
  id: string;
  title: string;
  description?: string;
}

export function listMessage(
  options: { header: string; body: string; button: string; sections: readonly { title: string; rows: readonly ListRow[] }[] },
): OutboundMessage {
  const rows = options.sections.flatMap((s) => s.rows);
  if (rows.length === 0 || rows.length > LIMITS.rows) throw new Error(`a WhatsApp list must have 1 to ${LIMITS.rows} rows`);
  return {
    type: "interactive",
    interactive: {
      type: "list",
      header: { type: "text", text: within(options.header, LIMITS.header, "header") },
      body: { text: within(options.body, LIMITS.interactiveBody, "interactive body") },
      action: {
        button: within(options.button, LIMITS.listButton, "list button"),
        sections: options.sections.map((s) => ({
          title: within(s.title, LIMITS.sectionTitle, "section title"),
          rows: s.rows.map((r) => ({
            id: within(r.id, LIMITS.id, "row id"),
            title: within(r.title, LIMITS.rowTitle, "row title"),
            ...(r.description === undefined ? {} : { description: within(r.description, LIMITS.rowDescription, "row description") }),
          })),
        })),
      },
    },
  };
}

/**
 * The menu: what mfuko does, as a list whose rows run the commands that need no arguments,
 * after a welcome, or after what it could not understand or could not read.
 */
export function menuMessage(understood: boolean, unreadable = false): OutboundMessage {
  const intro = [
    understood ? "Welcome to mfuko, your wallet on WhatsApp." : unreadable ? "" : "Sorry, I did not understand that.",
    unreadable ? "I can only read typed messages and taps on my buttons." : "",
  ].filter(Boolean).join(" ");
  return listMessage({
    header: "mfuko wallet",
    body: `${intro}\n\nType one of these, or pick from the list:\n` +
      "- balance\n- send 5000 0788123456 (amount, then phone)\n- topup 5000 (MoMo)\n- cashout 5000 (MoMo)\n" +
      "- history\n- limits (what you can still send)\n- stop / start (notifications)",
    button: "Menu",
    sections: [{
      title: "Your wallet",
      rows: [
        { id: MENU_IDS.balance, title: "Balance", description: "What you have available" },
        { id: MENU_IDS.history, title: "History", description: "Your latest 5 transactions" },
        { id: MENU_IDS.limits, title: "Limits", description: "What you can still send today" },
        { id: MENU_IDS.help, title: "Help", description: "How to send, top up and cash out" },
        { id: MENU_IDS.stop, title: "Stop notifications", description: "Answers to your messages still come" },
        { id: MENU_IDS.start, title: "Start notifications", description: "Be told when money arrives" },
      ],
    }],
  });
}

/** A question with Confirm and Cancel buttons for the pending payment `pendingId`. */
export function confirmationMessage(question: string, pendingId: string): OutboundMessage {
  return buttonsMessage(question, [
    { id: decisionId(pendingId, true), title: "Confirm" },
    { id: decisionId(pendingId, false), title: "Cancel" },
  ]);
}
