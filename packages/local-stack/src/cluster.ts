import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { postgresBinary } from "./postgres-binaries.ts";
import { postgresServiceAccount, type ServiceAccount } from "./service-account.ts";
import { StackError } from "./stack-error.ts";
import { stopProcess } from "./stop-process.ts";

// pg_cron runs the pure-SQL scheduled jobs, as Supabase Cron does in production: preloaded,
// in database postgres, with background workers so that it needs no password to connect.
const pgCronSettings = ["shared_preload_libraries=pg_cron", "cron.database_name=postgres", "cron.use_background_workers=on"];

export interface ClusterOptions {
  /** Folder that holds the data directory, the socket and the server log. */
  home: string;
  port: number;
  /**
   * false trades crash safety for speed (fsync off): right for throwaway test clusters,
   * wrong for `npm start`, benchmarks and the crash drill.
   */
  durable: boolean;
  /** Another PostgreSQL's binaries (tests on a second major version); default the machine's newest. */
  binDir?: string;
}

const password = "postgres";

/** A private PostgreSQL cluster on 127.0.0.1, run as an unprivileged user when we are root. */
export class PostgresCluster {
  readonly home: string;
  readonly port: number;
  readonly dataDir: string;
  readonly logFile: string;
  private readonly durable: boolean;
  private readonly binDir: string | undefined;
  private readonly account: ServiceAccount | null;
  private server: ChildProcess | null = null;

  constructor(options: ClusterOptions) {
    this.home = options.home;
    this.port = options.port;
    this.durable = options.durable;
    this.binDir = options.binDir;
    this.dataDir = join(options.home, "data");
    this.logFile = join(options.home, "postgres.log");
    this.account = postgresServiceAccount();
  }

  /** A binary of this cluster's PostgreSQL; client tools it lacks come from the machine's. */
  private binary(name: string): string {
    const own = this.binDir && join(this.binDir, name);
    return own && existsSync(own) ? own : postgresBinary(name);
  }

  /**
   * Whether this PostgreSQL has pg_cron (setup.mjs installs it for the newest version; a
   * cluster of another version, such as the RLS audit's PostgreSQL 17 test, may lack it).
   */
  private get hasPgCron(): boolean {
    return existsSync(join(dirname(this.binary("postgres")), "..", "lib", "pg_cron.so"));
  }

  /** Superuser URL (`postgres`/`postgres`), what the Supabase CLI and tests connect with. */
  get url(): string {
    return `postgresql://postgres:${password}@127.0.0.1:${this.port}/postgres`;
  }

  get initialized(): boolean {
    return existsSync(join(this.dataDir, "PG_VERSION"));
  }

  get pid(): number | undefined {
    return this.server?.pid;
  }

  /** Creates the data directory on first use, starts the server and waits until it accepts connections. */
  async start(): Promise<void> {
    if (!this.initialized) this.init();
    const logFd = openSync(this.logFile, "a");
    if (this.account) chownSync(this.logFile, this.account.uid, this.account.gid);
    const settings = [
      `listen_addresses=127.0.0.1`,
      `unix_socket_directories=${this.home}`,
      "max_connections=200",
      "shared_buffers=256MB",
      ...(this.hasPgCron ? pgCronSettings : []),
      ...(this.durable ? [] : ["fsync=off", "synchronous_commit=off", "full_page_writes=off"]),
    ];
    const server = spawn(this.binary("postgres"), ["-D", this.dataDir, "-p", String(this.port), ...settings.flatMap((s) => ["-c", s])], {
      stdio: ["ignore", logFd, logFd],
      ...(this.account ? { uid: this.account.uid, gid: this.account.gid } : {}),
    });
    closeSync(logFd);
    this.server = server;
    await this.waitUntilReady(server);
  }

