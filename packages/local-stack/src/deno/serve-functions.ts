// The local stand-in for Supabase's functions gateway and Edge Runtime: one Deno process that
// serves every folder of supabase/functions at /functions/v1/<name>, applies the gateway's
// verify_jwt rule from config.toml, and hands each function the request the way the Edge
// Runtime does (path without the /functions/v1 prefix, x-forwarded-for with the client).
// It also answers the Auth Admin API's user routes (auth-admin.ts), and every other /rest/v1
// and /auth/v1 path with 501 and what to use instead, so that supabase-js pointed at this
// gateway fails with a reason instead of "Requested function was not found".
// Usage: deno run ... serve-functions.ts <port> <functions dir> <config.toml>
import { jwtVerify } from "jose";
import { parse as parseToml } from "npm:smol-toml@^1.9.1";
import { authAdminApi } from "./auth-admin.ts";

type FetchHandler = { fetch(request: Request): Response | Promise<Response> };

const [portArg, functionsDir, configFile] = Deno.args;
const port = Number(portArg);
const jwtSecret = new TextEncoder().encode(Deno.env.get("SUPABASE_JWT_SECRET") ?? "");

function gatewayError(status: number, message: string): Response {
  return Response.json({ code: status, message }, { status });
}

const NOT_SERVED = /^\/(rest|auth)\/v1(\/|$)/;
const NOT_SERVED_MESSAGE = "mfuko's local stack serves /functions/v1 and the Auth Admin API's /auth/v1/admin/users only; " +
  'for the REST (PostgREST) and Auth APIs use a hosted Supabase project or `supabase start` where Docker is available (README, "Frontend development")';

function verifyJwtSettings(): Map<string, boolean> {
  const config = parseToml(Deno.readTextFileSync(configFile)) as { functions?: Record<string, { verify_jwt?: boolean }> };
  return new Map(Object.entries(config.functions ?? {}).map(([name, settings]) => [name, settings.verify_jwt ?? true]));
}

async function loadFunctions(): Promise<Map<string, FetchHandler>> {
  const handlers = new Map<string, FetchHandler>();
  for (const entry of Deno.readDirSync(functionsDir)) {
    if (!entry.isDirectory || entry.name.startsWith("_") || entry.name.startsWith(".")) continue;
    const module = await import(`file://${functionsDir}/${entry.name}/handler.ts`);
    handlers.set(entry.name, module.default as FetchHandler);
  }
  return handlers;
}

async function hasValidJwt(request: Request): Promise<boolean> {
  const token = request.headers.get("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1];
  if (!token) return false;
  try {
    await jwtVerify(token, jwtSecret, { algorithms: ["HS256"] });
    return true;
  } catch {
    return false;
  }
}

// The stack that started us holds our stdin open; when it dies, however abruptly, stdin ends
// and so do we, instead of lingering with the port.
(async () => {
  for await (const _ of Deno.stdin.readable) { /* nothing is ever sent */ }
  Deno.exit(0);
})();

const verifyJwt = verifyJwtSettings();
const functions = await loadFunctions();
const authAdmin = authAdminApi({ jwtSecret, dbUrl: Deno.env.get("SUPABASE_DB_URL") });

Deno.serve({
  port,
  hostname: "127.0.0.1",
  onListen: () => console.log(JSON.stringify({ event: "listening", port, functions: [...functions.keys()] })),
}, async (request, info) => {
  const url = new URL(request.url);
  const authAnswer = authAdmin(request);
  if (authAnswer) return authAnswer;
  if (NOT_SERVED.test(url.pathname)) return gatewayError(501, NOT_SERVED_MESSAGE);
  const match = url.pathname.match(/^\/functions\/v1\/([^/]+)(\/.*)?$/);
  const handler = match ? functions.get(match[1]) : undefined;
  if (!match || !handler) return gatewayError(404, "Requested function was not found");
  const name = match[1];
  // A browser's preflight carries no Authorization: Supabase's gateway passes OPTIONS on
  // unverified, for the function's CORS answer.
  if (request.method !== "OPTIONS" && (verifyJwt.get(name) ?? true) && !(await hasValidJwt(request))) {
    return gatewayError(401, request.headers.has("authorization") ? "Invalid JWT" : "Missing authorization header");
  }
  const headers = new Headers(request.headers);
  const client = (info.remoteAddr as Deno.NetAddr).hostname;
  const forwarded = headers.get("x-forwarded-for");
  headers.set("x-forwarded-for", forwarded ? `${forwarded}, ${client}` : client);
  const inner = new Request(new URL(`/${name}${match[2] ?? ""}${url.search}`, url.origin), {
    method: request.method,
    headers,
    body: request.body,
    signal: request.signal,
  });
  try {
    return await handler.fetch(inner);
  } catch (error) {
    console.error(JSON.stringify({ event: "function_crashed", function: name, error: String(error) }));
    return gatewayError(500, "Internal Server Error");
  }
});
