/**
 * Connections through the auth callout: connect (CONNECT → callout → PostgreSQL → signed user
 * JWT) and close, measured per connection.
 *
 *   measureCallout({ url, token, ... })   against a running server with the callout
 *   tsx scripts/src/bench/callout.ts      starts its own nats-server + PostgreSQL + callout,
 *                                         and prints callout vs. static-user (no callout) figures
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, type ConnectionOptions } from "@nats-io/transport-node";
import {
  createApiToken,
  createUser,
  migrateDatabase,
  openDatabase,
  inboxPrefixOf,
  generateCalloutKeys,
  calloutNatsConfig,
  loadCalloutConfig,
  startCallout,
} from "@wb/authz";
import { ensureNatsServer, startNats, startPostgres } from "@wb/stack";

export interface CalloutMeasureOptions {
  url: string;
  /** Credentials of each connection: `{ token }` for a callout user, `{ user, pass }` for a static one. */
  auth: Pick<ConnectionOptions, "token" | "user" | "pass" | "inboxPrefix">;
  /** Connections to open in total. Default 300. */
  connections?: number;
  /** Connections in flight at once. Default 1 (sequential). */
  concurrency?: number;
  /** Connections opened first and not measured. Default 20. */
  warmup?: number;
}

export interface CalloutMeasurement {
  connectionsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  connections: number;
  concurrency: number;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

/** Opens and closes `connections` connections; latency is connect() until the server said OK. */
export async function measureCallout(opts: CalloutMeasureOptions): Promise<CalloutMeasurement> {
  const total = opts.connections ?? 300;
  const concurrency = opts.concurrency ?? 1;
  const once = async () => {
    const t0 = performance.now();
    const nc = await connect({ servers: opts.url, ...opts.auth, reconnect: false });
    const ms = performance.now() - t0;
    await nc.close();
    return ms;
  };
  for (let i = 0; i < (opts.warmup ?? 20); i++) await once();
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        latencies.push(await once());
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    connectionsPerSecond: Math.round(total / elapsed),
    p50Ms: round(quantile(latencies, 0.5)),
    p99Ms: round(quantile(latencies, 0.99)),
    connections: total,
    concurrency,
  };
}

/** Self-contained run: its own nats-server (with callout), PostgreSQL and callout service. */
export async function runCalloutBench(log = (m: string) => console.error(`[bench:callout] ${m}`)) {
  const dir = await mkdtemp(join(tmpdir(), "wb-bench-callout-"));
  const pg = await startPostgres({ dir: join(dir, "postgres") });
  const database = openDatabase(pg.url, { max: 2 });
  const keys = generateCalloutKeys();
  const calloutPassword = randomBytes(18).toString("base64url");
  const nats = await startNats({
    binary: await ensureNatsServer(log),
    dir: join(dir, "nats"),
    callout: calloutNatsConfig({ issuerPublicKey: keys.issuerPublicKey, xkeyPublicKey: keys.xkeyPublicKey, stream: "WEBHOOKS", calloutPassword }),
  });
  const silent = { info: () => {}, warn: () => {}, error: () => {} };
  const callout = await startCallout(
    loadCalloutConfig({
      NATS_URL: nats.url,
      CALLOUT_NATS_PASSWORD: calloutPassword,
      NATS_SYS_PASSWORD: nats.users.sys.password,
      DATABASE_URL: pg.url,
      CALLOUT_ISSUER_SEED: keys.issuerSeed,
      CALLOUT_XKEY_SEED: keys.xkeySeed,
      CALLOUT_METRICS_PORT: "off",
    }),
    silent,
  );
  try {
    await migrateDatabase(database.db);
    const user = await createUser(database.db, { name: `bench_${randomBytes(3).toString("hex")}` });
    const { token } = await createApiToken(database.db, user.id, "bench");
    const viaCallout = { token, inboxPrefix: await inboxPrefixOf(database.db, user.id) };
    const staticUser = { user: nats.users.gateway.user, pass: nats.users.gateway.password };
    const results = {
      staticSequential: await measureCallout({ url: nats.url, auth: staticUser }),
      calloutSequential: await measureCallout({ url: nats.url, auth: viaCallout }),
      calloutConcurrent4: await measureCallout({ url: nats.url, auth: viaCallout, concurrency: 4, connections: 600 }),
    };
    return results;
  } finally {
    await callout.stop();
    await database.close();
    await nats.stop();
    await pg.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const results = await runCalloutBench();
  console.log(JSON.stringify(results, null, 2));
  process.exit(0);
}
