// The local scheduler: POSTs each job with the service key on its interval, one run of a job
// at a time, quiet when a run did nothing, and nothing more once stopped.
import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { startJobScheduler, untilNextUtcHour } from "../src/job-scheduler.ts";

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => server ? server.close(() => resolve()) : resolve()));

async function fakeJobs(answer: (job: string) => unknown): Promise<{ url: string; calls: string[] }> {
  const calls: string[] = [];
  server = createServer((request, response) => {
    calls.push(`${request.method} ${request.url} ${request.headers.authorization}`);
    const job = request.url!.split("/").pop()!;
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer(job)));
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/functions/v1`, calls };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits (at most 10 s, the machine may be busy) until `done`. */
async function until(done: () => boolean): Promise<void> {
  for (let waited = 0; !done() && waited < 10_000; waited += 20) await sleep(20);
}

describe("startJobScheduler", () => {
  it("calls each job with the service key on its interval, reports what did something, and stops", async () => {
    const jobs = await fakeJobs((job) => job === "busy" ? { job, applied: 2 } : { job, applied: 0, report_date: "2026-12-06" });
    const lines: string[] = [];
    const scheduler = startJobScheduler({
      functionsUrl: jobs.url,
      serviceKey: "service-key",
      schedule: [{ job: "busy", everyMs: 40 }, { job: "idle", everyMs: 40 }],
      report: (line) => lines.push(line),
    });
    await until(() => lines.length >= 2 && jobs.calls.some((call) => call.includes("/idle ")));
    scheduler.stop();
    expect(jobs.calls).toContain("POST /functions/v1/jobs/busy Bearer service-key");
    expect(jobs.calls).toContain("POST /functions/v1/jobs/idle Bearer service-key");
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.every((line) => line.startsWith('busy: HTTP 200 {"job":"busy","applied":2}'))).toBe(true);
    // A run already on its way when stop() came may still land; nothing is started after it.
    await sleep(100);
    const made = jobs.calls.length;
    await sleep(200);
    expect(jobs.calls.length).toBe(made);
  });

  it("reports a job that cannot be reached", async () => {
    const lines: string[] = [];
    const scheduler = startJobScheduler({
      functionsUrl: "http://127.0.0.1:9/functions/v1",
      serviceKey: "k",
      schedule: [{ job: "momo-poll", everyMs: 10 }],
      report: (line) => lines.push(line),
    });
    await until(() => lines.length > 0);
    scheduler.stop();
    expect(lines[0]).toMatch(/^momo-poll: /);
  });
});

describe("untilNextUtcHour", () => {
  it("is the time to the hour today, or tomorrow once it has passed", () => {
    expect(untilNextUtcHour(new Date("2026-12-06T01:59:59.000Z"), 2)).toBe(1000);
    expect(untilNextUtcHour(new Date("2026-12-06T02:00:00.000Z"), 2)).toBe(24 * 3600_000);
    expect(untilNextUtcHour(new Date("2026-12-06T23:00:00.000Z"), 2)).toBe(3 * 3600_000);
  });
});
