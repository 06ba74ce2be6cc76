// Bad-input drill (docs/TESTING.md): 10,000 generated malformed requests across every function
// (bad JSON, wrong types, oversized bodies, bad or missing signatures, forged tokens, header
// injection, wrong methods and routes). None may be answered 5xx or 2xx, and no row may be
// written anywhere (the rate limiter's own window rows excepted: counting callers is its job).
import { connect } from "node:net";
import type postgres from "postgres";
import Stripe from "stripe";
import { hmacSha256Hex } from "../../supabase/functions/_shared/hmac.ts";
import { revolutSignatureHeader } from "../../supabase/functions/_shared/providers/revolut/signature.ts";
import { TokenMinter } from "@mfuko/local-stack/tokens";
import type { DrillReport } from "./report.ts";

const total = 10_000;
const concurrency = 32;
const limiterTable = "private.rate_limit_windows";

interface BadRequest {
  kind: string;
  path: string;
  method: string;
  headers?: Record<string, string>;
  body?: string;
}

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)];

/** Bodies that are not JSON, or JSON of the wrong shape. */
function malformedBodies(): string[] {
  return [
    "",
    "{",
    "not json",
    "[1,2",
    "\u0000\u0001\u0002",
    "null",
    "[]",
    "42",
    '"a string"',
    "{}",
    '{"id": 12, "type": null}',
    '{"object": "whatsapp_business_account", "entry": "x"}',
    '{"id": "evt_x", "type": "payment_intent.succeeded", "created": "yesterday", "data": {}}',
    '{"id": "evt_y", "type": "payment_intent.succeeded", "created": 1, "data": {"object": {"id": "pi_y", "amount": -5, "currency": "dollars"}}}',
    '{"event": "ORDER_COMPLETED", "order_id": 7}',
    '{"financialTransactionId": [], "status": {"x": 1}}',
    JSON.stringify({ a: "x".repeat(5000) }),
    '{"__proto__": {"polluted": true}}',
  ];
}

