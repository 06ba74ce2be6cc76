// The command parser: every text gives a command (never a throw), read the same whatever the
// case, spacing or leading '/', and the ids of buttons and list rows map back to commands.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Command, commandOfId, decisionId, MAX_TYPED_LENGTH, MENU_IDS, parseCommand } from "./commands.ts";

/** `text` as a person might type it: random case, runs of spaces, maybe a leading '/'. */
const typedLike = (text: string) =>
  fc.tuple(
    fc.array(fc.boolean(), { minLength: text.length, maxLength: text.length }),
    fc.integer({ min: 1, max: 3 }),
    fc.boolean(),
    fc.constantFrom("", " ", "\t", "  "),
  )
    .map(([upper, spaces, slash, edge]) => {
      const cased = [...text].map((ch, i) => (upper[i] ? ch.toUpperCase() : ch)).join("");
      return `${edge}${slash ? "/" : ""}${cased.replaceAll(" ", " ".repeat(spaces))}${edge}`;
    });

const amount = fc.tuple(fc.integer({ min: 1, max: 10_000_000 }), fc.option(fc.integer({ min: 0, max: 99 }), { nil: null }))
  .map(([whole, cents]) => (cents === null ? String(whole) : `${whole}.${String(cents).padStart(2, "0")}`));
const phone = fc.constantFrom("+256 712 345 678", "0712345678", "256712345678", "+250788123456", "0788 123 456");
const currency = fc.option(fc.constantFrom("ugx", "EUR", "Rwf"), { nil: null });

const MENU: Command = { kind: "menu", understood: true };
const NOT_UNDERSTOOD: Command = { kind: "menu", understood: false };

/** Expects each text to be read as its command. */
function expectRead(cases: [string, Command][]) {
  for (const [text, command] of cases) expect(parseCommand(text), text).toEqual(command);
}

/** Expects every one of `texts` to be read as `command`. */
function expectAllRead(command: Command, texts: string[]) {
  expectRead(texts.map((text) => [text, command]));
}

