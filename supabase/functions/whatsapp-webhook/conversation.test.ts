// The WhatsApp conversation end to end: signed webhooks through a real Deno gateway, the
// replies read from the Graph API stand-in, MoMo played by its stand-in, money checked in the
// ledger. A whole conversation (hi, balance, send and confirm with both sides told, history,
// top-up, cash-out, stop/start), each refusal in words (a number an unconfirmed sign-up
// holds included), late, repeated, concurrent and
// foreign confirmations, a cash-out whose send fails after its Confirm (told held and pending),
// a replayed webhook, the per-sender rate limit and the logs.
import { useTestSql } from "../../tests/support/test-sql.ts";
import { randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asServiceRole } from "../../tests/support/payments-fixtures.ts";
import { buttonId, Person, readable, startWhatsAppGateway, type WhatsAppGateway } from "../../tests/support/whatsapp-conversation.ts";
import { inboundNotification, newWaId, textOf, wamid } from "../../tests/support/whatsapp-messages.ts";
import { whileAnswering } from "../../tests/support/provider-standins.ts";
import { runWhatsAppSendAlone } from "../../tests/support/whatsapp-send-alone.ts";
import { startWithRoomInWindow } from "../../tests/support/rate-limit-probe.ts";
import {
  accountOf as walletOf,
  fund as deposit,
  newcomer as newPerson,
  newcomerAt as newPersonAt,
} from "../../tests/support/whatsapp-wallets.ts";

const sql = useTestSql();
// The whole file: one block runs whatsapp-send, the others read replies sent by id.
runWhatsAppSendAlone(sql);
const SENDER_LIMIT = 30;
let gateway: WhatsAppGateway;

beforeAll(async () => {
  gateway = await startWhatsAppGateway({ RATE_LIMIT_WHATSAPP_SENDER_PER_MIN: String(SENDER_LIMIT) });
});
afterAll(() => gateway?.stop());

const accountOf = (person: Person) => walletOf(sql, person);
const fund = (person: Person, amount: number) => deposit(sql, person, amount);
/** A person who has written "hi" (so has a contact and an RWF account) with `funds` in it. */
const newcomer = (funds = 0) => newPerson(sql, gateway, funds);
/** A person writing from `waId` who has written "hi". */
const newcomerAt = (waId: string) => newPersonAt(gateway, waId);

const runJob = async (job: string): Promise<number> => (await gateway.runJob(job)).status;

const local = (waId: string) => `0${waId.slice(3, 6)} ${waId.slice(6, 9)} ${waId.slice(9)}`;

describe("a whole conversation", () => {
  it("hi, balance, send and confirm, history, top-up, cash-out, stop and start", async () => {
    const alice = new Person(gateway, newWaId(), "Alice");
    const bob = new Person(gateway, newWaId(), "Bob");

    const [menu] = await alice.say("hi");
    expect(menu!.type).toBe("interactive");
    expect((menu!.message as { type: string }).type).toBe("list");
    expect(readable(menu!)).toContain("Welcome to mfuko");
    expect(readable((await alice.say("  /BALANCE "))[0]!)).toBe("Your balance:\n0 RWF available");
    await bob.say("Hello");
    await fund(alice, 20_000);

    const [question] = await alice.say(`send 5,000 to ${local(bob.waId)}`);
    // Bob's WhatsApp name, for Alice to see whom the number reaches before she confirms.
    expect(readable(question!)).toMatch(
      /^Send 5,000 RWF to \+250 \d{3} \d{3} \d{3} \(WhatsApp name: "Bob"\)\?\nTap Confirm within 5 minutes\.$/,
    );
    expect((await accountOf(alice)).available).toBe(20_000);
    // A typed "yes" confirms nothing: only the button does. With no question waiting, it says so.
    expect((await bob.say("ndio")).map(readable)).toEqual([
      'No payment is waiting for your answer. To start one, write send, topup or cashout, or "menu" to see them all.',
    ]);
    expect((await alice.say("Yes")).map(readable)).toEqual([expect.stringMatching(/^Only the buttons decide a payment: tap Confirm/)]);
    expect((await accountOf(alice)).available).toBe(20_000);
    const sent = await alice.tap({ button: buttonId(question, "Confirm") });
    expect(sent.map(readable)).toEqual([expect.stringMatching(/^Sent 5,000 RWF to \+250 /)]);
    expect(bob.inbox().at(-1)).toBe(`You received 5,000 RWF from +${alice.waId}. Write "balance" to see what you have.`);
    expect([(await accountOf(alice)).available, (await accountOf(bob)).available]).toEqual([15_000, 5_000]);
    const [transfer] = await sql<{ initiated_by: string; owner_id: string }[]>`
      select t.initiated_by, a.owner_id from public.wallet_transactions t join public.wallet_accounts a on a.id = t.from_account_id
       where t.idempotency_key like 'whatsapp:%' and t.from_account_id = ${(await accountOf(alice)).id}::uuid`;
    expect(transfer!.initiated_by).toBe(transfer!.owner_id);

    const [history] = await alice.say("history");
    // In Kigali's time (UTC+2), as Alice's Rwandan number reads it, not UTC.
    const [payment] = await sql<{ created_at: Date }[]>`
      select created_at from public.wallet_transactions where from_account_id = ${(await accountOf(alice)).id}::uuid`;
    const kigali = new Date(payment!.created_at.getTime() + 2 * 3600_000).toISOString().slice(0, 16).replace("T", " ");
    expect(readable(history!).split("\n")).toEqual([
      "Your latest transactions (Kigali time):",
      `${kigali} -5,000 RWF to +${bob.waId}`,
      expect.stringMatching(/ \+20,000 RWF top-up$/),
    ]);

    // Top-up: MoMo asks Alice's own number, then its callback credits her and she is told.
    const [approve] = await alice.say("topup 3000");
    expect(readable(approve!)).toMatch(/^MoMo is asking \+250 .* to approve 3,000 RWF: approve it on your phone\./);
    const [intent] = await sql<{ id: string }[]>`
      select id from public.payment_intents where idempotency_key like 'whatsapp:%' and account_id = ${(await accountOf(alice)).id}::uuid`;
    expect(gateway.momo.requestsToPay.get(intent!.id)?.body).toMatchObject({
      amount: "3000",
      currency: "RWF",
      payer: { partyId: alice.waId },
    });
    expect(await gateway.momo.decide(intent!.id, "SUCCESSFUL")).toBe(200);
    expect(await runJob("whatsapp-send")).toBe(200);
    expect(alice.inbox().at(-1)).toBe("Top-up received: 3,000 RWF is in your wallet.");
    expect((await accountOf(alice)).available).toBe(18_000);

    // Cash-out: a confirmation, then MoMo's transfer to her number; told when MoMo paid.
    const [cashOutQuestion] = await alice.say("cashout 1000");
    expect(readable(cashOutQuestion!)).toMatch(/^Cash out 1,000 RWF to your MoMo number \+250 /);
    const [onItsWay] = await alice.tap({ button: buttonId(cashOutQuestion, "Confirm") });
    expect(readable(onItsWay!)).toMatch(/^Cash-out of 1,000 RWF to \+250 .* is on its way\./);
    const [cashOut] = await sql<{ reference_id: string; msisdn: string; status: string }[]>`
      select reference_id, msisdn, status from public.cashouts where account_id = ${(await accountOf(alice)).id}::uuid`;
    expect(cashOut).toMatchObject({ msisdn: alice.waId, status: "pending" });
    expect(gateway.momo.transfers.get(cashOut!.reference_id)?.body).toMatchObject({ amount: "1000", payee: { partyId: alice.waId } });
    expect(await gateway.momo.decide(cashOut!.reference_id, "SUCCESSFUL")).toBe(200);
    expect(await runJob("whatsapp-send")).toBe(200);
    expect(alice.inbox().at(-1)).toBe(`Cash-out paid: MoMo sent 1,000 RWF to +${alice.waId}.`);
    expect((await alice.tap({ button: buttonId(cashOutQuestion, "Confirm") })).map(readable)).toEqual([
      "You already confirmed this: 1,000 RWF was cashed out once, not again.",
    ]);

    // stop: no more notifications, answers still come; start: notifications again.
    expect((await alice.say("stop")).map(readable)).toEqual([expect.stringMatching(/^Notifications are off\./)]);
    await fund(bob, 1_000);
    const paid = await bob.say(`send 100 ${alice.waId}`);
    await bob.tap({ button: buttonId(paid[0], "Confirm") });
    expect(alice.inbox().at(-1)).toMatch(/^Notifications are off\./);
    expect(readable((await alice.say("balance"))[0]!)).toBe("Your balance:\n17,100 RWF available");
    expect((await alice.say("start")).map(readable)).toEqual([expect.stringMatching(/^Notifications are on/)]);
    await bob.tap({ button: buttonId((await bob.say(`send 100 +${alice.waId}`))[0], "Confirm") });
    expect(alice.inbox().at(-1)).toBe(`You received 100 RWF from +${bob.waId}. Write "balance" to see what you have.`);
  });

  it("runs the menu's rows", async () => {
    const carol = await newcomer(2_500);
    const [balance] = await carol.tap({ row: "cmd:balance" });
    expect(readable(balance!)).toBe("Your balance:\n2,500 RWF available");
    expect(readable((await carol.tap({ row: "cmd:help" }))[0]!)).toContain("Welcome to mfuko");
    expect(readable((await carol.say("what?"))[0]!)).toContain("Sorry, I did not understand that.");
    // Thanks after a payment, and a greeting of the region, are neither "did not understand".
    expect((await carol.say("Murakoze cyane!")).map(readable)).toEqual(['You are welcome. Write "menu" to see what mfuko can do.']);
    expect(readable((await carol.say("Mwaramutse neza"))[0]!)).toContain("Welcome to mfuko");
  });
});

