// A model of the WhatsApp conversation's money, checked against the real webhook: two or three
// people with funded RWF wallets write random sequences of sends and cash-outs (within and
// beyond their balance, all of it, to each other and to a stranger), tap Confirm and Cancel on
// their latest question, on an older one, on someone else's, twice in a row and twice at once,
// write balance, history, stop, start and hi, two messages in one delivery, a message Meta
// delivers after a newer one, and Meta redelivers deliveries (after they were answered, and
// twice at once while new). Money moves only when its payer confirms the question still open
// for them, once; every new message gets exactly one reply, a redelivery none. Checked after every step: each answer, the balances, the question open, the replies in
// the outbox, what the Graph API was sent, and the ledger's invariants.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertLedgerInvariants } from "../../tests/support/ledger-invariants.ts";
import { useTestSql } from "../../tests/support/test-sql.ts";
import { buttonId, type Person, readable, startWhatsAppGateway, type WhatsAppGateway } from "../../tests/support/whatsapp-conversation.ts";
import { inboundNotification, newWaId, type Tap, tapOf, textOf } from "../../tests/support/whatsapp-messages.ts";
import { keepWhatsAppSendRunsOut } from "../../tests/support/whatsapp-send-alone.ts";
import { newcomer } from "../../tests/support/whatsapp-wallets.ts";
import { modelRuns } from "../../tests/support/model-runs.ts";
import type { GraphMessage } from "../../tests/support/graph-api-standin.ts";

const sql = useTestSql();
// Replies are sent by id by the webhook itself: no whatsapp-send run may take them first.
keepWhatsAppSendRunsOut(sql);
let gateway: WhatsAppGateway;

beforeAll(async () => {
  // Each run's people write up to 25 messages within the minute: the sender limit is not under test.
  gateway = await startWhatsAppGateway({ RATE_LIMIT_WHATSAPP_SENDER_PER_MIN: "1000" });
});
afterAll(() => gateway?.stop());

/** 20 runs in CI (about 15 s); MODEL_RUNS and MODEL_SEED run it longer or again. */
const RUNS = modelRuns(20);

type Says = "balance" | "history" | "stop" | "start" | "hi";
/** One message of a person's; `twice`: Meta delivers it twice at once (a retry while the first is being answered). */
type Single =
  | { kind: "send"; by: number; to: number | "stranger"; amount: number | "all"; twice: boolean }
  | { kind: "cashout"; by: number; amount: number | "all"; twice: boolean }
  /**
   * A tap on a question: `which` null is the tapper's open one (or latest); else an index into the tapper's
   * questions so far (`anyones`: into everyone's, someone else's button as a forwarded message carries it).
   */
  | { kind: "tap"; by: number; confirm: boolean; which: number | null; anyones: boolean; twice: boolean }
  | { kind: "say"; by: number; says: Says; twice: boolean };
type Step =
  | Single
  /** A message Meta delivers after a newer one of its sender's (written 30 s before it). */
  | { kind: "late"; message: Single }
  /** Two messages of the first's sender in one delivery, as Meta batches them. */
  | { kind: "batch"; first: Single; second: Single }
  /** The payer taps Confirm of their latest question twice: one tap after the other, or both at once. */
  | { kind: "confirmTwice"; by: number; together: boolean }
  /** Two people tap Confirm of their latest questions at the same moment (each may pay the other). */
  | { kind: "bothConfirm"; by: number; other: number }
  /** Meta delivers an earlier delivery again, after it was answered. */
  | { kind: "redeliver"; which: number };

const says = fc.constantFrom<Says>("balance", "history", "stop", "start", "hi");
const by = fc.nat(2);
const twice = fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) });
// Mostly within the 1,000 to 5,000 a person starts with (so that there are questions to
// confirm), sometimes beyond it, and exactly all of it.
const amount = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 1_500 }) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 6_000 }) },
  { weight: 1, arbitrary: fc.constant("all" as const) },
);
const single: fc.Arbitrary<Single> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("send" as const),
      by,
      to: fc.oneof({ weight: 4, arbitrary: fc.nat(2) }, { weight: 1, arbitrary: fc.constant("stranger" as const) }),
      amount,
      twice,
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("cashout" as const), by, amount, twice }) },
  {
    weight: 7,
    arbitrary: fc.record({
      kind: fc.constant("tap" as const),
      by,
      confirm: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      which: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: fc.nat() }),
      anyones: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      twice,
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("say" as const), by, says, twice }) },
);
const steps: fc.Arbitrary<Step[]> = fc.array(
  fc.oneof(
    { weight: 20, arbitrary: single },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("batch" as const), first: single, second: single }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("late" as const), message: single }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("confirmTwice" as const), by, together: fc.boolean() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("bothConfirm" as const), by, other: fc.nat(1) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("redeliver" as const), which: fc.nat() }) },
  ),
  { minLength: 10, maxLength: 25 },
);