describe("parseCommand", () => {
  it("reads the examples of the contract", () => {
    expectAllRead(MENU, ["hi", "MENU", " help "]);
    expectAllRead(NOT_UNDERSTOOD, ["what is this", "balance of bob", ""]);
    // Words every JavaScript object has as a property are words like any other.
    expectAllRead(NOT_UNDERSTOOD, ["constructor 500", "__proto__ 5"]);
    expectAllRead({ kind: "balance" }, ["balance", "/Balance", "balance please", "check balance"]);
    expectAllRead({ kind: "limits" }, ["limits", "My limit", "show limits please"]);
    expectAllRead({ kind: "history" }, ["My history, please", "my history pls", "history"]);
    expectAllRead({ kind: "stop" }, ["STOP"]);
    expectAllRead({ kind: "start" }, ["start"]);
    expectAllRead({ kind: "usage", of: "send" }, ["send 100", "send bob 100", "send 100 to bob"]);
    expectAllRead({ kind: "usage", of: "topup" }, ["topup", "topup 5000 right now"]);
    expectAllRead({ kind: "usage", of: "cashout" }, ["cashout 1,50"]);
    expectAllRead({ kind: "cashout", amount: "2000", currency: null }, ["cashout 2000", "cash out 2000", "cash-out 2000"]);
    expectRead([
      ["send 12.50 +256 712 345 678", { kind: "send", amount: "12.50", currency: null, phone: "+256 712 345 678" }],
      ["Send 5,000 UGX to 0712345678", { kind: "send", amount: "5000", currency: "UGX", phone: "0712345678" }],
      ["pay 100 eur 0788123456", { kind: "send", amount: "100", currency: "EUR", phone: "0788123456" }],
      ["topup 5000", { kind: "topup", amount: "5000", currency: null }],
      ["top up 5000 ugx", { kind: "topup", amount: "5000", currency: "UGX" }],
      ["withdraw 2,000 rwf", { kind: "cashout", amount: "2000", currency: "RWF" }],
      ["Top-up 500", { kind: "topup", amount: "500", currency: null }],
    ]);
  });

  it("reads what people write around a command: punctuation, emoji and greetings of the region", () => {
    expectAllRead(MENU, [
      "Hi!",
      "hi \u{1F44B}",
      "Hello there.",
      "Good morning",
      "Habari",
      "Muraho mfuko",
      "Mwaramutse neza",
      "Habari yako?",
      "Amakuru",
      "Bonjour",
    ]);
    // Thanks after a payment: a short answer, not "did not understand" and the whole menu.
    expectAllRead({ kind: "thanks" }, ["Thanks!", "ok thank you", "Asante sana", "Murakoze cyane", "webale nnyo"]);
    expectAllRead(NOT_UNDERSTOOD, ["\u{1F600}", "thanks for nothing"]);
    expectRead([
      ["Balance?", { kind: "balance" }],
      ["History.", { kind: "history" }],
      ["topup 5000.", { kind: "topup", amount: "5000", currency: null }],
    ]);
  });

  it("reads the currencies people of the region write, before, after or onto the amount, and no other word as one", () => {
    expectRead([
      ["send 5000 Frw 0788123456", { kind: "send", amount: "5000", currency: "RWF", phone: "0788123456" }],
      ["send 5,000frw to 0788123456", { kind: "send", amount: "5000", currency: "RWF", phone: "0788123456" }],
      ["pay ksh 500 0712345678", { kind: "send", amount: "500", currency: "KES", phone: "0712345678" }],
      ["topup 20000 USh", { kind: "topup", amount: "20000", currency: "UGX" }],
      ["cashout 12.50eur", { kind: "cashout", amount: "12.50", currency: "EUR" }],
      ["cash out RWF 3000", { kind: "cashout", amount: "3000", currency: "RWF" }],
      ["send frw5000 0788123456", { kind: "send", amount: "5000", currency: "RWF", phone: "0788123456" }],
      // "for" is no currency: it stays with the phone number (the phone library reads past it).
      ["send 500 for 0788123456", { kind: "send", amount: "500", currency: null, phone: "for 0788123456" }],
      ["topup 5000 now", { kind: "usage", of: "topup" }],
    ]);
  });

  it("reads amounts as the region writes them in chats: in thousands, and with the /= or /- of whole shillings", () => {
    expectRead([
      ["send 5k 0788123456", { kind: "send", amount: "5000", currency: null, phone: "0788123456" }],
      ["send 5K to 0788123456", { kind: "send", amount: "5000", currency: null, phone: "0788123456" }],
      ["pay 2.5k rwf 0788123456", { kind: "send", amount: "2500", currency: "RWF", phone: "0788123456" }],
      ["send 0.5k 0788123456", { kind: "send", amount: "500", currency: null, phone: "0788123456" }],
      ["send 1,500k 0788123456", { kind: "send", amount: "1500000", currency: null, phone: "0788123456" }],
      ["send 1.2345k eur 0788123456", { kind: "send", amount: "1234.5", currency: "EUR", phone: "0788123456" }],
      ["send 5,000/= 0772123456", { kind: "send", amount: "5000", currency: null, phone: "0772123456" }],
      ["send shs 5,000/= to 0772123456", { kind: "send", amount: "5000", currency: "UGX", phone: "0772123456" }],
      ["send 5000/- ksh 0712345678", { kind: "send", amount: "5000", currency: "KES", phone: "0712345678" }],
      ["topup 20k", { kind: "topup", amount: "20000", currency: null }],
      ["withdraw 10,000/=", { kind: "cashout", amount: "10000", currency: null }],
    ]);
    // Dots between thousands stay refused, with a mark or in thousands too.
    for (const text of ["send 5.000/= 0772123456", "topup 1.500k"]) expect(parseCommand(text), text).toMatchObject({ groupedAmount: true });
    for (const text of ["send 5m 0788123456", "send k 0788123456", "topup 5kk"]) expect(parseCommand(text).kind, text).toBe("usage");
  });

  it("refuses an amount written with spaces or dots between its thousands rather than read it as another amount", () => {
    // In Uganda, Kenya and Tanzania 000 is the international prefix: "000 256772123456" is a
    // number, so "send 5 000 256772123456" once proposed 5 UGX.
    const grouped: [string, "send" | "topup" | "cashout"][] = [
      ["send 5 000 256772123456", "send"],
      ["send 5 000 0712345678", "send"],
      ["pay 1 500 000 +256 712 345 678", "send"],
      ["send 12 500 to 0788123456", "send"],
      ["send 5,000 000 0712345678", "send"],
      ["topup 5 000", "topup"],
      ["top up 2 500 ugx", "topup"],
      ["cash out 10 000", "cashout"],
      // Read as decimals, 5.000 RWF was 5 and 12.500 EUR was 12.50.
      ["send 5.000 0788123456", "send"],
      ["send 12.500 eur to 0788123456", "send"],
      ["pay 1.500.000 +256 712 345 678", "send"],
      ["topup 5.000", "topup"],
      ["cashout 250.000 rwf", "cashout"],
      // The group with what ends an amount written onto it: read apart, "000." went with the
      // number, which from Uganda, Kenya or Tanzania reads "000. 256772123456" as +256 772 123 456.
      ["send 5 000. 256772123456", "send"],
      ["send 5 000, to 0712345678", "send"],
      ["send 12 500frw 0788123456", "send"],
      ["pay 5 000/= 0772123456", "send"],
      ["topup 5 000frw", "topup"],
      ["cash out 10 000/-", "cashout"],
    ];
    for (const [text, of] of grouped) expect(parseCommand(text), text).toEqual({ kind: "usage", of, groupedAmount: true });
    // A number after the amount that is not a group of three digits is the phone number's.
    expectRead([
      ["send 500 0788 123 456", { kind: "send", amount: "500", currency: null, phone: "0788 123 456" }],
      ["send 500 to 078 812 3456", { kind: "send", amount: "500", currency: null, phone: "078 812 3456" }],
      ["send 5000 000 256772123456", { kind: "send", amount: "5000", currency: null, phone: "000 256772123456" }],
      ["send 12.50 eur 250 788 123 456", { kind: "send", amount: "12.50", currency: "EUR", phone: "250 788 123 456" }],
      // A decimal that cannot be a group of thousands is read as one.
      ["send 0.500 eur 0788123456", { kind: "send", amount: "0.500", currency: "EUR", phone: "0788123456" }],
      ["send 5.0000 0788123456", { kind: "send", amount: "5.0000", currency: null, phone: "0788123456" }],
      ["send 1,234.500 eur 0788123456", { kind: "send", amount: "1234.500", currency: "EUR", phone: "0788123456" }],
      // Separators inside a phone number are the number's.
      ["send 500 078-812-3456", { kind: "send", amount: "500", currency: null, phone: "078-812-3456" }],
      ["send 500 078.812.3456", { kind: "send", amount: "500", currency: null, phone: "078.812.3456" }],
    ]);
  });

  it("reads a phone number where the amount goes as a phone number, never as an amount", () => {
    // Read as an amount, "topup 0788123456" asked the sender's MoMo for 788,123,456 RWF.
    const misplaced: [string, "send" | "topup" | "cashout"][] = [
      ["send 0788123456 5000", "send"],
      ["pay 0788 123 456 5,000", "send"],
      ["send +250788123456 5000", "send"],
      ["topup 0788123456", "topup"],
      ["top up 0788 123 456", "topup"],
      ["topup 5000 0788123456", "topup"],
      ["cashout 0788123456", "cashout"],
      ["withdraw 5000 to 250788123456", "cashout"],
    ];
    for (const [text, of] of misplaced) expect(parseCommand(text), text).toEqual({ kind: "usage", of, phoneNumber: true });
    expectRead([
      ["send 0.50 eur 0788123456", { kind: "send", amount: "0.50", currency: "EUR", phone: "0788123456" }],
      ["send 0 0788123456", { kind: "send", amount: "0", currency: null, phone: "0788123456" }],
      ["topup 5000", { kind: "topup", amount: "5000", currency: null }],
    ]);
  });

  it("reads no text longer than a person can send, at once: the time to read one does not grow with its length", () => {
    // Punctuation between two letters: each position of the run starts the trailing match anew.
    const text = `balance${".".repeat(100_000)}x`;
    const started = performance.now();
    expect(parseCommand(text)).toEqual(NOT_UNDERSTOOD);
    expect(performance.now() - started).toBeLessThan(100);
    expect(parseCommand(`send 500 0788123456 ${"x".repeat(MAX_TYPED_LENGTH - 25)}`).kind).toBe("send");
    expect(parseCommand(`balance${" ".repeat(MAX_TYPED_LENGTH)}`)).toEqual(NOT_UNDERSTOOD);
  });

  it("never throws, and anything it does not understand is the menu or a usage hint", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 300 }), (text) => {
        const command = parseCommand(text);
        expect(["menu", "balance", "history", "limits", "stop", "start", "send", "topup", "cashout", "usage", "tapToDecide", "thanks"])
          .toContain(
            command.kind,
          );
      }),
      { numRuns: 2000 },
    );
  });

  it("reads a typed yes, ok or no as a hint to tap the buttons, never as a decision", () => {
    for (const text of ["yes", "Yes!", " OK ", "okay.", "confirm", "no", "Cancel", "ndiyo", "Ndio.", "Sawa", "hapana", "yego", "oya"]) {
      expect(parseCommand(text), text).toEqual({ kind: "tapToDecide" });
    }
    for (const text of ["yes please send", "yesterday", "nothing"]) expect(parseCommand(text).kind, text).toBe("menu");
  });

  it("reads send the same whatever the case, spacing or leading '/'", () => {
    fc.assert(
      fc.property(amount, currency, phone, (a, c, p) => {
        const canonical = `send ${a}${c ? ` ${c}` : ""} ${p}`;
        const expected = parseCommand(canonical);
        expect(expected).toMatchObject({ kind: "send", amount: a, currency: c?.toUpperCase() ?? null });
        fc.assert(
          fc.property(typedLike(canonical), (typed) => {
            const parsed = parseCommand(typed);
            expect(parsed).toMatchObject({ kind: "send", amount: a, currency: c?.toUpperCase() ?? null });
            // The phone keeps its digits and '+' (spacing is the phone library's business).
            expect((parsed as { phone: string }).phone.replace(/\s/g, "")).toBe(p.replace(/\s/g, ""));
          }),
          { numRuns: 5 },
        );
      }),
      { numRuns: 200 },
    );
  });

  it("reads the other commands the same whatever the case, spacing or leading '/'", () => {
    const texts = fc.constantFrom("balance", "history", "stop", "start", "hi", "menu", "help", "topup 5000", "cashout 20.5", "top up 7");
    fc.assert(
      fc.property(texts.chain((t) => fc.tuple(fc.constant(t), typedLike(t))), ([text, typed]) => {
        expect(parseCommand(typed)).toEqual(parseCommand(text));
      }),
      { numRuns: 500 },
    );
  });
});

