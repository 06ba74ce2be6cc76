// A local stand-in for the WhatsApp Cloud API's POST /{version}/{phone-number-id}/messages, on
// node:http, for tests, drills, benchmarks and the demo. It checks what Meta checks (the
// Bearer token, the phone number id, messaging_product, the recipient and the message object
// within Meta's field limits), answers {"messaging_product","contacts","messages":[{"id"}]}
// with a fresh wamid, and refuses in Meta's error shape {"error":{"message","type","code",
// "error_subcode","fbtrace_id"}}. Templates are checked against the approved ones it is given
// (name -> number of body parameters), as Meta checks them: an unknown name is 132001, another
// number of body parameters 132000, a text parameter with a newline, a tab or more than 4
// spaces in a row 132018. It can be told to fail (a 5xx for a while, or Meta's 130429, 131047,
// 131056, 100) or to answer slowly, and records every request with when it came and was answered.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

/** The failures the stand-in can play, as Meta sends them. */
export type GraphFailure = "server" | "hang" | 100 | 130429 | 131047 | 131056;

export interface GraphRequest {
  path: string;
  authorization: string | undefined;
  body: Record<string, unknown> | null;
  /** The HTTP status the stand-in answered (null: it never answered). */
  status: number | null;
  /** When the request arrived and when it was answered (performance.now()). */
  receivedAt: number;
  answeredAt: number | null;
}

export interface GraphMessage {
  wamid: string;
  to: string;
  type: string;
  message: Record<string, unknown>;
}

export interface GraphApiStandIn {
  /** The base URL to use as WHATSAPP_API_BASE_URL, version included (…/v21.0). */
  url: string;
  phoneNumberId: string;
  accessToken: string;
  /** Every request, in order. */
  requests: GraphRequest[];
  /** The messages accepted (each would reach the person once), in order. */
  delivered: GraphMessage[];
  /** Answers the next `times` requests (to `to` only, when given) with `failure`; Infinity: until cleared. */
  fail(failure: GraphFailure, options?: { times?: number; to?: string }): void;
  /** Forgets every failure still to play: the API has recovered. */
  recover(): void;
  /** Answers every request `ms` after it arrived (0: at once), as a slow Graph API does. */
  answerAfter(ms: number): void;
  /** The messages delivered to `to`. */
  deliveredTo(to: string): GraphMessage[];
  close(): Promise<void>;
}

interface FailureRule {
  failure: GraphFailure;
  remaining: number;
  to: string | undefined;
}

const ERRORS: Record<Exclude<GraphFailure, "hang">, { status: number; message: string; details?: string; subcode?: number }> = {
  server: { status: 500, message: "An unknown error has occurred." },
  100: { status: 400, message: "(#100) Invalid parameter", subcode: 2494010 },
  130429: { status: 400, message: "(#130429) Rate limit hit", details: "Cloud API message throughput has been reached." },
  131047: {
    status: 400,
    message: "(#131047) Re-engagement message",
    details: "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
  },
  131056: {
    status: 400,
    message: "(#131056) (Business Account, Consumer Account) pair rate limit hit",
    details: "Too many messages sent from the sender phone number to the same recipient phone number in a short period of time.",
  },
};

const errorBody = (code: number, message: string, details?: string, subcode?: number) => ({
  error: {
    message,
    type: "OAuthException",
    code,
    ...(subcode === undefined ? {} : { error_subcode: subcode }),
    ...(details === undefined ? {} : { error_data: { messaging_product: "whatsapp", details } }),
    fbtrace_id: randomBytes(12).toString("base64url"),
  },
});

/** The templates approved unless a test names others: the notify template of .env.example, without parameters. */
export const APPROVED_TEMPLATES: Readonly<Record<string, number>> = { mfuko_notification: 0 };

/** The body of Meta's (#100) refusal naming what is wrong with the message (HTTP 400). */
const invalid = (details: string) => errorBody(100, "(#100) Invalid parameter", details);

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const text = (value: unknown, max: number) => typeof value === "string" && value.length >= 1 && value.length <= max;

