/**
 * `pnpm bench`: the broker measured against its alternatives and its own limits, in one run.
 *
 * Starts its own nats-server (the generated config, `sync_interval: always`) and PostgreSQL in
 * a temporary directory, measures each target at a fixed concurrency with a warm-up, prints
 * one table plus the targets of issue 6 as ratios within this run, and writes JSON (and a
 * Markdown copy) to bench-results/. Every process and directory it starts is removed at the
 * end, on failure and on Ctrl-C. See README-section.md for what each row means.
 */
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { Command } from "commander";
import { sign } from "@octokit/webhooks-methods";
import examples from "@octokit/webhooks-examples";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, headers as natsHeaders, nanos } from "@nats-io/transport-node";
import pg from "pg";
import { createApiToken, createEndpoint, createUser, migrateDatabase, openDatabase, SecretBox, grantFilterSubjects } from "@wb/authz";
import { directPublisher, GroupCommitPublisher, loadConfig, streamConfig, type Publisher } from "@wb/gateway";
import {
  ensureNatsServer,
  natsServerVersion,
  startNats,
  type NatsServer,
  freePort,
  createDatabase,
  startPostgres,
  type PostgresServer,
} from "@wb/stack";
import { WEBHOOKS_SCHEMA } from "./baselines/schema.js";
import { startBenchCluster } from "./cluster.js";
import { measureDurables } from "./durables.js";
import { httpDrain, rawDrain } from "./drain.js";
import { openLoop } from "./e2e.js";
import { sseLatency } from "./sse.js";
import { httpRequest, keepAliveAgent } from "./http.js";
import { cpuMeter, rssMiB } from "./proc.js";
import { REPO_ROOT, spawnNode, waitForAnnouncedPort, waitForHttpOk, type NodeChild } from "./processes.js";
import { formatProfileSummary, readProfile } from "./profile.js";
import { DRAIN_BIG_PAGE, evaluateTargets, formatResults, formatTargets, ROW, type BenchReport, type Row } from "./report.js";
import { median, parseBenchDuration, parseEnvPairs, summarize } from "./stats.js";
import { runWrk, wrkErrors, writeWrkScript, type SignedDelivery } from "./wrk.js";
import type { CalloutBenchContext, CalloutMeasurement } from "./types.js";

const PHASES = ["baselines", "ingest", "modes", "drain", "e2e", "sse", "callout", "durables"] as const;
type Phase = (typeof PHASES)[number];

const program = new Command("bench")
  .description("Measure the broker against its baselines and targets (see scripts/src/bench/README-section.md)")
  .option("--quick", "short phases for iteration (numbers are noisier)")
  .option("--soak <duration>", "length of the open-loop end-to-end run that is also the RSS soak (default 2m, --quick 15s)")
  .option("--duration <duration>", "measured length of each wrk run (default 6s, --quick 3s)")
  .option("--warmup <duration>", "warm-up before each wrk run (default 2s, --quick 1s)")
  .option("--connections <n>", "wrk connections (fixed concurrency)", "32")
  .option("--threads <n>", "wrk threads", "1")
  .option("--drain <n>", "messages drained by HTTP and raw JetStream (default 10000, --quick 3000)")
  .option("--durables <list>", "durable counts for the durables phase (default 0,1000,5000; --quick 0,1000)")
  .option("--rate <n>", "open-loop rate when ingest is not measured in this run (default: half the measured ingest req/s)")
  .option("--only <phases>", `comma-separated subset of ${PHASES.join(",")}`)
  .option("--profile", "run the gateway with --cpu-prof and print where its CPU went")
  .option("--gateway-env <pairs>", "comma-separated KEY=VALUE added to every gateway's environment, e.g. GROUP_COMMIT=on,GROUP_COMMIT_MIN_BATCH=8")
  .option("--out <dir>", "where results are written", "bench-results")
  .parse();

const opts = program.opts<{
  quick?: boolean;
  soak?: string;
  duration?: string;
  warmup?: string;
  connections: string;
  threads: string;
  drain?: string;
  durables?: string;
  rate?: string;
  only?: string;
  profile?: boolean;
  gatewayEnv?: string;
  out: string;
}>();

const quick = Boolean(opts.quick);
const settings = {
  quick,
  connections: Number(opts.connections),
  threads: Number(opts.threads),
  warmupMs: parseBenchDuration(opts.warmup ?? (quick ? "1s" : "2s")),
  durationMs: parseBenchDuration(opts.duration ?? (quick ? "3s" : "6s")),
  soakMs: parseBenchDuration(opts.soak ?? (quick ? "15s" : "2m")),
  drainCount: Number(opts.drain ?? (quick ? 3000 : 10000)),
  durableCounts: (opts.durables ?? (quick ? "0,1000" : "0,1000,5000")).split(",").map(Number),
  profile: Boolean(opts.profile),
  outDir: resolve(REPO_ROOT, opts.out),
  phases: (opts.only ? opts.only.split(",").map((s) => s.trim()) : [...PHASES]) as Phase[],
  gatewayEnv: parseEnvPairs(opts.gatewayEnv ?? ""),
};
for (const p of settings.phases) if (!PHASES.includes(p)) program.error(`unknown phase ${p}; phases: ${PHASES.join(", ")}`);
const runs = (p: Phase) => settings.phases.includes(p);

