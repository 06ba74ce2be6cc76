import { readFileSync } from "node:fs";
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

/** The kernel's range of ephemeral ports (Linux's default when it cannot be read). */
export function ephemeralPortRange(): { low: number; high: number } {
  try {
    const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return { low, high };
  } catch {
    // not Linux: assume its default
  }
  return { low: 32768, high: 60999 };
}

/** Ports handed out by this process, so two callers never get the same one before either listens. */
const handedOut = new Set<number>();

/**
 * A port free right now, for throwaway stacks in tests and benchmarks, chosen outside the
 * kernel's ephemeral range: a stack often binds its port seconds later (or again after a
 * restart), and in between any outgoing connection could be given an ephemeral port as its
 * own local port and make the bind fail.
 */
export async function freePort(): Promise<number> {
  const { low, high } = ephemeralPortRange();
  const [from, to] = low > 11_000 ? [10_000, low - 1] : [high + 1, 65_535];
  if (to - from < 1_000) return kernelChosenPort(); // the kernel hands out nearly every port
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = from + Math.floor(Math.random() * (to - from + 1));
    if (handedOut.has(port)) continue;
    if ((await tryListen(port)) === null) continue;
    handedOut.add(port);
    return port;
  }
  throw new StackError(`no free TCP port on 127.0.0.1 between ${from} and ${to}`);
}

async function kernelChosenPort(): Promise<number> {
  const port = await tryListen(0);
  if (port === null) throw new StackError("no free TCP port on 127.0.0.1");
  return port;
}
