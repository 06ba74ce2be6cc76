// An Upstash-REST-compatible front for a real redis-server, so that @upstash/redis and
// @upstash/ratelimit run unchanged in tests. It speaks the documented protocol: POST / with one
// command as a JSON array, POST /pipeline and /multi-exec with an array of commands, Bearer
// token (or `_token` query parameter) auth, `{"result": ...}` / `{"error": ...}` answers, and
// base64-encoded strings (except "OK") when the request has `Upstash-Encoding: base64`.
// The redis-server of Debian 12 (7.0) rejects the `allow-key-locking` script flag that
// @upstash/ratelimit's scripts carry (newer Redis and Upstash accept it), so the bridge drops
// that flag and maps the client's script hashes to the hashes of the scripts it really loaded.
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { Redis } from "ioredis";

export interface UpstashBridge {
  /** The REST URL to give @upstash/redis. */
  url: string;
  token: string;
  close(): Promise<void>;
}

export interface UpstashBridgeOptions {
  /** redis://host:port of the redis-server to forward to. */
  redisUrl: string;
  token: string;
  /** 0 (default): any free port. */
  port?: number;
}

type Command = [string, ...unknown[]];
type Reply = { result: unknown } | { error: string };

class BridgeError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function isCommand(value: unknown): value is Command {
  return Array.isArray(value) && value.length > 0 && typeof value[0] === "string";
}

function argument(value: unknown): string {
  return typeof value === "string" ? value : value === null || value === undefined ? "" : String(value);
}

const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");

/** Rewrites script commands for an older Redis; `hashes` maps client hashes to loaded ones. */
function compatible(command: Command, hashes: Map<string, string>): Command {
  const [name, ...args] = command;
  const upper = name.toUpperCase();
  const scriptIndex = upper === "EVAL" || upper === "EVAL_RO"
    ? 0
    : upper === "SCRIPT" && argument(args[0]).toUpperCase() === "LOAD"
    ? 1
    : -1;
  if (scriptIndex >= 0) {
    const original = argument(args[scriptIndex]);
    const rewritten = original.replace(/^#!lua flags=([^\n]*)/, (_line, flags: string) => {
      const kept = flags.split(",").map((f) => f.trim()).filter((f) => f && f !== "allow-key-locking");
      return kept.length > 0 ? `#!lua flags=${kept.join(",")}` : "#!lua";
    });
    hashes.set(sha1(original), sha1(rewritten));
    const copy = [...args];
    copy[scriptIndex] = rewritten;
    return [name, ...copy];
  }
  if (upper === "EVALSHA" || upper === "EVALSHA_RO") {
    const loaded = hashes.get(argument(args[0]).toLowerCase());
    if (loaded) return [name, loaded, ...args.slice(1)];
  }
  return command;
}

/** A Redis reply as Upstash renders it: bulk strings as text or base64, everything else as is. */
function render(reply: unknown, base64: boolean): unknown {
  if (Buffer.isBuffer(reply)) {
    const text = reply.toString("utf8");
    return !base64 || text === "OK" ? text : reply.toString("base64");
  }
  if (Array.isArray(reply)) return reply.map((item) => render(item, base64));
  return reply ?? null;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new BridgeError(400, "ERR failed to parse command");
  }
}

async function runSingle(redis: Redis, command: Command, base64: boolean, hashes: Map<string, string>): Promise<Reply> {
  try {
    const [name, ...args] = compatible(command, hashes);
    return { result: render(await redis.callBuffer(name, ...args.map(argument)), base64) };
  } catch (error) {
    return { error: errorText(error) };
  }
}

async function runBatch(
  redis: Redis,
  commands: Command[],
  base64: boolean,
  atomic: boolean,
  hashes: Map<string, string>,
): Promise<Reply[]> {
  const batch = atomic ? redis.multi() : redis.pipeline();
  for (const [name, ...args] of commands.map((command) => compatible(command, hashes))) batch.callBuffer(name, ...args.map(argument));
  const results = await batch.exec();
  if (results === null) throw new BridgeError(400, "ERR transaction discarded");
  return results.map(([error, reply]) => (error ? { error: errorText(error) } : { result: render(reply, base64) }));
}

function authorized(request: IncomingMessage, url: URL, token: string): boolean {
  const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? "")?.[1];
  return (bearer ?? url.searchParams.get("_token")) === token;
}

async function answer(redis: Redis, token: string, hashes: Map<string, string>, request: IncomingMessage): Promise<unknown> {
  const url = new URL(request.url ?? "/", "http://bridge");
  if (!authorized(request, url, token)) throw new BridgeError(401, "Unauthorized");
  if (request.method !== "POST") throw new BridgeError(405, "ERR only POST is supported by this bridge");
  const base64 = String(request.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
  const body = await readJson(request);
  if (url.pathname === "/") {
    if (!isCommand(body)) throw new BridgeError(400, "ERR the body must be a command array");
    const reply = await runSingle(redis, body, base64, hashes);
    if ("error" in reply) throw new BridgeError(400, reply.error);
    return reply;
  }
  if (url.pathname === "/pipeline" || url.pathname === "/multi-exec") {
    if (!Array.isArray(body) || body.length === 0 || !body.every(isCommand)) {
      throw new BridgeError(400, "ERR the body must be an array of command arrays");
    }
    return runBatch(redis, body, base64, url.pathname === "/multi-exec", hashes);
  }
  throw new BridgeError(404, `ERR unknown endpoint ${url.pathname}`);
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

export async function startUpstashBridge(options: UpstashBridgeOptions): Promise<UpstashBridge> {
  const redis = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: true });
  await redis.connect();
  const hashes = new Map<string, string>();
  const server: Server = createServer((request, response) => {
    answer(redis, options.token, hashes, request).then(
      (body) => send(response, 200, body),
      (error: unknown) => send(response, error instanceof BridgeError ? error.status : 500, { error: errorText(error) }),
    );
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    token: options.token,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      redis.disconnect();
    },
  };
}
