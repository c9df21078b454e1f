import { serve, type ServerType } from "@hono/node-server";
import type { NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { ConsumerManager, createLogger, createRegistry, migrateDatabase, openDatabase, reconcileDurables, SecretBox, watchAccessChanges } from "@wb/authz";
import type { AddressInfo } from "node:net";
import { AckTokens } from "./ack-token.js";
import { AuthService } from "./auth/sessions.js";
import { GitHubClient } from "./github/client.js";
import { GitHubLogin, type GitHubLoginOptions } from "./github/login.js";
import { GitHubSync } from "./github/sync.js";
import { createApp } from "./app.js";
import { bodyCeiling } from "./body.js";
import { ConfigError, type Config } from "./config.js";
import { DatabaseStartup } from "./database-startup.js";
import { DeadLetterRecorder } from "./dead-letter-recorder.js";
import { EndpointCache } from "./endpoint-cache.js";
import { ConsumerLagSampler } from "./consumer-lag.js";
import { createGatewayMetrics } from "./metrics.js";
import { connectNats } from "./nats/connection.js";
import { ensureStream } from "./nats/stream.js";
import { ensureJournal, journalEnabled } from "./nats/settled-journal.js";
import { coalescesBatchSyncs, GROUP_COMMIT_MIN_SERVER } from "./nats/group-commit.js";
import { AckedPurger } from "./nats/purge.js";

export interface RunningGateway {
  url: string;
  port: number;
  /**
   * This process's endpoint table, read-only. Changes made elsewhere arrive by announcement;
   * tests wait here for one to arrive instead of sleeping.
   */
  endpoints: Pick<EndpointCache, "match" | "peek" | "undecryptable">;
  close(): Promise<void>;
}

/** The gateway's NATS connection name, as the server's monitoring endpoints (connz) list it. */
export const GATEWAY_CONNECTION_NAME = "webhook-broker-gateway";

export interface GatewayOptions {
  /** prom-client's process and Node metrics on /metrics (default on; tests with many gateways in one process turn them off). */
  processMetrics?: boolean;
}

/** Connects to PostgreSQL and NATS, prepares the stream, and serves HTTP until closed. */
export async function startGateway(
  config: Config,
  log = createLogger("gateway", { level: config.LOG_LEVEL, format: config.LOG_FORMAT }),
  opts: GatewayOptions = {},
): Promise<RunningGateway> {
  const metrics = createGatewayMetrics(createRegistry({ processMetrics: opts.processMetrics ?? true }), { maxUsers: config.METRICS_MAX_USERS });
  const database = openDatabase(config.DATABASE_URL, { metrics: metrics.db });
  const nc = await connectNats({ url: config.NATS_URL, user: config.NATS_USER, password: config.NATS_PASSWORD, name: GATEWAY_CONNECTION_NAME });
  try {
    checkBodyLimit(config, nc.info?.max_payload);
    checkGroupCommit(config, nc.info?.version);
  } catch (err) {
    await nc.close().catch(() => {});
    await database.close();
    throw err;
  }
  const jsm = await jetstreamManager(nc);
  try {
    await ensureStream(jsm, config, log);
    if (journalEnabled(config)) await ensureJournal(jsm, config);
  } catch (err) {
    await nc.close().catch(() => {});
    await database.close();
    throw err;
  }
  const js = jetstream(nc);
  const box = new SecretBox(config.SECRET_KEY);
  const endpoints = new EndpointCache({ db: database.db, box, nc, log, refreshMs: config.ENDPOINT_REFRESH_INTERVAL, metrics: metrics.cache });
  const consumers = new ConsumerManager({ js, jsm, nc, stream: config.STREAM_NAME, ackWaitMs: config.ACK_WAIT, metrics: metrics.cache });
  // Keeps durables' filter subjects in line with grants and subscriptions; records dead letters.
  const reconciler = watchAccessChanges({
    nc,
    log,
    failure: "consumer reconciliation failed",
    apply: (users) => reconcileDurables({ db: database.db, consumers, log }, users),
  });
  const deadLetters = new DeadLetterRecorder({ db: database.db, nc, jsm, stream: config.STREAM_NAME, log, metrics });
  deadLetters.start();
  const lag = new ConsumerLagSampler({ jsm, stream: config.STREAM_NAME, metrics, top: config.METRICS_LAG_DURABLES, intervalMs: config.METRICS_LAG_INTERVAL, log });
  const auth = new AuthService({
    db: database.db,
    box,
    log,
    accessTtlMs: config.ACCESS_TOKEN_TTL,
    refreshTtlMs: config.REFRESH_TOKEN_TTL,
    rotationMs: config.SIGNING_KEY_ROTATION,
  });
  const github = githubOf(config, { db: database.db, box, auth, log, nc });
  // PostgreSQL's part, retried with backoff while the database is unreachable: until it has
  // succeeded the API answers 503 (Retry-After) and ingest too (an endpoint's secret cannot be
  // known without the table), /readyz names postgres; ingest is served once the table is loaded.
  let endpointsStarted = false;
  const startup = new DatabaseStartup({
    log,
    run: async () => {
      await migrateDatabase(database.db);
      if (endpointsStarted) await endpoints.reload();
      else {
        await endpoints.start();
        endpointsStarted = true;
      }
      if (!endpoints.ready) throw endpoints.lastError ?? new Error("the endpoint table did not load");
      await auth.start();
      github?.sync.start();
    },
  });
  try {
    await startup.start();
  } catch (err) {
    await nc.close().catch(() => {});
    await database.close();
    throw err;
  }
  const shutdown = new AbortController();
  const purger =
    config.STREAM_PURGE_ACKED_AT === null
      ? undefined
      : new AckedPurger({ db: database.db, jsm, stream: config.STREAM_NAME, thresholdPercent: config.STREAM_PURGE_ACKED_AT, intervalMs: config.STREAM_PURGE_INTERVAL, log });
  purger?.start();
  const app = createApp({
    config,
    log,
    database,
    box,
    nc,
    js,
    jsm,
    endpoints,
    consumers,
    ackTokens: new AckTokens(config.SECRET_KEY),
    auth,
    github: github?.login,
    startup,
    shutdown: shutdown.signal,
    purger,
    metrics,
    lag,
  });

  const server: ServerType = await new Promise((resolve) => {
    const s = serve(
      {
        fetch: app.fetch,
        port: config.PORT,
        hostname: config.HOST,
        // Slow clients (slowloris): node:http answers 408 and closes when the header block or
        // the whole request has not arrived in time. It checks every connectionsCheckingInterval,
        // so that bounds how late the cut comes.
        serverOptions: {
          headersTimeout: config.HEADERS_TIMEOUT,
          requestTimeout: config.REQUEST_TIMEOUT,
          connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(config.HEADERS_TIMEOUT / 4))),
        },
      },
      () => resolve(s),
    );
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ port }, "gateway listening");

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    endpoints,
    async close() {
      // Event streams never end by themselves: end them, so that close() waits only for requests.
      shutdown.abort();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await startup.stop();
      endpoints.stop();
      purger?.stop();
      auth.stop();
      await github?.sync.stop();
      deadLetters.stop();
      await reconciler.stop();
      await nc.drain().catch(() => {});
      await database.close();
    },
  };
}

