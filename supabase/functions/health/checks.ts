// Readiness: the database and the rate-limit store, probed in parallel, each with its own deadline.

export type CheckStatus = "healthy" | "unhealthy";
export type OverallStatus = "healthy" | "degraded" | "unhealthy";

export interface CheckResult {
  status: CheckStatus;
  latency_ms: number;
  error?: string;
}

export interface Probe {
  name: string;
  timeoutMs: number;
  /** Without it the service cannot work (unhealthy); otherwise a failure only degrades it. */
  critical: boolean;
  run(): Promise<unknown>;
}

export interface Readiness {
  status: OverallStatus;
  checks: Record<string, CheckResult>;
}

async function runProbe(probe: Probe): Promise<CheckResult> {
  const startedAt = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${probe.timeoutMs} ms`)), probe.timeoutMs);
  });
  try {
    await Promise.race([probe.run(), deadline]);
    return { status: "healthy", latency_ms: Math.round(performance.now() - startedAt) };
  } catch (error) {
    // Only the error's class of problem is shown; connection strings never reach the answer.
    const message = error instanceof Error && error.message.startsWith("timed out") ? error.message : "unreachable";
    return { status: "unhealthy", latency_ms: Math.round(performance.now() - startedAt), error: message };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs every probe at once; a failed critical probe makes the whole unhealthy, any other degraded. */
export async function checkReadiness(probes: Probe[]): Promise<Readiness> {
  const results = await Promise.all(probes.map(runProbe));
  const checks = Object.fromEntries(probes.map((probe, i) => [probe.name, results[i]]));
  const failed = probes.filter((_, i) => results[i].status === "unhealthy");
  const status: OverallStatus = failed.some((probe) => probe.critical) ? "unhealthy" : failed.length > 0 ? "degraded" : "healthy";
  return { status, checks };
}
