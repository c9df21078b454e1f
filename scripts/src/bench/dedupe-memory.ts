/**
 * What JetStream's duplicate window costs in nats-server memory.
 *
 *   pnpm exec tsx scripts/src/bench/dedupe-memory.ts [--n 100000] [--window 24h] [--body 256] [--storage memory|file]
 *
 * Two runs on fresh servers, each publishing N messages to a file-backed stream with
 * `duplicate_window` = window: one with a distinct `Nats-Msg-Id` per message (shaped like the
 * gateway's `<endpoint uuid>:<delivery uuid>`, 73 bytes), one without. Everything else (stored
 * bytes, block cache, client buffers) is the same in both, so the difference in the server's
 * RSS growth, divided by N, is the memory the window holds per remembered id. Every id stays
 * remembered for the whole window, so at a steady rate R the window holds R × window ids.
 *
 * `--storage memory` (default) keeps the run fast: the generated config fsyncs every write
 * (`sync_interval: always`), ~200 publishes/s here. The stored messages then sit in RSS too, but
 * equally in both runs, so they cancel out of the difference; `--storage file` measures the
 * production layout, slowly.
 */
import { randomUUID } from "node:crypto";
import { parseDuration } from "@wb/authz";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, StorageType, type PubAck } from "@nats-io/jetstream";
import { ensureNatsServer, startNats } from "@wb/stack";

const { values: args } = parseArgs({
  options: {
    n: { type: "string", default: "100000" },
    window: { type: "string", default: "24h" },
    body: { type: "string", default: "256" },
    batch: { type: "string", default: "500" },
    storage: { type: "string", default: "memory" },
  },
});
const N = Number(args.n);
const WINDOW_MS = parseDuration(args.window!) ?? 86_400_000;
const BODY = new Uint8Array(Number(args.body)).fill(0x61);
const BATCH = Number(args.batch);

/** Resident set size of a process, in bytes (Linux). */
function rssBytes(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb) * 1024;
}

/** The server's own view (Go runtime), from /varz. */
async function varzMem(monitorUrl: string): Promise<number> {
  return ((await (await fetch(`${monitorUrl}/varz`)).json()) as { mem: number }).mem;
}

/** RSS sampled a few times after a pause; the median, so a GC in mid-sample does not skew it. */
async function settledRss(pid: number): Promise<number> {
  await sleep(3_000);
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(rssBytes(pid));
    await sleep(200);
  }
  return samples.sort((a, b) => a - b)[2]!;
}

interface Run {
  withIds: boolean;
  rssBefore: number;
  rssAfter: number;
  varzBefore: number;
  varzAfter: number;
  seconds: number;
  stored: number;
}

async function run(binary: string, withIds: boolean): Promise<Run> {
  const dir = await mkdtemp(join(tmpdir(), "wb-dedupe-"));
  const server = await startNats({ binary, dir, monitoring: true });
  try {
    const nc = await connect({ servers: server.url, user: server.users.admin.user, pass: server.users.admin.password });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "DEDUPE", subjects: ["dd.>"], duplicate_window: WINDOW_MS * 1_000_000, storage: args.storage === "file" ? StorageType.File : StorageType.Memory });
    const js = jetstream(nc);
    const prefix = randomUUID();
    const pid = server.pid!;
    const rssBefore = await settledRss(pid);
    const varzBefore = await varzMem(server.monitorUrl!);
    const started = performance.now();
    for (let i = 0; i < N; i += BATCH) {
      const acks: Promise<PubAck>[] = [];
      for (let j = i; j < Math.min(N, i + BATCH); j++) {
        acks.push(js.publish("dd.x", BODY, { timeout: 60_000, ...(withIds ? { msgID: `${prefix}:${randomUUID()}` } : {}) }));
      }
      const done = await Promise.all(acks);
      if (done.some((a) => a.duplicate)) throw new Error("unexpected duplicate");
    }
    const seconds = (performance.now() - started) / 1000;
    const rssAfter = await settledRss(pid);
    const varzAfter = await varzMem(server.monitorUrl!);
    const stored = (await jsm.streams.info("DEDUPE")).state.messages;
    await nc.close();
    return { withIds, rssBefore, rssAfter, varzBefore, varzAfter, seconds, stored };
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const MiB = 1024 * 1024;
const binary = await ensureNatsServer();
const plain = await run(binary, false);
const ids = await run(binary, true);
const growth = (r: Run) => r.rssAfter - r.rssBefore;
const perId = (growth(ids) - growth(plain)) / N;
const perIdVarz = (ids.varzAfter - ids.varzBefore - (plain.varzAfter - plain.varzBefore)) / N;

for (const r of [plain, ids]) {
  console.log(
    `${r.withIds ? "with msg ids   " : "without msg ids"}: ${r.stored} stored in ${r.seconds.toFixed(1)} s; ` +
      `RSS ${(r.rssBefore / MiB).toFixed(1)} -> ${(r.rssAfter / MiB).toFixed(1)} MiB (+${(growth(r) / MiB).toFixed(1)}); ` +
      `varz mem +${((r.varzAfter - r.varzBefore) / MiB).toFixed(1)} MiB`,
  );
}
console.log(`duplicate window ${args.window}, ${args.storage} storage, N=${N}: ~${Math.round(perId)} bytes of RSS per remembered id (varz: ~${Math.round(perIdVarz)})`);
console.log(
  `=> at a steady 10 deliveries/s for ${args.window}: ${((perId * 10 * WINDOW_MS) / 1000 / MiB).toFixed(0)} MiB; ` +
    `at 100/s: ${((perId * 100 * WINDOW_MS) / 1000 / MiB).toFixed(0)} MiB`,
);
console.log(JSON.stringify({ n: N, storage: args.storage, windowMs: WINDOW_MS, bodyBytes: BODY.length, perIdBytes: Math.round(perId), perIdVarzBytes: Math.round(perIdVarz), runs: [plain, ids] }));
