/**
 * The fault scenarios (issue 16): each breaks one real process under load and is judged from
 * the ledger against what the stream holds.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { broken, Ledger, verdict, type Verdict } from "./ledger.js";
import { startReader, startSender, startSlowClients } from "./load.js";
import { Rig, type Postgres } from "./rig.js";

export interface ScenarioContext {
  natsBinary: string;
  dir: string;
  postgresUrl: string;
  /** Only the postgres scenario needs it: it kills and restarts this server. */
  postgres?: Postgres;
  /** Deliveries per second. */
  rate: number;
  /** Short runs (the test suite): fewer rounds, shorter phases. */
  short: boolean;
  /** Kills of nats-server in the nats-kill scenario (default 3, short 1). */
  rounds?: number;
}

export interface ScenarioResult {
  name: string;
  verdict: Verdict;
  broken: string[];
  /** p50/p99 of the 202s, ms. */
  latency: { p50: number; p99: number };
  /** Scenario-specific figures (kill rounds, slow clients cut, ...). */
  notes: Record<string, unknown>;
  seconds: number;
}

interface Scenario {
  name: string;
  what: string;
  env?: Record<string, string>;
  needsPostgres?: boolean;
  /** Breaks things while the sender and reader run; returns figures for the report. */
  fault(rig: Rig, ctx: ScenarioContext, ledger: Ledger, control: { pauseReader(p: boolean): void }): Promise<Record<string, unknown>>;
}

const phase = (ctx: ScenarioContext, fullMs: number) => (ctx.short ? Math.round(fullMs / 2) : fullMs);

export const SCENARIOS: Scenario[] = [
  {
    name: "nats-kill",
    what: "nats-server SIGKILLed mid-ingest and restarted (2 s down), with pulls and acks in flight",
    async fault(rig, ctx, ledger) {
      const rounds = ctx.rounds ?? (ctx.short ? 1 : 3);
      const perRound: { redeliveredAfterAck: number; downMs: number }[] = [];
      for (let i = 0; i < rounds; i++) {
        await sleep(phase(ctx, 3_000));
        const before = ledger.redeliveredAfterAck.length;
        const killedAt = Date.now();
        await rig.nats.kill();
        await sleep(2_000);
        await rig.nats.start();
        const downMs = Date.now() - killedAt;
        // Redeliveries of this round show up once the reader has pulled after the ack wait's start.
        await sleep(phase(ctx, 4_000));
        perRound.push({ redeliveredAfterAck: ledger.redeliveredAfterAck.length - before, downMs });
      }
      const withRedelivery = perRound.filter((r) => r.redeliveredAfterAck > 0).length;
      return {
        kills: rounds,
        killsWithRedeliveryAfterAck: withRedelivery,
        redeliveredPerKill: perRound.map((r) => r.redeliveredAfterAck).join(","),
        // What nats-server lost of acks answered 200 and the journal settled again, unseen by the reader.
        settledAgainFromJournal: await suppressedCount(rig.url),
      };
    },
  },
  {
    name: "gateway-kill",
    what: "the gateway SIGKILLed with long-polls and acks in flight, then started again",
    async fault(rig, ctx) {
      await sleep(phase(ctx, 3_000));
      const killedAt = Date.now();
      await rig.killGateway();
      await rig.startGateway();
      const downMs = Date.now() - killedAt;
      await sleep(phase(ctx, 3_000));
      return { downMs };
    },
  },
  {
    name: "postgres-kill",
    what: "PostgreSQL SIGKILLed (postmaster and backends) and restarted after 3 s; ingest must not notice",
    needsPostgres: true,
    async fault(_rig, ctx) {
      await sleep(phase(ctx, 3_000));
      const killedAt = Date.now();
      await ctx.postgres!.kill();
      await sleep(3_000);
      await ctx.postgres!.restart();
      const downMs = Date.now() - killedAt;
      await sleep(phase(ctx, 3_000));
      return { downMs };
    },
  },
  {
    name: "stream-full",
    what: "the stream fills up (256 KiB) while the reader is away; he comes back and acks; ingest resumes",
    env: { STREAM_MAX_BYTES: "256KiB", STREAM_PURGE_INTERVAL: "1s" },
    async fault(rig, _ctx, ledger, control) {
      control.pauseReader(true);
      const firstRefusal = await until(() => ledger.sent.find((s) => s.status === 503)?.at, 60_000);
      await sleep(2_000);
      const backAt = Date.now();
      control.pauseReader(false);
      const resumedAt = await until(() => ledger.sent.find((s) => s.at > backAt && s.status === 202)?.at, 30_000);
      const info = await rig.jsm.streams.info(rig.stream);
      return { fullForMs: backAt - firstRefusal, resumedAfterReaderBackMs: resumedAt - backAt, bytesAtEnd: info.state.bytes };
    },
  },
  {
    name: "slowloris",
    what: "200 clients send headers one byte per second (HEADERS_TIMEOUT 2s) while senders deliver",
    env: { HEADERS_TIMEOUT: "2s" },
    async fault(rig, ctx) {
      await sleep(1_000);
      const slow = startSlowClients(rig, ctx.short ? 50 : 200, 1_000);
      await sleep(phase(ctx, 8_000));
      const r = await slow.stop();
      const sorted = r.cutAfterMs.sort((a, b) => a - b);
      return { slowClients: r.total, cut: r.cut, cutAfterMsMax: sorted.at(-1) ?? null };
    },
  },
];

async function until<T>(f: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(50);
  }
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/** Runs one scenario on a fresh rig and judges it. */
export async function runScenario(s: Scenario, ctx: ScenarioContext): Promise<ScenarioResult> {
  const started = Date.now();
  const rig = new Rig({ natsBinary: ctx.natsBinary, dir: `${ctx.dir}/${s.name}`, postgresUrl: ctx.postgresUrl, env: s.env });
  await rig.start();
  try {
    const ledger = new Ledger();
    let paused = false;
    const reader = startReader(rig, ledger, () => paused);
    const sender = startSender(rig, ledger, ctx.rate, s.name);
    const notes = await s.fault(rig, ctx, ledger, { pauseReader: (p) => (paused = p) });
    await sleep(phase(ctx, 1_000));
    await sender.stop();
    // Every stored delivery must be read: the reader goes on until it has acked them all.
    const stored = await rig.stored();
    const deadline = Date.now() + 90_000;
    while ([...stored.values()].some((seq) => !ledger.ackedAt.has(seq)) && Date.now() < deadline) await sleep(200);
    await reader.stop();
    const v = verdict(ledger, stored);
    const ok = ledger.sent.filter((x) => x.status === 202).map((x) => x.ms);
    return { name: s.name, verdict: v, broken: broken(v), latency: { p50: pct(ok, 50), p99: pct(ok, 99) }, notes, seconds: Math.round((Date.now() - started) / 1000) };
  } finally {
    await rig.close();
  }
}

/** The gateway's `wb_settled_redeliveries_suppressed_total` (undefined when /metrics does not answer). */
async function suppressedCount(url: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith("wb_settled_redeliveries_suppressed_total "));
    return line === undefined ? undefined : Number(line.split(" ")[1]);
  } catch {
    return undefined;
  }
}
