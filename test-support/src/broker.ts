import { randomBytes } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import { expect, vi } from "vitest";
import {
  createApiToken,
  createEndpoint,
  createLogger,
  createUser,
  migrateDatabase,
  openDatabase,
  SecretBox,
  type Database,
  type EndpointOwner,
  ENDPOINTS_CHANGED_SUBJECT,
  type RunningCallout,
} from "@wb/authz";
import { AuthService, GATEWAY_CONNECTION_NAME, loadConfig, startGateway, type Config, type RunningGateway, type TokenResponse } from "@wb/gateway";
import { freePort } from "@wb/stack";
import { createTestDatabase, type TestDatabase } from "./database.js";
import type { FakeGitHub } from "./fake-github/index.js";
import { calloutWiring } from "./callout.js";
import { connectAdmin, startPrivateCluster, startPrivateNats, type PrivateNats } from "./nats.js";
import type { NatsCluster } from "@wb/stack";

export interface TestBroker {
  url: string;
  config: Config;
  /** The broker's nats-server; with `cluster`, node 1 of the cluster (the gateway's). */
  nats: PrivateNats;
  /** Every node, with `startTestBroker(env, { cluster: true })`. */
  cluster?: NatsCluster;
  database: Database;
  box: SecretBox;
  gateway: RunningGateway;
  /** The auth callout service (only with `startTestBroker(env, { callout: true })`). */
  callout?: RunningCallout;
  /** What the callout logged (warn and error only; info is dropped). */
  calloutLogs: { level: string; msg: string; obj: object }[];
  /** A fresh user with a token; names are random so tests never collide. */
  user(opts?: { admin?: boolean }): Promise<{ id: string; name: string; token: string }>;
  /**
   * Signs a user in as a completed GitHub login would (a new session: access and refresh token),
   * with the gateway's signing key and lifetimes. `now` back-dates the access token.
   */
  signIn(userId: string, opts?: { now?: number }): Promise<TokenResponse>;
  /**
   * An endpoint created behind the gateway's back (as the CLI does); github unless `provider`
   * says otherwise. Resolves once every running gateway serves it.
   */
  endpoint(
    owner: EndpointOwner,
    opts?: { path?: string; isPublic?: boolean; maxBodyBytes?: number; provider?: string; options?: Record<string, unknown>; secret?: string },
  ): Promise<{ id: string; path: string; secret: string }>;
  /**
   * Announces that endpoints changed (as the CLI does) and waits until every running gateway's
   * endpoint table has `endpoints` at their paths.
   */
  endpointsChanged(endpoints: readonly { id: string; path: string }[]): Promise<void>;
  /**
   * Waits until every running gateway is connected to NATS (as the server's monitoring port
   * lists them), e.g. after `nats.start()`: a request sent before that waits out its timeout.
   */
  gatewaysConnected(): Promise<void>;
  /** One admin NATS connection for the whole file (opened on first use, closed by close()). */
  admin(): Promise<NatsConnection>;
  /**
   * Starts a second gateway process-equivalent on the same NATS and PostgreSQL; `env` overrides
   * settings of its own (e.g. NATS_URL: another cluster node).
   */
  anotherGateway(env?: Record<string, string>): Promise<RunningGateway>;
  close(): Promise<void>;
}

export interface TestBrokerOptions {
  /**
   * Wire the auth callout in, as `pnpm start` does: fresh keys, the callout's accounts and
   * authorization blocks in the nats-server config, and the callout service in-process against
   * the test database (with revocation). Power users then connect with their API
   * token. Off by default (the default broker has no callout and starts faster).
   */
  callout?: boolean;
  /** Sign in with GitHub against this fake GitHub (PUBLIC_URL, GITHUB_* set; its callback registered). */
  github?: FakeGitHub;
  /**
   * A three-node JetStream cluster instead of one nats-server (`cluster` lists the nodes). The
   * gateway and the callout connect to node 1 (they learn the others from it and fail over);
   * set STREAM_REPLICAS=3 in `env` for an R3 stream.
   */
  cluster?: boolean;
  /** prom-client's process metrics on the gateway's /metrics (off by default, see GatewayOptions). */
  processMetrics?: boolean;
}

/**
 * A whole broker for one test file: its own nats-server (so the test may stop it and the
 * stream's subjects never clash with another file's), its own database on the shared
 * PostgreSQL, and a gateway on a free port.
 */
