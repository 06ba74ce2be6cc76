// The ledger invariants (private.ledger_invariants(), the same SQL the reconcile job runs),
// checked against the whole database. Used by the ledger tests, the benchmarks and the
// reliability drills: every one of them calls checkLedgerInvariants after its run and fails
// when a violation comes back. Needs a connection that may read schema private (the superuser).
import type { Sql } from "postgres";

export interface InvariantViolation {
  invariant: string;
  detail: string;
}

/** Every violation of the ledger invariants in the database `sql` points at (none: []). */
export function checkLedgerInvariants(sql: Sql): Promise<InvariantViolation[]> {
  return sql<InvariantViolation[]>`select invariant, detail from private.ledger_invariants()`;
}

/** Throws with a readable list when any invariant is violated. */
export async function assertLedgerInvariants(sql: Sql): Promise<void> {
  const violations = await checkLedgerInvariants(sql);
  if (violations.length > 0) {
    const lines = violations.slice(0, 20).map((v) => `- ${v.invariant}: ${v.detail}`);
    throw new Error(`ledger invariants violated (${violations.length}):\n${lines.join("\n")}`);
  }
}