describe("first contact and the way people write", () => {
  it("welcomes a first message it does not understand, a first sticker and a first /start, and only the first", async () => {
    const asking = new Person(gateway);
    expect((await asking.say("Hello, how does this work?")).map(readable)).toEqual([
      expect.stringMatching(/^Welcome to mfuko, your wallet on WhatsApp\.\n/),
    ]);
    expect((await asking.say("how does this work?")).map(readable)).toEqual([
      expect.stringMatching(/^Sorry, I did not understand that\.\n/),
    ]);
    expect((await asking.say("Balance?")).map(readable)).toEqual(["Your balance:\n0 RWF available"]);
    const starter = new Person(gateway);
    expect((await starter.say("/start")).map(readable)).toEqual([expect.stringMatching(/^Welcome to mfuko, your wallet on WhatsApp\.\n/)]);
    expect((await starter.say("start")).map(readable)).toEqual([expect.stringMatching(/^Notifications are on/)]);
    const thankful = new Person(gateway);
    expect((await thankful.say("Thanks")).map(readable)).toEqual([expect.stringMatching(/^Welcome to mfuko, your wallet on WhatsApp\.\n/)]);
    const sticker = new Person(gateway);
    expect((await sticker.send({ type: "sticker", sticker: { id: "1", mime_type: "image/webp" } })).map(readable)).toEqual([
      expect.stringMatching(/^Welcome to mfuko, your wallet on WhatsApp\. I can only read typed messages and taps on my buttons\.\n/),
    ]);
  });

  it("reads Frw as RWF, a word before the number as no currency, and a foreign number written without its '+'", async () => {
    const [payer, payee] = [await newcomer(10_000), await newcomer()];
    const kenyan = await newcomerAt(`254712${String(randomInt(1_000_000)).padStart(6, "0")}`);
    expect((await payer.say(`send 5,000 Frw ${local(payee.waId)}`)).map(readable)).toEqual([
      expect.stringMatching(/^Send 5,000 RWF to \+250 /),
    ]);
    expect((await payer.say(`send 500 for ${local(payee.waId)}`)).map(readable)).toEqual([
      expect.stringMatching(/^Send 500 RWF to \+250 /),
    ]);
    expect((await payer.say(`send 10 eur ${local(payee.waId)}`)).map(readable)).toEqual([
      "You have no EUR wallet. Your mfuko wallet is in RWF.",
    ]);
    const [question] = await payer.say(`send 100 ${kenyan.waId}`);
    expect(readable(question!)).toBe(
      `Send 100 RWF to +254 712 ${kenyan.waId.slice(6)} (WhatsApp name: "Test Person")?\n` +
        `Your earlier request to send 500 RWF to +250 ${local(payee.waId).slice(1)} was dropped: its Confirm no longer works.\n` +
        "Tap Confirm within 5 minutes.",
    );
    await payer.tap({ button: buttonId(question, "Confirm") });
    expect([(await accountOf(payer)).available, (await accountOf(kenyan)).available]).toEqual([9_900, 100]);
  });

  it("reads an amount in thousands (5k) and with the /= of whole francs as people write them in chats", async () => {
    const [payer, payee] = [await newcomer(10_000), await newcomer()];
    const answers = async (text: string) => (await payer.say(text)).map(readable);
    const question = (money: string) => [expect.stringMatching(new RegExp(`^Send ${money} RWF to \\+250 `))];
    expect(await answers(`send 5k ${local(payee.waId)}`)).toEqual(question("5,000"));
    expect(await answers(`send 2.5k ${local(payee.waId)}`)).toEqual(question("2,500"));
    expect(await answers(`send 5,000/= ${local(payee.waId)}`)).toEqual(question("5,000"));
    expect(await answers(`send frw5000 ${local(payee.waId)}`)).toEqual(question("5,000"));
    expect(await answers("topup 3k")).toEqual([expect.stringMatching(/^MoMo is asking \+250 .* to approve 3,000 RWF/)]);
  });

  it("names the recipient's WhatsApp name in quotes, without line breaks, direction overrides, quotes, brackets or formatting marks its holder put in", async () => {
    const payer = await newcomer(1_000);
    for (
      const [name, shown] of [["Eve\u202E\nTap Confirm", "Eve Tap Confirm"], [
        '*Eve*") to +250 788 999 999 ("_Bob_',
        "Eve to +250 788 999 999 Bob",
      ]]
    ) {
      const payee = new Person(gateway, newWaId(), name);
      await payee.say("hi");
      const [question] = await payer.say(`send 100 ${payee.waId}`);
      const [asked, then] = readable(question!).split(" (WhatsApp name: ");
      expect(asked).toMatch(/^Send 100 RWF to \+250 \d{3} \d{3} \d{3}$/);
      expect(then).toBe(`"${shown}")?\nTap Confirm within 5 minutes.`);
      await payer.tap({ button: buttonId(question, "Cancel") });
    }
  });

  it("tells a person who wrote stop how to see a top-up and a cash-out end, instead of promising to tell them", async () => {
    const person = await newcomer(5_000);
    await person.say("stop");
    const notificationsOff = (what: string) =>
      `Your notifications are off, so write "history" to see when ${what} (or "start" to be told).`;
    const [topUp] = await person.say("topup 3000");
    expect(readable(topUp!)).toMatch(/^MoMo is asking \+250 .* to approve 3,000 RWF: approve it on your phone\. /);
    expect(readable(topUp!)).toContain(notificationsOff("it is received"));
    const [question] = await person.say("cashout 1000");
    const [onItsWay] = await person.tap({ button: buttonId(question, "Confirm") });
    expect(readable(onItsWay!)).toMatch(/^Cash-out of 1,000 RWF to \+250 .* is on its way\. /);
    expect(readable(onItsWay!)).toContain(notificationsOff("MoMo has paid it"));
    const [cashOut] = await sql<{ reference_id: string }[]>`
      select reference_id from public.cashouts where account_id = ${(await accountOf(person)).id}::uuid`;
    expect(await gateway.momo.decide(cashOut!.reference_id, "SUCCESSFUL")).toBe(200);
    expect(await runJob("whatsapp-send")).toBe(200);
    // No notice came; "history" shows what happened, as the answer said.
    expect(person.inbox().at(-1)).toBe(readable(onItsWay!));
    expect(readable((await person.say("history"))[0]!).split("\n")[1]).toMatch(/ -1,000 RWF cash-out$/);
  });
});

