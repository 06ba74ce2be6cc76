// A client for the WhatsApp Cloud API's one call mfuko makes: POST
// {WHATSAPP_API_BASE_URL}/{WHATSAPP_PHONE_NUMBER_ID}/messages with a Bearer access token,
// answered with the message's wamid, or with Meta's error object
// {"error":{"message","type","code","error_subcode","fbtrace_id"}}. The base URL (version
// included) is configurable so that tests, the drill and the demo reach the Graph API
// stand-in with the same code. Why our own client and not a library: docs/decisions/.
import { z } from "zod";
import { once } from "../../env.ts";
import { providerConfigFromEnv } from "../from-env.ts";
import { ProviderError } from "../errors.ts";
import { providerCall, type ProviderClientConfig } from "../http.ts";

/** A Cloud API message object as the outbox stores it: its type and the object of that type. */
export const outboundMessageSchema = z.union([
  z.looseObject({ type: z.literal("text"), text: z.looseObject({ body: z.string().min(1).max(4096) }) }),
  z.looseObject({ type: z.literal("interactive"), interactive: z.looseObject({ type: z.string().min(1) }) }),
  z.looseObject({
    type: z.literal("template"),
    template: z.looseObject({ name: z.string().min(1).max(512), language: z.looseObject({ code: z.string().min(2).max(15) }) }),
  }),
]);
export type OutboundMessage = z.output<typeof outboundMessageSchema>;

const sentSchema = z.looseObject({ messages: z.array(z.looseObject({ id: z.string().min(1).max(255) })).min(1) });
const graphErrorSchema = z.looseObject({
  error: z.looseObject({
    message: z.string().optional(),
    type: z.string().optional(),
    code: z.number().int().optional(),
    error_subcode: z.number().int().optional(),
  }),
});

/**
 * The Graph API refused or did not answer. `code` is Meta's error code (131047, 130429, ...),
 * null when there was no error object (no answer, or a body that is not Meta's).
 */
export class WhatsAppApiError extends ProviderError {
  constructor(message: string, httpStatus: number | null, readonly code: number | null = null, readonly subcode: number | null = null) {
    super("whatsapp", message, httpStatus, code === null ? null : String(code));
  }
}

/** baseUrl is the Graph API's with its version, e.g. https://graph.facebook.com/v21.0. */
export interface WhatsAppClientConfig extends ProviderClientConfig {
  phoneNumberId: string;
  accessToken: string;
}

export interface WhatsAppClient {
  /** Sends `message` to `to` (E.164 digits) and resolves with its wamid. Throws WhatsAppApiError. */
  send(to: string, message: OutboundMessage): Promise<{ wamid: string }>;
}

export function createWhatsAppClient(config: WhatsAppClientConfig): WhatsAppClient {
  const call = providerCall("whatsapp", config, WhatsAppApiError);
  const path = `/${encodeURIComponent(config.phoneNumberId)}/messages`;
  return {
    async send(to, message) {
      const response = await call("POST /messages", path, {
        method: "POST",
        headers: { authorization: `Bearer ${config.accessToken}`, "content-type": "application/json" },
        body: JSON.stringify({ messaging_product: "whatsapp", recipient_type: "individual", to, ...message }),
      });
      const body = await response.json().catch(() => null);
      if (response.ok) {
        const sent = sentSchema.safeParse(body);
        if (sent.success) return { wamid: sent.data.messages[0]!.id };
        throw new WhatsAppApiError(`The Graph API answered POST /messages with ${response.status} but no message id`, response.status);
      }
      const refusal = graphErrorSchema.safeParse(body);
      const error = refusal.success ? refusal.data.error : null;
      const described = error ? `: ${error.code ?? "?"} ${(error.message ?? "").slice(0, 300)}` : "";
      throw new WhatsAppApiError(
        `The Graph API answered POST /messages with ${response.status}${described}`,
        response.status,
        error?.code ?? null,
        error?.error_subcode ?? null,
      );
    },
  };
}

/** The client for WHATSAPP_API_BASE_URL, WHATSAPP_PHONE_NUMBER_ID and WHATSAPP_ACCESS_TOKEN, made once. */
export const whatsAppClientFromEnv: () => WhatsAppClient = once(() =>
  createWhatsAppClient(
    providerConfigFromEnv({
      baseUrl: "WHATSAPP_API_BASE_URL",
      phoneNumberId: "WHATSAPP_PHONE_NUMBER_ID",
      accessToken: "WHATSAPP_ACCESS_TOKEN",
    }),
  )
);
