import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { postgresServiceAccount } from "./service-account.ts";
import { StackError } from "./stack-error.ts";
import { stopProcess } from "./stop-process.ts";

const binary = "/usr/sbin/pgbouncer";

export interface PgBouncerOptions {
  /** Folder for its configuration, user list and log (created if missing; its parents must be enterable). */
  home: string;
  port: number;
  /** The PostgreSQL it pools, on 127.0.0.1. */
  serverPort: number;
  /** Login roles and their passwords: PgBouncer authenticates clients and logs in to the server with them. */
  users: Record<string, string>;
  /** Server connections per database and user. */
  poolSize: number;
}

/**
 * PgBouncer in transaction mode in front of a local cluster, as Supabase's Supavisor pools in
 * production: a client holds a server connection only for one transaction, so nothing may
 * depend on session state (prepared statements, session settings, advisory session locks).
 * Runs as the same unprivileged user as the cluster (PgBouncer refuses to run as root).
 */
export class PgBouncer {
  readonly port: number;
  readonly logFile: string;
  private readonly configFile: string;
  private process: ChildProcess | null = null;

  constructor(private readonly options: PgBouncerOptions) {
    this.port = options.port;
    this.configFile = join(options.home, "pgbouncer.ini");
    this.logFile = join(options.home, "pgbouncer.log");
  }

  /** The URL of `user` (one of the configured users) through the pooler. */
  url(user = "postgres", database = "postgres"): string {
    const password = this.options.users[user];
    if (password === undefined) throw new StackError(`PgBouncer has no user ${user}`);
    return `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${this.port}/${database}`;
  }

  async start(): Promise<void> {
    if (!existsSync(binary)) throw new StackError(`PgBouncer is not installed (${binary}): install the Debian package pgbouncer`);
    const { home } = this.options;
    const account = postgresServiceAccount();
    mkdirSync(home, { recursive: true });
    chmodSync(home, 0o755);
    const userList = join(home, "pgbouncer-users.txt");
    const quote = (value: string) => `"${value.replaceAll('"', '""')}"`;
    writeFileSync(userList, Object.entries(this.options.users).map(([user, password]) => `${quote(user)} ${quote(password)}\n`).join(""), {
      mode: 0o600,
    });
    writeFileSync(
      this.configFile,
      [
        "[databases]",
        `* = host=127.0.0.1 port=${this.options.serverPort}`,
        "[pgbouncer]",
        "listen_addr = 127.0.0.1",
        `listen_port = ${this.port}`,
        "unix_socket_dir =",
        "auth_type = scram-sha-256",
        `auth_file = ${userList}`,
        "pool_mode = transaction",
        `default_pool_size = ${this.options.poolSize}`,
        "max_client_conn = 2000",
        `logfile = ${this.logFile}`,
        "log_connections = 0",
        "log_disconnections = 0",
        // postgres.js and pgbench send it at login; PgBouncer cannot track it per transaction.
        "ignore_startup_parameters = extra_float_digits",
        "",
      ].join("\n"),
    );
    const logFd = openSync(this.logFile, "a");
    if (account) {
      for (const file of [userList, this.configFile, this.logFile]) chownSync(file, account.uid, account.gid);
    }
    this.process = spawn(binary, [this.configFile], {
      stdio: ["ignore", logFd, logFd],
      ...(account ? { uid: account.uid, gid: account.gid } : {}),
    });
    closeSync(logFd);
    await this.waitUntilListening();
  }

  async stop(): Promise<void> {
    const child = this.process;
    this.process = null;
    // SIGINT: PgBouncer's immediate shutdown (SIGTERM waits for clients to leave).
    if (child) await stopProcess(child, "SIGINT", null);
  }

  private async waitUntilListening(): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const child = this.process!;
      if (child.exitCode !== null || child.signalCode !== null) {
        const log = existsSync(this.logFile) ? readFileSync(this.logFile, "utf8").trim().split("\n").pop() : "no log";
        throw new StackError(`PgBouncer stopped while starting on port ${this.port}: ${log} (log: ${this.logFile})`);
      }
      const open = await new Promise<boolean>((resolve) => {
        const socket = connect(this.port, "127.0.0.1", () => {
          socket.destroy();
          resolve(true);
        });
        socket.once("error", () => resolve(false));
      });
      if (open) return;
      await sleep(50);
    }
    throw new StackError(`PgBouncer did not listen on port ${this.port} within 10 s (log: ${this.logFile})`);
  }
}
