// Benchmark 7 (docs/BENCHMARKS.md): WhatsApp reply latency, from the webhook's receipt to the Graph API
// call that carries the reply, with 50 senders writing at once. A Deno functions server of its
// own on the benchmark's database sends to the Graph API stand-in in this process, which notes
// when each reply arrives. Each sender first writes "hi" (its contact and wallet are created:
// not measured), then every round all 50 write "balance" at the same moment.
import { createHmac } from "node:crypto";
import { openSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFunctionsServer } from "@mfuko/local-stack/functions-server";
import { freePort } from "@mfuko/local-stack/ports";
import { type GraphMessage, startGraphApiStandIn } from "../supabase/tests/support/graph-api-standin.ts";
import { inboundNotification, newWaId, textOf } from "../supabase/tests/support/whatsapp-messages.ts";
import { type BenchmarkResult, formatNumber, percentile } from "./lib/report.ts";

const SENDERS = 50;
const TARGET_P95_MS = 1_000;

export interface WhatsAppLatencyOptions {
  dbUrl: string;
  /** The stack's functions environment (the webhook's app secret among it). */
  env: Record<string, string>;
  rounds: number;
}

export async function runWhatsAppLatency(options: WhatsAppLatencyOptions): Promise<BenchmarkResult> {
  const graph = await startGraphApiStandIn();
  // When each reply reached the Graph API, by recipient (the stand-in records it on arrival).
  const arrivals = new Map<string, number[]>();
  const record = graph.delivered.push.bind(graph.delivered);
  graph.delivered.push = (...messages: GraphMessage[]) => {
    for (const m of messages) arrivals.set(m.to, [...(arrivals.get(m.to) ?? []), performance.now()]);
    return record(...messages);
  };
  const port = await freePort();
  const server = await startFunctionsServer({
    port,
    env: {
      ...options.env,
      SUPABASE_DB_URL: options.dbUrl,
      WHATSAPP_API_BASE_URL: graph.url,
      WHATSAPP_PHONE_NUMBER_ID: graph.phoneNumberId,
      WHATSAPP_ACCESS_TOKEN: graph.accessToken,
      RATE_LIMIT_WHATSAPP_SENDER_PER_MIN: "100000",
    },
    output: openSync(join(tmpdir(), `mfuko-bench-whatsapp-${port}.log`), "a"),
  });
  const secret = options.env.WHATSAPP_APP_SECRET!;
  const senders = Array.from({ length: SENDERS }, newWaId);

  /** Writes `body` from `waId`; the milliseconds until its reply reached the Graph API. */
  async function write(waId: string, body: string): Promise<number> {
    const raw = JSON.stringify(inboundNotification(waId, "Bench", [textOf(body)], graph.phoneNumberId));
    const replied = arrivals.get(waId)?.length ?? 0;
    const start = performance.now();
    const response = await fetch(`${server.url}/whatsapp-webhook`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(raw).digest("hex")}`,
        // Meta's shared egress address, one per sender here would hide the per-address guard.
        "x-forwarded-for": "173.252.88.1",
      },
      body: raw,
    });
    await response.arrayBuffer();
    const reply = arrivals.get(waId)?.[replied];
    if (response.status !== 200 || reply === undefined) throw new Error(`no reply to ${body}: HTTP ${response.status}`);
    return reply - start;
  }

  try {
    await Promise.all(senders.map((waId) => write(waId, "hi")));
    const latencies: number[] = [];
    for (let round = 0; round < options.rounds; round++) {
      latencies.push(...(await Promise.all(senders.map((waId) => write(waId, "balance")))));
    }
    const p50 = percentile(latencies, 50);
    const p95 = percentile(latencies, 95);
    return {
      title: "WhatsApp reply latency (benchmark 7)",
      figures: [
        { name: "replies measured", value: latencies.length, unit: "messages" },
        { name: "reply latency p50", value: p50, unit: "ms" },
        { name: "reply latency p95", value: p95, unit: "ms" },
        { name: "reply latency max", value: Math.max(...latencies), unit: "ms" },
      ],
      ratios: [{
        name: "WhatsApp reply latency p95 (ms, 50 senders at once)",
        value: p95,
        target: TARGET_P95_MS,
        atMost: true,
        measured: `${formatNumber(p95)} ms`,
        limitedBy: "Each reply is about twenty statements (limits, contact, the answer as the user, the outbox lease and record) " +
          "over the function's five database connections, so 50 replies at once queue for them.",
      }],
      notes: [
        `${SENDERS} senders write "balance" at the same moment, ${options.rounds} rounds, through the Deno functions server; ` +
        "from the webhook's receipt to the Graph API stand-in receiving the reply (signature, per-sender limit, contact, " +
        "the balance read as the user, the outbox row, commit, lease and send).",
      ],
    };
  } finally {
    await server.stop();
    await graph.close();
  }
}
