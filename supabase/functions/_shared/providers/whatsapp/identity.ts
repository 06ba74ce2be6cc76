// Who a WhatsApp sender is: the Supabase Auth user who holds the sender's number as a
// confirmed phone. On first contact a sender whose number no user holds becomes one, created
// through the Auth Admin API with supabase-js (auth.admin.createUser with the phone,
// confirmed: writing from the number proves it), so that the same person signing into an app
// later by phone OTP is the same user; the contact row and the wallet account in
// WHATSAPP_DEFAULT_CURRENCY follow in one transaction (private.whatsapp_contact_open).
// Concurrent first messages from one sender make one user: the Admin API refuses the second
// phone (phone_exists) and that sender's contact is then opened for the user who has it now.
// A number held by a user who never confirmed it (an app sign-up with a password, which
// anyone can make with someone else's number) is linked to nobody: Auth refuses a second user
// with that phone, so the sender is refused until an operator resolves it (docs/WHATSAPP.md).
// A person who changes their WhatsApp number takes their user with them: Meta's signed notice
// (user_changed_number) moves the user's confirmed phone to the new number (moveContactNumber).
import { AuthAdminApi } from "@supabase/supabase-js";
import { type RequestContext, type Sql, withRequestContext } from "../../db.ts";
import { env, once } from "../../env.ts";
import { ProviderError } from "../errors.ts";

type AdminAnswer = Promise<{
  data: { user: { id: string } | null };
  error: { status?: number; code?: string; message: string } | null;
}>;

/** The Admin API calls identity needs (supabase-js's auth.admin satisfies it). */
export interface AuthAdmin {
  createUser(attributes: { phone: string; phone_confirm: boolean }): AdminAnswer;
  updateUserById(id: string, attributes: { phone: string; phone_confirm: boolean }): AdminAnswer;
}

export interface IdentityDependencies {
  sql: Sql;
  /** The request's context as service_role (the audit sees the webhook's correlation id). */
  context: RequestContext;
  authAdmin: AuthAdmin;
  /** The currency of the wallet account a first contact opens (WHATSAPP_DEFAULT_CURRENCY). */
  defaultCurrency: string;
}

export interface Contact {
  userId: string;
  optedOut: boolean;
  /** Whether this call created the contact (its first message). */
  created: boolean;
}

/**
 * The contact of `waId` (E.164 digits), created with its Auth user and wallet account on
 * first contact; a later message records its time and the profile name. Null when an Auth
 * user holds the number without having confirmed it: nothing is written and the sender is
 * not to be served. Throws a ProviderError when the Auth Admin API cannot create the user.
 */
export async function ensureContact(
  deps: IdentityDependencies,
  sender: { waId: string; profileName: string | null },
): Promise<Contact | null> {
  // One transaction; null when no user holds the number as a confirmed phone.
  const open = () =>
    withRequestContext(deps.sql, deps.context, async (tx) => {
      const [row] = await tx<{ user_id: string; opted_out: boolean; created: boolean }[]>`
        select user_id, opted_out, created
          from private.whatsapp_contact_open(${sender.waId}, ${sender.profileName}, ${deps.defaultCurrency})`;
      return row ? { userId: row.user_id, optedOut: row.opted_out, created: row.created } : null;
    });

  const known = await open();
  if (known) return known;

  const { error } = await deps.authAdmin.createUser({ phone: `+${sender.waId}`, phone_confirm: true });
  if (error && error.code !== "phone_exists") throw adminError("create the user", error);
  // phone_exists: another message of this sender made the user in the meantime (confirmed:
  // the contact opens), or a user who never confirmed the number holds it (null).
  const contact = await open();
  if (!contact && !error) throw new Error("the Auth Admin API created the user without the phone confirmed");
  return contact;
}

function adminError(what: string, error: { status?: number; code?: string }): ProviderError {
  return new ProviderError(
    "supabase_auth",
    `The Auth Admin API did not ${what}: ${error.code ?? error.status ?? "error"}`,
    error.status ?? null,
    error.code ?? null,
  );
}

/**
 * What a number change did: "moved" the user to the new number (or to a newer one, when a newer
 * notice from the new number came first); "no_contact" when the old number reaches nobody (a
 * notice delivered again finds the user moved, or a newer notice came before the older one: it
 * is recorded, and the older one follows it); "superseded" when a newer notice of the user's
 * moved them already (Meta delivered the two out of order), so nothing changed;
 * "new_number_taken" when another Auth user already holds the new number (the person wrote from
 * it first, which made a user of its own), so nothing changed; "replayed" when the notice itself
 * is stored already: it was acted on when it first came, and acted on again (a replay of its
 * signed delivery, which carries no time) it would move whoever holds its old number since.
 * Each but "replayed" is a row of public.whatsapp_number_changes, written in the request's
 * context, so that the audit trail names the delivery that moved a wallet.
 */
