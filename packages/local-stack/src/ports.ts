import { createServer } from "node:net";
import { StackError } from "./stack-error.ts";

function tryListen(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(null));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === "object" && address ? address.port : null;
      server.close(() => resolve(bound));
    });
  });
}

/** Fails with a clear line when something already listens on the port. */
export async function assertPortFree(port: number, what: string): Promise<void> {
  if ((await tryListen(port)) === null) {
    throw new StackError(
      `port ${port} (${what}) is busy: stop whatever listens there (\`ss -ltnp 'sport = :${port}'\` shows it) and run again.`,
    );
  }
}

/** A port the kernel reports free right now, for throwaway stacks in tests and benchmarks. */
export async function freePort(): Promise<number> {
  const port = await tryListen(0);
  if (port === null) throw new StackError("no free TCP port on 127.0.0.1");
  return port;
}
