// scripts/verify/health-checks.sh against a small HTTP server started here, answering the way
// the health function does (docs/EDGE_FUNCTIONS.md): exit 0 healthy or degraded, 1 unhealthy, 2 unreachable.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { runScript } from "./run-script.ts";

const script = "scripts/verify/health-checks.sh";

interface Answer {
  status: number;
  body: string;
}

const servers: Server[] = [];

/** Serves /functions/v1/health/live and /ready; records every path asked for. */
async function healthServer(ready: Answer, live: Answer = { status: 200, body: JSON.stringify({ status: "live", version: "abc123" }) }) {
  const paths: string[] = [];
  const server = createServer((request, response) => {
    paths.push(request.url ?? "");
    const answer = request.url === "/functions/v1/health/live"
      ? live
      : request.url === "/functions/v1/health/ready"
      ? ready
      : { status: 404, body: "{}" };
    response.writeHead(answer.status, { "content-type": "application/json" }).end(answer.body);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, paths, server };
}

const readiness = (status: string, checks: Record<string, unknown>, version = "abc123") => JSON.stringify({ status, checks, version });

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

describe("health-checks.sh", () => {
  it("exits 0 when healthy and prints every check with its latency", async () => {
    const { url, paths } = await healthServer({
      status: 200,
      body: readiness("healthy", {
        database: { status: "healthy", latency_ms: 4 },
        rate_limit_store: { status: "healthy", latency_ms: 2 },
      }),
    });
    const result = await runScript(script, ["--url", url]);
    expect(result.code).toBe(0);
    expect(paths).toEqual(["/functions/v1/health/live", "/functions/v1/health/ready"]);
    expect(result.stdout).toMatch(/live\s+HTTP 200\s+\d+ ms/);
    expect(result.stdout).toMatch(/database\s+healthy\s+4 ms/);
    expect(result.stdout).toMatch(/rate_limit_store\s+healthy\s+2 ms/);
    expect(result.stdout).toContain("version abc123");
    expect(result.stdout).toMatch(/result: healthy\n$/);
  });

  it("exits 0 when degraded and shows the failing check's error", async () => {
    const { url } = await healthServer({
      status: 200,
      body: readiness("degraded", {
        database: { status: "healthy", latency_ms: 3 },
        rate_limit_store: { status: "unhealthy", latency_ms: 3000, error: "timed out after 3000 ms" },
      }),
    });
    const result = await runScript(script, ["--url", `${url}/`]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/rate_limit_store\s+unhealthy\s+3000 ms\s+timed out after 3000 ms/);
    expect(result.stdout).toMatch(/result: degraded\n$/);
  });

  it("exits 1 when /ready answers 503 unhealthy", async () => {
    const { url } = await healthServer({
      status: 503,
      body: readiness("unhealthy", { database: { status: "unhealthy", latency_ms: 5000, error: "timed out after 5000 ms" } }),
    });
    const result = await runScript(script, ["--url", url]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/ready\s+HTTP 503/);
    expect(result.stdout).toMatch(/database\s+unhealthy\s+5000 ms\s+timed out/);
    expect(result.stdout).toMatch(/result: unhealthy\n$/);
  });

  it("exits 1 when the answer is not the health shape", async () => {
    const { url } = await healthServer({ status: 200, body: "<html>gateway</html>" });
    const result = await runScript(script, ["--url", url]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("unexpected answer from /ready");
  });

  it("exits 1 when /live does not answer 200 (function not deployed)", async () => {
    const { url, paths } = await healthServer({ status: 200, body: readiness("healthy", {}) }, { status: 404, body: "{}" });
    const result = await runScript(script, ["--url", url]);
    expect(result.code).toBe(1);
    expect(paths).toEqual(["/functions/v1/health/live"]);
  });

  it("exits 1 when the version served is not the one expected", async () => {
    const { url } = await healthServer({
      status: 200,
      body: readiness("healthy", { database: { status: "healthy", latency_ms: 1 } }, "old-sha"),
    });
    const result = await runScript(script, ["--url", url, "--expect-version", "new-sha"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("serving version 'old-sha', expected 'new-sha'");
  });

  it("exits 2 when the server is stopped", async () => {
    const { url, server } = await healthServer({ status: 200, body: readiness("healthy", {}) });
    await new Promise((resolve) => server.close(resolve));
    const result = await runScript(script, ["--url", url]);
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/live\s+unreachable/);
    expect(result.stdout).toMatch(/result: unreachable\n$/);
  });

  it("exits 2 when the server does not answer within --timeout", async () => {
    const silent = createServer(() => undefined);
    servers.push(silent);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const result = await runScript(script, ["--url", `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, "--timeout", "1"]);
    expect(result.code).toBe(2);
    silent.closeAllConnections();
  });

  it.each([
    [[], "no URL: pass --url or set SUPABASE_URL"],
    [["--url", "ftp://example.com"], "--url must be an http(s) URL"],
    [["--url", "http://127.0.0.1:1", "--timeout", "0"], "--timeout must be a whole number of seconds"],
    [["--url", "http://127.0.0.1:1", "--verbose"], "unknown option '--verbose'"],
  ])("rejects bad usage %j with exit 64", async (args, message) => {
    const result = await runScript(script, args);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain(message);
  });

  it("takes the URL from SUPABASE_URL", async () => {
    const { url } = await healthServer({ status: 200, body: readiness("healthy", { database: { status: "healthy", latency_ms: 1 } }) });
    const result = await runScript(script, [], { SUPABASE_URL: url });
    expect(result.code).toBe(0);
  });
});
