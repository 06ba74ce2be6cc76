// Shared pieces of the WhatsApp platform tests: fresh senders, the service_role request
// context the functions use, and rows of the outbox read back.
import type postgres from "postgres";
import type { RequestContext } from "../../functions/_shared/db.ts";

/** A WhatsApp id nobody has used yet (E.164 digits, Rwandan-shaped). */
export const newWaId = (): string => `2507${String(Math.floor(Math.random() * 1e8)).padStart(8, "0")}`;

export const serviceContext = (correlationId = `test-${crypto.randomUUID()}`): RequestContext => ({
  role: "service_role",
  claims: { role: "service_role" },
  headers: {},
  correlationId,
  clientAddress: "127.0.0.1",
});

export interface OutboxRow {
  id: string;
  kind: string;
  body: Record<string, unknown>;
  status: string;
  attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  wamid: string | null;
}

export async function outboxRow(sql: postgres.Sql, id: string): Promise<OutboxRow> {
  const [row] = await sql<OutboxRow[]>`
    select id, kind, body, status, attempts, next_attempt_at, last_error, wamid from public.whatsapp_outbox where id = ${id}::uuid`;
  return row!;
}

/** Queues a message as the service would, committed, and returns its id. */
export async function enqueue(sql: postgres.Sql, waId: string, text: string, purpose: "reply" | "notification" = "reply"): Promise<string> {
  return sql.begin(async (tx) => {
    await tx`set local role service_role`;
    await tx`select set_config('request.jwt.claims', '{"role":"service_role"}', true)`;
    const [row] = await tx<{ id: string }[]>`
      select private.whatsapp_enqueue(${waId}, 'text', ${tx.json({ type: "text", text: { body: text } })}, ${purpose}) as id`;
    return row!.id;
  }) as Promise<string>;
}
