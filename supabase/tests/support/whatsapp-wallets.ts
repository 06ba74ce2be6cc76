// The wallets of people writing to mfuko on WhatsApp, for the conversation tests: a person who
// has written "hi" (so has a contact and an RWF account), their account read by their number,
// and money deposited in it as a MoMo top-up would be.
import { asServiceRole, type Sql } from "./payments-fixtures.ts";
import { Person, type WhatsAppGateway } from "./whatsapp-conversation.ts";
import { newWaId } from "./whatsapp-messages.ts";

/** The RWF account of the user `person` writes as, and what is available in it. */
export async function accountOf(sql: Sql, person: Person): Promise<{ id: string; available: number }> {
  const [row] = await sql<{ id: string; available: string }[]>`
    select a.id, a.available::text from public.wallet_accounts a join public.whatsapp_contacts c on c.user_id = a.owner_id
     where c.wa_id = ${person.waId} and a.currency = 'RWF'`;
  return { id: row!.id, available: Number(row!.available) };
}

/** Deposits `amount` RWF in `person`'s account. */
export async function fund(sql: Sql, person: Person, amount: number): Promise<void> {
  const { id } = await accountOf(sql, person);
  await asServiceRole(sql, (tx) => tx`select public.wallet_deposit(${id}::uuid, ${amount}::bigint, 'RWF', 'momo', ${crypto.randomUUID()})`);
}

/** A person writing from `waId` who has written "hi". */
export async function newcomerAt(gateway: WhatsAppGateway, waId: string, name?: string): Promise<Person> {
  const person = new Person(gateway, waId, name);
  await person.say("hi");
  return person;
}

/** A person who has written "hi", with `funds` RWF in their account. */
export async function newcomer(sql: Sql, gateway: WhatsAppGateway, funds = 0, name?: string): Promise<Person> {
  const person = await newcomerAt(gateway, newWaId(), name);
  if (funds > 0) await fund(sql, person, funds);
  return person;
}