export type NumberChange = "moved" | "no_contact" | "superseded" | "new_number_taken" | "replayed";

/**
 * The person of `from`'s contact changed their WhatsApp number to `to`, as Meta's signed
 * user_changed_number notice says (WhatsApp verified `to` and the person held `from`): their
 * Auth user's confirmed phone becomes `to`. The contact of `from` goes with the old phone
 * (whatsapp_contact_follow_phone), so whoever gets `from` next reaches nothing of theirs, and
 * the contact of `to` opens at once for the same user, with its WhatsApp name and its "stop"
 * (opted_out): friends can pay the new number and notices reach it before the person writes
 * from it, and a person who turned notifications off is not turned back on by a new SIM.
 * `notice` is the notice's wamid: a notice stored already moves nobody (its first delivery
 * did what it says). `at` is Meta's time of the notice (unix seconds): a notice older than one
 * that moved the user already moves nobody, and newer notices from `to` that came first are
 * followed to the number the person holds last (private.whatsapp_number_change_plan). Throws
 * a ProviderError when the Admin API cannot change the phone.
 */
export async function moveContactNumber(
  deps: IdentityDependencies,
  change: { from: string; to: string; notice: string; at: number },
): Promise<NumberChange> {
  const noticedAt = new Date(change.at * 1000);
  const [plan] = await withRequestContext(
    deps.sql,
    deps.context,
    (tx) =>
      tx<
        {
          outcome: NumberChange | "move";
          user_id: string | null;
          moved_to: string | null;
          chain: string[] | null;
          profile_name: string | null;
          opted_out: boolean | null;
        }[]
      >`
      select outcome, user_id, moved_to, chain, profile_name, opted_out
        from private.whatsapp_number_change_plan(${change.notice}, ${change.from}, ${change.to}, ${noticedAt})`,
  );
  if (plan!.outcome !== "move") return plan!.outcome;
  const userId = plan!.user_id!;
  const movedTo = plan!.moved_to!;
  // A chain that comes back to `from` leaves the phone as it is.
  if (movedTo !== change.from) {
    const { error } = await deps.authAdmin.updateUserById(userId, { phone: `+${movedTo}`, phone_confirm: true });
    if (error && error.code !== "phone_exists") throw adminError("change the phone", error);
    if (error) {
      await withRequestContext(deps.sql, deps.context, async (tx) => {
        await tx`select private.whatsapp_number_change_record(${change.notice}, ${change.from}, ${change.to}, ${noticedAt},
                   ${userId}::uuid, 'new_number_taken', null, null)`;
      });
      return "new_number_taken";
    }
  }
  await withRequestContext(deps.sql, deps.context, async (tx) => {
    await tx`select private.whatsapp_number_change_record(${change.notice}, ${change.from}, ${change.to}, ${noticedAt},
               ${userId}::uuid, 'moved', ${movedTo}, ${plan!.chain ?? []}::text[])`;
    await tx`select 1 from private.whatsapp_contact_open(${movedTo}, ${plan!.profile_name}, ${deps.defaultCurrency})`;
    await tx`select private.whatsapp_set_opted_out(${movedTo}, ${plan!.opted_out ?? false})`;
  });
  return "moved";
}

/**
 * The Admin API of `url` (the project's API) with `serviceRoleKey`, as createClient(url,
 * key).auth.admin builds it, without the session and realtime machinery a server does not use
 * (and which needs a WebSocket that Node 20 lacks).
 */
export function createAuthAdmin(url: string, serviceRoleKey: string): AuthAdmin {
  return new AuthAdminApi({
    url: `${url.replace(/\/+$/, "")}/auth/v1`,
    headers: { Authorization: `Bearer ${serviceRoleKey}`, apikey: serviceRoleKey },
  });
}

/** The Admin API of SUPABASE_URL with SUPABASE_SERVICE_ROLE_KEY, made once. */
export const authAdminFromEnv: () => AuthAdmin = once(() => {
  const e = env("SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY");
  return createAuthAdmin(e.SUPABASE_URL, e.SUPABASE_SERVICE_ROLE_KEY);
});
