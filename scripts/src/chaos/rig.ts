/**
 * The processes a fault scenario breaks: a real nats-server, a real PostgreSQL and the gateway
 * as its own Node process (so it can be SIGKILLed), each restartable on the same port and data.
 */
import { createHmac, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { createApiToken, createEndpoint, createUser, migrateDatabase, openDatabase, SecretBox, type Database } from "@wb/authz";
import { createDatabase, freePort, startNats, startPostgres, type NatsServer, type PostgresServer } from "@wb/stack";
import { spawnNode, waitForHttpOk, type NodeChild } from "../bench/processes.js";

/** PostgreSQL for a whole run; `kill()` is a SIGKILL of the postmaster and its backends. */
export class Postgres {
  server!: PostgresServer;
  constructor(private readonly dir: string) {}

  async start(port?: number): Promise<void> {
    this.server = await startPostgres({ dir: this.dir, port });
  }

  /** As in a crash: SIGKILL to the postmaster and every backend; nothing is shut down cleanly. */
  async kill(): Promise<void> {
    const pid = Number(readFileSync(join(this.server.dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
    const children = await childrenOf(pid);
    for (const p of [pid, ...children]) {
      try {
        process.kill(p, "SIGKILL");
      } catch {}
    }
  }

  async restart(): Promise<void> {
    await this.start(this.server.port);
  }
}

async function childrenOf(pid: number): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid === pid) out.push(Number(entry));
  }
  return out;
}

export interface RigOptions {
  natsBinary: string;
  dir: string;
  /** A PostgreSQL superuser URL; the rig creates its own database there. */
  postgresUrl: string;
  /** Gateway environment on top of the rig's own (e.g. STREAM_MAX_BYTES). */
  env?: Record<string, string>;
}

/** One scenario's broker: its own nats-server and database, a gateway process, one reader and one endpoint. */
export class Rig {
  nats!: NatsServer;
  database!: Database;
  gateway!: NodeChild;
  url = "";
  token = "";
  endpoint = { path: "", secret: "" };
  admin!: NatsConnection;
  jsm!: JetStreamManager;
  readonly stream = "WEBHOOKS";
  #env: Record<string, string> = {};
  #gatewayRuns = 0;

  constructor(private readonly opts: RigOptions) {}

  async start(): Promise<void> {
    await mkdir(this.opts.dir, { recursive: true });
    this.nats = await startNats({ binary: this.opts.natsBinary, dir: join(this.opts.dir, "nats"), monitoring: true });
    const dbUrl = await createDatabase(this.opts.postgresUrl, `chaos_${randomBytes(4).toString("hex")}`);
    this.database = openDatabase(dbUrl, { max: 2 });
    await migrateDatabase(this.database.db);
    const secretKey = randomBytes(32);
    const user = await createUser(this.database.db, { name: `reader-${randomBytes(3).toString("hex")}` });
    this.token = (await createApiToken(this.database.db, user.id, "chaos")).token;
    const path = `chaos/${randomBytes(3).toString("hex")}`;
    const { secret } = await createEndpoint(this.database.db, new SecretBox(secretKey), { path, provider: "github", owner: { userId: user.id } });
    this.endpoint = { path, secret };
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    this.#env = {
      PORT: String(port),
      HOST: "127.0.0.1",
      NATS_URL: this.nats.url,
      NATS_USER: this.nats.users.gateway.user,
      NATS_PASSWORD: this.nats.users.gateway.password,
      DATABASE_URL: dbUrl,
      SECRET_KEY: secretKey.toString("base64"),
      LOG_LEVEL: "warn",
      RATE_LIMIT_PER_ENDPOINT: "off",
      RATE_LIMIT_PER_CLIENT: "off",
      ...this.opts.env,
    };
    await this.startGateway();
    this.admin = await connect({ servers: this.nats.url, user: "admin", pass: this.nats.users.admin.password, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    this.jsm = await jetstreamManager(this.admin, { timeout: 10_000 });
    void this.#watchAdmin();
  }

  async startGateway(): Promise<void> {
    const logPath = join(this.opts.dir, `gateway-${++this.#gatewayRuns}.log`);
    this.gateway = spawnNode({ name: "gateway", script: "gateway/src/main.ts", env: this.#env, logPath });
    await waitForHttpOk(this.gateway, `${this.url}/readyz`, 60_000);
  }

  /** Whether the admin connection closed for good, and why (the stream is read on a fresh one anyway). */
  adminClosed: string | undefined;
  async #watchAdmin(): Promise<void> {
    const err = await this.admin.closed();
    this.adminClosed = err ? String(err) : "closed";
  }

  /** SIGKILL, as in a crash of the gateway's machine or process. */
  async killGateway(): Promise<void> {
    const exited = new Promise<void>((r) => this.gateway.process.once("exit", () => r()));
    this.gateway.process.kill("SIGKILL");
    await exited;
  }

  /** A signed GitHub push for this rig's endpoint, with the given delivery id. */
  signed(deliveryId: string): { url: string; init: RequestInit } {
    const body = JSON.stringify({ ref: "refs/heads/main", chaos: deliveryId, pad: "x".repeat(600) });
    const sig = `sha256=${createHmac("sha256", this.endpoint.secret).update(body).digest("hex")}`;
    return {
      url: `${this.url}/webhook/${this.endpoint.path}`,
      init: {
        method: "POST",
        body,
        headers: { "content-type": "application/json", "x-github-event": "push", "x-github-delivery": deliveryId, "x-hub-signature-256": sig },
      },
    };
  }

  /** Every stored delivery: sender's delivery id → stream sequence (on a fresh connection: the server was killed meanwhile). */
  async stored(): Promise<Map<string, number>> {
    const nc = await connect({ servers: this.nats.url, user: "admin", pass: this.nats.users.admin.password });
    try {
      const jsm = await jetstreamManager(nc, { timeout: 10_000 });
      const { state } = await jsm.streams.info(this.stream);
      const out = new Map<string, number>();
      for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
        const m = await jsm.direct.getMessage(this.stream, { seq }).catch(() => null);
        const id = m?.header.get("Wb-Delivery-Id");
        if (m && id) out.set(id, m.seq);
      }
      return out;
    } finally {
      await nc.close();
    }
  }

  async close(): Promise<void> {
    await this.gateway?.stop(5_000).catch(() => {});
    await this.admin?.close().catch(() => {});
    await this.database?.close().catch(() => {});
    await this.nats?.stop().catch(() => {});
  }
}