/** The problem Meta would report with an interactive message, or null. */
function interactiveProblem(interactive: unknown): string | null {
  if (!isObject(interactive) || !isObject(interactive.body) || !text(interactive.body.text, 1024)) {
    return "interactive.body.text is required (1 to 1024 characters)";
  }
  if (interactive.footer !== undefined && !(isObject(interactive.footer) && text(interactive.footer.text, 60))) {
    return "interactive.footer.text must be 1 to 60 characters";
  }
  if (
    interactive.header !== undefined &&
    !(isObject(interactive.header) && (interactive.header.type !== "text" || text(interactive.header.text, 60)))
  ) {
    return "interactive.header.text must be 1 to 60 characters";
  }
  const action = isObject(interactive.action) ? interactive.action : {};
  if (interactive.type === "button") {
    const buttons = Array.isArray(action.buttons) ? action.buttons : [];
    if (buttons.length < 1 || buttons.length > 3) return "action.buttons must hold 1 to 3 buttons";
    const ids = new Set<unknown>();
    for (const button of buttons) {
      const reply = isObject(button) && button.type === "reply" && isObject(button.reply) ? button.reply : null;
      if (!reply || !text(reply.id, 256) || !text(reply.title, 20)) {
        return "each button needs reply.id (1 to 256) and reply.title (1 to 20 characters)";
      }
      ids.add(reply.id);
    }
    return ids.size === buttons.length ? null : "button ids must be unique";
  }
  if (interactive.type === "list") {
    if (!text(action.button, 20)) return "action.button must be 1 to 20 characters";
    const sections = Array.isArray(action.sections) ? action.sections : [];
    if (sections.length < 1 || sections.length > 10) return "action.sections must hold 1 to 10 sections";
    const rows = sections.flatMap((section) => isObject(section) && Array.isArray(section.rows) ? section.rows : [null]);
    if (rows.length < 1 || rows.length > 10) return "a list holds 1 to 10 rows in all";
    for (const row of rows) {
      if (!isObject(row) || !text(row.id, 200) || !text(row.title, 24) || (row.description !== undefined && !text(row.description, 72))) {
        return "each row needs id (1 to 200), title (1 to 24) and an optional description (1 to 72 characters)";
      }
    }
    return null;
  }
  return `interactive.type ${String(interactive.type)} is not supported here (button, list)`;
}

/**
 * Meta's refusal of a well-formed template message against the approved `templates`, or null:
 * 132001 for a name not approved, 132000 for another number of body parameters than the
 * template's, 132018 for a text parameter Meta does not take.
 */
function templateRefusal(template: Record<string, unknown>, templates: Readonly<Record<string, number>>) {
  const expected = Object.hasOwn(templates, template.name as string) ? templates[template.name as string]! : null;
  if (expected === null) return errorBody(132001, "(#132001) Template name does not exist in the translation");
  const components = Array.isArray(template.components) ? template.components : [];
  const bodyComponent = components.find((component) => isObject(component) && component.type === "body");
  const parameters: unknown[] = isObject(bodyComponent) && Array.isArray(bodyComponent.parameters) ? bodyComponent.parameters : [];
  if (parameters.length !== expected) {
    return errorBody(
      132000,
      "(#132000) Number of parameters does not match the expected number of params",
      `body: number of localizable_params (${parameters.length}) does not match the expected number of params (${expected})`,
    );
  }
  const texts = parameters.map((parameter) => isObject(parameter) && parameter.type === "text" ? parameter.text : null);
  if (!texts.every((value) => text(value, 32_768))) return invalid("each body parameter here is a text of 1 to 32768 characters");
  if (!texts.some((value) => /[\n\t]| {5}/.test(value as string))) return null;
  return errorBody(
    132018,
    "(#132018) There was an issue with the parameters in your template.",
    "Param text cannot have new-line/tab characters or more than 4 consecutive spaces",
  );
}

