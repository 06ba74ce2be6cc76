// Shared pieces of the WhatsApp platform tests: fresh senders, the service_role request
// context the functions use, and rows of the outbox read back.
import type postgres from "postgres";
import type { RequestContext } from "../../functions/_shared/db.ts";
import { createLogger, type LogSink } from "../../functions/_shared/logger.ts";
import { createWhatsAppClient, type WhatsAppClient } from "../../functions/_shared/providers/whatsapp/client.ts";
import type { SenderDependencies } from "../../functions/_shared/providers/whatsapp/outbox-sender.ts";
import type { GraphApiStandIn } from "./graph-api-standin.ts";

/** A WhatsApp id nobody has used yet (E.164 digits, Rwandan-shaped). */
export const newWaId = (): string => `2507${String(Math.floor(Math.random() * 1e8)).padStart(8, "0")}`;

export const serviceContext = (correlationId = `test-${crypto.randomUUID()}`): RequestContext => ({
  role: "service_role",
  claims: { role: "service_role" },
  headers: {},
  correlationId,
  clientAddress: "127.0.0.1",
});

/** What sendOutboxMessages needs to send through the Graph API stand-in `graph`. */
export function standInSender(
  sql: postgres.Sql,
  graph: GraphApiStandIn,
  options: {
    notifyTemplate?: string | null;
    notifyTemplateWithText?: boolean;
    client?: WhatsAppClient;
    log?: LogSink;
    timeoutMs?: number;
    leaseSeconds?: number;
  } = {},
): SenderDependencies {
  return {
    sql,
    context: serviceContext(),
    logger: createLogger(options.log ?? (() => undefined)),
    whatsapp: {
      client: options.client ??
        createWhatsAppClient({
          baseUrl: graph.url,
          phoneNumberId: graph.phoneNumberId,
          accessToken: graph.accessToken,
          timeoutMs: options.timeoutMs ?? 10_000,
        }),
      notifyTemplate: options.notifyTemplate === undefined ? "mfuko_notification" : options.notifyTemplate,
      notifyTemplateWithText: options.notifyTemplateWithText ?? false,
      leaseSeconds: options.leaseSeconds ?? 30,
    },
  };
}

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
export function enqueue(sql: postgres.Sql, waId: string, text: string, purpose: "reply" | "notification" = "reply"): Promise<string> {
  return sql.begin(async (tx) => {
    await tx`set local role service_role`;
    await tx`select set_config('request.jwt.claims', '{"role":"service_role"}', true)`;
    const [row] = await tx<{ id: string }[]>`
      select private.whatsapp_enqueue(${waId}, 'text', ${tx.json({ type: "text", text: { body: text } })}, ${purpose}) as id`;
    return row!.id;
  }) as Promise<string>;
}

/**
 * The contact of `waId`, a new user whose confirmed phone it is, who last wrote to us `hoursAgo`
 * hours ago (Meta's 24-hour window runs from then). Written as the conversation writes it.
 */
export async function contactWhoWrote(sql: postgres.Sql, waId: string, hoursAgo: number): Promise<void> {
  await sql.begin(async (tx) => {
    const [user] = await tx<{ id: string }[]>`
      insert into auth.users (id, phone, phone_confirmed_at) values (gen_random_uuid(), ${waId}, now()) returning id`;
    await tx`
      insert into public.whatsapp_contacts (wa_id, user_id, last_inbound_at)
      values (${waId}, ${user!.id}::uuid, now() - make_interval(secs => ${hoursAgo * 3600}::double precision))`;
  });
}