/**
 * Sign in with GitHub and the access that follows it, when GitHub is configured
 * (GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET, PUBLIC_URL): a sign-in syncs the person's organizations
 * and repositories at once, the schedule keeps them fresh.
 */
function githubOf(
  config: Config,
  deps: Pick<GitHubLoginOptions, "db" | "box" | "auth" | "log"> & { nc: NatsConnection },
): { login: GitHubLogin; sync: GitHubSync } | undefined {
  if (!config.GITHUB_CLIENT_ID || !config.GITHUB_CLIENT_SECRET || !config.PUBLIC_URL) return undefined;
  const client = new GitHubClient({
    clientId: config.GITHUB_CLIENT_ID,
    clientSecret: config.GITHUB_CLIENT_SECRET,
    webUrl: config.GITHUB_URL,
    apiUrl: config.GITHUB_API_URL,
    timeoutMs: config.GITHUB_TIMEOUT,
  });
  const sync = new GitHubSync({ ...deps, client, ttlMs: config.GITHUB_CACHE_TTL });
  const login = new GitHubLogin({
    ...deps,
    client,
    publicUrl: config.PUBLIC_URL,
    scopes: config.GITHUB_SCOPES,
    afterSignIn: async (user, _github, tokens) => void (await sync.syncUser(user.id, tokens.accessToken)),
  });
  return { login, sync };
}

/**
 * Refuses GROUP_COMMIT=on on a nats-server that would sync each message of a batch anyway
 * (before 2.15): there a batch costs more syncs than single publishes, never fewer.
 */
export function checkGroupCommit(config: Pick<Config, "GROUP_COMMIT">, serverVersion: string | undefined): void {
  if (config.GROUP_COMMIT === "on" && !coalescesBatchSyncs(serverVersion)) {
    throw new ConfigError([
      `GROUP_COMMIT: on needs nats-server ${GROUP_COMMIT_MIN_SERVER.join(".")} or newer (one sync per atomic batch); this server is ${serverVersion ?? "of unknown version"}. ` +
        "Upgrade nats-server or set GROUP_COMMIT=off.",
    ]);
  }
}

/**
 * Refuses a MAX_BODY_BYTES that nats-server could not store: its `max_payload` bounds headers and
 * body of one message, and the client refuses larger publishes, so every such delivery would fail.
 */
export function checkBodyLimit(config: Pick<Config, "MAX_BODY_BYTES">, maxPayload: number | undefined): void {
  if (maxPayload === undefined) return;
  const ceiling = bodyCeiling(maxPayload);
  if (config.MAX_BODY_BYTES > ceiling) {
    throw new ConfigError([
      `MAX_BODY_BYTES: ${config.MAX_BODY_BYTES} bytes does not fit in a NATS message: the server's max_payload is ${maxPayload} bytes, ` +
        `which leaves at most ${ceiling} bytes for a body after ${maxPayload - ceiling} bytes of headers. ` +
        `Lower MAX_BODY_BYTES or raise max_payload in nats-server.conf.`,
    ]);
  }
}