/**
 * A question mfuko asked: its payer, what it pays whom (`to` null: a cash-out to the payer's
 * MoMo number), its buttons, and what became of it in the model.
 */
interface Question {
  payer: number;
  to: number | null;
  amount: number;
  confirm: string;
  cancel: string;
  status: "open" | "confirmed" | "canceled" | "replaced";
}

const rwf = (amount: number) => `${amount.toLocaleString("en")} RWF`;

/** The expected state of one run: available balances, questions, notifications, and what each person was sent. */
class Model {
  readonly questions: Question[] = [];
  readonly optedOut: boolean[];
  /** Replies each person is owed (one per new message) and notifications each was sent. */
  readonly replies: number[];
  readonly notices: number[];
  /** Each person's confirmed cash-outs, held: MoMo's stand-in accepts each transfer and never pays it here. */
  readonly held: number[][];
  constructor(readonly balances: number[]) {
    this.held = balances.map(() => []);
    this.optedOut = balances.map(() => false);
    this.replies = balances.map(() => 0);
    this.notices = balances.map(() => 0);
  }

  /** A copy to play one order of simultaneous taps on. */
  copy(): Model {
    const copy = new Model([...this.balances]);
    copy.questions.push(...this.questions.map((q) => ({ ...q })));
    this.held.forEach((held, i) => copy.held[i]!.push(...held));
    this.optedOut.forEach((off, i) => copy.optedOut[i] = off);
    this.replies.forEach((n, i) => copy.replies[i] = n);
    this.notices.forEach((n, i) => copy.notices[i] = n);
    return copy;
  }

  /** `q` was asked: it is the payer's one open question (in a batch, asked after the model's open() was read). */
  asked(q: Question): void {
    const replaced = this.open(q.payer);
    if (replaced) replaced.status = "replaced";
    this.questions.push(q);
  }

  open(payer: number): Question | undefined {
    return this.questions.find((q) => q.payer === payer && q.status === "open");
  }

  /**
   * A send (to a person or a stranger) or a cash-out (`to` null): asked (a question to confirm)
   * within the balance, replacing the payer's open question; otherwise refused, replacing nothing.
   */
  ask(payer: number, to: number | "stranger" | null, amount: number, phone = ""): RegExp {
    // "All" of an empty wallet.
    if (amount === 0) return /^The amount must be more than zero\.$/;
    if (to === "stranger") return /cannot receive RWF on mfuko\./;
    if (amount > this.balances[payer]!) return new RegExp(`^Not enough money: you have ${rwf(this.balances[payer]!)} available\\.`);
    const replaced = this.open(payer);
    if (replaced) replaced.status = "replaced";
    return new RegExp(to === null ? `^Cash out ${rwf(amount)} to your MoMo number \\+250 ` : `^Send ${rwf(amount)} to \\${phone} `);
  }

  /** What a tap by `tapper` on `q` does to the model, and the answer it gets. */
  tap(tapper: number, q: Question, confirm: boolean): RegExp {
    if (q.payer !== tapper) return /^That confirmation is not yours/;
    if (q.status === "confirmed") {
      return new RegExp(
        q.to === null
          ? `^You already confirmed this: your cash-out of ${rwf(q.amount)} is held and pending, sent once, not again\\.`
          : `^You already confirmed this: ${rwf(q.amount)} was sent once, not again\\.`,
      );
    }
    if (q.status === "replaced") return /^That request was replaced by your newer one/;
    if (q.status === "canceled") return /^That request was canceled\./;
    if (!confirm) {
      q.status = "canceled";
      return /^Canceled\. Nothing was sent\.$/;
    }
    if (q.amount > this.balances[q.payer]!) {
      return new RegExp(`^Not enough money: you have ${rwf(this.balances[q.payer]!)} available\\..* You can still confirm`);
    }
    q.status = "confirmed";
    this.balances[q.payer]! -= q.amount;
    if (q.to === null) {
      this.held[q.payer]!.push(q.amount);
      return new RegExp(`^Cash-out of ${rwf(q.amount)} to \\+250 .* is on its way\\.`);
    }
    this.balances[q.to]! += q.amount;
    if (!this.optedOut[q.to]) this.notices[q.to]! += 1;
    return new RegExp(`^Sent ${rwf(q.amount)} to \\+250 `);
  }

