import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { openSync, closeSync } from "node:fs";
import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { connect as natsConnect } from "@nats-io/transport-node";
import { connect } from "node:net";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { trackChild } from "./children.js";
import { renderNatsConfig, type NatsConfigOptions } from "./nats-config.js";
import { freePort } from "./ports.js";

export interface StartNatsOptions
  extends Partial<
    Omit<NatsConfigOptions, "port" | "httpPort" | "storeDir" | "serverName" | "gatewayPassword" | "adminPassword" | "sysPassword">
  > {
  serverName?: string;
  /** Passwords of the static users; each defaults to a random one (see `users`). */
  gatewayPassword?: string;
  adminPassword?: string;
  sysPassword?: string;
  /** Path of a nats-server >= 2.12, e.g. from ensureNatsServer(). */
  binary: string;
  /** Holds the generated config, the JetStream store, the log and the pid file. */
  dir: string;
  /** Client port; 0 or undefined picks a free one. Kept across restart(). */
  port?: number;
  /**
   * Serve nats-server's HTTP monitoring (/varz, /connz, /subsz, ...) on `host`. Off by default:
   * it has no authentication and lists every connection and subscription, inboxes included.
   * Tests and benchmarks that read it turn it on.
   */
  monitoring?: boolean;
  /** Monitoring port when `monitoring`; 0 or undefined picks a free one. */
  httpPort?: number;
  /** Default `<dir>/jetstream`. */
  storeDir?: string;
  /** How long to wait for the server to become healthy. Default 20 s. */
  startTimeoutMs?: number;
}

export interface NatsUsers {
  gateway: { user: "gateway"; password: string };
  admin: { user: "admin"; password: string };
  sys: { user: "sys"; password: string };
}

export interface NatsServer {
  /** `nats://127.0.0.1:<port>` (no credentials: pass user/pass to connect()). */
  url: string;
  port: number;
  /** Only with `monitoring`. */
  httpPort: number | undefined;
  /** `http://127.0.0.1:<httpPort>`: /healthz, /varz, /jsz, ... (only with `monitoring`). */
  monitorUrl: string | undefined;
  configPath: string;
  logPath: string;
  storeDir: string;
  users: NatsUsers;
  /** pid of the running server, undefined while stopped. */
  readonly pid: number | undefined;
  /** Graceful stop (SIGTERM, then SIGKILL after 10 s). Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL, as in a crash; the store keeps whatever was fsynced. */
  kill(): Promise<void>;
  /** Starts again with the same config, data and port. No-op while running. */
  start(): Promise<void>;
}

const generatePassword = () => randomBytes(18).toString("base64url");

/**
 * Starts a nats-server child process with a generated config (see nats-config.ts) and resolves
 * once it is healthy, JetStream included. The server is killed when this process exits.
 */
