// People writing to mfuko on WhatsApp, through a functions gateway of their own: the payments
// gateway (MoMo, Stripe and Revolut stand-ins) with the Graph API stand-in as the Cloud API.
// A person's message is a signed webhook; the replies are what the Graph stand-in received
// for that person while the webhook was answered (the webhook sends right after its commit).
import { type GraphApiStandIn, type GraphMessage, startGraphApiStandIn } from "./graph-api-standin.ts";
import { type PaymentsGateway, startPaymentsGateway } from "./payments-gateway.ts";
import { uniqueClientAddress } from "./payments-fixtures.ts";
import { whatsAppRequest } from "./webhook-requests.ts";
import { inboundNotification, newWaId, type Tap, tapOf, textOf } from "./whatsapp-messages.ts";

export interface WhatsAppGateway extends PaymentsGateway {
  graph: GraphApiStandIn;
}

/** The gateway, its Graph API stand-in and `env` (e.g. RATE_LIMIT_WHATSAPP_SENDER_PER_MIN). */
export async function startWhatsAppGateway(env: Record<string, string> = {}): Promise<WhatsAppGateway> {
  const graph = await startGraphApiStandIn();
  try {
    const gateway = await startPaymentsGateway({
      WHATSAPP_API_BASE_URL: graph.url,
      WHATSAPP_PHONE_NUMBER_ID: graph.phoneNumberId,
      WHATSAPP_ACCESS_TOKEN: graph.accessToken,
      WHATSAPP_DEFAULT_CURRENCY: "RWF",
      WHATSAPP_DEFAULT_REGION: "RW",
      ...env,
    });
    return {
      ...gateway,
      graph,
      stop: async () => {
        await Promise.all([gateway.stop(), graph.close()]);
      },
    };
  } catch (error) {
    await graph.close();
    throw error;
  }
}

/** The text a person reads in a message: its body (text or interactive). */
export function readable(message: GraphMessage): string {
  const m = message.message as { body?: string | { text: string } };
  return typeof m.body === "string" ? m.body : m.body?.text ?? "";
}

/** The id of a reply button of an interactive message by its title. */
export function buttonId(message: GraphMessage | undefined, title: string): string {
  const buttons = (message?.message as { action?: { buttons?: { reply: { id: string; title: string } }[] } })?.action?.buttons ?? [];
  const found = buttons.find((b) => b.reply.title === title);
  if (!found) throw new Error(`no ${title} button in ${JSON.stringify(message?.message)}`);
  return found.reply.id;
}

export class Person {
  readonly address = uniqueClientAddress();

  constructor(private readonly gateway: WhatsAppGateway, readonly waId: string = newWaId(), readonly name = "Test Person") {}

  /** Delivers a notification with `messages` from this person; the webhook's HTTP status. */
  async deliver(payload: unknown): Promise<Response> {
    return await fetch(whatsAppRequest(payload, {}, { base: this.gateway.url, address: this.address }));
  }

  /** Writes `text` (or taps) and returns what mfuko sent this person in answer. */
  send = (message: Record<string, unknown>): Promise<GraphMessage[]> => this.answered(inboundNotification(this.waId, this.name, [message]));

  /** Delivers `payload` (a notification of this person's messages); what mfuko sent this person meanwhile. */
  async answered(payload: unknown): Promise<GraphMessage[]> {
    const before = this.gateway.graph.deliveredTo(this.waId).length;
    const response = await this.deliver(payload);
    if (response.status !== 200) throw new Error(`webhook answered ${response.status}: ${await response.text()}`);
    return this.gateway.graph.deliveredTo(this.waId).slice(before);
  }

  say = (text: string) => this.send(textOf(text));
  tap = (tap: Tap) => this.send(tapOf(tap));

  /** The texts of what this person received so far. */
  inbox(): string[] {
    return this.gateway.graph.deliveredTo(this.waId).map(readable);
  }
}