describe("refusals in words", () => {
  it("refuses an unknown recipient and a number it cannot read, and moves nothing", async () => {
    const payer = await newcomer(10_000);
    const stranger = newWaId();
    expect((await payer.say(`send 100 ${stranger}`)).map(readable)).toEqual([
      `+250 ${stranger.slice(3, 6)} ${stranger.slice(6, 9)} ${
        stranger.slice(9)
      } cannot receive RWF on mfuko. If they have never used mfuko, ask them to send "hi" to mfuko on WhatsApp, then send again. ` +
      "Nothing was sent.",
    ]);
    expect((await payer.say("send 100 12345")).map(readable)).toEqual([
      '"12345" is not a phone number I can read. Try +250788123456 or 0788123456.',
    ]);
    // Quoted back cut at 40 characters, never inside one: half an emoji is not text jsonb takes
    // (the emoji between digits: a message's trailing emoji are read as decoration).
    const smiles = "\u{1F600}".repeat(50);
    expect((await payer.say(`send 100 1${smiles}1`)).map(readable)).toEqual([
      `"1${"\u{1F600}".repeat(39)}" is not a phone number I can read. Try +250788123456 or 0788123456.`,
    ]);
    expect((await payer.say(`send 100 ${payer.waId}`)).map(readable)).toEqual(["That is your own number. Nothing was sent."]);
    expect((await payer.say("send 1.5 0781234567")).map(readable)).toEqual(["RWF has no decimals: write a whole amount."]);
    expect((await payer.say("send 0.505 eur 0781234567")).map(readable)).toEqual(["That amount has more decimals than EUR has (2)."]);
    expect((await payer.say(`send 5 000 ${local(payer.waId)}`)).map(readable)).toEqual([
      'Write the amount as 5000 or 5,000: "5 000" and "5.000" can each be read two ways. ' +
      "A number after the amount that starts with its country code needs its + (+250 788 123 456). To pay someone, write: " +
      "send <amount> <phone>, e.g. send 5000 0788123456 (a currency code may follow the amount).",
    ]);
    // Dots between the thousands, as Rwanda writes them: read as decimals, 5.000 was 5.
    expect((await payer.say(`send 5.000 ${local(payer.waId)}`)).map(readable)).toEqual([
      'Write the amount as 5000 or 5,000: "5 000" and "5.000" can each be read two ways. ' +
      "A number after the amount that starts with its country code needs its + (+250 788 123 456). To pay someone, write: " +
      "send <amount> <phone>, e.g. send 5000 0788123456 (a currency code may follow the amount).",
    ]);
    expect((await accountOf(payer)).available).toBe(10_000);
  });

  it("reads a phone number where the amount goes as a phone number: no top-up of 788,123,456 asked, and what to write instead", async () => {
    const [payer, payee] = [await newcomer(10_000), await newcomer()];
    expect((await payer.say(`topup ${local(payer.waId).replaceAll(" ", "")}`)).map(readable)).toEqual([
      "A top-up is asked of your own MoMo number, so write only the amount. To top up with MoMo, write: topup <amount>, e.g. topup 5000.",
    ]);
    expect((await payer.say(`send ${local(payee.waId)} 5000`)).map(readable)).toEqual([
      "Write the amount first, then the phone number. To pay someone, write: send <amount> <phone>, e.g. send 5000 0788123456 " +
      "(a currency code may follow the amount).",
    ]);
    expect((await payer.say(`cashout 5000 ${local(payer.waId)}`)).map(readable)).toEqual([
      "A cash-out is paid to your own MoMo number, so write only the amount. To cash out to MoMo, write: cashout <amount>, e.g. cashout 5000.",
    ]);
    const [written] = await sql<{ pending: number; intents: number }[]>`
      select (select count(*)::int from public.whatsapp_pending_payments where from_account_id = ${(await accountOf(payer)).id}::uuid)
               as pending,
             (select count(*)::int from public.payment_intents where account_id = ${(await accountOf(payer)).id}::uuid) as intents`;
    expect(written).toEqual({ pending: 0, intents: 0 });
  });

  it("refuses an amount over the ledger's largest in words, for a payment, a cash-out and a top-up, and writes nothing", async () => {
    const [payer, payee] = [await newcomer(10_000), await newcomer()];
    const [max] = await sql<{ max_amount: string }[]>`select max_amount::text from private.wallet_settings`;
    const over = String(BigInt(max!.max_amount) + 1n);
    const tooLarge = "That amount is more than mfuko moves in one payment.";
    expect((await payer.say(`send ${over} ${payee.waId}`)).map(readable)).toEqual([`${tooLarge} Nothing was sent.`]);
    expect((await payer.say(`cashout ${over}`)).map(readable)).toEqual([`${tooLarge} Nothing was sent.`]);
    expect((await payer.say(`topup ${over}`)).map(readable)).toEqual([`${tooLarge} No top-up was started.`]);
    const [written] = await sql<{ pending: number; intents: number }[]>`
      select (select count(*)::int from public.whatsapp_pending_payments where from_account_id = ${
      (await accountOf(payer)).id
    }::uuid) as pending,
             (select count(*)::int from public.payment_intents where account_id = ${(await accountOf(payer)).id}::uuid) as intents`;
    expect(written).toEqual({ pending: 0, intents: 0 });
  });

  it("does not serve a number an app sign-up holds unconfirmed, says so, and links it to nobody", async () => {
    const person = new Person(gateway);
    // A sign-up with this number and a password, as Supabase Auth stores it before the OTP.
    const [signUp] = await sql<{ id: string }[]>`
      insert into auth.users (id, aud, role, phone, raw_app_meta_data)
      values (gen_random_uuid(), 'authenticated', 'authenticated', ${person.waId}, '{"provider":"phone","providers":["phone"]}')
      returning id`;
    const refusal = "This number was used to sign up in the mfuko app but was never verified, so mfuko cannot open a " +
      "wallet for it here. Please contact mfuko support.";
    expect((await person.say("hi")).map(readable)).toEqual([refusal]);
    expect((await person.say("balance")).map(readable)).toEqual([refusal]);
    const [linked] = await sql<{ contacts: number; accounts: number }[]>`
      select (select count(*)::int from public.whatsapp_contacts where wa_id = ${person.waId} or user_id = ${signUp!.id}::uuid) as contacts,
             (select count(*)::int from public.wallet_accounts where owner_id = ${signUp!.id}::uuid) as accounts`;
    expect(linked).toEqual({ contacts: 0, accounts: 0 });
  });

  it("names the available balance for insufficient funds, and the limit for an over-limit payment, when asked for", async () => {
    const [payer, payee] = [await newcomer(4_000), await newcomer()];
    // Asked for more than the wallet holds: refused at once, with no question to confirm.
    expect((await payer.say(`send 4001 ${payee.waId}`)).map(readable)).toEqual([
      "Not enough money: you have 4,000 RWF available. Nothing was sent. To top up with MoMo, write: topup <amount>, e.g. topup 5000.",
    ]);
    expect((await payer.say("cashout 4001")).map(readable)).toEqual([
      expect.stringMatching(/^Not enough money: you have 4,000 RWF available\. Nothing was sent\. To top up/),
    ]);
    const [pending] = await sql<{ n: number }[]>`
      select count(*)::int as n from public.whatsapp_pending_payments where from_account_id = ${(await accountOf(payer)).id}::uuid`;
    expect(pending!.n).toBe(0);
    // The balance falls after the question: the Confirm names what is left.
    const [question] = await payer.say(`send 4000 ${payee.waId}`);
    const { id } = await accountOf(payer);
    await asServiceRole(sql, (tx) => tx`select public.wallet_hold(${id}::uuid, 1, 'RWF', ${crypto.randomUUID()})`);
    expect((await payer.tap({ button: buttonId(question, "Confirm") })).map(readable)).toEqual([
      "Not enough money: you have 3,999 RWF available. Nothing was sent. To top up with MoMo, write: topup <amount>, e.g. topup 5000. " +
      "You can still confirm within the 5 minutes.",
    ]);
    const single = (await sql<
      { max_single: string }[]
    >`select max_single::text from public.wallet_tier_limits where tier = 'standard' and currency = 'RWF'`)[0]!;
    await fund(payer, Number(single.max_single));
    // Over a limit: refused when asked for, with no question to confirm.
    expect((await payer.say(`send ${Number(single.max_single) + 1} ${payee.waId}`)).map(readable)).toEqual([
      `That is over your limit for a single payment of ${Number(single.max_single).toLocaleString("en")} RWF. Nothing was sent.`,
    ]);
    expect((await accountOf(payee)).available).toBe(0);
  });

  it("tells a person their limits and what is left of them today and this hour, payments and cash-outs counted", async () => {
    const [payer, payee] = [await newcomer(50_000), await newcomer()];
    const [limits] = await sql<{ max_single: string; max_daily: string; max_per_hour: number }[]>`
      select max_single::text, max_daily::text, max_per_hour from public.wallet_tier_limits where tier = 'standard' and currency = 'RWF'`;
    const rwf = (minor: number) => `${minor.toLocaleString("en")} RWF`;
    const answer = async () => readable((await payer.say("my limits"))[0]!).split("\n");
    expect(await answer()).toEqual([
      "Your limits:",
      "RWF, standard tier:",
      `- up to ${rwf(Number(limits!.max_single))} a payment`,
      expect.stringMatching(
        new RegExp(`^- ${rwf(Number(limits!.max_daily))} of ${rwf(Number(limits!.max_daily))} left today \\(until \\d\\d:\\d\\d .+\\)$`),
      ),
      `- ${limits!.max_per_hour} of ${limits!.max_per_hour} payments left this hour`,
      "Cash-outs count too.",
    ]);
    await payer.tap({ button: buttonId((await payer.say(`send 1200 ${payee.waId}`))[0], "Confirm") });
    await payer.tap({ button: buttonId((await payer.say("cashout 300"))[0], "Confirm") });
    const [, , , today, hour] = await answer();
    expect(today).toMatch(new RegExp(`^- ${rwf(Number(limits!.max_daily) - 1500)} of ${rwf(Number(limits!.max_daily))} left today`));
    expect(hour).toBe(`- ${limits!.max_per_hour - 2} of ${limits!.max_per_hour} payments left this hour`);
    expect(readable((await payer.tap({ row: "cmd:limits" }))[0]!).split("\n")[4]).toBe(hour);
    // Frozen, the account pays nothing, whatever is left.
    const { id } = await accountOf(payer);
    await asServiceRole(sql, (tx) => tx`select public.wallet_set_status(${id}::uuid, 'frozen', 'test')`);
    expect(await answer()).toEqual([
      "Your limits:",
      "RWF: your account is frozen, so it cannot pay. Please contact mfuko support.",
      "Cash-outs count too.",
    ]);
  });
});