export async function startNats(opts: StartNatsOptions): Promise<NatsServer> {
  const dir = resolve(opts.dir);
  await mkdir(dir, { recursive: true });
  const host = opts.host ?? "127.0.0.1";
  const configPath = join(dir, "nats-server.conf");
  const logPath = join(dir, "nats-server.log");
  const pidPath = join(dir, "nats-server.pid");
  const storeDir = opts.storeDir ?? join(dir, "jetstream");
  const users: NatsUsers = {
    gateway: { user: "gateway", password: opts.gatewayPassword ?? generatePassword() },
    admin: { user: "admin", password: opts.adminPassword ?? generatePassword() },
    sys: { user: "sys", password: opts.sysPassword ?? generatePassword() },
  };
  const timeoutMs = opts.startTimeoutMs ?? 20_000;
  await killStale(pidPath, configPath);

  let port = 0;
  let httpPort: number | undefined;
  let child: ChildProcess | undefined;

  const writeConfig = async () => {
    const config = renderNatsConfig({
      ...opts,
      host,
      port,
      httpPort,
      storeDir,
      gatewayPassword: users.gateway.password,
      adminPassword: users.admin.password,
      sysPassword: users.sys.password,
    });
    // Passwords are in it: owner-only, also when the file was there before.
    await writeFile(configPath, config, { mode: 0o600 });
    await chmod(configPath, 0o600);
  };

  const spawnServer = async () => {
    const logFd = openSync(logPath, "a", 0o600);
    await chmod(logPath, 0o600);
    try {
      child = spawn(opts.binary, ["-c", configPath, "-P", pidPath], {
        stdio: ["ignore", logFd, logFd],
      });
    } finally {
      closeSync(logFd);
    }
    trackChild(child);
    const running = child;
    const exited = new Promise<never>((_, reject) => {
      running.once("error", (err) => reject(err));
      running.once("exit", (code, signal) =>
        reject(new Error(`nats-server exited during start (code ${code}, signal ${signal})`)),
      );
    });
    exited.catch(() => undefined);
    try {
      await Promise.race([waitHealthy(host, port, httpPort, users.sys, timeoutMs), exited]);
    } catch (err) {
      running.kill("SIGKILL");
      if (child === running) child = undefined;
      const tail = (await readFile(logPath, "utf8").catch(() => "")).split("\n").slice(-15).join("\n");
      throw new Error(`${(err as Error).message}\n--- ${logPath} (tail) ---\n${tail}`, { cause: err });
    }
  };

  // Picking a free port races with other processes; retry with new ports if we picked them.
  const pickPorts = !opts.port || (opts.monitoring && !opts.httpPort);
  for (let attempt = 1; ; attempt++) {
    port = opts.port || (await freePort(host));
    httpPort = opts.monitoring ? opts.httpPort || (await freePort(host)) : undefined;
    await writeConfig();
    try {
      await spawnServer();
      break;
    } catch (err) {
      if (!pickPorts || attempt >= 3 || !/address already in use/i.test((err as Error).message)) throw err;
    }
  }

  const waitExit = async (signal: NodeJS.Signals, graceMs: number) => {
    const running = child;
    if (!running) return;
    child = undefined;
    if (running.exitCode === null && running.signalCode === null) {
      const exited = new Promise<void>((r) => running.once("exit", () => r()));
      running.kill(signal);
      const timer = setTimeout(() => running.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    }
  };

  return {
    url: `nats://${host}:${port}`,
    port,
    httpPort,
    monitorUrl: httpPort === undefined ? undefined : `http://${host}:${httpPort}`,
    configPath,
    logPath,
    storeDir,
    users,
    get pid() {
      return child?.pid;
    },
    stop: () => waitExit("SIGTERM", 10_000),
    kill: () => waitExit("SIGKILL", 0),
    async start() {
      if (child) return;
      await spawnServer();
    },
  };
}

/** Polls the monitoring /healthz (JetStream included) and then the client port. */
/**
 * Waits until the server answers its health check (JetStream included): over HTTP when
 * monitoring is on, else as the system user over NATS (`$SYS.REQ.SERVER.PING.HEALTHZ`).
 */
async function waitHealthy(host: string, port: number, httpPort: number | undefined, sys: { user: string; password: string }, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    try {
      if (httpPort !== undefined) {
        const res = await fetch(`http://${host}:${httpPort}/healthz`, { signal: AbortSignal.timeout(1000) });
        const body = await res.text();
        if (res.ok && (await canConnect(host, port))) return;
        last = `healthz ${res.status} ${body.trim()}`;
      } else if (await canConnect(host, port)) {
        const status = await natsHealthz(host, port, sys);
        if (status === "ok") return;
        last = `healthz ${status}`;
      } else {
        last = "client port closed";
      }
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(25);
  }
  throw new Error(`nats-server not healthy after ${timeoutMs} ms (${last})`);
}

/**
 * The server's own health check over NATS, as the system user. Addressed to this server by its
 * id: in a cluster a PING would be answered by whichever node is quickest.
 */
async function natsHealthz(host: string, port: number, sys: { user: string; password: string }): Promise<string> {
  const nc = await natsConnect({ servers: `nats://${host}:${port}`, user: sys.user, pass: sys.password, reconnect: false, timeout: 1000 });
  try {
    const id = nc.info?.server_id;
    if (!id) return "no server id";
    const reply = await nc.request(`$SYS.REQ.SERVER.${id}.HEALTHZ`, "", { timeout: 1000 });
    const data = reply.json<{ data?: { status?: string; error?: string } }>().data;
    return data?.status === "ok" ? "ok" : `${data?.status ?? "?"} ${data?.error ?? ""}`.trim();
  } finally {
    await nc.close().catch(() => {});
  }
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolveConnect) => {
    const socket = connect({ host, port });
    socket.setTimeout(1000);
    socket.once("connect", () => {
      socket.destroy();
      resolveConnect(true);
    });
    socket.once("error", () => resolveConnect(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolveConnect(false);
    });
  });
}

/**
 * A parent that was SIGKILLed leaves its server running. If the pid file in this directory names
 * a live nats-server started with this directory's config, kill it before starting a new one.
 */
async function killStale(pidPath: string, configPath: string): Promise<void> {
  const pid = Number((await readFile(pidPath, "utf8").catch(() => "")).trim());
  if (!Number.isInteger(pid) || pid <= 0) return;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  if (cmdline.includes("nats-server") && cmdline.includes(configPath)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      return;
    }
    for (let i = 0; i < 100 && (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")); i++) {
      await sleep(20);
    }
  }
  await rm(pidPath, { force: true });
}
