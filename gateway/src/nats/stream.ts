import {
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { formatDuration, isStreamNotFound, STREAM_SUBJECTS } from "@wb/authz";
import type { Logger } from "pino";
import { ConfigError, type Config } from "../config.js";

/** The stream's desired shape, derived from config. */
export function streamConfig(cfg: Config): Partial<StreamConfig> & { name: string } {
  return {
    name: cfg.STREAM_NAME,
    subjects: STREAM_SUBJECTS,
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    // Full means refuse new deliveries (the gateway answers 503), never drop stored ones.
    discard: DiscardPolicy.New,
    max_age: nanos(cfg.STREAM_MAX_AGE),
    max_bytes: cfg.STREAM_MAX_BYTES,
    duplicate_window: nanos(cfg.DUPLICATE_WINDOW),
    num_replicas: cfg.STREAM_REPLICAS,
    // nats-server 2.15 gives a stream without its own limit a default of 1,000 consumers.
    max_consumers: cfg.STREAM_MAX_CONSUMERS,
    // Direct gets let the gateway look up one message's subject without a consumer.
    allow_direct: true,
    // Group commit publishes atomic batches; the stream refuses them unless allowed.
    ...(cfg.GROUP_COMMIT === "on" && { allow_atomic: true }),
  };
}

/**
 * Creates the stream, or updates its limits when the config changed (logged). A lower
 * STREAM_MAX_AGE that would delete stored deliveries at once is refused (issue 16 #6): it is
 * applied on purpose with `pnpm cli stream set-retention --max-age <d> --confirm`, after which
 * the stream already has it and this start changes nothing. Lower size limits delete nothing
 * (discard new): the stream refuses new deliveries until there is room again, which is logged.
 */
export async function ensureStream(jsm: JetStreamManager, cfg: Config, log?: Pick<Logger, "info" | "warn">): Promise<void> {
  const want = streamConfig(cfg);
  try {
    const info = await jsm.streams.info(want.name);
    const have = info.config;
    const changed = (Object.keys(want) as (keyof typeof want)[]).filter((k) => JSON.stringify(have[k]) !== JSON.stringify(want[k]));
    if (changed.length === 0) return;
    const loss = await retentionLoss(jsm, info, want.max_age ?? 0);
    if (loss) {
      throw new ConfigError([
        `STREAM_MAX_AGE=${formatDuration(cfg.STREAM_MAX_AGE)} would delete ${loss.count} stored deliveries of stream ${want.name} at once ` +
          `(received before ${new Date(loss.cutoffMs).toISOString()}; its max age is ${formatNanosOrUnlimited(have.max_age)}): ` +
          `apply it on purpose with \`pnpm cli stream set-retention --max-age ${formatDuration(cfg.STREAM_MAX_AGE)} --confirm\`, or keep STREAM_MAX_AGE=${formatNanosOrUnlimited(have.max_age)}`,
      ]);
    }
    try {
      await jsm.streams.update(want.name, { ...have, ...want });
    } catch (err) {
      // nats-server before 2.12.15 cannot change max_consumers in place; it has no default
      // limit either, so the stream's "unlimited" is as good there.
      if (!/MaxConsumers/i.test(String((err as Error).message))) throw err;
      const { max_consumers: _keep, ...rest } = want;
      await jsm.streams.update(want.name, { ...have, ...rest });
    }
    log?.info({ stream: want.name, changed: Object.fromEntries(changed.map((k) => [k, { from: have[k], to: want[k] }])) }, "stream settings changed");
    if (want.max_bytes !== undefined && want.max_bytes > 0 && info.state.bytes >= want.max_bytes) {
      log?.warn({ stream: want.name, bytes: info.state.bytes, max_bytes: want.max_bytes }, "the stream holds more than STREAM_MAX_BYTES: new deliveries are refused (503) until there is room");
    }
  } catch (err) {
    if (isStreamNotFound(err)) {
      await jsm.streams.add(want);
      log?.info({ stream: want.name }, "stream created");
      return;
    }
    throw err;
  }
}

function formatNanosOrUnlimited(ns: number | undefined): string {
  return ns ? formatDuration(ns / 1e6) : "unlimited";
}

/**
 * When a max age of `maxAgeNs` replaces the stream's own, the time before which stored messages
 * would be deleted at once (epoch ms); undefined when the new age is not shorter. Pure.
 */
export function ageCutoff(haveMaxAgeNs: number, wantMaxAgeNs: number, now: number): number | undefined {
  if (wantMaxAgeNs <= 0) return undefined; // unlimited keeps everything
  if (haveMaxAgeNs > 0 && wantMaxAgeNs >= haveMaxAgeNs) return undefined;
  return now - wantMaxAgeNs / 1e6;
}

export interface RetentionLoss {
  /** Stored deliveries the change would delete (interior deletions below the cut are counted too: at most this many). */
  count: number;
  cutoffMs: number;
}

/** What giving the stream of `info` the max age `maxAgeNs` would delete at once, if anything. */
export async function retentionLoss(jsm: JetStreamManager, info: StreamInfo, maxAgeNs: number, now = Date.now()): Promise<RetentionLoss | undefined> {
  const cutoffMs = ageCutoff(info.config.max_age ?? 0, maxAgeNs, now);
  const { state } = info;
  if (cutoffMs === undefined || state.messages === 0 || Date.parse(state.first_ts as unknown as string) >= cutoffMs) return undefined;
  // Stream times only grow with the sequence: find the first message at or after the cut.
  const timeAt = async (seq: number) => {
    const m = await jsm.direct.getMessage(info.config.name, { seq, next_by_subj: ">" });
    return m ? { seq: m.seq, ms: m.time.getTime() } : undefined;
  };
  let lo = state.first_seq;
  let hi = state.last_seq + 1; // the first kept sequence is in [lo, hi]; hi = nothing kept
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const m = await timeAt(mid);
    if (!m || m.ms >= cutoffMs) hi = mid;
    else lo = m.seq + 1;
  }
  const kept = Math.max(0, state.last_seq - lo + 1);
  return { count: Math.max(1, Math.min(state.messages, state.messages - kept)), cutoffMs };
}