describe("phone numbers", () => {
  it("reads a local number in the sender's own country, so that it never names someone in WHATSAPP_DEFAULT_REGION", async () => {
    const national = `772${String(randomInt(1_000_000)).padStart(6, "0")}`;
    // Two people whose numbers differ only in their country code, both with RWF accounts.
    const [inUganda, inRwanda] = [await newcomerAt(`256${national}`), await newcomerAt(`250${national}`)];
    const payer = await newcomerAt(`2567${String(randomInt(100_000_000)).padStart(8, "0")}`);
    await fund(payer, 1_000);
    const [question] = await payer.say(`send 100 0${national.slice(0, 3)} ${national.slice(3)}`);
    expect(readable(question!)).toBe(
      `Send 100 RWF to +256 ${national.slice(0, 3)} ${national.slice(3)} (WhatsApp name: "Test Person")?\nTap Confirm within 5 minutes.`,
    );
    await payer.tap({ button: buttonId(question, "Confirm") });
    expect([(await accountOf(inUganda)).available, (await accountOf(inRwanda)).available]).toEqual([100, 0]);
    // A Rwandan's local number is still read in Rwanda (the default region's own senders).
    const rwandan = await newcomer(1_000);
    expect(readable((await rwandan.say(`send 100 0${national}`))[0]!)).toMatch(/^Send 100 RWF to \+250 772 /);
  });
});

describe("frozen accounts", () => {
  /** A payer with 1,000 asks to send 100; `frozen` is frozen before Confirm, whose answer is returned. */
  async function frozenBeforeConfirm(frozen: "payer" | "payee") {
    const [payer, payee] = [await newcomer(1_000), await newcomer()];
    const [question] = await payer.say(`send 100 ${payee.waId}`);
    const account = (await accountOf(frozen === "payer" ? payer : payee)).id;
    await asServiceRole(sql, (tx) => tx`select public.wallet_set_status(${account}::uuid, 'frozen', 'test')`);
    const answer = (await payer.tap({ button: buttonId(question, "Confirm") })).map(readable);
    return { payer, payee, answer };
  }

  it("a frozen recipient gets the one answer of a number that cannot receive, before and after the question", async () => {
    const { payer, payee, answer } = await frozenBeforeConfirm("payee");
    // Not "you can still confirm": the same Confirm would be refused again.
    expect(answer).toEqual(["That number cannot receive this payment. Nothing was sent."]);
    expect((await payer.say(`send 100 ${payee.waId}`)).map(readable)).toEqual([
      // Not "they need to write first": they did, and the answer must be true of them too.
      expect.stringMatching(
        /cannot receive RWF on mfuko\. If they have never used mfuko, ask them to send "hi" to mfuko on WhatsApp, then send again\. Nothing was sent\.$/,
      ),
    ]);
    expect([(await accountOf(payer)).available, (await accountOf(payee)).available]).toEqual([1_000, 0]);
  });

  it("a payer whose account is frozen is told that it cannot pay, and nothing moves", async () => {
    const { payer, payee, answer } = await frozenBeforeConfirm("payer");
    expect(answer).toEqual([
      // What the account is and who can help, as "cashout" and "topup" are answered below.
      "Your RWF wallet is frozen, so it cannot pay. Nothing was sent. Please contact mfuko support.",
    ]);
    // What to do next, not only that nothing can be paid: the account is the sender's own.
    const frozenAnswer = "Your RWF wallet is frozen, so it cannot pay or be topped up. Please contact mfuko support.";
    expect((await payer.say("cashout 100")).map(readable)).toEqual([frozenAnswer]);
    expect((await payer.say("topup 100")).map(readable)).toEqual([frozenAnswer]);
    expect(readable((await payer.say("balance"))[0]!)).toBe(
      "Your balance:\n1,000 RWF available (account frozen)\nA frozen or closed wallet cannot pay. Please contact mfuko support.",
    );
    expect([(await accountOf(payer)).available, (await accountOf(payee)).available]).toEqual([1_000, 0]);
  });
});

