// A step of the webhook's transaction taken as the sender: SET LOCAL ROLE authenticated with
// the sender's JWT claims, the way PostgREST runs a signed-in user's request, so that RLS, the
// ledger's own checks, the limits and the audit trail all see the user and not the service.
import type { TransactionSql } from "../../_shared/db.ts";

/**
 * Runs `fn` in a savepoint as `userId`, then gives the transaction back its role and claims.
 * When `fn` throws, rolling back the savepoint restores them (and undoes what `fn` wrote).
 */
export async function asUser<T>(tx: TransactionSql, userId: string, fn: (sp: TransactionSql) => Promise<T>): Promise<T> {
  const claims = JSON.stringify({ sub: userId, role: "authenticated", aud: "authenticated" });
  return await tx.savepoint(async (sp) => {
    const [before] = await sp<{ role: string; claims: string }[]>`
      select current_setting('role') as role, coalesce(current_setting('request.jwt.claims', true), '{}') as claims,
             set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${claims}, true)`;
    const result = await fn(sp);
    await sp`select set_config('role', ${before!.role}, true), set_config('request.jwt.claims', ${before!.claims}, true)`;
    return result;
  }) as T;
}
