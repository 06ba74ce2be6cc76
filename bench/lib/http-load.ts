// HTTP load with autocannon for the webhook benchmark (docs/BENCHMARKS.md, benchmark 4): one
// load per case and round, every answered request's latency kept, so that a case's rounds pool
// into percentiles over all its requests, as pgbench's runs do in the ledger benchmarks.
import autocannon from "autocannon";
import { percentile } from "./report.ts";

export interface HttpLoad {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** The highest p99 of the rounds pooled into this load (the load's own p99 for one round). */
  worstRoundP99Ms: number;
  /** Every answered request's latency. */
  latenciesMs: number[];
  requests: number;
  /** Answers other than 2xx, errors and timeouts. */
  non2xx: number;
}

/** Runs autocannon with `options` and measures what it answered. */
export async function runHttpLoad(options: autocannon.Options): Promise<HttpLoad> {
  const latenciesMs: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (error, done) => (error ? reject(error) : resolve(done)));
    instance.on("response", (_client, _status, _bytes, responseTime) => latenciesMs.push(responseTime));
  });
  return httpLoad({
    requestsPerSecond: result.requests.average,
    latenciesMs,
    requests: result.requests.total,
    non2xx: result.non2xx + result.errors + result.timeouts,
  });
}

/** A load of one round, its percentiles taken from its requests' latencies. */
export function httpLoad(measured: Pick<HttpLoad, "requestsPerSecond" | "latenciesMs" | "requests" | "non2xx">): HttpLoad {
  const p99Ms = percentile(measured.latenciesMs, 99);
  return { ...measured, p50Ms: percentile(measured.latenciesMs, 50), p99Ms, worstRoundP99Ms: p99Ms };
}

/** Loads of equal length as one: mean rate, summed counts, percentiles over every request. */
export function poolHttpLoads(loads: HttpLoad[]): HttpLoad {
  const pooled = httpLoad({
    requestsPerSecond: loads.reduce((sum, l) => sum + l.requestsPerSecond, 0) / loads.length,
    latenciesMs: loads.flatMap((l) => l.latenciesMs),
    requests: loads.reduce((sum, l) => sum + l.requests, 0),
    non2xx: loads.reduce((sum, l) => sum + l.non2xx, 0),
  });
  return { ...pooled, worstRoundP99Ms: Math.max(...loads.map((l) => l.worstRoundP99Ms)) };
}