describe("confirmations", () => {
  async function proposal() {
    const [payer, payee] = [await newcomer(1_000), await newcomer()];
    const [question] = await payer.say(`send 600 ${payee.waId}`);
    return { payer, payee, confirm: { button: buttonId(question, "Confirm") }, cancel: { button: buttonId(question, "Cancel") } };
  }

  it("a repeated confirmation changes nothing and says so", async () => {
    const { payer, payee, confirm } = await proposal();
    await payer.tap(confirm);
    expect((await payer.tap(confirm)).map(readable)).toEqual(["You already confirmed this: 600 RWF was sent once, not again."]);
    expect((await accountOf(payee)).available).toBe(600);
  });

  it("two confirmations at once move the money once", async () => {
    const { payer, payee, confirm } = await proposal();
    const before = payer.inbox().length;
    await Promise.all([payer.tap(confirm), payer.tap(confirm), payer.tap(confirm)]);
    const answers = payer.inbox().slice(before);
    expect(answers.filter((a) => a.startsWith("Sent 600 RWF"))).toHaveLength(1);
    expect(answers.filter((a) => a.startsWith("You already confirmed"))).toHaveLength(2);
    expect([(await accountOf(payer)).available, (await accountOf(payee)).available]).toEqual([400, 600]);
  });

  it("a late confirmation changes nothing and says so", async () => {
    const { payer, payee, confirm } = await proposal();
    const pendingId = confirm.button.split(":")[2]!;
    await sql`update public.whatsapp_pending_payments set expires_at = now() - interval '1 second' where id = ${pendingId}::uuid`;
    expect((await payer.tap(confirm)).map(readable)).toEqual([
      "That request expired (confirmations last 5 minutes). Nothing was sent; ask again.",
    ]);
    const cancel = { button: confirm.button.replace("pay:confirm:", "pay:cancel:") };
    expect((await payer.tap(cancel)).map(readable)).toEqual(["That request had already expired. Nothing was sent."]);
    expect((await accountOf(payee)).available).toBe(0);
  });

  it("a confirmation by another sender changes nothing and says so", async () => {
    const { payer, payee, confirm } = await proposal();
    const intruder = await newcomer(5_000);
    expect((await intruder.tap(confirm)).map(readable)).toEqual([
      "That confirmation is not yours, or no longer exists. Nothing was changed.",
    ]);
    expect([(await accountOf(payer)).available, (await accountOf(payee)).available, (await accountOf(intruder)).available])
      .toEqual([1_000, 0, 5_000]);
  });

  it("a second request replaces the first: its Confirm is refused and the money moves once", async () => {
    const { payer, payee, confirm } = await proposal();
    const [again] = await payer.say(`send 600 ${payee.waId}`);
    // The new question says that the one waiting was dropped, and what it was.
    expect(readable(again!)).toMatch(
      /^Send 600 RWF to \+250 [^?]+\?\nYour earlier request to send 600 RWF to \+250 [\d ]+ was dropped: its Confirm no longer works\.\nTap Confirm within 5 minutes\.$/,
    );
    expect((await payer.tap(confirm)).map(readable)).toEqual([
      "That request was replaced by your newer one, so it can no longer be confirmed. Nothing was sent.",
    ]);
    expect((await payer.tap({ button: confirm.button.replace("pay:confirm:", "pay:cancel:") })).map(readable)).toEqual([
      "That request was replaced by your newer one, so it can no longer be confirmed. Nothing was sent.",
    ]);
    expect((await payer.tap({ button: buttonId(again, "Confirm") })).map(readable)).toEqual([
      expect.stringMatching(/^Sent 600 RWF to /),
    ]);
    expect([(await accountOf(payer)).available, (await accountOf(payee)).available]).toEqual([400, 600]);
  });

  it("a cash-out asked for under a payment's question says the payment was dropped; a question with none waiting does not", async () => {
    const { payer, confirm } = await proposal();
    const [cashOut] = await payer.say("cashout 300");
    expect(readable(cashOut!)).toMatch(
      /^Cash out 300 RWF to your MoMo number \+250 [\d ]+\?\nYour earlier request to send 600 RWF to \+250 [\d ]+ was dropped: its Confirm no longer works\.\nTap Confirm within 5 minutes\.$/,
    );
    expect((await payer.tap(confirm)).map(readable)).toEqual([
      "That request was replaced by your newer one, so it can no longer be confirmed. Nothing was sent.",
    ]);
    // A top-up replaces nothing: money it brings may be what the question waits for.
    expect((await payer.say("topup 1000")).map(readable)).toEqual([expect.stringMatching(/^MoMo is asking /)]);
    expect(readable((await payer.say("cashout 200"))[0]!)).toContain("earlier request to cash out 300 RWF was dropped");
    const [again] = await payer.say("cashout 100");
    await payer.tap({ button: buttonId(again, "Cancel") });
    expect(readable((await payer.say("cashout 100"))[0]!)).not.toContain("earlier request");
  });

  it("two requests written at once leave one of them to confirm", async () => {
    const { payer, payee } = await proposal();
    await Promise.all([payer.say(`send 100 ${payee.waId}`), payer.say(`cashout 100`)]);
    const [pending] = await sql<{ n: number }[]>`
      select count(*)::int as n from public.whatsapp_pending_payments
       where from_account_id = ${(await accountOf(payer)).id}::uuid and status = 'pending'`;
    expect(pending!.n).toBe(1);
  });

  it("Cancel cancels, and a canceled payment cannot be confirmed", async () => {
    const { payer, payee, confirm, cancel } = await proposal();
    expect((await payer.tap(cancel)).map(readable)).toEqual(["Canceled. Nothing was sent."]);
    expect((await payer.tap(confirm)).map(readable)).toEqual(["That request was canceled. Nothing was sent."]);
    expect((await accountOf(payee)).available).toBe(0);
  });

  it("a STOP written under a question turns notifications off and says what stops the payment", async () => {
    const { payer, payee, cancel } = await proposal();
    const off = "Notifications are off. Answers to your messages still come. Write start to turn them on again.";
    expect((await payer.say("STOP")).map(readable)).toEqual([
      `${off} Your payment question is still waiting: nothing is sent unless you tap Confirm under it; tap Cancel to drop it.`,
    ]);
    await payer.tap(cancel);
    expect((await payer.say("stop")).map(readable)).toEqual([off]);
    expect((await accountOf(payee)).available).toBe(0);
  });
});

describe("messages that are not text", () => {
  const unreadable = "I can only read typed messages and taps on my buttons.";

  it("answers media, stickers, locations, edits and other taps with the menu, and makes a first sender a wallet", async () => {
    const person = new Person(gateway);
    const [first] = await person.send({ type: "sticker", sticker: { id: "1", mime_type: "image/webp" } });
    expect(readable(first!)).toContain(unreadable);
    expect((first!.message as { type: string }).type).toBe("list");
    expect(await sql`select 1 from public.whatsapp_contacts where wa_id = ${person.waId}`).toHaveLength(1);
    for (
      const message of [
        { type: "image", image: { id: "1", mime_type: "image/jpeg", caption: "my receipt" } },
        { type: "audio", audio: { id: "1", mime_type: "audio/ogg", voice: true } },
        { type: "location", location: { latitude: 0.3476, longitude: 32.5825 } },
        { type: "contacts", contacts: [{ name: { formatted_name: "Bob" }, phones: [{ phone: "+256 772 123456" }] }] },
        { type: "unsupported", errors: [{ code: 131051, title: "Message type unknown", error_data: { details: "edit" } }] },
        { type: "interactive", interactive: { type: "nfm_reply", nfm_reply: { response_json: "{}", body: "Sent" } } },
      ]
    ) {
      expect((await person.send(message)).map(readable), message.type).toEqual([expect.stringContaining(unreadable)]);
    }
  });

  it("welcomes a person who opens the chat, and says nothing to a reaction, one taken back or a system notice", async () => {
    const person = await newcomer();
    expect((await person.send({ type: "request_welcome" })).map(readable)).toEqual([expect.stringContaining("Welcome to mfuko")]);
    // A thumbs-up on "Sent ..." asks nothing: no menu comes back.
    expect(await person.send({ type: "reaction", reaction: { message_id: "wamid.earlier", emoji: "\u{1F44D}" } })).toEqual([]);
    expect(await person.send({ type: "reaction", reaction: { message_id: "wamid.earlier" } })).toEqual([]);
    expect(
      await person.send({
        type: "system",
        system: { body: "User changed number", type: "user_changed_number", new_wa_id: newWaId() },
      }),
    ).toEqual([]);
  });
});

