// Crash drill (docs/TESTING.md): 16 clients transfer at random while the PostgreSQL server is
// killed with SIGKILL and restarted. Every transfer a client saw committed must be present
// afterwards, a retried key must never produce a second transfer, and the invariants hold.
// Five of the accounts keep their credits in balance shards.
import postgres from "postgres";
import type { PostgresCluster } from "@mfuko/local-stack/cluster";
import { checkLedgerInvariants } from "../../supabase/tests/support/ledger-invariants.ts";
import { createFundedAccounts } from "../lib/ledger-fixture.ts";
import type { DrillReport } from "./report.ts";

const clients = 16;
const accounts = 50;
const currency = "USD";

interface ClientOutcome {
  /** idempotency key -> transaction id, for every call that returned. */
  acknowledged: Map<string, string>;
  /** Keys whose call failed without an answer (the crash): retried with the same key. */
  retried: number;
  errors: number;
  /** Calls the ledger refused outright; with funded accounts there should be none. */
  refused: string[];
}

async function transferUntil(url: string, ids: string[], worker: number, run: string, stopAt: () => boolean): Promise<ClientOutcome> {
  const outcome: ClientOutcome = { acknowledged: new Map(), retried: 0, errors: 0, refused: [] };
  const sql = postgres(url, { max: 1, connect_timeout: 2, idle_timeout: 1, onnotice: () => {} });
  // A call that failed without an answer (it may or may not have committed) is retried with
  // the same key and parameters, as a careful client would: at most one transfer may result.
  type Call = { key: string; from: string; to: string };
  let pending: Call | null = null;
  for (let i = 0; !stopAt(); i++) {
    const from = ids[Math.floor(Math.random() * ids.length)];
    const call: Call = pending ??
      {
        key: `crash-${run}-${worker}-${i}`,
        from,
        to: ids[(ids.indexOf(from) + 1 + Math.floor(Math.random() * (ids.length - 1))) % ids.length],
      };
    try {
      const [row] = await sql<
        { id: string }[]
      >`select id from public.wallet_transfer(${call.from}, ${call.to}, 1, ${currency}, ${call.key})`;
      outcome.acknowledged.set(call.key, row.id);
      pending = null;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      // A ledger answer (WL..., 42...) is definite: nothing to retry, but nothing here should be refused.
      if (typeof code === "string" && /^(WL|42|23|22)/.test(code)) {
        outcome.refused.push(`${call.key}: ${code} ${(error as Error).message}`);
        pending = null;
        continue;
      }
      if (pending) outcome.retried++;
      pending = call;
      outcome.errors++;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  await sql.end({ timeout: 1 }).catch(() => {});
  return outcome;
}

/** Starts the crashed cluster again, waiting for its orphaned backends to let go of shared memory. */
async function restart(cluster: PostgresCluster): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      return await cluster.start();
    } catch (error) {
      if (attempt === 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

export async function crashDrill(cluster: PostgresCluster, options: { seconds: number }): Promise<DrillReport> {
  const admin = postgres(cluster.url, { max: 1, onnotice: () => {} });
  const { run, ids } = await createFundedAccounts(admin, { count: accounts, currency, funds: 1_000_000_000 });
  // Five hot accounts: their credits in flight at the crash are in shard rows, not account rows.
  for (const id of ids.slice(0, 5)) await admin`select public.wallet_set_balance_shards(${id}, 8)`;
  await admin.end();

  const deadline = Date.now() + options.seconds * 1000;
  const workers = Array.from({ length: clients }, (_, worker) => transferUntil(cluster.url, ids, worker, run, () => Date.now() > deadline));
  // Crash a third of the way in, while all 16 clients are mid-transfer; restart at once.
  await new Promise((resolve) => setTimeout(resolve, (options.seconds * 1000) / 3));
  await cluster.crash();
  await restart(cluster);
  const outcomes = await Promise.all(workers);

  const sql = postgres(cluster.url, { max: 1, onnotice: () => {} });
  try {
    const acknowledged = new Map(outcomes.flatMap((outcome) => [...outcome.acknowledged]));
    const present = await sql<{ idempotency_key: string; id: string }[]>`
      select idempotency_key, id from public.wallet_transactions where idempotency_key like ${`crash-${run}-%`}`;
    const stored = new Map(present.map((row) => [row.idempotency_key, row.id]));
    const failures: string[] = [];
    for (const [key, id] of acknowledged) {
      if (stored.get(key) !== id) failures.push(`lost: transfer ${id} (key ${key}) was acknowledged but is not in the ledger`);
    }
    failures.push(...outcomes.flatMap((outcome) => outcome.refused.map((refusal) => `refused: ${refusal}`)));
    const violations = await checkLedgerInvariants(sql);
    failures.push(...violations.map((violation) => `invariant ${violation.invariant}: ${violation.detail}`));
    return {
      name: "Crash (SIGKILL of PostgreSQL under load)",
      figures: {
        clients,
        "transfers acknowledged": acknowledged.size,
        "transfers in the ledger": stored.size,
        "calls that failed during the crash": outcomes.reduce((sum, outcome) => sum + outcome.errors, 0),
        "retries of unanswered calls": outcomes.reduce((sum, outcome) => sum + outcome.retried, 0),
        "invariant violations": violations.length,
      },
      failures,
    };
  } finally {
    await sql.end();
  }
}