const log = (msg: string) => console.error(`[bench] ${msg}`);
const startedAt = new Date();
const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)}s`;

// ---- clean-up: every started thing registers how to undo itself ---------------------------
const cleanups: { name: string; fn: () => Promise<void> }[] = [];
let root: string | undefined;
let postmasterPid: number | undefined;
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const { name, fn } of cleanups.splice(0).reverse()) {
      await fn().catch((err: unknown) => log(`clean-up of ${name} failed: ${(err as Error).message}`));
    }
  })();
  return cleaning;
}
// Last resort, synchronous: whoever calls process.exit, the temporary directory goes and
// PostgreSQL is told to quit.
process.on("exit", () => {
  if (postmasterPid) {
    try {
      process.kill(postmasterPid, "SIGQUIT");
    } catch {
      // already gone
    }
  }
  if (root) rmSync(root, { recursive: true, force: true });
});
const abort = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping and cleaning up`);
    abort.abort();
    void cleanup().finally(() => process.exit(130));
  });
}

// ---- the machine -----------------------------------------------------------------------------
function machine() {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown";
  let wrkVersion = "unknown";
  try {
    wrkVersion = /wrk (\S+)/.exec(execFileSync("wrk", ["-v"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }))?.[1] ?? wrkVersion;
  } catch (err) {
    // `wrk -v` exits 1 after printing its version.
    const out = String((err as { stdout?: string }).stdout ?? "");
    wrkVersion = /wrk (\S+)/.exec(out)?.[1] ?? wrkVersion;
  }
  return { nproc: availableParallelism(), cpuModel: model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, wrk: wrkVersion };
}

function requireWrk(): void {
  try {
    execFileSync("sh", ["-c", "command -v wrk"], { stdio: "ignore" });
  } catch {
    throw new Error("wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu) or `brew install wrk`");
  }
}

// ---- the payload -----------------------------------------------------------------------------
const pushBody = Buffer.from(
  JSON.stringify((examples as unknown as { name: string; examples: unknown[] }[]).find((e) => e.name === "push")!.examples[0]),
);

async function githubDelivery(secret: string): Promise<SignedDelivery> {
  return {
    body: pushBody,
    headers: {
      "Content-Type": "application/json",
      "User-Agent": "GitHub-Hookshot/bench",
      "X-GitHub-Event": "push",
      "X-GitHub-Hook-ID": "123456789",
      "X-GitHub-Hook-Installation-Target-ID": "987654321",
      "X-GitHub-Hook-Installation-Target-Type": "repository",
      "X-Hub-Signature-256": await sign(secret, pushBody.toString("utf8")),
    },
  };
}

// ---- measuring one HTTP server with wrk ----------------------------------------------------
interface Pids {
  nats?: number;
  postgres?: number;
}

async function measureWithWrk(
  name: string,
  server: { label: string; pid: number },
  url: string,
  script: string,
  pids: Pids,
): Promise<{ row: Row; maxRssMiB: number }> {
  const common = { url, script, connections: settings.connections, threads: settings.threads, signal: abort.signal };
  if (settings.warmupMs > 0) await runWrk({ ...common, durationMs: settings.warmupMs });
  const meter = cpuMeter({ [server.label]: server.pid, nats: pids.nats, postgres: pids.postgres });
  let maxRss = rssMiB(server.pid);
  const sampler = setInterval(() => (maxRss = Math.max(maxRss, rssMiB(server.pid))), 250);
  try {
    const r = await runWrk({ ...common, durationMs: settings.durationMs });
    const cpu = meter.stop({ wrk: r.cpuSeconds });
    delete cpu.bench; // idle while wrk runs
    log(`${name}: ${r.rate.toFixed(0)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, errors ${wrkErrors(r)} (${elapsed()})`);
    return {
      row: { name, unit: "req/s", rate: r.rate, p50Ms: r.p50Ms, p99Ms: r.p99Ms, errors: wrkErrors(r), cpu },
      maxRssMiB: maxRss,
    };
  } finally {
    clearInterval(sampler);
  }
}

/** `callers` loops publishing the push body through `publisher` for `ms`; rate and latency. */
async function publishLoop(publisher: Publisher, callers: number, ms: number): Promise<{ rate: number; p50Ms: number; p99Ms: number }> {
  const end = performance.now() + ms;
  const latencies: number[] = [];
  let n = 0;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < end && !abort.signal.aborted) {
        const t = performance.now();
        await publisher.publish({ subject: "benchpub.push", body: pushBody, headers: natsHeaders(), msgID: `p${n++}-${t}`, timeout: 10_000 });
        latencies.push(performance.now() - t);
      }
    }),
  );
  const s = summarize(latencies);
  return { rate: latencies.length / (ms / 1000), p50Ms: s.p50, p99Ms: s.p99 };
}

/** A gateway of its own (another durability mode): started, ready, and its users' durables primed. */
async function launchGateway(name: string, env: Record<string, string>, tokens: string[]): Promise<{ child: NodeChild; url: string }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawnNode({ name, script: "gateway/src/main.ts", env: { ...env, PORT: String(port) }, logPath: join(root!, `${name}.log`) });
  cleanups.push({ name, fn: () => child.stop() });
  await waitForHttpOk(child, `${url}/readyz`);
  const agent = keepAliveAgent(4);
  try {
    for (const token of tokens) {
      const r = await httpRequest(agent, "GET", `${url}/api/v1/messages?limit=1&wait=0s`, { authorization: `Bearer ${token}` });
      if (r.status !== 200) throw new Error(`${name}: priming poll ${r.status} ${r.body.toString()}`);
    }
  } finally {
    agent.destroy();
  }
  return { child, url };
}

