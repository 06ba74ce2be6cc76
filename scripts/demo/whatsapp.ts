// The demo's WhatsApp conversation: two people who have never used mfuko write to it, through
// signed webhooks to the running stack; the replies are what the Graph API stand-in (on the
// port WHATSAPP_API_BASE_URL names) received for each of them, printed as the person reads them.
import type postgres from "postgres";
import { hmacSha256Hex } from "../../supabase/functions/_shared/hmac.ts";
import { type GraphApiStandIn, type GraphMessage, startGraphApiStandIn } from "../../supabase/tests/support/graph-api-standin.ts";
import type { MomoStandIn } from "../../supabase/tests/support/provider-standins.ts";
import { inboundNotification, newWaId, tapOf, textOf } from "../../supabase/tests/support/whatsapp-messages.ts";

export interface ConversationOptions {
  env: Record<string, string>;
  functionsUrl: string;
  sql: postgres.Sql;
  momo: MomoStandIn;
  /** A service_role key, to run the whatsapp-send job now rather than in up to 10 s. */
  serviceKey: string;
  show(text: string): void;
}

/** The Graph API stand-in where the stack's functions send WhatsApp messages. */
export function startDemoGraphApi(env: Record<string, string>): Promise<GraphApiStandIn> {
  const base = new URL(env.WHATSAPP_API_BASE_URL!);
  return startGraphApiStandIn({
    port: Number(base.port),
    version: base.pathname.replaceAll("/", ""),
    phoneNumberId: env.WHATSAPP_PHONE_NUMBER_ID,
    accessToken: env.WHATSAPP_ACCESS_TOKEN,
  });
}

/** What a person reads in a message: its text, and the buttons or list rows under it. */
function readable(message: GraphMessage): string {
  const m = message.message as {
    body?: string | { text: string };
    action?: { buttons?: { reply: { title: string } }[]; sections?: { rows: { title: string }[] }[] };
  };
  const text = typeof m.body === "string" ? m.body : m.body?.text ?? "";
  const buttons = m.action?.buttons?.map((b) => `[${b.reply.title}]`) ?? [];
  const rows = m.action?.sections?.flatMap((s) => s.rows.map((r) => `(${r.title})`)) ?? [];
  return [text, [...buttons, ...rows].join(" ")].filter(Boolean).join("\n");
}

function confirmButton(message: GraphMessage | undefined): string {
  const buttons = (message?.message as { action?: { buttons?: { reply: { id: string; title: string } }[] } })?.action?.buttons ?? [];
  return buttons.find((b) => b.reply.title === "Confirm")!.reply.id;
}

export async function whatsAppConversation(graph: GraphApiStandIn, options: ConversationOptions): Promise<void> {
  const { env, functionsUrl, show } = options;
  const person = (name: string) => ({ name, waId: newWaId() });
  const amina = person("Amina");
  const juma = person("Juma");
  const local = (waId: string) => `0${waId.slice(3, 6)} ${waId.slice(6, 9)} ${waId.slice(9)}`;

  const print = (who: { name: string }, messages: GraphMessage[]) => {
    for (const m of messages) {
      for (const [i, line] of readable(m).split("\n").entries()) show(`${i === 0 ? `mfuko -> ${who.name}:` : "  "} ${line}`);
    }
  };
  /** One message from `who`; what mfuko answered (the webhook sends its replies before it returns). */
  async function write(who: { name: string; waId: string }, message: Record<string, unknown>, label: string): Promise<GraphMessage[]> {
    show(`${who.name}: ${label}`);
    const before = graph.delivered.length;
    const body = JSON.stringify(inboundNotification(who.waId, who.name, [message], env.WHATSAPP_PHONE_NUMBER_ID));
    const response = await fetch(`${functionsUrl}/whatsapp-webhook`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-hub-signature-256": `sha256=${await hmacSha256Hex(env.WHATSAPP_APP_SECRET!, body)}`,
      },
      body,
    });
    await response.arrayBuffer();
    const answers = graph.delivered.slice(before);
    print(who, answers.filter((m) => m.to === who.waId));
    for (const other of [amina, juma]) if (other !== who) print(other, answers.filter((m) => m.to === other.waId));
    return answers.filter((m) => m.to === who.waId);
  }
  const text = (who: typeof amina, body: string) => write(who, textOf(body), `"${body}"`);
  const tap = (who: typeof amina, id: string) => write(who, tapOf({ button: id }), "taps [Confirm]");
  /** The whatsapp-send job, as the stack's scheduler runs it every 10 s. */
  const sendQueued = async () => {
    const before = graph.delivered.length;
    await fetch(`${functionsUrl}/jobs/whatsapp-send`, { method: "POST", headers: { authorization: `Bearer ${options.serviceKey}` } })
      .then((r) => r.arrayBuffer());
    for (const who of [amina, juma]) print(who, graph.delivered.slice(before).filter((m) => m.to === who.waId));
  };

  await text(amina, "hi");
  await text(amina, "balance");
  await text(juma, "Hello");
  await text(amina, "topup 5000");
  const [intent] = await options.sql<{ id: string }[]>`
    select i.id from public.payment_intents i join public.whatsapp_contacts c on c.user_id = i.user_id
     where c.wa_id = ${amina.waId} order by i.created_at desc limit 1`;
  show(`(Amina approves on her phone: MoMo's callback -> ${await options.momo.decide(intent!.id, "SUCCESSFUL")})`);
  await sendQueued();
  const [question] = await text(amina, `send 2,000 to ${local(juma.waId)}`);
  await tap(amina, confirmButton(question));
  await text(amina, "history");
  // What she may still send today, the 2,000 counted.
  await text(amina, "limits");
  await text(juma, "stop");
  // More than she holds: refused when asked, with her balance and how to top up.
  await text(amina, `send 100000 ${juma.waId}`);
  await text(amina, "send 100 0780000000");
}
