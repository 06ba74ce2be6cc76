// What mfuko does with each command, inside the webhook's transaction: read or change the
// sender's wallet as the sender (asUser), and enqueue the answer in the same transaction, so
// that an answer exists if and only if what it reports committed. Work that needs a provider
// (MoMo's request-to-pay and transfer) is left for after the commit (Turn.later), so that no
// transaction stays open while a provider answers.
import type { TransactionSql } from "../../_shared/db.ts";
import { sqlstateOf } from "../../_shared/sql-errors.ts";
import { asUser } from "./as-user.ts";
import { formatMoney, toMinor } from "./amounts.ts";
import { minorUnitDigits } from "../../_shared/providers/momo/amount.ts";
import { isMsisdn } from "../../_shared/providers/momo/msisdn.ts";
import type { Command } from "./commands.ts";
import { clip, confirmationMessage, menuMessage, type OutboundMessage, textMessage } from "./messages.ts";
import { displayPhone, senderRegion, senderTimeZone, toWaId } from "./phone.ts";
import { ASK_SUPPORT, refusalInWords, TOP_UP_HOW } from "./refusals.ts";

/** What can happen after the transaction commits: a top-up or cash-out to send to MoMo. */
export type FollowUp =
  & { waId: string; userId: string; optedOut: boolean }
  & ({ kind: "topup"; intentId: string } | { kind: "cashout"; cashOutId: string });

/** One inbound message being answered. */
export interface Turn {
  tx: TransactionSql;
  /** The inbound message's wamid: the idempotency key of what it starts. */
  wamid: string;
  sender: { waId: string; userId: string };
  settings: { defaultCurrency: string; defaultRegion: string };
  /** Enqueues a reply to the sender in this transaction. */
  reply(message: OutboundMessage): Promise<void>;
  /** Runs `followUp` once the transaction has committed. */
  later(followUp: FollowUp): void;
}

const HISTORY_LENGTH = 5;

const say = (turn: Turn, text: string) => turn.reply(textMessage(text));

/**
 * Whether the sender wrote "stop" (no notifications), read in the turn's transaction rather than
 * taken from the contact as admitted: a "stop" earlier in the same delivery counts.
 */
async function notificationsOff(turn: Turn): Promise<boolean> {
  const [contact] = await turn.tx<{ opted_out: boolean }[]>`
    select opted_out from public.whatsapp_contacts where wa_id = ${turn.sender.waId}`;
  return contact?.opted_out ?? false;
}

/**
 * How the sender learns that `what` happened, as a clause: a notification tells it, or, after
 * "stop", none will, and the sender is told how to look instead of being promised one.
 */
export function learnWhen(optedOut: boolean, what: string): string {
  return optedOut
    ? `your notifications are off, so write "history" to see when ${what} (or "start" to be told)`
    : `you will be told when ${what}`;
}

/** `clause` as a sentence of its own. */
export const sentence = (clause: string) => `${clause[0]!.toUpperCase()}${clause.slice(1)}.`;

const AMOUNT_PROBLEMS: Record<"zero" | "too_precise" | "too_large", (currency: string) => string> = {
  zero: () => "The amount must be more than zero.",
  too_precise: (currency) => {
    const digits = minorUnitDigits(currency);
    return digits === 0
      ? `${currency} has no decimals: write a whole amount.`
      : `That amount has more decimals than ${currency} has (${digits}).`;
  },
  too_large: () => "That amount is more than mfuko moves in one payment.",
};

/**
 * What `step` returns, or null when the ledger refused it: then the refusal is told to the
 * sender in words (`told` adapts them to what did not happen) and the answer goes on. Anything
 * else `step` throws is a fault, not an answer, and fails the answer.
 */
async function unlessRefused<T>(
  turn: Turn,
  step: () => Promise<T>,
  { told = (words) => words, fromAccount = () => Promise.resolve(null) }: {
    told?: (words: string, code: string | null) => string;
    /** The account paying, whose available balance an insufficient-funds refusal names. */
    fromAccount?: () => Promise<string | null>;
  } = {},
): Promise<T | null> {
  try {
    return await step();
  } catch (error) {
    const words = await refusalInWords(turn.tx, error, await fromAccount());
    if (words === null) throw error;
    await say(turn, told(words, sqlstateOf(error)));
    return null;
  }
}