  /** What the balance says of `person`'s cash-outs under way. */
  private heldText(person: number): string {
    const held = this.held[person]!;
    if (held.length === 0) return "";
    const total = rwf(held.reduce((sum, amount) => sum + amount, 0));
    return `, ${total} held for ${held.length === 1 ? "a cash-out" : `${held.length} cash-outs`} under way`;
  }

  say(person: number, what: Says): RegExp {
    if (what === "stop" || what === "start") this.optedOut[person] = what === "stop";
    return {
      balance: new RegExp(`^Your balance:\\n${rwf(this.balances[person]!)} available${this.heldText(person)}$`),
      history: /^Your latest transactions/,
      stop: /^Notifications are off\./,
      start: /^Notifications are on/,
      hi: /Welcome to mfuko/,
    }[what];
  }
}

/** A message a person writes, the answer the model expects, and the question it asks (when it asks one). */
interface Intent {
  person: number;
  message: Record<string, unknown>;
  expected: RegExp;
  asks?: Pick<Question, "payer" | "to" | "amount">;
}

/** One run: its people, its model, and every delivery made, for Meta to redeliver. */
class Run {
  readonly deliveries: { person: number; payload: ReturnType<typeof inboundNotification> }[] = [];
  constructor(readonly people: Person[], public model: Model) {}

  /** A delivery of new messages from `person`, each owed one reply. */
  message(person: number, ...messages: Record<string, unknown>[]) {
    const payload = inboundNotification(this.people[person]!.waId, this.people[person]!.name, messages);
    this.deliveries.push({ person, payload });
    this.model.replies[person]! += messages.length;
    return payload;
  }

  /** The message `step` writes, the answer the model expects, and the question it asks (when it asks one). */
  intend(step: Single, model = this.model): Intent {
    const { people } = this;
    const person = step.by % people.length;
    switch (step.kind) {
      case "send": {
        const to = step.to === "stranger" ? "stranger" : (person + 1 + step.to % (people.length - 1)) % people.length;
        const amount = step.amount === "all" ? model.balances[person]! : step.amount;
        const number = to === "stranger" ? newWaId() : people[to]!.waId;
        const expected = model.ask(person, to, amount, `+250 ${number.slice(3, 6)} ${number.slice(6, 9)} ${number.slice(9)}`);
        const asks = to === "stranger" ? undefined : { payer: person, to, amount };
        return { person, message: textOf(`send ${amount} ${number}`), expected, asks };
      }
      case "cashout": {
        const amount = step.amount === "all" ? model.balances[person]! : step.amount;
        return {
          person,
          message: textOf(`cashout ${amount}`),
          expected: model.ask(person, null, amount),
          asks: { payer: person, to: null, amount },
        };
      }
      case "tap": {
        const tappable = step.anyones ? model.questions : model.questions.filter((q) => q.payer === person);
        const q = step.which === null
          ? model.open(person) ?? model.questions.findLast((q) => q.payer === person)
          : tappable[step.which % Math.max(tappable.length, 1)];
        if (!q) return { person, message: tapOf(unknownButton(step.confirm)), expected: /^That confirmation is not yours/ };
        const expected = model.tap(person, q, step.confirm);
        return { person, message: tapOf({ button: step.confirm ? q.confirm : q.cancel }), expected };
      }
      case "say":
        return { person, message: textOf(step.says), expected: model.say(person, step.says) };
    }
  }