export async function startTestBroker(env: Record<string, string> = {}, opts: TestBrokerOptions = {}): Promise<TestBroker> {
  const stream = env.STREAM_NAME ?? "WEBHOOKS";
  const wiring = opts.callout ? calloutWiring(stream) : undefined;
  const natsOpts = wiring ? { callout: wiring.natsConfig } : {};
  const cluster = opts.cluster ? await startPrivateCluster(natsOpts) : undefined;
  const nats: PrivateNats = cluster ?? (await startPrivateNats(natsOpts));
  const testDb: TestDatabase = await createTestDatabase("gw");
  // GitHub must know the callback before the gateway starts: pick its port now.
  const port = opts.github ? await freePort() : 0;
  const githubEnv: Record<string, string> = opts.github
    ? {
        GITHUB_CLIENT_ID: opts.github.clientId,
        GITHUB_CLIENT_SECRET: opts.github.clientSecret,
        GITHUB_URL: opts.github.url,
        GITHUB_API_URL: opts.github.apiUrl,
        PUBLIC_URL: `http://127.0.0.1:${port}`,
      }
    : {};
  opts.github?.registerCallback(`http://127.0.0.1:${port}/auth/github/callback`);
  const configEnv: Record<string, string> = {
    PORT: String(port),
    HOST: "127.0.0.1",
    ...githubEnv,
    NATS_URL: nats.url,
    NATS_USER: nats.users.gateway.user,
    NATS_PASSWORD: nats.users.gateway.password,
    DATABASE_URL: testDb.url,
    SECRET_KEY: randomBytes(32).toString("base64"),
    LOG_LEVEL: "silent",
    ...env,
  };
  const config = loadConfig(configEnv);
  const database = openDatabase(testDb.url, { max: 2 });
  await migrateDatabase(database.db);
  const box = new SecretBox(config.SECRET_KEY);
  // Process metrics (an event-loop monitor each) would pile up across a file's gateways.
  const gatewayOptions = { processMetrics: opts.processMetrics ?? false };
  const gateway = await startGateway(config, createLogger("gateway", { level: "silent" }), gatewayOptions);
  const extra = new Set<RunningGateway>();
  let adminNc: Promise<NatsConnection> | undefined;
  const admin = () => (adminNc ??= connectAdmin(nats));
  const endpointsChanged: TestBroker["endpointsChanged"] = async (endpoints) => {
    const nc = await admin();
    let announcedAt = 0;
    await vi.waitFor(
      async () => {
        // Announced again while not yet seen: an announcement that arrives while a reload is
        // under way joins that reload, which may have read the table before the change.
        if (Date.now() - announcedAt > 250) {
          nc.publish(ENDPOINTS_CHANGED_SUBJECT);
          await nc.flush();
          announcedAt = Date.now();
        }
        for (const g of [gateway, ...extra]) {
          for (const e of endpoints) expect(g.endpoints.peek(e.path.split("/"))?.id, `${g.url} serves /webhook/${e.path}`).toBe(e.id);
        }
      },
      { timeout: 10_000, interval: 10 },
    );
  };
  const calloutLogs: TestBroker["calloutLogs"] = [];
  const keep = (level: string) => (obj: object, msg: string) => void calloutLogs.push({ level, msg, obj });
  const callout = await wiring?.start({
    nats,
    databaseUrl: testDb.url,
    log: { info: () => {}, warn: keep("warn"), error: keep("error") },
    // The callout's /metrics takes the same token as the gateway's, as in docker-compose.yml.
    env: env.METRICS_TOKEN ? { METRICS_TOKEN: env.METRICS_TOKEN } : {},
  });

  return {
    url: gateway.url,
    config,
    nats,
    cluster: cluster?.cluster,
    database,
    box,
    gateway,
    callout,
    calloutLogs,
    async user(opts = {}) {
      const name = `u${randomBytes(5).toString("hex")}`;
      const u = await createUser(database.db, { name, isAdmin: opts.admin });
      const { token } = await createApiToken(database.db, u.id, "test");
      return { id: u.id, name, token };
    },
    async signIn(userId, opts = {}) {
      const auth = new AuthService({
        db: database.db,
        box,
        log: createLogger("gateway", { level: "silent" }),
        accessTtlMs: config.ACCESS_TOKEN_TTL,
        refreshTtlMs: config.REFRESH_TOKEN_TTL,
        rotationMs: config.SIGNING_KEY_ROTATION,
      });
      return auth.signIn(userId, "test", opts.now);
    },
    async endpoint(owner, opts = {}) {
      const provider = opts.provider ?? "github";
      const path = opts.path ?? `${provider === "github" ? "gh" : provider}/${randomBytes(4).toString("hex")}`;
      const { endpoint, secret } = await createEndpoint(database.db, box, {
        path,
        provider,
        providerOptions: opts.options,
        secret: opts.secret,
        owner,
        isPublic: opts.isPublic,
        maxBodyBytes: opts.maxBodyBytes,
      });
      // Created behind the gateways' backs: ask every one of them to reload, as the CLI does.
      await endpointsChanged([{ id: endpoint.id, path }]);
      return { id: endpoint.id, path, secret };
    },
    endpointsChanged,
    async gatewaysConnected() {
      await expect
        .poll(
          async () => {
            const connz = (await (await fetch(`${nats.monitorUrl}/connz?limit=1000`)).json()) as { connections?: { name?: string }[] };
            return (connz.connections ?? []).filter((c) => c.name === GATEWAY_CONNECTION_NAME).length;
          },
          { timeout: 15_000, interval: 50 },
        )
        .toBeGreaterThanOrEqual(1 + extra.size);
    },
    admin,
    async anotherGateway(env = {}) {
      const g = await startGateway(Object.keys(env).length ? loadConfig({ ...configEnv, ...env }) : config, createLogger("gateway", { level: "silent" }), gatewayOptions);
      extra.add(g);
      // Closed by the test: no longer one of the gateways that must see a change.
      return {
        ...g,
        close() {
          extra.delete(g);
          return g.close();
        },
      };
    },
    async close() {
      for (const g of extra) await g.close().catch(() => {});
      if (adminNc) await (await adminNc).close().catch(() => {});
      await gateway.close().catch(() => {});
      await callout?.stop().catch(() => {});
      await database.close();
      await nats.dispose();
      await testDb.drop().catch(() => {});
    },
  };
}