describe("a person who changes their WhatsApp number", () => {
  const changedNumber = (person: Person, to: string) =>
    person.send({ type: "system", system: { body: `User changed from ${person.waId} to ${to}`, type: "user_changed_number", wa_id: to } });

  it("keeps their wallet at the new number, and the old number reaches nothing of theirs", async () => {
    const [person, friend] = [await newcomer(5_000), await newcomer(1_000)];
    const { id: account } = await accountOf(person);
    await person.say("stop");
    const newNumber = newWaId();
    expect(await changedNumber(person, newNumber)).toEqual([]);
    // Before the person writes from it, the new number is theirs: a friend can pay it, and their
    // "stop" holds there (no notice comes).
    const [question] = await friend.say(`send 400 ${newNumber}`);
    expect(readable(question!)).toMatch(/^Send 400 RWF to \+250 /);
    await friend.tap({ button: buttonId(question, "Confirm") });
    expect(gateway.graph.deliveredTo(newNumber)).toEqual([]);
    // Their first message from the new number is theirs: the same user, the same wallet.
    const moved = new Person(gateway, newNumber);
    expect((await moved.say("balance")).map(readable)).toEqual(["Your balance:\n5,400 RWF available"]);
    expect((await accountOf(moved)).id).toBe(account);
    // Whoever has the old number next (a carrier recycles it) starts with a wallet of their own.
    expect((await new Person(gateway, person.waId).say("balance")).map(readable)).toEqual(["Your balance:\n0 RWF available"]);
    // The notice delivered again finds nobody at the old number to move.
    expect(await changedNumber(person, newWaId())).toEqual([]);
    expect((await moved.say("balance")).map(readable)).toEqual(["Your balance:\n5,400 RWF available"]);
  });

  it("moves nobody when a notice already acted on is delivered again, once its old number is someone else's", async () => {
    const person = await newcomer(5_000);
    const newNumber = newWaId();
    const notice = inboundNotification(person.waId, person.name, [
      { type: "system", system: { body: "User changed number", type: "user_changed_number", wa_id: newNumber } },
    ]);
    expect((await person.deliver(notice)).status).toBe(200);
    // The person moves on to a third number, and a carrier recycles the first to someone else.
    expect(await changedNumber(new Person(gateway, newNumber), newWaId())).toEqual([]);
    const next = await newcomerAt(person.waId);
    await fund(next, 700);
    // The first notice again, signed as Meta signed it (WhatsApp's signature carries no time).
    expect((await person.deliver(notice)).status).toBe(200);
    expect((await next.say("balance")).map(readable)).toEqual(["Your balance:\n700 RWF available"]);
    expect(await sql`select 1 from public.whatsapp_contacts where wa_id = ${newNumber}`).toHaveLength(0);
  });

  /** Meta's notice that `from` changed to `to`, at `at` (unix seconds, Meta's clock). */
  const noticeAt = (from: Person, to: string, at: number) =>
    inboundNotification(from.waId, from.name, [
      { type: "system", timestamp: String(at), system: { body: "User changed number", type: "user_changed_number", wa_id: to } },
    ]);
  const changeRecord = (notice: string) =>
    sql<{ user_id: string | null; old_wa_id: string; new_wa_id: string; outcome: string; moved_to: string | null }[]>`
      select user_id, old_wa_id, new_wa_id, outcome, moved_to from public.whatsapp_number_changes where notice_wamid = ${notice}`;
  const wamidOf = (notice: ReturnType<typeof noticeAt>) => notice.entry[0]!.changes[0]!.value.messages[0]!.id;

  it("records each move as a row of its own, audited with the delivery's correlation id", async () => {
    const person = await newcomer(5_000);
    const [contact] = await sql<{ user_id: string }[]>`select user_id from public.whatsapp_contacts where wa_id = ${person.waId}`;
    const newNumber = newWaId();
    const at = Math.floor(Date.now() / 1000);
    const notice = noticeAt(person, newNumber, at);
    const delivered = await person.deliver(notice);
    expect(delivered.status).toBe(200);
    const id = wamidOf(notice);
    expect(await changeRecord(id)).toEqual([
      { user_id: contact!.user_id, old_wa_id: person.waId, new_wa_id: newNumber, outcome: "moved", moved_to: newNumber },
    ]);
    const audit = await sql<{ operation: string; correlation_id: string | null; noticed_at: string }[]>`
      select operation, correlation_id, new_record ->> 'noticed_at' as noticed_at from audit.log
       where table_name = 'whatsapp_number_changes' and new_record ->> 'notice_wamid' = ${id}`;
    expect(audit).toHaveLength(1);
    expect(audit[0]!.operation).toBe("INSERT");
    expect(audit[0]!.correlation_id).toBe(delivered.headers.get("x-correlation-id"));
    expect(audit[0]!.correlation_id).toMatch(/./);
    expect(new Date(audit[0]!.noticed_at).getTime()).toBe(at * 1000);
  });

  it("ends on the newest number when Meta delivers two changes out of order, and an older notice moves nobody", async () => {
    const person = await newcomer(5_000);
    const [second, third] = [newWaId(), newWaId()];
    const at = Math.floor(Date.now() / 1000);
    // The person moved from their number to `second`, then, a minute later, to `third`; Meta
    // delivers the later notice first. It finds nobody at `second` yet, and is kept.
    const later = noticeAt(new Person(gateway, second), third, at);
    expect((await new Person(gateway, second).deliver(later)).status).toBe(200);
    const earlier = noticeAt(person, second, at - 60);
    expect((await person.deliver(earlier)).status).toBe(200);
    // The person is at `third`, the number they hold, and `second` reaches nothing of theirs.
    const moved = new Person(gateway, third);
    expect((await moved.say("balance")).map(readable)).toEqual(["Your balance:\n5,000 RWF available"]);
    expect(await sql`select 1 from public.whatsapp_contacts where wa_id = ${second}`).toHaveLength(0);
    // A notice older than the move already made (a stale change from `third`) moves nobody.
    const stale = noticeAt(moved, newWaId(), at - 30);
    expect((await moved.deliver(stale)).status).toBe(200);
    expect((await moved.say("balance")).map(readable)).toEqual(["Your balance:\n5,000 RWF available"]);
    // Each notice is recorded with what it did: the later one kept, then followed by the earlier.
    expect((await changeRecord(wamidOf(earlier)))[0]).toMatchObject({ outcome: "moved", moved_to: third });
    expect((await changeRecord(wamidOf(later)))[0]).toMatchObject({ outcome: "moved", moved_to: third });
    expect((await changeRecord(wamidOf(stale)))[0]).toMatchObject({ outcome: "superseded", moved_to: null });
  });

  it("refuses a cash-out confirmed after the change: its question named the old number, which is paid nothing", async () => {
    const person = await newcomer(5_000);
    const [question] = await person.say("cashout 1000");
    const newNumber = newWaId();
    expect(await changedNumber(person, newNumber)).toEqual([]);
    // WhatsApp moves the chat to the new number: the Confirm under the question comes from it.
    const moved = new Person(gateway, newNumber);
    expect((await moved.tap({ button: buttonId(question, "Confirm") })).map(readable)).toEqual([
      "Your WhatsApp number changed after you asked, so this cash-out to your old number was not made. " +
      "Nothing was sent. Ask again from your new number.",
    ]);
    const { id: account, available } = await accountOf(moved);
    expect(available).toBe(5_000);
    expect(await sql`select 1 from public.cashouts where account_id = ${account}::uuid`).toHaveLength(0);
  });

  it("moves nothing when the new number already has a user of its own, and logs it for support", async () => {
    const [person, other] = [await newcomer(5_000), await newcomer()];
    expect(await changedNumber(person, other.waId)).toEqual([]);
    expect((await person.say("balance")).map(readable)).toEqual(["Your balance:\n5,000 RWF available"]);
    expect((await other.say("balance")).map(readable)).toEqual(["Your balance:\n0 RWF available"]);
    const log = readFileSync(gateway.logFile, "utf8");
    expect(log).toContain('"outcome":"new_number_taken"');
    expect(log).not.toContain(other.waId);
  });
});

