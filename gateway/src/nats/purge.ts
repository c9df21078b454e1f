import type { JetStreamManager, StreamInfo } from "@nats-io/jetstream";
import { endpointGrantSubject, listAllEndpoints, readablePairs, type Db } from "@wb/authz";
import type { Logger } from "pino";

/**
 * Making room in a full stream (issue 16 #5). The stream keeps deliveries by age and size
 * (limits retention, discard new): when full, ingest answers 503 and nothing stored is dropped.
 * The policy: once the stream is at least `thresholdPercent` full, a delivery of endpoint E is
 * removed when every durable consumer of every user who may read E has acked it (its ack floor
 * is past it), and
 *  - for a private or organization endpoint, every such user has a durable: one who may read E
 *    but has not started reading yet holds all of E's deliveries;
 *  - for a public endpoint (everyone may read it, users created later too, so "everyone has
 *    read it" never happens), the users with a durable decide; a user who starts reading later
 *    gets what is still stored, as he would after STREAM_MAX_AGE.
 * An endpoint nobody may read any more (deleted) is left to STREAM_MAX_AGE. Replays (`after_id`)
 * see only what remains. Below the threshold nothing is removed, so replay history is kept
 * until room is needed.
 */

export interface PurgeInput {
  endpoints: readonly { id: string; isPublic: boolean }[];
  /** Endpoint ids each (enabled) user may read. */
  readable: ReadonlyMap<string, ReadonlySet<string>>;
  /** Ack floors (stream sequence) of each user's durables that exist in JetStream. */
  ackFloors: ReadonlyMap<string, readonly number[]>;
}

/** For each endpoint whose deliveries may go: every delivery at or below this stream sequence. Pure. */
export function purgeFloors(input: PurgeInput): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of input.endpoints) {
    let floor = Number.POSITIVE_INFINITY;
    let held = false;
    for (const [userId, readable] of input.readable) {
      if (!readable.has(e.id)) continue;
      const floors = input.ackFloors.get(userId) ?? [];
      if (floors.length === 0) {
        if (!e.isPublic) held = true;
        continue;
      }
      floor = Math.min(floor, ...floors);
    }
    if (!held && Number.isFinite(floor) && floor > 0) out.set(e.id, floor);
  }
  return out;
}

/**
 * Each enabled user's readable endpoints, as purgeFloors needs them, in one query: public
 * endpoints only for the users with durables (`withDurables`), since for a public endpoint only
 * they decide; disabled users may read nothing.
 */
export async function readableByUser(db: Db, withDurables: readonly string[]): Promise<Map<string, Set<string>>> {
  const readable = new Map<string, Set<string>>();
  for (const { userId, endpointId } of await readablePairs(db, { publicFor: withDurables })) {
    const set = readable.get(userId) ?? new Set<string>();
    readable.set(userId, set.add(endpointId));
  }
  return readable;
}

/** How full the stream is, in percent of the tighter of its size and count limits (0 when unlimited). */
export function percentFull(info: Pick<StreamInfo, "config" | "state">): number {
  const { config: c, state: s } = info;
  const bytes = c.max_bytes > 0 ? (100 * s.bytes) / c.max_bytes : 0;
  const msgs = c.max_msgs > 0 ? (100 * s.messages) / c.max_msgs : 0;
  return Math.round(Math.max(bytes, msgs) * 10) / 10;
}

const DURABLE = /^u_([0-9a-f]{32})_/;
const uuidOf = (hex: string) => `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;

export interface PurgeResult {
  percentFullBefore: number;
  percentFullAfter: number;
  /** Deliveries removed. */
  purged: number;
  /** Endpoints whose acked deliveries were removed. */
  endpoints: number;
}

/** Gathers the input from PostgreSQL and JetStream and purges what the policy allows. */
export async function purgeAcked(deps: { db: Db; jsm: JetStreamManager; stream: string; thresholdPercent: number }): Promise<PurgeResult> {
  const before = await deps.jsm.streams.info(deps.stream);
  const percentFullBefore = percentFull(before);
  if (before.state.messages === 0 || percentFullBefore < deps.thresholdPercent) {
    return { percentFullBefore, percentFullAfter: percentFullBefore, purged: 0, endpoints: 0 };
  }
  const ackFloors = new Map<string, number[]>();
  for await (const c of deps.jsm.consumers.list(deps.stream)) {
    const m = DURABLE.exec(c.config.durable_name ?? "");
    if (!m) continue; // replays' ephemeral consumers, or not ours
    const userId = uuidOf(m[1]!);
    ackFloors.set(userId, [...(ackFloors.get(userId) ?? []), c.ack_floor.stream_seq]);
  }
  const readable = await readableByUser(deps.db, [...ackFloors.keys()]);
  const endpoints = (await listAllEndpoints(deps.db)).map((e) => ({ id: e.id, isPublic: e.isPublic }));
  const floors = purgeFloors({ endpoints, readable, ackFloors });
  let purged = 0;
  for (const [endpointId, floor] of floors) {
    if (floor < before.state.first_seq) continue;
    const r = await deps.jsm.streams.purge(deps.stream, { filter: endpointGrantSubject(endpointId), seq: floor + 1 });
    purged += r.purged;
  }
  const after = purged > 0 ? percentFull(await deps.jsm.streams.info(deps.stream)) : percentFullBefore;
  return { percentFullBefore, percentFullAfter: after, purged, endpoints: floors.size };
}

/**
 * Runs purgeAcked every `intervalMs`, and soon after a publish was refused for lack of room
 * (`kick()`, at most once per `minGapMs`). One run at a time; failures are logged, not thrown.
 */
export class AckedPurger {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #lastRun = 0;

  constructor(
    private readonly deps: { db: Db; jsm: JetStreamManager; stream: string; thresholdPercent: number; intervalMs: number; log: Pick<Logger, "info" | "warn"> },
    private readonly minGapMs = 2_000,
  ) {}

  start(): void {
    this.#timer = setInterval(() => void this.run(), this.deps.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** A publish was refused as full: purge now unless a run just happened or is under way. */
  kick(): void {
    if (Date.now() - this.#lastRun >= this.minGapMs) void this.run();
  }

  run(): Promise<void> {
    this.#running ??= (async () => {
      this.#lastRun = Date.now();
      try {
        const r = await purgeAcked(this.deps);
        if (r.purged > 0) this.deps.log.info({ stream: this.deps.stream, ...r }, "acked deliveries removed to make room");
        else if (r.percentFullBefore >= 100) this.deps.log.warn({ stream: this.deps.stream, ...r }, "the stream is full and nothing may be removed yet: readers have not acked");
      } catch (err) {
        this.deps.log.warn({ err }, "purging acked deliveries failed");
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }
}