// ---- the run -----------------------------------------------------------------------------------
async function main(): Promise<void> {
  requireWrk();
  const report: BenchReport = { rows: [], skipped: {} };
  const info: Record<string, unknown> = { machine: machine(), settings, startedAt: startedAt.toISOString() };
  const payloadBytes = pushBody.length;
  log(`payload: GitHub push from @octokit/webhooks-examples, ${payloadBytes} bytes; ${settings.connections} connections, wrk ${settings.threads} thread(s)`);

  root = await mkdtemp(join(tmpdir(), "wb-bench-"));
  const benchRoot = root;
  // As root, PostgreSQL runs as user postgres and must be able to enter this directory.
  await chmod(root, 0o755);
  cleanups.push({ name: "temporary directory", fn: () => rm(benchRoot, { recursive: true, force: true }) });

  // nats-server and PostgreSQL, in parallel; whichever started is stopped again on failure.
  const binary = await ensureNatsServer(log);
  const [natsResult, pgResult] = await Promise.allSettled([
    startNats({ binary, dir: join(root, "nats") }),
    startPostgres({ dir: join(root, "postgres") }),
  ]);
  if (natsResult.status === "fulfilled") cleanups.push({ name: "nats-server", fn: () => natsResult.value.stop() });
  if (pgResult.status === "fulfilled") cleanups.push({ name: "PostgreSQL", fn: () => pgResult.value.stop() });
  if (natsResult.status === "rejected") throw natsResult.reason;
  if (pgResult.status === "rejected") throw pgResult.reason;
  const nats: NatsServer = natsResult.value;
  const postgres: PostgresServer = pgResult.value;
  postmasterPid = Number((await readFile(join(postgres.dataDir, "postmaster.pid"), "utf8")).split("\n")[0]);
  const pids: Pids = { nats: nats.pid, postgres: postmasterPid };
  const natsConfig = await readFile(nats.configPath, "utf8");
  if (!/sync_interval:\s*always/.test(natsConfig)) throw new Error("the generated nats-server config lacks sync_interval: always");

  const brokerDbUrl = await createDatabase(postgres.url, "broker");
  const seedDbUrl = await createDatabase(postgres.url, "seed");
  const versions = await pgVersions(postgres.url);
  const natsVersion = await natsServerVersion(binary);
  Object.assign(info.machine as object, { natsServer: natsVersion?.join("."), postgres: versions.version });
  info.durability = { nats: "sync_interval: always (fsync before PubAck)", postgres: versions.settings };
  log(`nats-server ${natsVersion?.join(".")} (sync_interval: always), PostgreSQL ${versions.version} (${Object.entries(versions.settings).map(([k, v]) => `${k}=${v}`).join(", ")}) (${elapsed()})`);

  // The broker's users and endpoints exist before the gateway starts (its cache loads them).
  const secretKey = randomBytes(32).toString("base64");
  const seeded = await seedBroker(brokerDbUrl, secretKey);
  const ingestDelivery = await githubDelivery(seeded.ingest.secret);
  const scripts = join(root, "wrk");
  await mkdir(scripts);

  const admin = await connect({ servers: nats.url, user: nats.users.admin.user, pass: nats.users.admin.password, name: "bench-admin" });
  cleanups.push({ name: "NATS admin connection", fn: () => admin.close() });
  const jsm = await jetstreamManager(admin);

  const gatewayEnv: Record<string, string> = {
    HOST: "127.0.0.1",
    NATS_URL: nats.url,
    NATS_USER: nats.users.gateway.user,
    NATS_PASSWORD: nats.users.gateway.password,
    DATABASE_URL: brokerDbUrl,
    SECRET_KEY: secretKey,
    LOG_LEVEL: "warn",
    // The bench measures capacity, not abuse protection: the per-endpoint and per-client token
    // buckets would answer 429 to a single load generator long before the broker is busy.
    RATE_LIMIT_PER_ENDPOINT: "off",
    RATE_LIMIT_PER_CLIENT: "off",
    ...settings.gatewayEnv,
  };
  if (Object.keys(settings.gatewayEnv).length) log(`gateway environment adds ${JSON.stringify(settings.gatewayEnv)}`);
  const gatewayConfig = loadConfig({ ...gatewayEnv, PORT: "0" });

  // ---- baselines ----
  let jetstreamRow: Row | undefined;
  if (runs("baselines")) {
    const baseStream = { ...streamConfig(gatewayConfig), name: "BENCH_BASELINE", subjects: ["bench.>"] };
    await jsm.streams.add(baseStream);
    const seed = new pg.Client({ connectionString: seedDbUrl });
    await seed.connect();
    await seed.query(WEBHOOKS_SCHEMA);
    await seed.end();
    const baselineEnv: Record<string, string> = {
      BENCH_SECRET: seeded.ingest.secret,
      NATS_URL: nats.url,
      NATS_USER: nats.users.gateway.user,
      NATS_PASSWORD: nats.users.gateway.password,
      BENCH_SUBJECT_PREFIX: "bench.baseline",
      DATABASE_URL: seedDbUrl,
    };
    const script = await writeWrkScript(scripts, "baseline", "/webhook/bench/ingest", "127.0.0.1", ingestDelivery);
    for (const kind of [ROW.nodeHttp, ROW.hono, ROW.jetstream, ROW.postgres]) {
      const child = spawnNode({
        name: kind,
        script: "scripts/src/bench/baselines/server.ts",
        args: [kind],
        env: baselineEnv,
        logPath: join(root, `${kind}.log`),
      });
      cleanups.push({ name: kind, fn: () => child.stop(2000) });
      try {
        const port = await waitForAnnouncedPort(child);
        const { row } = await measureWithWrk(kind, { label: "server", pid: child.pid }, `http://127.0.0.1:${port}/webhook/bench/ingest`, script, pids);
        report.rows.push(row);
        if (kind === ROW.jetstream) jetstreamRow = row;
      } finally {
        await child.stop(2000);
      }
    }
    await jsm.streams.delete(baseStream.name);
    info.postgresInsertRows = await countRows(seedDbUrl);
  }

  // ---- the broker ----
  const needsGateway = runs("ingest") || runs("drain") || runs("e2e") || runs("sse");
  let gateway: NodeChild | undefined;
  let gatewayUrl = "";
  let profileDir: string | undefined;
  if (needsGateway) {
    const port = await freePort();
    gatewayUrl = `http://127.0.0.1:${port}`;
    if (settings.profile) {
      profileDir = join(settings.outDir, `profile-${stamp()}`);
      await mkdir(profileDir, { recursive: true });
    }
    gateway = spawnNode({
      name: "gateway",
      script: "gateway/src/main.ts",
      env: { ...gatewayEnv, PORT: String(port) },
      logPath: join(root, "gateway.log"),
      nodeFlags: profileDir ? ["--cpu-prof", "--cpu-prof-dir", profileDir] : [],
    });
    const gw = gateway;
    cleanups.push({ name: "gateway", fn: () => gw.stop() });
    await waitForHttpOk(gateway, `${gatewayUrl}/readyz`);
    log(`gateway pid ${gateway.pid} ready at ${gatewayUrl}${profileDir ? ` (profiling into ${profileDir})` : ""} (${elapsed()})`);
    // Create both users' durable consumers now (an empty poll), so no phase pays for it.
    const agent = keepAliveAgent(4);
    await Promise.all(
      [seeded.ingest.token, seeded.e2e.token].map((token) =>
        httpRequest(agent, "GET", `${gatewayUrl}/api/v1/messages?limit=1&wait=0s`, { authorization: `Bearer ${token}` }).then((r) => {
          if (r.status !== 200) throw new Error(`priming poll: ${r.status} ${r.body.toString()}`);
        }),
      ),
    );
    agent.destroy();
    // The raw drain's consumer: same stream, same filter, same ack policy as the broker's.
    await jsm.consumers.add(gatewayConfig.STREAM_NAME, {
      durable_name: "bench_raw",
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(gatewayConfig.ACK_WAIT),
      deliver_policy: DeliverPolicy.All,
      filter_subjects: grantFilterSubjects([seeded.ingest.endpointId]),
      max_ack_pending: 10_000,
    });
  }

  let ingestRow: Row | undefined;
  if (runs("ingest") && gateway) {
    const script = await writeWrkScript(scripts, "ingest", "/webhook/bench/ingest", "127.0.0.1", ingestDelivery);
    const { row, maxRssMiB } = await measureWithWrk(ROW.ingest, { label: "gateway", pid: gateway.pid }, `${gatewayUrl}/webhook/bench/ingest`, script, pids);
    report.rows.push(row);
    ingestRow = row;
    info.rssUnderLoadMiB = maxRssMiB;
  }
  if (jetstreamRow && ingestRow) {
    log(`ingest / jetstream-publish: ${(ingestRow.rate / jetstreamRow.rate).toFixed(2)}× req/s, p99 ${(ingestRow.p99Ms! / jetstreamRow.p99Ms!).toFixed(2)}×`);
  }

  if (runs("modes")) {
    const script = await writeWrkScript(scripts, "modes", "/webhook/bench/ingest", "127.0.0.1", ingestDelivery);
    // The publisher alone, no HTTP: what group commit does where the disk, not the gateway's
    // CPU, is the bottleneck (32 callers, each publishing again as soon as it is answered).
    const pubStream = { ...streamConfig(gatewayConfig), name: "BENCH_PUBLISHER", subjects: ["benchpub.>"], allow_atomic: true };
    await jsm.streams.add(pubStream);
    const publishers: [string, Publisher][] = [
      [ROW.publisherDirect, directPublisher(jetstream(admin), pubStream.name)],
      [ROW.publisherGroup, new GroupCommitPublisher(admin, jetstream(admin), { stream: pubStream.name })],
    ];
    for (const [name, publisher] of publishers) {
      const meter = cpuMeter({ nats: pids.nats });
      const r = await publishLoop(publisher, settings.connections, settings.durationMs);
      report.rows.push({ name, unit: "msgs/s", rate: r.rate, p50Ms: r.p50Ms, p99Ms: r.p99Ms, cpu: meter.stop(), note: `${settings.connections} callers, no HTTP` });
      log(`${name}: ${r.rate.toFixed(0)} msgs/s, p99 ${r.p99Ms.toFixed(1)} ms (${elapsed()})`);
    }
    await jsm.streams.delete(pubStream.name);
    // Group commit on the same single node (a second gateway; the stream gains allow_atomic).
    const gc = await launchGateway("gateway-group-commit", { ...gatewayEnv, GROUP_COMMIT: "on" }, [seeded.ingest.token]);
    try {
      const { row } = await measureWithWrk(ROW.ingestGroup, { label: "gateway", pid: gc.child.pid }, `${gc.url}/webhook/bench/ingest`, script, pids);
      report.rows.push(row);
    } finally {
      await gc.child.stop();
    }
    // Replicated: three local nats-servers, the stream at R3.
    const cluster = await startBenchCluster(binary, join(benchRoot, "cluster"));
    cleanups.push({ name: "3-node cluster", fn: () => cluster.stop() });
    try {
      const r3Pids: Pids = { nats: cluster.pids[0], postgres: postmasterPid };
      const cnc = await connect({ servers: cluster.urls, user: cluster.users.admin.user, pass: cluster.users.admin.password, name: "bench-r3-admin" });
      const cjsm = await jetstreamManager(cnc, { timeout: 20_000 });
      const r3Stream = { ...streamConfig(gatewayConfig), name: "BENCH_BASELINE", subjects: ["bench.>"], num_replicas: 3 };
      await cjsm.streams.add(r3Stream);
      const baseline = spawnNode({
        name: "jetstream-publish-r3",
        script: "scripts/src/bench/baselines/server.ts",
        args: [ROW.jetstream],
        env: { BENCH_SECRET: seeded.ingest.secret, NATS_URL: cluster.urls[0]!, NATS_USER: cluster.users.gateway.user, NATS_PASSWORD: cluster.users.gateway.password, BENCH_SUBJECT_PREFIX: "bench.baseline" },
        logPath: join(benchRoot, "jetstream-publish-r3.log"),
      });
      cleanups.push({ name: "jetstream-publish-r3", fn: () => baseline.stop(2000) });
      try {
        const port = await waitForAnnouncedPort(baseline);
        const { row } = await measureWithWrk(ROW.jetstreamR3, { label: "server", pid: baseline.pid }, `http://127.0.0.1:${port}/webhook/bench/ingest`, script, r3Pids);
        report.rows.push({ ...row, note: "3 nodes, quorum ack" });
      } finally {
        await baseline.stop(2000);
      }
      await cjsm.streams.delete(r3Stream.name);
      await cnc.close();
      const r3Env = { ...gatewayEnv, NATS_URL: cluster.urls.join(","), NATS_USER: cluster.users.gateway.user, NATS_PASSWORD: cluster.users.gateway.password, STREAM_REPLICAS: "3" };
      for (const [name, extra] of [[ROW.ingestR3, {}], [ROW.ingestR3Group, { GROUP_COMMIT: "on" }]] as const) {
        const gw = await launchGateway(name.replace(/\W+/g, "-"), { ...r3Env, ...extra }, [seeded.ingest.token]);
        try {
          const { row } = await measureWithWrk(name, { label: "gateway", pid: gw.child.pid }, `${gw.url}/webhook/bench/ingest`, script, r3Pids);
          report.rows.push({ ...row, note: "3 nodes, quorum ack" });
          if (name === ROW.ingestR3Group) {
            // One reader drains what the two R3 runs stored, through this gateway (ack by token).
            const agent = keepAliveAgent(2);
            const meter = cpuMeter({ gateway: gw.child.pid, nats: r3Pids.nats, postgres: r3Pids.postgres });
            const drained = await httpDrain(agent, gw.url, seeded.ingest.token, settings.drainCount, { ackBy: "tokens" });
            agent.destroy();
            report.rows.push({ name: ROW.drainR3, unit: "msgs/s", rate: drained.rate, cpu: meter.stop(), note: `${drained.messages} msgs, batches of 100` });
            log(`R3 HTTP drain by token: ${drained.messages} messages = ${drained.rate.toFixed(0)} msgs/s (${elapsed()})`);
          }
        } finally {
          await gw.child.stop();
        }
      }
    } finally {
      await cluster.stop();
    }
  }

  if (runs("drain") && gateway) {
    const pending = (await jsm.consumers.info(gatewayConfig.STREAM_NAME, "bench_raw")).num_pending;
    const count = Math.min(pending, settings.drainCount);
    if (count < 100) {
      report.skipped[ROW.httpDrain] = `only ${pending} messages stored (run the ingest phase too)`;
      log(`drain skipped: ${report.skipped[ROW.httpDrain]}`);
    } else {
      const agent = keepAliveAgent(2);
      let meter = cpuMeter({ gateway: gateway.pid, nats: pids.nats, postgres: pids.postgres });
      const http = await httpDrain(agent, gatewayUrl, seeded.ingest.token, count);
      report.rows.push({ name: ROW.httpDrain, unit: "msgs/s", rate: http.rate, cpu: meter.stop(), note: `${http.messages} msgs, batches of 100` });
      agent.destroy();
      log(`HTTP drain: ${http.messages} messages in ${http.seconds.toFixed(2)} s = ${http.rate.toFixed(0)} msgs/s (${elapsed()})`);
      /** The same messages again through a consumer of their own (`name`, from the start), settled by ack_token (no per-id lookup). */
      const drainByToken = async (name: string, batch: number) => {
        const tokenAgent = keepAliveAgent(2);
        const created = await httpRequest(tokenAgent, "POST", `${gatewayUrl}/api/v1/consumers`, { authorization: `Bearer ${seeded.ingest.token}`, "content-type": "application/json" }, JSON.stringify({ name, start: "all" }));
        if (created.status !== 201) throw new Error(`POST /api/v1/consumers: ${created.status} ${created.body.toString().slice(0, 300)}`);
        const meter = cpuMeter({ gateway: gateway.pid, nats: pids.nats, postgres: pids.postgres });
        const drained = await httpDrain(tokenAgent, gatewayUrl, seeded.ingest.token, http.messages, { consumer: name, ackBy: "tokens", batch });
        const cpu = meter.stop();
        tokenAgent.destroy();
        return { drained, cpu };
      };
      const byToken = await drainByToken("bytoken", 100);
      report.rows.push({ name: ROW.httpDrainTokens, unit: "msgs/s", rate: byToken.drained.rate, cpu: byToken.cpu, note: `${byToken.drained.messages} msgs, batches of 100` });
      log(`HTTP drain by token: ${byToken.drained.messages} messages in ${byToken.drained.seconds.toFixed(2)} s = ${byToken.drained.rate.toFixed(0)} msgs/s (${elapsed()})`);
      // A reader catching up on a backlog asks for the largest page.
      const bigPage = await drainByToken("bigpage", DRAIN_BIG_PAGE);
      report.rows.push({ name: ROW.httpDrainBigPage, unit: "msgs/s", rate: bigPage.drained.rate, cpu: bigPage.cpu, note: `${bigPage.drained.messages} msgs, batches of ${DRAIN_BIG_PAGE}` });
      log(`HTTP drain by token, pages of ${DRAIN_BIG_PAGE}: ${bigPage.drained.messages} messages in ${bigPage.drained.seconds.toFixed(2)} s = ${bigPage.drained.rate.toFixed(0)} msgs/s (${elapsed()})`);
      meter = cpuMeter({ gateway: gateway.pid, nats: pids.nats, postgres: pids.postgres });
      const raw = await rawDrain(admin, jetstream(admin), gatewayConfig.STREAM_NAME, "bench_raw", http.messages);
      report.rows.push({ name: ROW.rawDrain, unit: "msgs/s", rate: raw.rate, cpu: meter.stop(), note: `${raw.messages} msgs, batches of 100` });
      log(`raw drain: ${raw.messages} messages in ${raw.seconds.toFixed(2)} s = ${raw.rate.toFixed(0)} msgs/s (${elapsed()})`);
    }
  }

  if (runs("e2e") && gateway) {
    const rate = Math.max(1, Math.round(ingestRow ? ingestRow.rate / 2 : Number(opts.rate ?? 500)));
    const warmupMs = Math.min(5_000, settings.soakMs * 0.1);
    const delivery = await githubDelivery(seeded.e2e.secret);
    const headers = Object.fromEntries(Object.entries(delivery.headers).map(([k, v]) => [k.toLowerCase(), v]));
    log(`end-to-end + soak: open loop at ${rate}/s for ${(settings.soakMs / 1000).toFixed(0)} s${ingestRow ? " (half the measured ingest maximum)" : ""}`);
    const gwPid = gateway.pid;
    const samples: { t: number; mib: number }[] = [];
    const soakStart = performance.now();
    const sampler = setInterval(() => samples.push({ t: performance.now() - soakStart, mib: rssMiB(gwPid) }), 1000);
    const meter = cpuMeter({ gateway: gwPid, nats: pids.nats, postgres: pids.postgres });
    const sender = keepAliveAgent(64);
    const reader = keepAliveAgent(2);
    try {
      const r = await openLoop({
        agent: sender,
        readerAgent: reader,
        baseUrl: gatewayUrl,
        path: "/webhook/bench/e2e",
        body: delivery.body,
        headers,
        token: seeded.e2e.token,
        ratePerSecond: rate,
        durationMs: settings.soakMs,
        warmupMs,
        signal: abort.signal,
      });
      const cpu = meter.stop();
      const s = summarize(r.latenciesMs);
      report.rows.push({
        name: ROW.e2e,
        unit: "req/s",
        rate: r.accepted / r.seconds,
        p50Ms: s.p50,
        p99Ms: s.p99,
        errors: r.failed + r.lost,
        cpu,
        note: `open loop at ${rate}/s`,
      });
      info.e2e = { rate, ...s, sent: r.sent, accepted: r.accepted, failed: r.failed, lost: r.lost, lateSends: r.lateSends, seconds: r.seconds };
      log(`end-to-end: p50 ${s.p50.toFixed(2)} ms, p90 ${s.p90.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms, max ${s.max.toFixed(1)} ms over ${s.count} deliveries; failed ${r.failed}, lost ${r.lost}, late sends ${r.lateSends} (${elapsed()})`);
    } finally {
      clearInterval(sampler);
      sender.destroy();
      reader.destroy();
    }
    // Compare the start of the soak (after the warm-up) with its end, each as a median of a window.
    const soakSeconds = settings.soakMs / 1000;
    const windowMs = Math.max(3_000, Math.min(15_000, settings.soakMs * 0.15));
    const first = samples.filter((x) => x.t >= warmupMs && x.t < warmupMs + windowMs).map((x) => x.mib);
    const lastT = samples.length ? samples[samples.length - 1]!.t : 0;
    const last = samples.filter((x) => x.t > lastT - windowMs).map((x) => x.mib);
    if (first.length && last.length) {
      report.rss = { underLoadMiB: Number(info.rssUnderLoadMiB ?? Number.NaN), soakStartMiB: median(first), soakEndMiB: median(last), soakSeconds };
    }
    info.rssSamples = samples;
  }

  if (runs("sse") && gateway) {
    // Issue 14: from the sender's 202 to the event on an SSE reader, at the end-to-end rate.
    const rate = Math.max(1, Math.round(ingestRow ? ingestRow.rate / 2 : Number(opts.rate ?? 500)));
    const durationMs = quick ? 8_000 : 20_000;
    const delivery = await githubDelivery(seeded.e2e.secret);
    const headers = Object.fromEntries(Object.entries(delivery.headers).map(([k, v]) => [k.toLowerCase(), v]));
    const agent = keepAliveAgent(64);
    const created = await httpRequest(agent, "POST", `${gatewayUrl}/api/v1/consumers`, { authorization: `Bearer ${seeded.e2e.token}`, "content-type": "application/json" }, JSON.stringify({ name: "sse", start: "new" }));
    if (created.status !== 201) throw new Error(`POST /api/v1/consumers: ${created.status} ${created.body.toString().slice(0, 300)}`);
    log(`SSE latency: open loop at ${rate}/s for ${durationMs / 1000} s, one stream (ack=auto)`);
    const meter = cpuMeter({ gateway: gateway.pid, nats: pids.nats, postgres: pids.postgres });
    try {
      const r = await sseLatency({
        agent,
        baseUrl: gatewayUrl,
        path: "/webhook/bench/e2e",
        body: delivery.body,
        headers,
        token: seeded.e2e.token,
        consumer: "sse",
        ratePerSecond: rate,
        durationMs,
        warmupMs: Math.min(2_000, durationMs * 0.1),
        signal: abort.signal,
      });
      const s = summarize(r.latenciesMs);
      report.rows.push({ name: ROW.sse, unit: "req/s", rate: r.accepted / r.seconds, p50Ms: s.p50, p99Ms: s.p99, errors: r.failed + r.lost, cpu: meter.stop(), note: `open loop at ${rate}/s` });
      info.sse = { rate, ...s, sent: r.sent, accepted: r.accepted, failed: r.failed, lost: r.lost, seconds: r.seconds };
      log(`SSE latency: p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms over ${s.count} events; failed ${r.failed}, lost ${r.lost} (${elapsed()})`);
    } finally {
      agent.destroy();
    }
  }

  if (runs("durables")) {
    const figures = await measureDurables({
      nc: admin,
      natsPid: nats.pid!,
      counts: settings.durableCounts,
      body: pushBody,
      durationMs: quick ? 2_000 : 4_000,
      concurrency: settings.connections,
      signal: abort.signal,
      log: (msg) => log(`durables: ${msg} (${elapsed()})`),
    });
    const none = figures.find((f) => f.durables === 0);
    for (const f of figures) {
      for (const kind of ["private", "public"] as const) {
        const rate = kind === "private" ? f.privateRate : f.publicRate;
        const ratio = none ? ` = ${(rate / (kind === "private" ? none.privateRate : none.publicRate)).toFixed(2)}× of 0 durables` : "";
        const memory = f.kibPerDurable === undefined ? "" : `, nats-server +${f.kibPerDurable.toFixed(0)} KiB per durable`;
        report.rows.push({ name: `publish, ${f.durables} durables, ${kind}`, unit: "msgs/s", rate, note: `${kind === "private" ? "matches one" : "matches all"}${ratio}${memory}` });
      }
    }
    info.durables = figures;
  }

  if (runs("callout")) {
    const rows = await measureCalloutIfPresent(report, {
      natsServerBin: binary,
      databaseUrl: postgres.url,
      tmpDir: join(root, "callout"),
      warmupMs: settings.warmupMs,
      durationMs: settings.durationMs,
      connections: settings.connections,
      quick,
      signal: abort.signal,
      log: (msg: string) => log(`callout: ${msg}`),
    });
    report.rows.push(...rows);
  }

  // Stop the gateway gracefully so that --cpu-prof writes its profile.
  if (gateway) await gateway.stop();
  if (profileDir) await printProfile(profileDir);

  printAndSave(report, info);
}