describe("ids of buttons and list rows", () => {
  it("maps Confirm and Cancel back to their pending payment", () => {
    fc.assert(fc.property(fc.uuid({ version: 4 }), fc.boolean(), (id, confirm) => {
      const buttonId = decisionId(id, confirm);
      expect(buttonId.length).toBeLessThanOrEqual(200);
      expect(commandOfId(buttonId)).toEqual({ kind: "decide", pendingId: id, confirm });
    }));
  });

  it("maps the menu's rows to their commands", () => {
    expect(commandOfId(MENU_IDS.balance)).toEqual({ kind: "balance" });
    expect(commandOfId(MENU_IDS.history)).toEqual({ kind: "history" });
    expect(commandOfId(MENU_IDS.limits)).toEqual({ kind: "limits" });
    expect(commandOfId(MENU_IDS.help)).toEqual(MENU);
    expect(commandOfId(MENU_IDS.stop)).toEqual({ kind: "stop" });
    expect(commandOfId(MENU_IDS.start)).toEqual({ kind: "start" });
  });

  it("knows no other id", () => {
    for (const id of ["", "pay:confirm:", "pay:confirm:not-a-uuid", "pay:steal:00000000-0000-4000-8000-000000000000", "cmd:send"]) {
      expect(commandOfId(id), id).toBeNull();
    }
    fc.assert(fc.property(fc.string({ maxLength: 300 }).filter((id) => !id.startsWith("pay:") && !id.startsWith("cmd:")), (id) => {
      expect(commandOfId(id)).toBeNull();
    }));
  });
});