  /**
   * Each answer of `intents` among `answers`; the questions asked are kept. The webhook sends a
   * delivery's replies at once, so they may reach the person in any order: of two questions of
   * one delivery, the one its database row says the other replaced was asked first.
   */
  async answersMatch(answers: GraphMessage[], intents: Intent[]): Promise<void> {
    const texts = answers.map(readable);
    expect(texts, "one answer a message").toHaveLength(intents.length);
    const asked: Question[] = [];
    for (const intent of intents) {
      const index = texts.findIndex((text) => intent.expected.test(text));
      expect(index, `an answer matching ${intent.expected} among ${JSON.stringify(answers.map(readable))}`).toBeGreaterThanOrEqual(0);
      texts[index] = "";
      // A refusal asks nothing: only an answer with Confirm is a question.
      if (intent.asks && /^(Send|Cash out) /.test(readable(answers[index]!))) {
        asked.push(question(answers[index]!, intent.asks.payer, intent.asks.to, intent.asks.amount));
      }
    }
    const replaced = new Set(
      (await sql<{ id: string }[]>`
        select id::text from public.whatsapp_pending_payments where id = any(${asked.map(pendingId)}::uuid[]) and replaced_by is not null`)
        .map((row) => row.id),
    );
    for (const q of asked.sort((a, b) => Number(replaced.has(pendingId(b))) - Number(replaced.has(pendingId(a))))) this.model.asked(q);
  }

  /**
   * Delivers `message` from `person` (`twice`: the same delivery twice at once, as Meta retries
   * one it has not seen answered yet); what mfuko sent the person meanwhile.
   */
  async deliver(person: number, message: Record<string, unknown>, twice = false): Promise<GraphMessage[]> {
    const payload = this.message(person, message);
    const sender = this.people[person]!;
    if (!twice) return await sender.answered(payload);
    const before = gateway.graph.deliveredTo(sender.waId).length;
    const statuses = await Promise.all([0, 1].map(async () => (await sender.deliver(payload)).status));
    expect(statuses).toEqual([200, 200]);
    return gateway.graph.deliveredTo(sender.waId).slice(before);
  }

  /** Applies `step`, checking the answers it got against the model. */
  async apply(step: Step): Promise<void> {
    const { model, people } = this;
    const who = (n: number) => n % people.length;
    switch (step.kind) {
      case "send":
      case "cashout":
      case "tap":
      case "say": {
        const intent = this.intend(step);
        return this.answersMatch(await this.deliver(intent.person, intent.message, step.twice), [intent]);
      }
      case "late": {
        const person = step.message.by % people.length;
        // A late send or cash-out is not acted on (it would replace a newer question): only its words are the model's.
        const acted = step.message.kind !== "send" && step.message.kind !== "cashout";
        const intent: Intent = acted ? this.intend(step.message) : {
          ...this.intend(step.message, model.copy()),
          expected: /^A newer message of yours reached mfuko before this one/,
          asks: undefined,
        };
        const written = { ...intent.message, timestamp: String(Math.floor(Date.now() / 1000) - 30) };
        return this.answersMatch(await people[person]!.answered(this.message(person, written)), [intent]);
      }
      case "batch": {
        const first = this.intend(step.first);
        const second = this.intend({ ...step.second, by: first.person });
        const sender = people[first.person]!;
        return this.answersMatch(await sender.answered(this.message(first.person, first.message, second.message)), [first, second]);
      }
      case "confirmTwice": {
        const payer = who(step.by);
        const q = model.questions.findLast((question) => question.payer === payer);
        if (!q) return;
        const tap = tapOf({ button: q.confirm });
        if (!step.together) {
          for (let i = 0; i < 2; i++) {
            await this.answersMatch(await this.deliver(payer, tap), [{ person: payer, message: tap, expected: model.tap(payer, q, true) }]);
          }
          return;
        }
        // Two taps at once queue on the question's row: the first decides, the second finds it decided.
        const expected = [model.tap(payer, q, true), model.tap(payer, q, true)];
        const before = gateway.graph.deliveredTo(people[payer]!.waId).length;
        await Promise.all([0, 1].map(() => this.deliver(payer, tap)));
        const answers = gateway.graph.deliveredTo(people[payer]!.waId).slice(before).map(readable);
        expect(answers).toHaveLength(2);
        expect(expected.every((e) => answers.some((a) => e.test(a))), answers.join(" | ")).toBe(true);
        return;
      }
      case "bothConfirm": {
        const [a, b] = [who(step.by), who(step.by + 1 + step.other)];
        const latest = (payer: number) => model.questions.findLast((question) => question.payer === payer);
        const [qa, qb] = [latest(a), latest(b)];
        if (a === b || !qa || !qb) return;
        const sent = [a, b].map((p) => gateway.graph.deliveredTo(people[p]!.waId).length);
        await Promise.all([this.deliver(a, tapOf({ button: qa.confirm })), this.deliver(b, tapOf({ button: qb.confirm }))]);
        const received = [a, b].map((p, i) => gateway.graph.deliveredTo(people[p]!.waId).slice(sent[i]).map(readable));
        // Either may have been decided first: the answers must be those of one of the two orders.
        const orders = [[a, b], [b, a]].map((order) => {
          const played = this.model.copy();
          const answers = new Map(
            order.map((p) => [p, played.tap(p, played.questions[model.questions.indexOf(p === a ? qa : qb)]!, true)]),
          );
          return { played, fits: [a, b].every((p, i) => received[i]!.some((text) => answers.get(p)!.test(text))) };
        });
        const order = orders.find((o) => o.fits);
        expect(order, `answers ${JSON.stringify(received)}`).toBeDefined();
        this.model = order!.played;
        return;
      }
      case "redeliver": {
        const earlier = this.deliveries[step.which % Math.max(this.deliveries.length, 1)];
        if (!earlier) return;
        expect(await people[earlier.person]!.answered(earlier.payload)).toEqual([]);
        return;
      }
    }
  }