  /**
   * Stops a server of this data directory that an earlier run left behind (its owner was
   * killed before it could stop it). Returns whether there was one.
   */
  stopLeftover(): boolean {
    const pidFile = join(this.dataDir, "postmaster.pid");
    if (!existsSync(pidFile)) return false;
    const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
    try {
      process.kill(pid, 0);
    } catch {
      return false; // stale: PostgreSQL removes it itself on start
    }
    const result = spawnSync(this.binary("pg_ctl"), ["stop", "-D", this.dataDir, "-m", "fast", "-w", "-t", "60"], {
      encoding: "utf8",
      ...(this.account ? { uid: this.account.uid, gid: this.account.gid } : {}),
    });
    if (result.status !== 0) {
      throw new StackError(
        `PostgreSQL left running in ${this.dataDir} (pid ${pid}) did not stop: ${(result.stderr || result.stdout).trim()}`,
      );
    }
    return true;
  }

  /** Fast shutdown (SIGINT): rolls back open transactions, checkpoints, frees the port. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await stopProcess(server, "SIGINT", 15_000);
  }

  /** SIGKILL of the postmaster, as a crash would do it (the crash drill). */
  async crash(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server || server.exitCode !== null) return;
    await stopProcess(server, "SIGKILL", null);
    // Orphaned backends keep the shared memory until they notice the postmaster is gone.
    await sleep(500);
  }

  /** Removes the whole cluster folder (`npm start -- --reset`, throwaway clusters). */
  destroy(): void {
    rmSync(this.home, { recursive: true, force: true });
  }

  private init(): void {
    // Parents stay enterable (0755) so the unprivileged server user can reach its folder.
    mkdirSync(this.home, { recursive: true, mode: 0o755 });
    mkdirSync(this.dataDir, { mode: 0o700 });
    if (this.account) {
      chownSync(this.home, this.account.uid, this.account.gid);
      chownSync(this.dataDir, this.account.uid, this.account.gid);
      const reachable = spawnSync("test", ["-w", this.dataDir], { uid: this.account.uid, gid: this.account.gid });
      if (reachable.status !== 0) {
        throw new StackError(
          `user ${this.account.name} cannot reach ${this.dataDir}: give its parent folders o+x, or clone the project where every user can enter.`,
        );
      }
    }
    const passwordFile = join(this.home, "initdb-password");
    writeFileSync(passwordFile, password, { mode: 0o600 });
    if (this.account) chownSync(passwordFile, this.account.uid, this.account.gid);
    const result = spawnSync(
      this.binary("initdb"),
      [
        "-D",
        this.dataDir,
        "-U",
        "postgres",
        `--pwfile=${passwordFile}`,
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "-E",
        "UTF8",
        "--locale=C",
      ],
      { encoding: "utf8", ...(this.account ? { uid: this.account.uid, gid: this.account.gid } : {}) },
    );
    rmSync(passwordFile, { force: true });
    if (result.status !== 0) {
      const reason = (result.stderr || result.stdout || "").trim().split("\n").pop();
      throw new StackError(`initdb failed in ${this.dataDir}: ${reason}`);
    }
  }

  private async waitUntilReady(server: ChildProcess): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (server.exitCode !== null || server.signalCode !== null) {
        throw new StackError(`PostgreSQL stopped while starting on port ${this.port}: ${this.lastLogLine()} (log: ${this.logFile})`);
      }
      const probe = spawnSync(this.binary("pg_isready"), ["-q", "-h", "127.0.0.1", "-p", String(this.port), "-U", "postgres"]);
      if (probe.status === 0) return;
      await sleep(100);
    }
    throw new StackError(`PostgreSQL did not accept connections on port ${this.port} within 60 s (log: ${this.logFile})`);
  }

  private lastLogLine(): string {
    if (!existsSync(this.logFile)) return "no log written";
    const lines = readFileSync(this.logFile, "utf8").trim().split("\n");
    return lines.filter((line) => /FATAL|ERROR|PANIC/.test(line)).pop() ?? lines.pop() ?? "";
  }
}