describe("delivery", () => {
  it("does not act on a payment request that Meta delivers after a newer message of the sender's", async () => {
    const [payer, payee] = [await newcomer(1_000), await newcomer()];
    const now = Math.floor(Date.now() / 1000);
    const [newer] = await payer.send({ ...textOf(`send 200 ${payee.waId}`), timestamp: String(now) });
    // Written 30 s before, delivered after: it would have replaced the newer question.
    expect((await payer.send({ ...textOf(`send 100 ${payee.waId}`), timestamp: String(now - 30) })).map(readable)).toEqual([
      "A newer message of yours reached mfuko before this one, so this one was not acted on and nothing was done. " +
      "If you still want it, write it again.",
    ]);
    expect((await payer.send({ ...textOf("topup 3000"), timestamp: String(now - 30) })).map(readable)).toEqual([
      expect.stringMatching(/^A newer message of yours reached mfuko before this one/),
    ]);
    expect((await payer.tap({ button: buttonId(newer, "Confirm") })).map(readable)).toEqual([expect.stringMatching(/^Sent 200 RWF/)]);
    const [intents] = await sql<{ n: number }[]>`
      select count(*)::int as n from public.payment_intents where account_id = ${(await accountOf(payer)).id}::uuid`;
    expect(intents!.n).toBe(0);
  });

  it("does not act on a message to another business number of the same Meta app, nor answer it from mfuko's", async () => {
    // Meta sends every number's webhooks to the app's one callback URL (its test number's too).
    const person = new Person(gateway);
    const payload = inboundNotification(person.waId, "Elsewhere", [textOf("topup 5000")]);
    payload.entry[0]!.changes[0]!.value.metadata.phone_number_id = "199999999999999";
    expect((await person.deliver(payload)).status).toBe(200);
    expect(gateway.graph.deliveredTo(person.waId)).toEqual([]);
    expect(await sql`select 1 from public.whatsapp_contacts where wa_id = ${person.waId}`).toHaveLength(0);
    // Kept as received, for the record.
    expect(await sql`select 1 from public.whatsapp_messages where sender = ${person.waId}`).toHaveLength(1);
  });

  it("does not count a message to another business number as a newer one of the sender's", async () => {
    const [payer, payee] = [await newcomer(1_000), await newcomer()];
    const now = Math.floor(Date.now() / 1000);
    const elsewhere = inboundNotification(payer.waId, "Elsewhere", [{ ...textOf("hello"), timestamp: String(now + 60) }]);
    elsewhere.entry[0]!.changes[0]!.value.metadata.phone_number_id = "199999999999999";
    expect((await payer.deliver(elsewhere)).status).toBe(200);
    // Written to mfuko before the other message, delivered after it: nothing of mfuko's overtook it.
    expect((await payer.send({ ...textOf(`send 100 ${payee.waId}`), timestamp: String(now + 30) })).map(readable)).toEqual([
      expect.stringMatching(/^Send 100 RWF to /),
    ]);
  });

  it("keeps a message from a person whose number Meta withholds (a username) and still answers the others of the delivery", async () => {
    const person = await newcomer();
    const payload = inboundNotification(person.waId, "Known", [textOf("balance")]);
    const hidden = { id: wamid(), from_user_id: "RW.1502576394655843", timestamp: String(Math.floor(Date.now() / 1000)), ...textOf("hi") };
    (payload.entry[0]!.changes[0]!.value.messages as Record<string, unknown>[]).unshift(hidden);
    (payload.entry[0]!.changes[0]!.value.contacts as Record<string, unknown>[]).unshift({
      profile: { name: "Hidden", username: "@hidden" },
      user_id: hidden.from_user_id,
    });
    const before = gateway.graph.deliveredTo(person.waId).length;
    expect((await person.deliver(payload)).status).toBe(200);
    expect(gateway.graph.deliveredTo(person.waId).slice(before).map(readable)).toEqual(["Your balance:\n0 RWF available"]);
    // Stored without a number; mfuko, which serves phone numbers only, does not act on it.
    expect(await sql`select sender, body from public.whatsapp_messages where wamid = ${hidden.id}`).toEqual([{ sender: null, body: "hi" }]);
  });

  it("answers a replayed webhook (the same wamid) once", async () => {
    const person = await newcomer();
    const payload = inboundNotification(person.waId, "Replay", [textOf("balance")]);
    const before = gateway.graph.deliveredTo(person.waId).length;
    for (let i = 0; i < 3; i++) expect((await person.deliver(payload)).status).toBe(200);
    expect(gateway.graph.deliveredTo(person.waId).length - before).toBe(1);
  });

  it("answers concurrent messages of one sender each once", async () => {
    const person = await newcomer(1_000);
    const before = gateway.graph.deliveredTo(person.waId).length;
    await Promise.all(["balance", "history", "balance", "hi"].map((text) => person.say(text)));
    const answers = gateway.graph.deliveredTo(person.waId).slice(before).map(readable);
    expect(answers.filter((a) => a === "Your balance:\n1,000 RWF available")).toHaveLength(2);
    expect(answers).toHaveLength(4);
  });

  it(`limits each sender to ${SENDER_LIMIT} messages a minute, and only that sender`, async () => {
    const [busy, other] = [new Person(gateway), new Person(gateway)];
    await startWithRoomInWindow();
    const response = await busy.deliver(
      inboundNotification(busy.waId, "Busy", Array.from({ length: SENDER_LIMIT + 5 }, () => textOf("balance"))),
    );
    expect(response.status).toBe(200);
    expect(gateway.graph.deliveredTo(busy.waId)).toHaveLength(SENDER_LIMIT);
    expect(await other.say("balance")).toHaveLength(1);
  });

  it("logs no phone number and no message body", async () => {
    const person = new Person(gateway);
    const secretWords = `balance ${crypto.randomUUID()}`;
    await person.say(secretWords);
    const log = readFileSync(gateway.logFile, "utf8");
    expect(log).not.toContain(person.waId);
    expect(log).not.toContain(secretWords);
  });
});

describe("a number MoMo cannot pay", () => {
  // WhatsApp serves numbers of 7 digits with the country code (Niue's +683 xxxx); a MoMo
  // transfer (cashout_create, whatsapp_pending_payments.msisdn) or request-to-pay needs 8 to 15.
  it("refuses a cash-out to a 7-digit number in words, and keeps nothing pending", async () => {
    const person = await newcomerAt(`6834${String(randomInt(1_000)).padStart(3, "0")}`);
    await fund(person, 5_000);
    expect((await person.say("cashout 1000")).map(readable)).toEqual([
      `MoMo cannot pay +683 ${person.waId.slice(3)}, so mfuko cannot cash out to it. Nothing was sent.`,
    ]);
    const [pending] = await sql<{ n: number }[]>`
      select count(*)::int as n from public.whatsapp_pending_payments where from_account_id = ${(await accountOf(person)).id}::uuid`;
    expect(pending!.n).toBe(0);
  });

  it("refuses a top-up from a 7-digit number in words, and starts nothing", async () => {
    const person = await newcomerAt(`6835${String(randomInt(1_000)).padStart(3, "0")}`);
    expect((await person.say("topup 1000")).map(readable)).toEqual([
      `MoMo cannot ask +683 ${person.waId.slice(3)} for money, so mfuko cannot top up from it. No top-up was started.`,
    ]);
    const [intents] = await sql<{ n: number }[]>`
      select count(*)::int as n from public.payment_intents where account_id = ${(await accountOf(person)).id}::uuid`;
    expect(intents!.n).toBe(0);
  });
});