/** The problem Meta would report with a send request, or null. */
function messageProblem(body: Record<string, unknown>): string | null {
  if (body.messaging_product !== "whatsapp") return "messaging_product must be whatsapp";
  if (typeof body.to !== "string" || !/^\+?[1-9]\d{6,14}$/.test(body.to)) return "to must be a phone number";
  switch (body.type) {
    case "text":
      return isObject(body.text) && text(body.text.body, 4096) ? null : "text.body is required (1 to 4096 characters)";
    case "interactive":
      return interactiveProblem(body.interactive);
    case "template": {
      const template = isObject(body.template) ? body.template : {};
      const language = isObject(template.language) ? template.language : {};
      return text(template.name, 512) && text(language.code, 15) ? null : "template.name and template.language.code are required";
    }
    default:
      return `type ${String(body.type)} is not supported here (text, interactive, template)`;
  }
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown> | null> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    return isObject(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

export async function startGraphApiStandIn(
  options: {
    port?: number;
    phoneNumberId?: string;
    accessToken?: string;
    version?: string;
    /** The approved templates, by name: how many body parameters each has (APPROVED_TEMPLATES unless given). */
    templates?: Readonly<Record<string, number>>;
  } = {},
): Promise<GraphApiStandIn> {
  const phoneNumberId = options.phoneNumberId ?? process.env.WHATSAPP_PHONE_NUMBER_ID ?? "100000000000001";
  const accessToken = options.accessToken ?? process.env.WHATSAPP_ACCESS_TOKEN ?? "mfuko-local-whatsapp-access-token";
  const version = options.version ?? "v21.0";
  const templates = options.templates ?? APPROVED_TEMPLATES;
  const requests: GraphRequest[] = [];
  const delivered: GraphMessage[] = [];
  let rules: FailureRule[] = [];
  let answerDelayMs = 0;

  const failureFor = (to: unknown): GraphFailure | null => {
    const rule = rules.find((r) => r.remaining > 0 && (r.to === undefined || r.to === to));
    if (!rule) return null;
    rule.remaining -= 1;
    return rule.failure;
  };

  const answer = (response: ServerResponse, record: GraphRequest, status: number, body: unknown) => {
    const send = () => {
      record.status = status;
      record.answeredAt = performance.now();
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    };
    if (answerDelayMs > 0) setTimeout(send, answerDelayMs);
    else send();
  };

  const server = createServer(async (request, response) => {
    const path = new URL(request.url ?? "/", "http://graph.local").pathname;
    const body = await readJson(request);
    const record: GraphRequest = {
      path,
      authorization: request.headers.authorization,
      body,
      status: null,
      receivedAt: performance.now(),
      answeredAt: null,
    };
    requests.push(record);
    const match = path.match(/^\/(v\d+\.\d+)\/([^/]+)\/messages$/);
    if (request.method !== "POST" || !match || match[1] !== version) {
      return answer(response, record, 400, errorBody(100, "Unsupported post request.", undefined, 33));
    }
    if (request.headers.authorization !== `Bearer ${accessToken}`) {
      return answer(response, record, 401, errorBody(190, "Invalid OAuth access token - Cannot parse access token"));
    }
    if (match[2] !== phoneNumberId) return answer(response, record, 400, errorBody(100, "Unsupported post request.", undefined, 33));
    if (!body) return answer(response, record, 400, invalid("the body must be a JSON object"));
    const failure = failureFor(body.to);
    if (failure === "hang") return;
    if (failure !== null) {
      const error = ERRORS[failure];
      return answer(
        response,
        record,
        error.status,
        errorBody(failure === "server" ? 1 : failure, error.message, error.details, error.subcode),
      );
    }
    const problem = messageProblem(body);
    if (problem) return answer(response, record, 400, invalid(problem));
    const refusal = body.type === "template" ? templateRefusal(body.template as Record<string, unknown>, templates) : null;
    if (refusal) return answer(response, record, 400, refusal);
    const to = (body.to as string).replace(/^\+/, "");
    const wamid = `wamid.${randomBytes(24).toString("base64url")}`;
    delivered.push({ wamid, to, type: body.type as string, message: body[body.type as string] as Record<string, unknown> });
    answer(response, record, 200, { messaging_product: "whatsapp", contacts: [{ input: body.to, wa_id: to }], messages: [{ id: wamid }] });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/${version}`,
    phoneNumberId,
    accessToken,
    requests,
    delivered,
    fail: (failure, { times = 1, to } = {}) => void rules.push({ failure, remaining: times, to }),
    recover: () => void (rules = []),
    answerAfter: (ms) => void (answerDelayMs = ms),
    deliveredTo: (to) => delivered.filter((m) => m.to === to),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
