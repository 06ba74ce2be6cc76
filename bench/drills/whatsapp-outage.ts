// Provider outage drill (docs/TESTING.md), the Graph API part: messages are queued for 50 senders
// who wrote to mfuko a minute ago (so that their notifications go as text, not the template),
// the Graph API stand-in answers 500 to every send for a while, the whatsapp-send job runs
// through the outage (each message backs off), then the API recovers and two job runners at
// once drain the outbox. Every queued message must be delivered exactly once: none lost, none
// sent twice, none dead. Backoff is waited out by moving the drill's own rows' next attempt to
// now (as the momo-poll part ages its payments), so the drill takes seconds, not minutes.
import type postgres from "postgres";
import { TokenMinter } from "@mfuko/local-stack/tokens";
import type { DrillReport } from "./report.ts";
import { type DrillOptions, type Gateway, withPaymentsGateway } from "./payments-gateway.ts";

const senders = 50;
const messagesPerSender = 4;
const outageRuns = 2;

export function whatsAppOutageDrill(sql: postgres.Sql, options: DrillOptions): Promise<DrillReport> {
  return withPaymentsGateway(sql, options, {}, drill);
}

async function drill(sql: postgres.Sql, gateway: Gateway): Promise<DrillReport> {
  const serviceKey = await new TokenMinter(process.env.SUPABASE_JWT_SECRET!).apiKey("service_role");
  const runJob = async () => {
    const response = await fetch(`${gateway.url}/jobs/whatsapp-send`, {
      method: "POST",
      headers: { authorization: `Bearer ${serviceKey}` },
    });
    if (response.status !== 200) throw new Error(`whatsapp-send answered ${response.status}: ${await response.text()}`);
    return await response.json() as { taken: number; sent: number; retried: number; dead: number };
  };
  const marker = crypto.randomUUID().slice(0, 8);
  const waId = (s: number) => `2507${String(88_000_000 + s)}`;
  await sql.begin(async (tx) => {
    for (let s = 1; s <= senders; s += 1) {
      const [user] = await tx<{ id: string }[]>`
        insert into auth.users (id, phone, phone_confirmed_at) values (gen_random_uuid(), ${waId(s)}, now())
        on conflict (phone) do update set phone_confirmed_at = excluded.phone_confirmed_at returning id`;
      await tx`
        insert into public.whatsapp_contacts (wa_id, user_id, last_inbound_at) values (${waId(s)}, ${user!.id}::uuid, now())
        on conflict (wa_id) do update set last_inbound_at = now()`;
    }
  });
  const ids = await sql.begin(async (tx) => {
    await tx`set local role service_role`;
    await tx`select set_config('request.jwt.claims', '{"role":"service_role"}', true)`;
    const rows = await tx<{ id: string }[]>`
      select private.whatsapp_enqueue(
               '2507' || lpad((88000000 + s)::text, 8, '0'), 'text',
               jsonb_build_object('type', 'text', 'text', jsonb_build_object('body', ${marker} || ' message ' || m || ' to ' || s)),
               case when m % 2 = 0 then 'reply' else 'notification' end) as id
        from generate_series(1, ${senders}) s, generate_series(1, ${messagesPerSender}) m`;
    return rows.map((row) => row.id);
  }) as string[];
  const makeDue = () =>
    sql`
    update public.whatsapp_outbox set next_attempt_at = now() where id = any (${ids}::uuid[]) and status = 'queued'`;

  gateway.whatsapp.fail("server", { times: Number.POSITIVE_INFINITY });
  let retriedDuringOutage = 0;
  for (let run = 0; run < outageRuns; run += 1) {
    let taken = 0;
    do {
      const counts = await runJob();
      retriedDuringOutage += counts.retried;
      taken = counts.taken;
    } while (taken > 0);
    await makeDue();
  }
  const refusedCalls = gateway.whatsapp.requests.filter((r) => r.status === 500).length;

  gateway.whatsapp.recover();
  for (let round = 0; round < 10; round += 1) {
    const [a, b] = await Promise.all([runJob(), runJob()]);
    if (a.taken + b.taken === 0) break;
  }

  const states = await sql<{ status: string; n: number }[]>`
    select status, count(*)::int as n from public.whatsapp_outbox where id = any (${ids}::uuid[]) group by status`;
  const byStatus = Object.fromEntries(states.map((s) => [s.status, s.n]));
  const bodies = gateway.whatsapp.delivered
    .map((m) => (m.message as { body?: string }).body ?? "")
    .filter((body) => body.startsWith(marker));
  const distinct = new Set(bodies).size;
  const figures = {
    messages_queued: ids.length,
    graph_api_500s: refusedCalls,
    backoffs_during_outage: retriedDuringOutage,
    delivered: bodies.length,
    delivered_distinct: distinct,
    duplicates: bodies.length - distinct,
    lost: ids.length - distinct,
    sent_rows: byStatus.sent ?? 0,
    dead_rows: byStatus.dead ?? 0,
  };
  const failures: string[] = [];
  if (figures.lost > 0) failures.push(`${figures.lost} queued messages were never delivered`);
  if (figures.duplicates > 0) failures.push(`${figures.duplicates} messages were delivered more than once`);
  if (figures.sent_rows !== ids.length) {
    failures.push(`outbox rows by status: ${JSON.stringify(byStatus)} (all ${ids.length} should be sent)`);
  }
  if (retriedDuringOutage !== ids.length * outageRuns) {
    failures.push(`${retriedDuringOutage} backoffs during the outage, expected ${ids.length * outageRuns} (each message once per run)`);
  }
  return { name: "provider outage (Graph API)", figures, failures };
}