function generators(secrets: Record<string, string>, adminToken: string, userToken: string): (() => BadRequest | Promise<BadRequest>)[] {
  const json = { "content-type": "application/json" };
  const signedWhatsApp = async (body: string) => ({
    ...json,
    "x-hub-signature-256": `sha256=${await hmacSha256Hex(secrets.WHATSAPP_APP_SECRET, body)}`,
  });
  const signedStripe = (body: string) => ({
    ...json,
    "stripe-signature": Stripe.webhooks.generateTestHeaderString({ payload: body, secret: secrets.STRIPE_WEBHOOK_SECRET }),
  });
  const signedRevolut = async (body: string) => {
    const timestamp = String(Date.now());
    return {
      ...json,
      "revolut-request-timestamp": timestamp,
      "revolut-signature": await revolutSignatureHeader(body, timestamp, secrets.REVOLUT_WEBHOOK_SECRET),
    };
  };
  const body = () => pick(malformedBodies());
  const admin = { authorization: `Bearer ${adminToken}`, ...json };
  const id = () => pick(["not-a-uuid", "00000000-0000-0000-0000-000000000000", "1 or 1=1", "%00", "../../etc/passwd"]);
  return [
    // Signed but malformed: 400, nothing stored.
    async () => {
      const b = body();
      return { kind: "signed malformed", path: "/whatsapp-webhook", method: "POST", body: b, headers: await signedWhatsApp(b) };
    },
    () => {
      const b = body();
      return { kind: "signed malformed", path: "/stripe-webhook", method: "POST", body: b, headers: signedStripe(b) };
    },
    async () => {
      const b = body();
      return { kind: "signed malformed", path: "/revolut-webhook", method: "POST", body: b, headers: await signedRevolut(b) };
    },
    // Bad, missing, stale or forged signatures: 401.
    () => ({
      kind: "bad signature",
      path: "/whatsapp-webhook",
      method: "POST",
      body: body(),
      headers: { ...json, "x-hub-signature-256": pick(["", "sha256=", "sha256=zz", `sha256=${"0".repeat(64)}`, "md5=abc"]) },
    }),
    () => ({
      kind: "bad signature",
      path: "/stripe-webhook",
      method: "POST",
      body: body(),
      headers: {
        ...json,
        "stripe-signature": pick(["", "t=1,v1=abc", `t=${Math.floor(Date.now() / 1000)},v1=${"a".repeat(64)}`, "garbage"]),
      },
    }),
    () => ({
      kind: "missing signature",
      path: pick(["/whatsapp-webhook", "/stripe-webhook", "/revolut-webhook"]),
      method: "POST",
      body: body(),
      headers: json,
    }),
    () => ({
      kind: "stale signature",
      path: "/revolut-webhook",
      method: "POST",
      body: "{}",
      headers: { ...json, "revolut-request-timestamp": "1000", "revolut-signature": `v1=${"b".repeat(64)}` },
    }),
    // MoMo: forged tokens and malformed references.
    () => ({
      kind: "forged token",
      path: `/momo-webhook/callback/${crypto.randomUUID()}?token=${pick(["", "x", "0".repeat(64)])}`,
      method: pick(["PUT", "POST"]),
      body: body(),
      headers: json,
    }),
    () => ({
      kind: "bad reference",
      path: `/momo-webhook/callback/${encodeURIComponent(id())}?token=abc`,
      method: "PUT",
      body: "{}",
      headers: json,
    }),
    // Oversized bodies: 413 (WhatsApp allows 3 MiB, the others 1 MiB).
    () => ({
      kind: "oversized",
      path: pick(["/stripe-webhook", "/revolut-webhook", "/admin/adjustments"]),
      method: "POST",
      body: "x".repeat(1024 * 1024 + 10),
      headers: { ...json, authorization: `Bearer ${adminToken}` },
    }),
    () => ({ kind: "oversized", path: "/whatsapp-webhook", method: "POST", body: "x".repeat(3 * 1024 * 1024 + 10), headers: json }),
    // Wrong content types, methods and routes.
    () => ({
      kind: "content type",
      path: pick(["/stripe-webhook", "/whatsapp-webhook", "/revolut-webhook"]),
      method: "POST",
      body: "a=b",
      headers: { "content-type": pick(["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) },
    }),
    () => ({
      kind: "method",
      path: pick(["/stripe-webhook", "/revolut-webhook", "/health/live", "/health/ready", "/admin/accounts"]),
      method: pick(["DELETE", "PATCH", "PUT"]),
      headers: { authorization: `Bearer ${adminToken}` },
    }),
    () => ({
      kind: "route",
      path: pick(["/stripe-webhook/x", "/health/nope", "/admin/nope", "/whatsapp-webhook/../admin"]),
      method: "GET",
      headers: { authorization: `Bearer ${adminToken}` },
    }),
    () => ({
      kind: "verify token",
      path: `/whatsapp-webhook?hub.mode=subscribe&hub.verify_token=${pick(["", "wrong", "x".repeat(300)])}&hub.challenge=1`,
      method: "GET",
    }),
    // Admin: bad JWTs, a plain user, and an admin sending malformed input.
    () => ({
      kind: "admin jwt",
      path: "/admin/accounts",
      method: "GET",
      headers: { authorization: pick(["", "Bearer", "Bearer x.y.z", `Bearer ${adminToken.slice(0, -4)}abcd`, `Basic ${btoa("a:b")}`]) },
    }),
    () => ({
      kind: "admin as user",
      path: pick(["/admin/accounts", "/admin/adjustments"]),
      method: pick(["GET", "POST"]),
      body: "{}",
      headers: { ...json, authorization: `Bearer ${userToken}`, "idempotency-key": crypto.randomUUID() },
    }),
    () => ({
      kind: "admin malformed",
      path: pick(["/admin/adjustments", `/admin/accounts/${id()}/status`, `/admin/transactions/${id()}/reverse`]),
      method: "POST",
      body: body(),
      headers: { ...admin, "idempotency-key": crypto.randomUUID() },
    }),
    () => ({
      kind: "admin query",
      path: `/admin/${
        pick(["accounts", "audit", "webhook-events", "reconciliation", "payment-intents", "payments", "cashouts", "reconciliation/reports"])
      }?${
        pick([
          "limit=0",
          "limit=99999",
          "cursor=%%%",
          "cursor=eyJ4IjoxfQ",
          "from=yesterday",
          "provider=paypal",
          "status=1",
          "actor_id=not-a-uuid",
        ])
      }`,
      method: "GET",
      headers: admin,
    }),
    () => ({
      kind: "admin user lookup",
      path: `/admin/users?${pick(["", "phone=call-me", "phone=12", "email=not-an-email", "phone=250788123456&email=a%40b.test"])}`,
      method: "GET",
      headers: admin,
    }),
    () => ({
      kind: "admin no idempotency key",
      path: "/admin/adjustments",
      method: "POST",
      body: JSON.stringify({ account_id: crypto.randomUUID(), amount: 5, direction: "credit", reason: "drill" }),
      headers: admin,
    }),
    // The payments API as a signed-in user: malformed top-ups and cash-outs, bad payee look-ups
    // (a well-formed number nobody has confirmed is 404), bad ids (404), wrong methods.
    () => ({
      kind: "payments malformed",
      path: pick(["/payments/topups", "/payments/cashouts"]),
      method: "POST",
      body: body(),
      headers: { ...json, authorization: `Bearer ${userToken}`, "idempotency-key": crypto.randomUUID() },
    }),
    () => ({
      kind: "payments query",
      path: `/payments/${
        pick([
          "payees",
          "payees?msisdn=%2B256772123456&currency=UGX",
          "payees?msisdn=256772123456",
          "payees?msisdn=256700000000&currency=UGX",
          "payees?msisdn=256772123456&currency=ugx&x=1",
          `topups/${encodeURIComponent(id())}`,
          `cashouts/${encodeURIComponent(id())}`,
        ])
      }`,
      method: pick(["GET", "GET", "DELETE"]),
      headers: { authorization: `Bearer ${userToken}` },
    }),
    // Header injection attempts that fetch can carry: control characters are refused by the
    // client itself, so these test what reaches the server; raw CRLF goes through rawRequest.
    () => ({
      kind: "header values",
      path: "/stripe-webhook",
      method: "POST",
      body: "{}",
      headers: {
        ...json,
        "x-correlation-id": pick(["<script>", "x".repeat(500), "a b", "é"]),
        "x-forwarded-for": pick(["not-an-ip", "1.1.1.1, <x>", ""]),
      },
    }),
  ];
}

/** A request with CRLF inside a header value, written on a raw socket as an attacker would. */
function rawInjection(functionsUrl: string): Promise<number> {
  const url = new URL(`${functionsUrl}/stripe-webhook`);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(
        `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nX-Correlation-Id: a\r\n\r\nInjected: 1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
      );
    });
    let answer = "";
    socket.on("data", (chunk) => (answer += chunk));
    socket.on("error", reject);
    socket.on("close", () => resolve(Number(answer.match(/^HTTP\/1\.1 (\d{3})/)?.[1] ?? 0)));
    socket.setTimeout(10_000, () => socket.destroy());
  });
}

async function rowCounts(sql: postgres.Sql): Promise<Map<string, number>> {
  const tables = await sql<{ name: string }[]>`
    select format('%I.%I', n.nspname, c.relname) as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p') and n.nspname in ('public', 'audit', 'private', 'api_private', 'auth') order by 1`;
  const counts = new Map<string, number>();
  for (const { name } of tables) {
    if (name === limiterTable) continue;
    const [{ count }] = await sql.unsafe(`select count(*)::bigint as count from ${name}`);
    counts.set(name, Number(count));
  }
  return counts;
}

export async function badInputDrill(
  sql: postgres.Sql,
  options: { functionsUrl: string; env: Record<string, string> },
): Promise<DrillReport> {
  const minter = new TokenMinter(options.env.SUPABASE_JWT_SECRET);
  const adminToken = await minter.user({
    id: "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa",
    email: "admin@mfuko.test",
    appMetadata: { role: "admin" },
  });
  const userToken = await minter.user({ id: "11111111-1111-4111-8111-111111111111", email: "alice@mfuko.test" });
  const makers = generators(options.env, adminToken, userToken);
  const before = await rowCounts(sql);
  const statuses = new Map<number, number>();
  const unexpected: string[] = [];
  let sent = 0;
  const sender = async () => {
    while (sent < total - 1) {
      sent++;
      const request = await pick(makers)();
      const body = request.method === "GET" ? undefined : request.body;
      const response = await fetch(`${options.functionsUrl}${request.path}`, { method: request.method, headers: request.headers, body });
      await response.arrayBuffer();
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      if (response.status < 400 || response.status >= 500) {
        unexpected.push(`${request.kind} ${request.method} ${request.path.slice(0, 80)} -> ${response.status}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, sender));
  const injected = await rawInjection(options.functionsUrl);
  statuses.set(injected, (statuses.get(injected) ?? 0) + 1);
  if (injected < 400 || injected >= 500) unexpected.push(`raw CRLF header injection -> ${injected}`);

  const after = await rowCounts(sql);
  const written = [...after].filter(([table, count]) => count !== before.get(table));
  const failures = [
    ...unexpected.slice(0, 20),
    ...(unexpected.length > 20 ? [`... and ${unexpected.length - 20} more unexpected answers`] : []),
    ...written.map(([table, count]) => `rows written: ${table} went from ${before.get(table) ?? 0} to ${count}`),
  ];
  const count = (predicate: (status: number) => boolean) => [...statuses].filter(([s]) => predicate(s)).reduce((sum, [, n]) => sum + n, 0);
  return {
    name: "Bad input (10,000 malformed requests across every function)",
    figures: {
      "requests sent": sent + 1,
      "4xx": count((s) => s >= 400 && s < 500),
      "5xx": count((s) => s >= 500),
      "2xx/3xx": count((s) => s < 400),
      "rows written": written.reduce((sum, [table, n]) => sum + Math.abs(n - (before.get(table) ?? 0)), 0),
      ...Object.fromEntries([...statuses].sort(([a], [b]) => a - b).map(([status, n]) => [`answered ${status}`, n])),
    },
    failures,
  };
}