// ---- pieces used by main --------------------------------------------------------------------
async function pgVersions(url: string): Promise<{ version: string; settings: Record<string, string> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const version = (await client.query<{ server_version: string }>("SHOW server_version")).rows[0]!.server_version;
    const out: Record<string, string> = {};
    for (const name of ["fsync", "synchronous_commit", "wal_sync_method", "shared_buffers"]) {
      out[name] = (await client.query<Record<string, string>>(`SHOW ${name}`)).rows[0]![name]!;
    }
    return { version, settings: out };
  } finally {
    await client.end();
  }
}

async function countRows(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>("SELECT count(*) AS n FROM webhooks")).rows[0]!.n);
  } finally {
    await client.end();
  }
}

interface SeededUser {
  token: string;
  endpointId: string;
  secret: string;
}

/** Two users, each with a token and a GitHub endpoint: one for ingest + drain, one for end-to-end. */
async function seedBroker(databaseUrl: string, secretKey: string): Promise<{ ingest: SeededUser; e2e: SeededUser }> {
  const database = openDatabase(databaseUrl, { max: 1 });
  try {
    await migrateDatabase(database.db);
    const box = new SecretBox(Buffer.from(secretKey, "base64"));
    const make = async (name: string, path: string): Promise<SeededUser> => {
      const user = await createUser(database.db, { name });
      const { token } = await createApiToken(database.db, user.id, "bench");
      const { endpoint, secret } = await createEndpoint(database.db, box, { path, provider: "github", owner: { userId: user.id } });
      return { token, endpointId: endpoint.id, secret };
    };
    return { ingest: await make("bench-ingest", "bench/ingest"), e2e: await make("bench-e2e", "bench/e2e") };
  } finally {
    await database.close();
  }
}

