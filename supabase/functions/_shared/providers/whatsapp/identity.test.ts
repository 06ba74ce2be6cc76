// Identity on the real database through the local Auth Admin API with supabase-js: the first
// message makes the Auth user (as Supabase Auth stores it), the contact and the wallet
// account; later ones find them; concurrent first messages make one user; a person who signed
// up in an app first and confirmed the phone keeps that user; a number held by a sign-up that
// never confirmed it is linked to nobody; an Admin API that refuses is an error, nothing written.
import "../../../../tests/support/functions-env.ts";
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { newWaId, serviceContext } from "../../../../tests/support/whatsapp-fixtures.ts";
import { ProviderError } from "../errors.ts";
import { authAdminFromEnv, createAuthAdmin, ensureContact, type IdentityDependencies } from "./identity.ts";

const sql = postgres(process.env.MFUKO_TEST_DB_URL!, { max: 4, onnotice: () => undefined });
afterAll(() => sql.end());

const deps = (): IdentityDependencies => ({ sql, context: serviceContext(), authAdmin: authAdminFromEnv(), defaultCurrency: "RWF" });

const usersWithPhone = (waId: string) =>
  sql<{ id: string; phone: string; aud: string; role: string; confirmed: boolean; app: unknown }[]>`
  select id, phone, aud, role, phone_confirmed_at is not null as confirmed, raw_app_meta_data as app from auth.users where phone = ${waId}`;
const accountsOf = (userId: string) =>
  sql<{ currency: string }[]>`select currency from public.wallet_accounts where owner_id = ${userId}::uuid`;

describe("ensureContact", () => {
  it("first contact: an Auth user as Supabase Auth writes it, the contact and a wallet account in the default currency", async () => {
    const waId = newWaId();
    const contact = (await ensureContact(deps(), { waId, profileName: "Amina" }))!;
    expect(contact).toEqual({ userId: expect.any(String), optedOut: false, created: true });
    expect(await usersWithPhone(waId)).toEqual([{
      id: contact.userId,
      phone: waId,
      aud: "authenticated",
      role: "authenticated",
      confirmed: true,
      app: { provider: "phone", providers: ["phone"] },
    }]);
    const [row] =
      await sql`select user_id, profile_name, language, last_inbound_at is not null as seen from public.whatsapp_contacts where wa_id = ${waId}`;
    expect(row).toEqual({ user_id: contact.userId, profile_name: "Amina", language: "en", seen: true });
    expect(await accountsOf(contact.userId)).toEqual([{ currency: "RWF" }]);
  });

  it("a later message finds the contact, records the new profile name, and opens nothing", async () => {
    const waId = newWaId();
    const first = (await ensureContact(deps(), { waId, profileName: "Amina" }))!;
    await sql`update public.whatsapp_contacts set last_inbound_at = now() - interval '1 day' where wa_id = ${waId}`;
    const again = await ensureContact(deps(), { waId, profileName: "Amina K." });
    expect(again).toEqual({ userId: first.userId, optedOut: false, created: false });
    const [row] =
      await sql`select profile_name, last_inbound_at > now() - interval '1 minute' as fresh from public.whatsapp_contacts where wa_id = ${waId}`;
    expect(row).toEqual({ profile_name: "Amina K.", fresh: true });
    expect(await usersWithPhone(waId)).toHaveLength(1);
    expect(await accountsOf(first.userId)).toHaveLength(1);
  });

  it("ten first messages of one new sender at once make one user, one contact and one account", async () => {
    const waId = newWaId();
    const contacts = await Promise.all(Array.from({ length: 10 }, () => ensureContact(deps(), { waId, profileName: null })));
    const userIds = new Set(contacts.map((c) => c!.userId));
    expect(userIds.size).toBe(1);
    expect(contacts.filter((c) => c!.created)).toHaveLength(1);
    expect(await usersWithPhone(waId)).toHaveLength(1);
    const [count] = await sql<{ n: number }[]>`select count(*)::int as n from public.whatsapp_contacts where wa_id = ${waId}`;
    expect(count!.n).toBe(1);
    expect(await accountsOf([...userIds][0]!)).toEqual([{ currency: "RWF" }]);
  });

  it("a person who signed up in an app by phone first and confirmed it keeps that user", async () => {
    const waId = newWaId();
    const { data } = await authAdminFromEnv().createUser({ phone: `+${waId}`, phone_confirm: true });
    const contact = await ensureContact(deps(), { waId, profileName: null });
    expect(contact).toMatchObject({ userId: data.user!.id, created: true });
    expect(await usersWithPhone(waId)).toHaveLength(1);
  });

  it("a number held by a sign-up that never confirmed it (anyone's number will do) is linked to nobody: null, nothing written", async () => {
    const waId = newWaId();
    const { data } = await authAdminFromEnv().createUser({ phone: `+${waId}`, phone_confirm: false });
    expect(await ensureContact(deps(), { waId, profileName: "Amina" })).toBeNull();
    expect(await usersWithPhone(waId)).toEqual([expect.objectContaining({ id: data.user!.id, confirmed: false })]);
    const [count] = await sql<{ n: number }[]>`select count(*)::int as n from public.whatsapp_contacts where wa_id = ${waId}`;
    expect(count!.n).toBe(0);
    expect(await accountsOf(data.user!.id)).toEqual([]);
  });

  it("an Auth Admin API that refuses (a key without the service role) is a ProviderError and writes nothing", async () => {
    const waId = newWaId();
    const refusing = createAuthAdmin(process.env.SUPABASE_URL!, "not-a-service-role-key-at-all-0123456789");
    const error = await ensureContact({ ...deps(), authAdmin: refusing }, { waId, profileName: null }).catch((e) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.httpStatus).toBe(401);
    expect(await usersWithPhone(waId)).toHaveLength(0);
    const [count] = await sql<{ n: number }[]>`select count(*)::int as n from public.whatsapp_contacts where wa_id = ${waId}`;
    expect(count!.n).toBe(0);
  });
});
