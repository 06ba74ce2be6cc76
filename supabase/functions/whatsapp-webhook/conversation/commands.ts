// What a person wrote, read as one command of the conversation (docs/WHATSAPP.md, "The
// conversation"). Tolerant of case, extra spaces, a leading '/', emoji and punctuation at either
// end, a currency as the region writes it, an amount in thousands ("5k") or with the region's
// "/=" ("5,000/="), a '+' before a phone number,
// "top up"/"cash out" written as two words or with a hyphen, "withdraw" for cash out, "check" or
// "my" before balance, history and limits and "please" after them, and an optional "to" before the
// recipient. Amounts and phone numbers stay text here: what they mean depends on the currency
// and the sender's region.
// Taps on list rows and reply buttons arrive as their ids, which map back to the same commands.

import { MAX_TEXT_CHARACTERS } from "../../_shared/providers/whatsapp/events.ts";

export type Command =
  /** unreadable: a message with no text or tap to read (media, a sticker, ...). */
  | { kind: "menu"; understood: boolean; unreadable?: true }
  | { kind: "balance" }
  | { kind: "history" }
  | { kind: "limits" }
  | { kind: "stop" }
  | { kind: "start" }
  | { kind: "send"; amount: string; currency: string | null; phone: string }
  | { kind: "topup"; amount: string; currency: string | null }
  | { kind: "cashout"; amount: string; currency: string | null }
  /**
   * groupedAmount: the amount set its thousands apart with spaces or dots, which is read two ways.
   * phoneNumber: a phone number where the amount goes ("send 0788123456 5000"), or given to a
   * top-up or cash-out, which only ever use the sender's own number.
   */
  | { kind: "usage"; of: "send" | "topup" | "cashout"; groupedAmount?: true; phoneNumber?: true }
  /** Thanks, as people end a chat: a short answer, not "did not understand" and the menu. */
  | { kind: "thanks" }
  /** A typed answer to a Confirm/Cancel question ("yes", "ok", "no"): only the buttons decide. */
  | { kind: "tapToDecide" }
  | { kind: "decide"; pendingId: string; confirm: boolean };

/** Ids of the menu's rows: the command each one runs. */
export const MENU_IDS = {
  balance: "cmd:balance",
  history: "cmd:history",
  limits: "cmd:limits",
  help: "cmd:help",
  stop: "cmd:stop",
  start: "cmd:start",
} as const;

const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const DECISION_ID = new RegExp(`^pay:(confirm|cancel):(${UUID})$`);

/** The id of the Confirm or Cancel button of a pending payment. */
export function decisionId(pendingId: string, confirm: boolean): string {
  return `pay:${confirm ? "confirm" : "cancel"}:${pendingId}`;
}

// Greetings, as people open a chat in English, Swahili, Kinyarwanda, Luganda and French, alone
// or followed by "there" or "mfuko": a "Habari yako" or "Mwaramutse neza" is not a "did not understand".
const GREETING = new RegExp(
  "^(?:hi|hello|hey|hallo|good (?:morning|afternoon|evening)|menu|help|start over|habari(?: (?:yako|gani|zako))?|jambo|" +
    "hujambo|mambo|niaje|muraho|(?:mwaramutse|mwiriwe)(?: neza)?|amakuru|oli otya|gyebale|bonjour|salut)(?: (?:there|mfuko))?$",
);
// Thanks, in the same languages, maybe after an "ok": what people write after "Sent ...".
const THANKS =
  /^(?:(?:ok|okay|sawa),? )?(?:thanks?(?: you)?(?: (?:so much|very much|a lot))?|thx|thanx|asante(?: sana)?|murakoze(?: cyane)?|webale(?: nnyo)?|merci(?: beaucoup)?)$/;