/** The amount in minor units, or null after telling the sender what is wrong with it. */
async function amountOf(turn: Turn, typed: string, currency: string): Promise<number | null> {
  const reading = toMinor(typed, currency);
  if (reading.ok) return reading.minor;
  await say(turn, AMOUNT_PROBLEMS[reading.problem](currency));
  return null;
}

interface BalanceRow {
  currency: string;
  status: string;
  available: string;
  held_for: "cashout" | "dispute" | "other" | null;
  held: string | null;
  holds: number | null;
}

/** What a pending hold is for, as the balance names it ("1,000 RWF held for a cash-out under way"). */
const HELD_FOR: Record<"cashout" | "dispute" | "other", (holds: number) => string> = {
  cashout: (holds) => holds === 1 ? " for a cash-out under way" : ` for ${holds} cash-outs under way`,
  dispute: (holds) => holds === 1 ? " for a disputed card payment" : ` for ${holds} disputed card payments`,
  other: () => "",
};

async function balance(turn: Turn): Promise<void> {
  // One row per account and purpose of its pending holds (api_private.whatsapp_balances).
  const rows = await asUser(turn.tx, turn.sender.userId, (sp) =>
    sp<BalanceRow[]>`
    select currency, status, available::text, held_for, held::text, holds from api_private.whatsapp_balances()`);
  if (rows.length === 0) return say(turn, "You have no wallet account yet.");
  const accounts = new Map<string, BalanceRow[]>();
  for (const row of rows) accounts.set(row.currency, [...accounts.get(row.currency) ?? [], row]);
  const lines = [...accounts.values()].map((held) => {
    const a = held[0]!;
    // Money held is the person's too: how much, and why it cannot be used now.
    const parts = held.filter((h) => h.held_for !== null).map((h) =>
      `, ${formatMoney(BigInt(h.held!), h.currency)} held${HELD_FOR[h.held_for!](h.holds!)}`
    );
    return `${formatMoney(BigInt(a.available), a.currency)} available${a.status === "active" ? "" : ` (account ${a.status})`}${
      parts.join("")
    }`;
  });
  // A frozen or closed wallet is the person's own: what it means and who can help.
  const stopped = rows.some((a) => a.status !== "active") ? `\nA frozen or closed wallet cannot pay. ${ASK_SUPPORT}` : "";
  await say(turn, `Your balance:\n${lines.join("\n")}${stopped}`);
}

interface HistoryRow {
  kind: string;
  status: string;
  incoming: boolean;
  amount: string;
  currency: string;
  counterparty_wa_id: string | null;
  created_at: Date;
}

function historyLine(row: HistoryRow, clock: Intl.DateTimeFormat): string {
  const when = clock.format(row.created_at);
  const money = `${row.incoming ? "+" : "-"}${formatMoney(BigInt(row.amount), row.currency)}`;
  const what = row.kind === "transfer"
    ? `${row.incoming ? "from" : "to"} ${row.counterparty_wa_id ? `+${row.counterparty_wa_id}` : "another wallet"}`
    : row.kind === "deposit"
    ? "top-up"
    : row.kind === "withdrawal"
    ? `cash-out${row.status === "pending" ? " (pending)" : ""}`
    : row.kind;
  return `${when} ${money} ${what}`;
}

async function history(turn: Turn): Promise<void> {
  const rows = await asUser(turn.tx, turn.sender.userId, (sp) =>
    sp<HistoryRow[]>`
    select kind, status, incoming, amount::text, currency, counterparty_wa_id, created_at
      from api_private.whatsapp_history(${HISTORY_LENGTH})`);
  if (rows.length === 0) return say(turn, "No transactions yet.");
  // In the sender's own time, not UTC: a payment made at 09:00 in Kigali read as 07:00 looks like someone else's.
  const { zone, name } = senderTimeZone(turn.sender.waId);
  const clock = new Intl.DateTimeFormat("sv-SE", {
    timeZone: zone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  });
  await say(turn, `Your latest transactions (${name}):\n${rows.map((row) => historyLine(row, clock)).join("\n")}`);
}

interface LimitsRow {
  currency: string;
  status: string;
  tier: string;
  max_single: string | null;
  max_daily: string | null;
  left_today: string | null;
  max_per_hour: number | null;
  left_this_hour: number | null;
}

