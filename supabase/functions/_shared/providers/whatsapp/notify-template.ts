// The approved template WHATSAPP_NOTIFY_TEMPLATE that a notification goes as outside the
// 24-hour window (docs/WHATSAPP.md, "The notify template"). With
// WHATSAPP_NOTIFY_TEMPLATE_WITH_TEXT the template has one body parameter, {{1}}, filled with
// the notification's text made fit for Meta: a text parameter with a newline, a tab or more
// than 4 spaces in a row is refused (132018), so the text goes on one line.
import type { OutboundMessage } from "./client.ts";

/**
 * The most characters of text the parameter carries. Meta takes 1024 in a body parameter
 * beside other components; this also keeps the template the outbox records within its body's
 * 4096 bytes (3 bytes a character at most once control characters are gone).
 */
export const MAX_TEMPLATE_TEXT = 1024;

const LINE_BREAKS = /[\n\r\v\f\u0085\u2028\u2029]+/;
const SPACES = /[\s\p{Cc}]+/gu;
/** A line that ends a sentence or a clause needs no dash before the next one. */
const ENDS_CLAUSE = /[.!?:;,]$/;

/**
 * `text` on one line: each line's spaces, tabs and control characters made one space, the
 * lines joined with a space after punctuation and " - " otherwise (so that "Balances:\n500
 * RWF\n2 USD" reads "Balances: 500 RWF - 2 USD"), cut at MAX_TEMPLATE_TEXT with an ellipsis.
 */
export function templateText(text: string): string {
  const lines = text.split(LINE_BREAKS).map((line) => line.replace(SPACES, " ").trim()).filter((line) => line !== "");
  const joined = lines.reduce((all, line) => all === "" ? line : `${all}${ENDS_CLAUSE.test(all) ? " " : " - "}${line}`, "");
  if (joined.length <= MAX_TEMPLATE_TEXT) return joined;
  // Not half of a character outside the Basic Multilingual Plane (an emoji): its high surrogate goes too.
  return `${joined.slice(0, MAX_TEMPLATE_TEXT - 1).replace(/[\uD800-\uDBFF]$/, "").trimEnd()}\u2026`;
}

/** What a notification says: a text's body, an interactive message's body text; null for anything else. */
export function notificationText(message: OutboundMessage): string | null {
  if (message.type === "text") return message.text.body;
  if (message.type !== "interactive") return null;
  const body: unknown = message.interactive.body;
  return typeof body === "object" && body !== null && typeof (body as { text?: unknown }).text === "string"
    ? (body as { text: string }).text
    : null;
}

/** The template `name` in `language`; with `text`, as its one body parameter, made fit by templateText. */
export function notifyTemplateMessage(name: string, language: string, text: string | null = null): OutboundMessage {
  const template = { name, language: { code: language } };
  if (text === null) return { type: "template", template };
  return {
    type: "template",
    template: { ...template, components: [{ type: "body", parameters: [{ type: "text", text: templateText(text) }] }] },
  };
}