// Answers people type to a question with buttons, in English, Swahili and Kinyarwanda. A typed
// word never confirms a payment (it could answer an older question, or be meant for someone
// else); the reply says to tap the button instead of showing the menu.
const TYPED_DECISIONS = new Set([
  "yes",
  "y",
  "yeah",
  "yep",
  "ok",
  "okay",
  "confirm",
  "no",
  "n",
  "cancel",
  "ndiyo",
  "ndio",
  "sawa",
  "hapana",
  "yego",
  "oya",
]);
// An amount as people type it: digits with optional thousands commas and a decimal point. Its
// whole part starts with 0 only when it is 0 ("0.50"): "0788123456" is a phone number, never
// 788,123,456 (a top-up of that much asked of the sender's MoMo).
const WHOLE = "(?:[1-9]\\d{0,2}(?:,\\d{3})+|[1-9]\\d*|0)";
const AMOUNT = new RegExp(`^${WHOLE}(?:\\.\\d+)?$`);
// A phone number where an amount was expected: a '+' or a leading 0 before more digits.
const PHONE_LIKE = /^\(?(?:\+|0\d)/;
// The start of an amount whose thousands are set apart by spaces ("5 000"), as much of Europe
// and East Africa writes them: a whole number that can have a group of three digits after it,
// alone or with what ends an amount written onto it: a currency ("5 000frw"), the region's "/="
// or "/-" ("5 000/="), punctuation ("5 000, to ..."). Read as its own word, "000." or "000frw"
// went with the phone number, and "send 5 000. 256772123456" from Uganda proposed 5.
const SPACED_HEAD = /^\d{1,3}(?:,\d{3})*$/;
const THOUSANDS_GROUP = /^\d{3}(?:[a-z]+|\/[=-]|[.,:;])?$/;
// Thousands set apart by dots ("5.000", "1.500.000"), as Rwanda and much of Europe write them:
// read as a decimal, "5.000" would be 5 and "12.500 EUR" 12.50.
const DOTTED_THOUSANDS = /^[1-9]\d{0,2}(?:\.\d{3})+$/;
// Currencies as people in the region write them with an amount: Frw for the Rwandan franc,
// Ksh for the Kenyan shilling, USh or Shs for the Ugandan, TSh for the Tanzanian one. Any other
// word is a currency only if it is an ISO 4217 code: "send 500 for 0788 123 456" is not FOR.
const CURRENCY_WORDS: Readonly<Record<string, string>> = { frw: "RWF", ksh: "KES", kshs: "KES", ush: "UGX", shs: "UGX", tsh: "TZS" };
const ISO_CURRENCIES = new Set(Intl.supportedValuesOf("currency"));
// An amount with its currency written onto it: "5000frw", "12.50eur", or before it: "frw5000".
const AMOUNT_WITH_CURRENCY = new RegExp(`^(${WHOLE}(?:\\.\\d+)?)([a-z]{3,4})$`);
const CURRENCY_WITH_AMOUNT = /^([a-z]{3,4})(\d.*)$/;
// The marks the region writes after an amount of whole shillings or francs: "5,000/=", "5000/-".
const WHOLE_MARK = /\/[=-]$/;
// An amount in thousands, as people write them in chats: "5k", "2.5k".
const IN_THOUSANDS = new RegExp(`^(${WHOLE})(?:\\.(\\d+))?k$`);

/**
 * `word` as the plain amount AMOUNT reads, or null when it is no amount: "5,000/=" and "5000/-"
 * without their mark, "5k" and "2.5k" in thousands ("5000", "2500").
 */
function plainAmount(word: string): string | null {
  const unmarked = word.replace(WHOLE_MARK, "");
  if (AMOUNT.test(unmarked)) return unmarked;
  const thousands = IN_THOUSANDS.exec(word);
  if (!thousands) return null;
  const fraction = thousands[2] ?? "";
  const whole = `${thousands[1]!.replaceAll(",", "")}${fraction.slice(0, 3).padEnd(3, "0")}`.replace(/^0+(?=\d)/, "");
  return fraction.length > 3 ? `${whole}.${fraction.slice(3)}` : whole;
}

/** The ISO 4217 code `word` names, or null when it names no currency. */
function currencyOf(word: string | undefined): string | null {
  if (word === undefined) return null;
  const code = CURRENCY_WORDS[word] ?? word.toUpperCase();
  return /^[A-Z]{3}$/.test(code) && ISO_CURRENCIES.has(code) ? code : null;
}

// Emoji, and the sentence's punctuation, at either end of a message: "Hi!", "Balance?", "hi 👋".
const EDGE_DECORATION =
  /^[\p{Extended_Pictographic}\p{Emoji_Modifier}\u{FE0F}\u{200D}\s]+|[\p{Extended_Pictographic}\p{Emoji_Modifier}\u{FE0F}\u{200D}\s.!?]+$/gu;

function normalize(text: string): string {
  return text.normalize("NFKC").replace(EDGE_DECORATION, "").trim().replace(/\s+/g, " ").toLowerCase().replace(/^\/\s*/, "");
}

/**
 * `amount [currency]` at the start of `words`, and what follows them; "phone" for a phone number
 * where the amount goes; "grouped" for an amount
 * whose thousands are set apart by spaces or dots, which is refused rather than read:
 * "send 5 000 256772123456" would be 5 paid to "000 256772123456", a number where 000 is the
 * international prefix (Uganda, Kenya, Tanzania), "5 000 0788 ..." would take 000 into the
 * number, and "5.000" would be 5.
 */
function amountAndCurrency(typed: string[]): { amount: string; currency: string | null; rest: string[] } | "grouped" | "phone" | null {
  const words = amountFirst(typed);
  const [first, second, ...others] = words;
  if (first === undefined) return null;
  // "5.000/=" and "1.500k" are dotted thousands too.
  if (DOTTED_THOUSANDS.test(first.replace(WHOLE_MARK, "").replace(/k$/, ""))) return "grouped";
  const plain = plainAmount(first);
  if (plain === null) return PHONE_LIKE.test(first) ? "phone" : null;
  if (SPACED_HEAD.test(first) && second !== undefined && THOUSANDS_GROUP.test(second)) return "grouped";
  const amount = plain.replaceAll(",", "");
  const currency = currencyOf(second);
  if (currency !== null) return { amount, currency, rest: others };
  return { amount, currency: null, rest: second === undefined ? [] : [second, ...others] };
}

/** `words` with a currency written before the amount ("ksh 500") or onto it ("5000frw", "frw5000") put after it. */
function amountFirst(words: string[]): string[] {
  const [first, second, ...others] = words;
  if (currencyOf(first) !== null && second !== undefined && plainAmount(second) !== null) return [second, first!, ...others];
  const glued = first === undefined ? null : AMOUNT_WITH_CURRENCY.exec(first);
  if (glued && currencyOf(glued[2]) !== null) return [glued[1]!, glued[2]!, ...words.slice(1)];
  const before = first === undefined ? null : CURRENCY_WITH_AMOUNT.exec(first);
  if (before && currencyOf(before[1]) !== null && plainAmount(before[2]!) !== null) return [before[2]!, before[1]!, ...words.slice(1)];
  return words;
}

function moneyCommand(kind: "topup" | "cashout", words: string[]): Command {
  const parsed = amountAndCurrency(words);
  if (parsed === "grouped") return { kind: "usage", of: kind, groupedAmount: true };
  // "topup 0788123456", "cashout 5000 0788123456": MoMo is asked of, and pays, the sender's own number.
  if (parsed === "phone" || parsed?.rest.some((word) => PHONE_LIKE.test(word) || /^\d{6,}$/.test(word))) {
    return { kind: "usage", of: kind, phoneNumber: true };
  }
  if (!parsed || parsed.rest.length > 0) return { kind: "usage", of: kind };
  return { kind, amount: parsed.amount, currency: parsed.currency };
}

function sendCommand(words: string[]): Command {
  const parsed = amountAndCurrency(words);
  if (parsed === "grouped") return { kind: "usage", of: "send", groupedAmount: true };
  if (parsed === "phone") return { kind: "usage", of: "send", phoneNumber: true };
  if (!parsed) return { kind: "usage", of: "send" };
  const rest = parsed.rest[0] === "to" ? parsed.rest.slice(1) : parsed.rest;
  const phone = rest.join(" ");
  if (!/\d/.test(phone)) return { kind: "usage", of: "send" };
  return { kind: "send", amount: parsed.amount, currency: parsed.currency, phone };
}

/** The command of a tapped button or list row, or null for an id this conversation never sent. */
export function commandOfId(id: string): Command | null {
  const decision = DECISION_ID.exec(id);
  if (decision) return { kind: "decide", confirm: decision[1] === "confirm", pendingId: decision[2]! };
  switch (id) {
    case MENU_IDS.balance:
      return { kind: "balance" };
    case MENU_IDS.history:
      return { kind: "history" };
    case MENU_IDS.limits:
      return { kind: "limits" };
    case MENU_IDS.help:
      return { kind: "menu", understood: true };
    case MENU_IDS.stop:
      return { kind: "stop" };
    case MENU_IDS.start:
      return { kind: "start" };
  }
  return null;
}

// Balance, history and limits as people ask for them: "check balance", "my limits", "history please".
const ASKED_FOR = /^(?:(?:check|my|show) )?(balance|history|limits?)(?:,? (?:please|pls))?$/;
// The ways to write the verbs of the money commands. A Map, not an object: a typed word such as
// "constructor" must not find a property every object has.
const MONEY_VERBS: ReadonlyMap<string, "topup" | "cashout"> = new Map([
  ["topup", "topup"],
  ["top-up", "topup"],
  ["cashout", "cashout"],
  ["cash-out", "cashout"],
  ["withdraw", "cashout"],
]);

// The longest text a person can send on WhatsApp (Meta's limit for a text body). A longer one
// came from no person (a signed request is all the webhook checks) and is not read: stripping
// its edges costs time that grows with the square of its length (seconds at 100,000). It is
// stored cut to the limit (events.ts).
export const MAX_TYPED_LENGTH = MAX_TEXT_CHARACTERS;

/** The command of a typed message; anything not understood is the menu. */
export function parseCommand(text: string): Command {
  if (text.length > MAX_TYPED_LENGTH) return { kind: "menu", understood: false };
  const normalized = normalize(text);
  if (GREETING.test(normalized)) return { kind: "menu", understood: true };
  if (TYPED_DECISIONS.has(normalized)) return { kind: "tapToDecide" };
  if (THANKS.test(normalized)) return { kind: "thanks" };
  const asked = ASKED_FOR.exec(normalized);
  if (asked) return { kind: asked[1]!.startsWith("limit") ? "limits" : asked[1] as "balance" | "history" };
  const [verb = "", ...args] = normalized.split(" ");
  const joined = `${verb} ${args[0] ?? ""}`;
  if (joined === "top up" || joined === "cash out") {
    return moneyCommand(verb === "top" ? "topup" : "cashout", args.slice(1));
  }
  const money = MONEY_VERBS.get(verb);
  if (money) return moneyCommand(money, args);
  switch (verb) {
    case "stop":
    case "start":
      return args.length === 0 ? { kind: verb } : { kind: "menu", understood: false };
    case "send":
    case "pay":
      return sendCommand(args);
  }
  return { kind: "menu", understood: false };
}