const CALLOUT_TIMEOUT_MS = 120_000;

interface CalloutFigures {
  connectionsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  concurrency?: number;
  connections?: number;
}

interface CalloutModule {
  /** Self-contained: its own nats-server with the callout, PostgreSQL and callout service. */
  runCalloutBench?: (log: (msg: string) => void) => Promise<Record<string, CalloutFigures>>;
  measureCallout?: (ctx: CalloutBenchContext) => Promise<CalloutMeasurement>;
}

const isFigures = (v: unknown): v is CalloutFigures =>
  typeof v === "object" && v !== null && typeof (v as CalloutFigures).connectionsPerSecond === "number";

/**
 * The auth-callout measurement lives in callout.ts (the auth-callout change). It is optional:
 * when the module is missing, exports nothing usable, fails or times out, the row is skipped
 * with a note instead of failing the bench. Preferred: `runCalloutBench(log)`, which starts
 * its own servers and returns figures per scenario (the most concurrent callout scenario is
 * reported; a static-user scenario, when present, is shown beside it as the no-callout cost).
 * Otherwise `measureCallout(ctx)` per the contract in types.ts.
 */
async function measureCalloutIfPresent(report: BenchReport, ctx: CalloutBenchContext): Promise<Row[]> {
  const skip = (why: string): Row[] => {
    report.skipped[ROW.callout] = why;
    log(`callout skipped: ${why}`);
    return [];
  };
  let mod: CalloutModule;
  try {
    // A variable specifier: the file may not exist yet, and must not break type-checking.
    const specifier = "./callout.js";
    mod = (await import(specifier)) as CalloutModule;
  } catch (err) {
    return skip(`scripts/src/bench/callout.ts not loadable (${(err as Error).message.split("\n")[0]})`);
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result within ${CALLOUT_TIMEOUT_MS / 1000} s`)), CALLOUT_TIMEOUT_MS);
  });
  try {
    const meter = cpuMeter({});
    if (typeof mod.runCalloutBench === "function") {
      const results = await Promise.race([mod.runCalloutBench(ctx.log), timeout]);
      const cpu = meter.stop();
      const entries = Object.entries(results ?? {}).filter((e): e is [string, CalloutFigures] => isFigures(e[1]));
      const viaCallout = entries.filter(([k]) => /callout/i.test(k)).sort((a, b) => (b[1].concurrency ?? 1) - (a[1].concurrency ?? 1));
      const best = viaCallout[0];
      if (!best) return skip(`runCalloutBench returned no callout figures (${JSON.stringify(results).slice(0, 200)})`);
      const rows: Row[] = [];
      for (const [name, f] of entries) {
        const isMain = name === best[0];
        rows.push({
          name: isMain ? ROW.callout : `connect: ${name}`,
          unit: "conn/s",
          rate: f.connectionsPerSecond,
          p50Ms: f.p50Ms,
          p99Ms: f.p99Ms,
          note: isMain ? `${name}, concurrency ${f.concurrency ?? 1}` : `concurrency ${f.concurrency ?? 1}`,
          ...(isMain ? { cpu } : {}),
        });
        log(`callout ${name}: ${f.connectionsPerSecond.toFixed(0)} conn/s, p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms (${elapsed()})`);
      }
      // The target row first, the others after it for context.
      return rows.sort((a, b) => Number(b.name === ROW.callout) - Number(a.name === ROW.callout));
    }
    if (typeof mod.measureCallout === "function") {
      await mkdir(ctx.tmpDir, { recursive: true });
      const m = await Promise.race([mod.measureCallout(ctx), timeout]);
      if (!isFigures(m)) return skip(`measureCallout returned no connectionsPerSecond (${JSON.stringify(m).slice(0, 200)})`);
      log(`callout: ${m.connectionsPerSecond.toFixed(0)} conn/s, p50 ${m.p50Ms} ms, p99 ${m.p99Ms} ms (${elapsed()})`);
      return [{ name: ROW.callout, unit: "conn/s", rate: m.connectionsPerSecond, p50Ms: m.p50Ms, p99Ms: m.p99Ms, errors: m.errors, cpu: m.cpu ?? meter.stop(), note: m.note }];
    }
    return skip("callout.ts exports neither runCalloutBench nor measureCallout");
  } catch (err) {
    return skip(`callout measurement failed: ${(err as Error).message.split("\n")[0]}`);
  } finally {
    clearTimeout(timer);
  }
}

async function printProfile(dir: string): Promise<void> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".cpuprofile"));
  if (files.length === 0) {
    log(`no .cpuprofile in ${dir} (did the gateway exit cleanly?)`);
    return;
  }
  for (const f of files) {
    const summary = await readProfile(join(dir, f));
    // --cpu-prof also profiles the module loader's worker thread (tsx); only the main thread runs our code.
    if (!summary.functions.some((e) => /(gateway|authz)\/src\//.test(e.key))) continue;
    const text = formatProfileSummary(summary, 25);
    await writeFile(join(dir, `${f}.txt`), `${text}\n`);
    console.log(`\nGateway CPU profile ${join(dir, f)} (summary also in ${f}.txt):\n${text}`);
  }
  log("note: with --profile the gateway runs slower; compare ratios from runs without it");
}

function stamp(): string {
  return startedAt.toISOString().replace(/[:.]/g, "-");
}

function printAndSave(report: BenchReport, info: Record<string, unknown>): void {
  const targets = evaluateTargets(report);
  const m = info.machine as Record<string, unknown>;
  const header = `webhook-broker bench — ${m.cpuModel}, ${m.nproc} cores, node ${m.node}, nats-server ${m.natsServer}, PostgreSQL ${m.postgres}, wrk ${m.wrk}; ${settings.connections} connections${quick ? "; --quick" : ""}`;
  console.log(`\n${header}\n\n${formatResults(report)}\n\n${formatTargets(targets)}`);
  for (const [name, why] of Object.entries(report.skipped)) console.log(`skipped ${name}: ${why}`);
  if (report.rss) console.log(`gateway RSS: ${report.rss.underLoadMiB.toFixed(0)} MiB at most under full ingest load`);
  const outDir = settings.outDir;
  const base = join(outDir, `bench-${stamp()}`);
  const json = { ...info, rows: report.rows, rss: report.rss, skipped: report.skipped, targets, finishedAt: new Date().toISOString() };
  const md = `${header}\n\n${formatResults(report, { markdown: true })}\n\n${formatTargets(targets, { markdown: true })}\n`;
  // Synchronous on purpose: the results are on disk before clean-up can exit the process.
  mkdirSync(outDir, { recursive: true });
  writeFileSync(`${base}.json`, `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(`${base}.md`, md);
  console.log(`\nwrote ${base}.json and .md (${elapsed()})`);
}

try {
  await main();
  await cleanup();
  log(`done in ${elapsed()}`);
} catch (err) {
  console.error(err);
  await cleanup();
  process.exitCode = 1;
}