function limitsLines(row: LimitsRow, dayEnds: string): string {
  // A frozen or closed account pays nothing, whatever is left of its limits.
  if (row.status !== "active") return `${row.currency}: your account is ${row.status}, so it cannot pay. ${ASK_SUPPORT}`;
  if (row.max_single === null) return `${row.currency}: payments are not open for your account yet.`;
  const money = (minor: string) => formatMoney(BigInt(minor), row.currency);
  return [
    `${row.currency}, ${row.tier} tier:`,
    `- up to ${money(row.max_single)} a payment`,
    `- ${money(row.left_today!)} of ${money(row.max_daily!)} left today (until ${dayEnds})`,
    `- ${row.left_this_hour} of ${row.max_per_hour} payments left this hour`,
  ].join("\n");
}

/** What the sender may still send from each account: the limits payments and cash-outs count against. */
async function limits(turn: Turn): Promise<void> {
  const rows = await asUser(turn.tx, turn.sender.userId, (sp) =>
    sp<LimitsRow[]>`
    select l.currency, a.status, l.tier, l.max_single::text, l.max_daily::text, l.left_today::text, l.max_per_hour, l.left_this_hour
      from api_private.wallet_limits_left() l join public.wallet_accounts a on a.id = l.account_id`);
  if (rows.length === 0) return say(turn, "You have no wallet account yet.");
  // The day is the UTC day: say when it ends in the sender's own time.
  const { zone, name } = senderTimeZone(turn.sender.waId);
  const midnightUtc = new Date(new Date().setUTCHours(24, 0, 0, 0));
  const dayEnds = `${new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit" }).format(midnightUtc)} ${name}`;
  await say(turn, `Your limits:\n${rows.map((row) => limitsLines(row, dayEnds)).join("\n\n")}\nCash-outs count too.`);
}

/**
 * Why the sender has no active account in `currency` to pay from or top up, and what to do: a
 * frozen or closed account (the sender's own, so nothing is revealed) is a case for support; no
 * account in the currency names the currencies the sender does hold.
 */
async function noActiveAccount(turn: Turn, currency: string): Promise<void> {
  const accounts = await asUser(turn.tx, turn.sender.userId, (sp) =>
    sp<{ currency: string; status: string }[]>`
    select currency, status from public.wallet_accounts
     where owner_id = ${turn.sender.userId}::uuid and kind = 'user' order by currency`);
  const inactive = accounts.find((a) => a.currency === currency);
  if (inactive) {
    return say(turn, `Your ${currency} wallet is ${inactive.status}, so it cannot pay or be topped up. ${ASK_SUPPORT}`);
  }
  const held = accounts.filter((a) => a.status === "active").map((a) => a.currency);
  await say(turn, `You have no ${currency} wallet.${held.length > 0 ? ` Your mfuko wallet is in ${held.join(" and ")}.` : ""}`);
}

const PROPOSAL_REFUSALS: Record<string, (currency: string, phone: string) => string> = {
  // One answer for a stranger, a frozen account and one without the currency: it must be true of each.
  unknown_recipient: (currency, phone) =>
    `${phone} cannot receive ${currency} on mfuko. If they have never used mfuko, ask them to send "hi" to mfuko on ` +
    "WhatsApp, then send again. Nothing was sent.",
  self: () => "That is your own number. Nothing was sent.",
  no_momo_number: (_currency, phone) => `MoMo cannot pay ${phone}, so mfuko cannot cash out to it. Nothing was sent.`,
};

/**
 * The recipient's WhatsApp profile name for the question, ' (WhatsApp name: "...")' or "": the
 * payer sees whom the number reaches before confirming, so that a mistyped number is caught
 * instead of paid to a stranger. Named as WhatsApp's, not as verified: its holder chose it.
 */
