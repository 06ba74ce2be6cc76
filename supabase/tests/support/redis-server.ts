// A throwaway redis-server on a free loopback port, for the tests of the Upstash path.
import { spawn } from "node:child_process";
import { freePort } from "@mfuko/local-stack/ports";
import { stopProcess } from "@mfuko/local-stack/stop-process";

export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts redis-server without persistence and resolves once it accepts connections. */
export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  await new Promise<void>((resolve, reject) => {
    let output = "";
    const fail = (message: string) => {
      clearTimeout(timer);
      child.stdout!.off("data", onData);
      reject(new Error(message));
    };
    const onExit = (code: number | null) => fail(`redis-server exited with code ${code}: ${output}`);
    const onError = (error: Error) =>
      fail(`redis-server could not be started (is it installed? apt-get install redis-server): ${error.message}`);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (!output.includes("Ready to accept connections")) return;
      clearTimeout(timer);
      child.off("exit", onExit);
      child.off("error", onError);
      child.stdout!.off("data", onData);
      child.stdout!.resume();
      resolve();
    };
    const timer = setTimeout(() => fail(`redis-server did not start on port ${port}: ${output}`), 10_000);
    child.once("exit", onExit);
    child.once("error", onError);
    child.stdout!.on("data", onData);
  });
  return { url: `redis://127.0.0.1:${port}`, port, stop: () => stopProcess(child, "SIGTERM", null) };
}