describe("balance", () => {
  it("names the money held and what it is held for, and adds up to what the person owns", async () => {
    const person = await newcomer(5_000);
    const [question] = await person.say("cashout 1000");
    await person.tap({ button: buttonId(question, "Confirm") });
    const { id } = await accountOf(person);
    await asServiceRole(sql, (tx) => tx`select public.wallet_hold(${id}::uuid, 500, 'RWF', ${`dispute:stripe:dp_${randomInt(1e9)}`})`);
    expect((await person.say("balance")).map(readable)).toEqual([
      "Your balance:\n3,500 RWF available, 1,000 RWF held for a cash-out under way, 500 RWF held for a disputed card payment",
    ]);
    const [cashOut] = await sql<{ reference_id: string }[]>`select reference_id::text from public.cashouts where account_id = ${id}::uuid`;
    expect(await gateway.momo.decide(cashOut!.reference_id, "SUCCESSFUL")).toBe(200);
    expect(readable((await person.say("balance"))[0]!)).toBe(
      "Your balance:\n3,500 RWF available, 500 RWF held for a disputed card payment",
    );
  });
});

describe("when MoMo refuses", () => {
  it("tells the sender why in words, not MoMo's code: a top-up took nothing, a cash-out's money is back", async () => {
    const person = await newcomer(5_000);
    const payerUnknown = { status: 400, body: { code: "PAYER_NOT_FOUND", message: "Payer does not exist" } };
    const [topUp] = await whileAnswering(gateway.momo, "requestToPayBehaviour", payerUnknown, () => person.say("topup 3000"));
    expect(readable(topUp!)).toBe("MoMo refused the top-up of 3,000 RWF: the number is not registered for MoMo. No money was taken.");

    const [question] = await person.say("cashout 1000");
    const payeeBarred = { status: 400, body: { code: "PAYEE_NOT_ALLOWED_TO_RECEIVE", message: "The payee is unable to receive funds" } };
    const [refused] = await whileAnswering(
      gateway.momo,
      "transferBehaviour",
      payeeBarred,
      () => person.tap({ button: buttonId(question, "Confirm") }),
    );
    expect(readable(refused!)).toBe(
      "MoMo refused the cash-out of 1,000 RWF: the MoMo account cannot receive money. The money is back in your wallet.",
    );
    expect((await accountOf(person)).available).toBe(5_000);
  });

  it("a repeated Confirm of a cash-out says what became of it: refused and back in the wallet, not cashed out", async () => {
    const person = await newcomer(5_000);
    const [question] = await person.say("cashout 1000");
    const confirm = { button: buttonId(question, "Confirm") };
    const payeeBarred = { status: 400, body: { code: "PAYEE_NOT_ALLOWED_TO_RECEIVE", message: "The payee is unable to receive funds" } };
    await whileAnswering(gateway.momo, "transferBehaviour", payeeBarred, () => person.tap(confirm));
    expect((await person.tap(confirm)).map(readable)).toEqual([
      "You already confirmed this: MoMo refused the cash-out of 1,000 RWF and the money is back in your wallet. Nothing was sent again.",
    ]);
    expect((await accountOf(person)).available).toBe(5_000);
  });
});

describe("when a top-up or cash-out cannot be sent at once", () => {
  // A fault after the request committed (here the callback URL MoMo needs is misconfigured):
  // a cash-out's hold stands and momo-poll sends the transfer later; a top-up was never asked.
  let faulty: WhatsAppGateway;
  beforeAll(async () => {
    faulty = await startWhatsAppGateway({ PUBLIC_FUNCTIONS_URL: "not-a-url" });
  });
  afterAll(() => faulty?.stop());

  it("tells the sender a top-up may not have started, not nothing", async () => {
    const person = new Person(faulty, newWaId());
    await person.say("hi");
    expect((await person.say("topup 3000")).map(readable)).toEqual([
      "mfuko could not reach MoMo just now, so the top-up of 3,000 RWF may not have started. " +
      "If your phone asks you to approve it, do: you will be told when it is received. Otherwise try again in a few minutes.",
    ]);
    const [intent] = await sql<{ id: string }[]>`
      select id from public.payment_intents where account_id = ${(await accountOf(person)).id}::uuid`;
    expect(faulty.momo.requestsToPay.has(intent!.id)).toBe(false);
  });

  it("tells the sender the cash-out is held and pending, not nothing", async () => {
    const person = new Person(faulty, newWaId());
    await person.say("hi");
    await fund(person, 5_000);
    const [question] = await person.say("cashout 1000");
    const answers = await person.tap({ button: buttonId(question, "Confirm") });
    const [cashOut] = await sql<{ reference_id: string; status: string }[]>`
      select reference_id::text, status from public.cashouts where account_id = ${(await accountOf(person)).id}::uuid`;
    try {
      expect(answers.map(readable)).toEqual([
        "Your cash-out of 1,000 RWF is held and pending: you will be told when it is paid, or when the money is back in your wallet.",
      ]);
      expect(cashOut!.status).toBe("pending");
      expect(faulty.momo.transfers.has(cashOut!.reference_id)).toBe(false);
      expect((await accountOf(person)).available).toBe(4_000);
    } finally {
      await asServiceRole(sql, (tx) => tx`select public.cashout_settle(${cashOut!.reference_id}::uuid, 'FAILED', 'test over')`);
    }
  });
});

describe("a delivery with an event that fails", () => {
  // Meta sends a person's messages and the statuses of mfuko's messages in one notification; an
  // event the database refuses fails alone (the delivery is answered 500 and redelivered), and
  // the rest commits. A top-up that committed is a duplicate in the redelivery: if its MoMo
  // request were not made now, it would never be, and the person would hear nothing.
  it("still asks MoMo for a committed top-up and answers it, while the delivery is answered 500", async () => {
    const person = await newcomer();
    const earlier = wamid();
    await person.send({ ...textOf("balance"), id: earlier });
    const delivery = inboundNotification(person.waId, person.name, [textOf("topup 3000")]);
    // A delivery status for a message the person sent: a contradiction the database refuses.
    Object.assign(delivery.entry[0]!.changes[0]!.value, {
      statuses: [{ id: earlier, status: "delivered", timestamp: String(Math.floor(Date.now() / 1000)) }],
    });
    const before = gateway.graph.deliveredTo(person.waId).length;
    expect((await person.deliver(delivery)).status).toBe(500);
    const [intent] = await sql<{ id: string; status: string }[]>`
      select id, status from public.payment_intents where account_id = ${(await accountOf(person)).id}::uuid`;
    expect(gateway.momo.requestsToPay.get(intent!.id)?.body).toMatchObject({ amount: "3000", currency: "RWF" });
    expect(intent!.status).toBe("processing");
    expect(gateway.graph.deliveredTo(person.waId).slice(before).map(readable)).toEqual([
      expect.stringMatching(/^MoMo is asking \+250 .* to approve 3,000 RWF: approve it on your phone\./),
    ]);
  });
});

describe("when MoMo does not answer", () => {
  it("tells the sender a top-up may not have started and how it ends, and that a cash-out stays held and pending", async () => {
    const person = await newcomer(5_000);
    try {
      gateway.momo.requestToPayBehaviour = { status: 500, body: {} };
      const [topUp] = await person.say("topup 3000");
      expect(readable(topUp!)).toBe(
        "MoMo is not answering right now, so the top-up of 3,000 RWF may not have started. " +
          "If your phone asks you to approve it, do: you will be told when it is received. Otherwise try again in a few minutes.",
      );
      gateway.momo.transferBehaviour = { status: 500, body: {} };
      const [question] = await person.say("cashout 1000");
      const [held] = await person.tap({ button: buttonId(question, "Confirm") });
      expect(readable(held!)).toBe(
        "MoMo is not answering right now. Your cash-out of 1,000 RWF is held and pending: " +
          "you will be told when it is paid, or when the money is back in your wallet.",
      );
      expect((await accountOf(person)).available).toBe(4_000);
      expect((await person.tap({ button: buttonId(question, "Confirm") })).map(readable)).toEqual([
        "You already confirmed this: your cash-out of 1,000 RWF is held and pending, sent once, not again. " +
        "You will be told when it is paid, or when the money is back in your wallet.",
      ]);
    } finally {
      gateway.momo.requestToPayBehaviour = "accept";
      gateway.momo.transferBehaviour = "accept";
    }
  });
});
