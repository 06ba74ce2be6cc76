import { describe, expect, it } from "vitest";
import { checkReadiness, type Probe } from "./checks.ts";

const probe = (name: string, critical: boolean, run: () => Promise<unknown>, timeoutMs = 1_000): Probe => ({
  name,
  critical,
  timeoutMs,
  run,
});
const never = () => new Promise(() => {});

describe("checkReadiness", () => {
  it("is healthy when every probe answers, with a latency per check", async () => {
    const result = await checkReadiness([
      probe("database", true, () => Promise.resolve(1)),
      probe("store", false, () => Promise.resolve(1)),
    ]);
    expect(result.status).toBe("healthy");
    expect(result.checks.database).toMatchObject({ status: "healthy" });
    expect(result.checks.database.latency_ms).toBeGreaterThanOrEqual(0);
    expect(result.checks.store.error).toBeUndefined();
  });

  it("is degraded when only a non-critical probe fails", async () => {
    const result = await checkReadiness([
      probe("database", true, () => Promise.resolve(1)),
      probe("store", false, () => Promise.reject(new Error("ECONNREFUSED"))),
    ]);
    expect(result.status).toBe("degraded");
    expect(result.checks.store).toMatchObject({ status: "unhealthy", error: "unreachable" });
  });

  it("is unhealthy when a critical probe fails, without leaking the error text", async () => {
    const leak = "postgresql://postgres:hunter2@db:5432/postgres";
    const result = await checkReadiness([probe("database", true, () => Promise.reject(new Error(leak)))]);
    expect(result.status).toBe("unhealthy");
    expect(JSON.stringify(result)).not.toContain("hunter2");
  });

  it("gives up on a probe at its deadline", async () => {
    const result = await checkReadiness([probe("database", true, never, 50)]);
    expect(result.checks.database).toMatchObject({ status: "unhealthy", error: "timed out after 50 ms" });
    expect(result.status).toBe("unhealthy");
  });

  it("starts every probe before any has finished (parallel, not one after another)", async () => {
    let firstFinished = false;
    let secondStartedBeforeFirstFinished = false;
    await checkReadiness([
      probe("database", true, async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        firstFinished = true;
      }),
      probe("store", false, () => {
        secondStartedBeforeFirstFinished = !firstFinished;
        return Promise.resolve();
      }),
    ]);
    expect(firstFinished).toBe(true);
    expect(secondStartedBeforeFirstFinished).toBe(true);
  });
});