  /** The database agrees with the model: balances, questions still open, replies and notifications. */
  async check(): Promise<void> {
    const { model, people } = this;
    const waIds = people.map((p) => p.waId);
    const rows = await sql<{ wa_id: string; available: string; replies: number; open: string | null }[]>`
      select c.wa_id, a.available::text,
             (select count(*)::int from public.whatsapp_outbox o where o.wa_id = c.wa_id and o.purpose = 'reply') as replies,
             (select string_agg(p.id::text, ',') from public.whatsapp_pending_payments p
               where p.payer_id = c.user_id and p.status = 'pending' and p.expires_at > now()) as open
        from public.whatsapp_contacts c join public.wallet_accounts a on a.owner_id = c.user_id and a.currency = 'RWF'
       where c.wa_id = any(${waIds})`;
    const byWaId = new Map(rows.map((r) => [r.wa_id, r]));
    // An outbox row names its recipient, not the message it answers: replies are counted per person.
    people.forEach((person, i) => {
      const row = byWaId.get(person.waId)!;
      const label = `person ${i}`;
      expect(Number(row.available), `${label}'s balance`).toBe(model.balances[i]);
      // Their "hi" when the run set them up is one reply more than the model counts.
      expect(row.replies, `${label}'s replies in the outbox`).toBe(model.replies[i]! + 1);
      expect(row.open, `${label}'s open question`).toBe(model.open(i) ? pendingId(model.open(i)!) : null);
      expect(gateway.graph.deliveredTo(person.waId).length, `${label}'s messages sent`).toBe(model.replies[i]! + 1 + model.notices[i]!);
    });
  }
}

/** The id of the pending payment `q` asks about, as its Confirm button carries it (pay:confirm:<id>). */
const pendingId = (q: Question) => q.confirm.split(":").at(-1)!;

function question(message: GraphMessage, payer: number, to: number | null, amount: number): Question {
  return { payer, to, amount, confirm: buttonId(message, "Confirm"), cancel: buttonId(message, "Cancel"), status: "open" };
}

/** A button of a question mfuko never asked. */
const unknownButton = (confirm: boolean): Tap => ({ button: `pay:${confirm ? "confirm" : "cancel"}:${crypto.randomUUID()}` });

describe("the conversation against its model", () => {
  it(
    "moves money only when a payer confirms the question still open for them, once, and answers each message once",
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.integer({ min: 1_000, max: 5_000 }), { minLength: 2, maxLength: 3 }), steps, async (funds, plan) => {
          const people = await Promise.all(funds.map((amount) => newcomer(sql, gateway, amount)));
          const run = new Run(people, new Model([...funds]));
          for (const step of plan) {
            await run.apply(step);
            await run.check();
            await assertLedgerInvariants(sql);
          }
        }),
        RUNS,
      );
    },
    Math.max(120_000, RUNS.numRuns * 6_000),
  );
});
