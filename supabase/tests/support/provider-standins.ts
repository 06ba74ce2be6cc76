// Local HTTP stand-ins for the provider APIs the webhooks call back (MTN MoMo Collection,
// Revolut Merchant), on node:http. They check the credentials and headers the real APIs
// require and answer from what the test put in them.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

export interface StandIn<T> {
  url: string;
  /** What the API answers per id: a body (200) or an HTTP status. */
  records: Map<string, T | number>;
  /** Requests received, as "METHOD path". */
  requests: string[];
  close(): Promise<void>;
}

function listen(port: number, handle: (request: IncomingMessage, response: ServerResponse) => void): Promise<Server> {
  const server = createServer(handle);
  return new Promise((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(new Error(`the provider stand-in could not listen on 127.0.0.1:${port} (${error.code ?? error.message})`)));
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

function send(response: ServerResponse, status: number, body?: unknown): void {
  response.writeHead(status, body === undefined ? {} : { "content-type": "application/json" });
  response.end(body === undefined ? undefined : JSON.stringify(body));
}

function closer(server: Server): () => Promise<void> {
  return () => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

export interface MomoStandInOptions {
  /** 0 picks a free port. */
  port?: number;
  subscriptionKey: string;
  apiUser: string;
  apiKey: string;
  targetEnvironment: string;
}

export interface MomoStandIn extends StandIn<Record<string, unknown>> {
  /** Forgets every access token issued so far (as MoMo does when they expire). */
  revokeTokens(): void;
}

/** MTN MoMo: POST /collection/token/ and GET /collection/v1_0/requesttopay/{referenceId}. */
export async function startMomoStandIn(options: MomoStandInOptions): Promise<MomoStandIn> {
  const records = new Map<string, Record<string, unknown> | number>();
  const requests: string[] = [];
  const issuedTokens = new Set<string>();
  const basic = `Basic ${Buffer.from(`${options.apiUser}:${options.apiKey}`).toString("base64")}`;
  const server = await listen(options.port ?? 0, (request, response) => {
    const path = new URL(request.url ?? "/", "http://standin").pathname;
    requests.push(`${request.method} ${path}`);
    if (request.headers["ocp-apim-subscription-key"] !== options.subscriptionKey) return send(response, 401, { message: "bad subscription key" });
    if (request.method === "POST" && path === "/collection/token/") {
      if (request.headers.authorization !== basic) return send(response, 401, { message: "bad api user or key" });
      const token = `momo-token-${crypto.randomUUID()}`;
      issuedTokens.add(token);
      return send(response, 200, { access_token: token, token_type: "access_token", expires_in: 3600 });
    }
    const match = /^\/collection\/v1_0\/requesttopay\/([^/]+)$/.exec(path);
    if (request.method === "GET" && match) {
      const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? "")?.[1];
      if (!bearer || !issuedTokens.has(bearer)) return send(response, 401, { message: "bad token" });
      if (request.headers["x-target-environment"] !== options.targetEnvironment) return send(response, 400, { message: "bad environment" });
      const record = records.get(decodeURIComponent(match[1]!));
      if (record === undefined) return send(response, 404, { code: "RESOURCE_NOT_FOUND" });
      return typeof record === "number" ? send(response, record, { message: "stand-in failure" }) : send(response, 200, record);
    }
    send(response, 404, { message: "no such route" });
  });
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, records, requests, close: closer(server), revokeTokens: () => issuedTokens.clear() };
}

export interface RevolutStandInOptions {
  port?: number;
  secretKey: string;
  apiVersion: string;
}

/** Revolut Merchant API: GET /api/orders/{id} with Bearer secret key and Revolut-Api-Version. */
export async function startRevolutStandIn(options: RevolutStandInOptions): Promise<StandIn<Record<string, unknown>>> {
  const records = new Map<string, Record<string, unknown> | number>();
  const requests: string[] = [];
  const server = await listen(options.port ?? 0, (request, response) => {
    const path = new URL(request.url ?? "/", "http://standin").pathname;
    requests.push(`${request.method} ${path}`);
    if (request.headers.authorization !== `Bearer ${options.secretKey}`) return send(response, 401, { code: "unauthenticated" });
    if (request.headers["revolut-api-version"] !== options.apiVersion) return send(response, 400, { code: "invalid_api_version" });
    const match = /^\/api\/orders\/([^/]+)$/.exec(path);
    if (request.method !== "GET" || !match) return send(response, 404, { code: "not_found" });
    const record = records.get(decodeURIComponent(match[1]!));
    if (record === undefined) return send(response, 404, { code: "order_not_found" });
    return typeof record === "number" ? send(response, record, { code: "stand_in_failure" }) : send(response, 200, record);
  });
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, records, requests, close: closer(server) };
}

/** The stand-in options matching the functions' environment (.env.example values in tests). */
export function momoStandInOptionsFromEnv(port = 0): MomoStandInOptions {
  const read = (name: string) => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set (import supabase/tests/support/functions-env.ts first)`);
    return value;
  };
  return {
    port,
    subscriptionKey: read("MOMO_SUBSCRIPTION_KEY"),
    apiUser: read("MOMO_API_USER"),
    apiKey: read("MOMO_API_KEY"),
    targetEnvironment: read("MOMO_TARGET_ENVIRONMENT"),
  };
}

export function revolutStandInOptionsFromEnv(port = 0): RevolutStandInOptions {
  const secretKey = process.env.REVOLUT_SECRET_KEY;
  const apiVersion = process.env.REVOLUT_API_VERSION;
  if (!secretKey || !apiVersion) throw new Error("REVOLUT_SECRET_KEY and REVOLUT_API_VERSION must be set (import functions-env.ts first)");
  return { port, secretKey, apiVersion };
}