function whatsAppName(name: string | null): string {
  // Its holder wrote it, so it stays inside its quotes: no line breaks or direction overrides
  // that rearrange the question, no quotes or brackets that close it early (a name such as
  // 'Bob") to +250 788 999 999 ("' reads as a second number), no WhatsApp bold, italic,
  // strike-through or monospace marks that restyle it.
  const shown = name === null ? "" : clip(
    name.replace(/\s+/g, " ").replace(/[\p{Cc}\p{Cf}"“”()[\]{}*_~`]/gu, "").replace(/ {2,}/g, " ").trim(),
    60,
  );
  return shown === "" ? "" : ` (WhatsApp name: "${shown}")`;
}

/** The id of the sender's active user account in `currency`, read in `sp` (as the sender); null without one. */
async function activeAccount(sp: TransactionSql, turn: Turn, currency: string): Promise<string | null> {
  const [account] = await sp<{ id: string }[]>`
    select id from public.wallet_accounts
     where owner_id = ${turn.sender.userId}::uuid and currency = ${currency} and kind = 'user' and status = 'active'`;
  return account?.id ?? null;
}

interface Proposal {
  outcome: string;
  pending_id: string | null;
  recipient_name: string | null;
  /** The request still waiting for its Confirm that this one replaced (canceled); null when none waited. */
  replaced_kind: "send" | "cashout" | null;
  replaced_amount: string | null;
  replaced_currency: string | null;
  replaced_recipient_wa_id: string | null;
}

/**
 * "\nYour earlier request ... was dropped: ...", or "" when the proposal replaced none: a person
 * asking anew under a waiting question learns that its Confirm no longer works, before tapping it.
 */
function dropped(proposal: Proposal): string {
  if (proposal.replaced_kind === null) return "";
  const money = formatMoney(BigInt(proposal.replaced_amount!), proposal.replaced_currency!);
  const what = proposal.replaced_kind === "send"
    ? `send ${money} to ${displayPhone(proposal.replaced_recipient_wa_id!)}`
    : `cash out ${money}`;
  return `\nYour earlier request to ${what} was dropped: its Confirm no longer works.`;
}

async function propose(turn: Turn, kind: "send" | "cashout", typed: string, currency: string, recipient: string | null): Promise<void> {
  const amount = await amountOf(turn, typed, currency);
  if (amount === null) return;
  const proposed = await unlessRefused(
    turn,
    () =>
      asUser(turn.tx, turn.sender.userId, (sp) =>
        sp<Proposal[]>`
      select outcome, pending_id, recipient_name, replaced_kind, replaced_amount::text, replaced_currency, replaced_recipient_wa_id
        from api_private.whatsapp_payment_propose(${kind}, ${amount}::bigint, ${currency}, ${recipient})`),
    { fromAccount: () => activeAccount(turn.tx, turn, currency) },
  );
  if (proposed === null) return;
  const [proposal] = proposed;
  if (proposal!.outcome === "no_account") return noActiveAccount(turn, currency);
  const phone = recipient === null ? displayPhone(turn.sender.waId) : displayPhone(recipient);
  if (proposal!.outcome !== "proposed") return say(turn, PROPOSAL_REFUSALS[proposal!.outcome]!(currency, phone));
  const money = formatMoney(amount, currency);
  const question = kind === "send"
    ? `Send ${money} to ${phone}${whatsAppName(proposal!.recipient_name)}?`
    : `Cash out ${money} to your MoMo number ${phone}?`;
  await turn.reply(confirmationMessage(`${question}${dropped(proposal!)}\nTap Confirm within 5 minutes.`, proposal!.pending_id!));
}

async function send(turn: Turn, command: Extract<Command, { kind: "send" }>): Promise<void> {
  const recipient = toWaId(command.phone, senderRegion(turn.sender.waId, turn.settings.defaultRegion));
  if (recipient === null) {
    return say(turn, `"${clip(command.phone, 40)}" is not a phone number I can read. Try ${EXAMPLE_PHONES}.`);
  }
  await propose(turn, "send", command.amount, command.currency ?? turn.settings.defaultCurrency, recipient);
}

async function topUp(turn: Turn, command: Extract<Command, { kind: "topup" }>): Promise<void> {
  // MoMo is asked of the sender's own number, which it may not serve (7 digits, as Niue's): said
  // now, as a cash-out to it is, rather than asking MoMo and telling the person to try again.
  if (!isMsisdn(turn.sender.waId)) {
    return say(turn, `MoMo cannot ask ${displayPhone(turn.sender.waId)} for money, so mfuko cannot top up from it. No top-up was started.`);
  }
  const currency = command.currency ?? turn.settings.defaultCurrency;
  const amount = await amountOf(turn, command.amount, currency);
  if (amount === null) return;
  const created = await unlessRefused(turn, () =>
    asUser(turn.tx, turn.sender.userId, async (sp) => {
      const account = await activeAccount(sp, turn, currency);
      if (!account) return [];
      return await sp<{ id: string }[]>`
        select id from public.payment_intent_create('momo', ${account}::uuid, ${amount}::bigint, ${currency},
                                                    ${`whatsapp:${turn.wamid}`})`;
    }), { told: (words) => words.replace("Nothing was sent.", "No top-up was started.") });
  if (created === null) return;
  const [intent] = created;
  if (!intent) return noActiveAccount(turn, currency);
  turn.later({ kind: "topup", ...turn.sender, optedOut: await notificationsOff(turn), intentId: intent.id });
}

const DECISION_ANSWERS: Record<string, string> = {
  not_found: "That confirmation is not yours, or no longer exists. Nothing was changed.",
  expired: "That request expired (confirmations last 5 minutes). Nothing was sent; ask again.",
  already_canceled: "That request was canceled. Nothing was sent.",
  replaced: "That request was replaced by your newer one, so it can no longer be confirmed. Nothing was sent.",
  canceled: "Canceled. Nothing was sent.",
  // The cash-out was to pay the number the person wrote from when they asked; Meta told mfuko
  // since that they changed number, and the old one may soon be someone else's.
  number_changed: "Your WhatsApp number changed after you asked, so this cash-out to your old number was not made. " +
    "Nothing was sent. Ask again from your new number.",
};

interface Decision {
  outcome: string;
  kind: "send" | "cashout" | null;
  amount: string | null;
  currency: string | null;
  recipient_wa_id: string | null;
  cashout_id: string | null;
}

// What a confirmed cash-out has become, for a repeated Confirm: a cash-out MoMo has not paid
// (yet) is not told as cashed out.
const CASH_OUT_SO_FAR: Record<"pending" | "paid" | "failed", (money: string, optedOut: boolean) => string> = {
  pending: (money, optedOut) =>
    `your cash-out of ${money} is held and pending, sent once, not again. ` +
    sentence(learnWhen(optedOut, "it is paid, or when the money is back in your wallet")),
  paid: (money) => `${money} was cashed out once, not again.`,
  failed: (money) => `MoMo refused the cash-out of ${money} and the money is back in your wallet. Nothing was sent again.`,
};

async function cashOutSoFar(turn: Turn, cashOutId: string, money: string): Promise<string> {
  const [cashOut] = await asUser(turn.tx, turn.sender.userId, (sp) =>
    sp<{ status: "pending" | "paid" | "failed" }[]>`
    select status from public.cashouts where id = ${cashOutId}::uuid`);
  return CASH_OUT_SO_FAR[cashOut!.status](money, await notificationsOff(turn));
}

async function decide(turn: Turn, command: Extract<Command, { kind: "decide" }>): Promise<void> {
  const decided = await unlessRefused(
    turn,
    () =>
      asUser(turn.tx, turn.sender.userId, (sp) =>
        sp<Decision[]>`
        select outcome, kind, amount::text, currency, recipient_wa_id, cashout_id
          from api_private.whatsapp_payment_decide(${command.pendingId}::uuid, ${command.confirm})`),
    {
      // Only a short balance can change in the 5 minutes (a top-up lands): a limit, a frozen
      // account or a recipient that cannot receive would refuse the same Confirm again.
      told: (words, code) => code === "WL001" ? `${words} You can still confirm within the 5 minutes.` : words,
      fromAccount: async () => {
        const [pending] = await turn.tx<{ from_account_id: string }[]>`
          select from_account_id from public.whatsapp_pending_payments where id = ${command.pendingId}::uuid`;
        return pending?.from_account_id ?? null;
      },
    },
  );
  if (decided === null) return;
  const decision = decided[0]!;
  // Cancel of a request that ran out is what the person wanted: no "ask again".
  if (decision.outcome === "expired" && !command.confirm) return say(turn, "That request had already expired. Nothing was sent.");
  const answer = DECISION_ANSWERS[decision.outcome];
  if (answer) return say(turn, answer);
  const money = formatMoney(BigInt(decision.amount!), decision.currency!);
  if (decision.outcome === "already_confirmed") {
    if (decision.kind === "send") return say(turn, `You already confirmed this: ${money} was sent once, not again.`);
    return say(turn, `You already confirmed this: ${await cashOutSoFar(turn, decision.cashout_id!, money)}`);
  }
  if (decision.kind === "send") return say(turn, `Sent ${money} to ${displayPhone(decision.recipient_wa_id!)}.`);
  turn.later({ kind: "cashout", ...turn.sender, optedOut: await notificationsOff(turn), cashOutId: decision.cashout_id! });
}

async function notifications(turn: Turn, on: boolean): Promise<void> {
  await turn.tx`select private.whatsapp_set_opted_out(${turn.sender.waId}, ${!on})`;
  if (on) return say(turn, "Notifications are on: you will be told when money arrives. Write stop to turn them off.");
  // A "stop" written under a payment's question may mean that payment: say what stops it.
  const waiting = await questionWaiting(turn)
    ? " Your payment question is still waiting: nothing is sent unless you tap Confirm under it; tap Cancel to drop it."
    : "";
  await say(turn, `Notifications are off. Answers to your messages still come. Write start to turn them on again.${waiting}`);
}

/** The numbers the replies show as examples, as the menu does (messages.ts). */
const EXAMPLE_PHONES = "+250788123456 or 0788123456";
const USAGE = {
  send: "To pay someone, write: send <amount> <phone>, e.g. send 5000 0788123456 (a currency code may follow the amount).",
  topup: TOP_UP_HOW,
  cashout: "To cash out to MoMo, write: cashout <amount>, e.g. cashout 5000.",
} as const;
const GROUPED_AMOUNT_HINT = 'Write the amount as 5000 or 5,000: "5 000" and "5.000" can each be read two ways. ' +
  "A number after the amount that starts with its country code needs its + (+250 788 123 456). ";
// A phone number where the amount goes, or given to a top-up or cash-out: what to write instead.
const PHONE_NUMBER_HINT = {
  send: "Write the amount first, then the phone number. ",
  topup: "A top-up is asked of your own MoMo number, so write only the amount. ",
  cashout: "A cash-out is paid to your own MoMo number, so write only the amount. ",
} as const;

/** Whether a payment or cash-out the sender asked for waits for its Confirm. */
async function questionWaiting(turn: Turn): Promise<boolean> {
  const [waiting] = await turn.tx<{ exists: boolean }[]>`
    select exists (select from public.whatsapp_pending_payments p
                    where p.payer_id = ${turn.sender.userId}::uuid and p.status = 'pending' and p.expires_at > now())`;
  return waiting!.exists;
}

/** A typed yes or no: how to answer the question waiting, or that none is. */
async function tapToDecide(turn: Turn): Promise<void> {
  if (!await questionWaiting(turn)) {
    return say(turn, 'No payment is waiting for your answer. To start one, write send, topup or cashout, or "menu" to see them all.');
  }
  return say(
    turn,
    "Only the buttons decide a payment: tap Confirm under its question to send it, or Cancel to drop it. " +
      "If the question is gone, write the send or cashout again.",
  );
}

/** Answers `command` from the turn's sender. */
export function act(turn: Turn, command: Command): Promise<void> {
  switch (command.kind) {
    case "menu":
      return turn.reply(menuMessage(command.understood, command.unreadable));
    case "balance":
      return balance(turn);
    case "history":
      return history(turn);
    case "limits":
      return limits(turn);
    case "send":
      return send(turn, command);
    case "topup":
      return topUp(turn, command);
    case "cashout":
      return propose(turn, "cashout", command.amount, command.currency ?? turn.settings.defaultCurrency, null);
    case "decide":
      return decide(turn, command);
    case "stop":
    case "start":
      return notifications(turn, command.kind === "start");
    case "usage":
      return say(
        turn,
        `${command.groupedAmount ? GROUPED_AMOUNT_HINT : ""}${command.phoneNumber ? PHONE_NUMBER_HINT[command.of] : ""}${
          USAGE[command.of]
        }`,
      );
    case "tapToDecide":
      return tapToDecide(turn);
    case "thanks":
      return say(turn, 'You are welcome. Write "menu" to see what mfuko can do.');
  }
}
