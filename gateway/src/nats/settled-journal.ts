import { setTimeout as sleep } from "node:timers/promises";
import { DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager, type JsMsg, type StreamConfig } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { isStreamNotFound } from "@wb/authz";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { GatewayMetrics } from "../metrics.js";
import {
  decodeEntry,
  durableOfJournalSubject,
  encodeEntry,
  isRepeat,
  journalStreamName,
  journalSubject,
  journalSubjects,
  SettledWindow,
  type JournaledOp,
  type Settled,
} from "../settled.js";
import { requestThroughReconnects, type NatsLink } from "./link.js";
import { natsDown } from "./publish-errors.js";

/**
 * How long the journal keeps an entry, and how long a gateway holds the entries it loaded. It
 * must outlast a nats-server outage: on its restart nats-server drops what is older.
 */
export const JOURNAL_MAX_AGE_MS = 10 * 60_000;
/**
 * At a reconnect, entries are loaded from this long before the disconnect: nats-server writes a
 * consumer's state up to 100 ms after confirming an ack (longer on a starved machine), and the
 * journal's timestamps are the server's clock, not ours.
 */
export const LOAD_MARGIN_MS = 60_000;
/** The journal's size bound (oldest entries go first); at ~100 bytes an entry, far above ten minutes of acks. */
const JOURNAL_MAX_BYTES = 256 * 1024 * 1024;
/** When the count of repeats settled after a reconnect is logged. */
const REPORT_AFTER_MS = 30_000;

/**
 * Whether settlements are journaled: only on one node (`STREAM_REPLICAS=1`) unless forced. A
 * replicated consumer answers an ack only once Raft has committed it, so there is no window.
 */
export function journalEnabled(cfg: Pick<Config, "SETTLE_JOURNAL" | "STREAM_REPLICAS">): boolean {
  return cfg.SETTLE_JOURNAL === "on" || (cfg.SETTLE_JOURNAL === "auto" && cfg.STREAM_REPLICAS === 1);
}

export function journalStreamConfig(cfg: Pick<Config, "STREAM_NAME" | "STREAM_REPLICAS">): Partial<StreamConfig> & { name: string } {
  return {
    name: journalStreamName(cfg.STREAM_NAME),
    subjects: journalSubjects(cfg.STREAM_NAME),
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(JOURNAL_MAX_AGE_MS),
    max_bytes: JOURNAL_MAX_BYTES,
    num_replicas: cfg.STREAM_REPLICAS,
  };
}

/** Creates the journal stream next to the main one (or brings its settings in line). */
export async function ensureJournal(jsm: JetStreamManager, cfg: Pick<Config, "STREAM_NAME" | "STREAM_REPLICAS">): Promise<void> {
  const want = journalStreamConfig(cfg);
  try {
    const have = (await jsm.streams.info(want.name)).config;
    const changed = (Object.keys(want) as (keyof typeof want)[]).some((k) => JSON.stringify(have[k]) !== JSON.stringify(want[k]));
    if (changed) await jsm.streams.update(want.name, { ...have, ...want });
  } catch (err) {
    if (!isStreamNotFound(err)) throw err;
    await jsm.streams.add(want);
  }
}

export interface SettledJournalDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  link: NatsLink;
  /** The durable's current ConsumerInfo `created` (undefined when it does not exist). */
  createdOf: (durable: string) => Promise<string | undefined>;
  stream: string;
  enabled: boolean;
  timeoutMs: number;
  log: Pick<Logger, "info" | "warn">;
  metrics?: Pick<GatewayMetrics, "settledRepeats">;
}

/**
 * Makes "200 on ack or term" hold on one node (issue 16 #1). nats-server writes a consumer's
 * state to disk at most every 100 ms, after it confirmed the acks (`consumerFileStore.flushLoop`),
 * so a SIGKILL can lose the last acks and the messages come back. So:
 *
 * 1. Before an ack or term is answered 200, one entry per request (op, durable, sequences) is
 *    published to a journal stream and its PubAck awaited (`sync_interval: always`: fsynced).
 * 2. A delivery can only repeat a settlement after nats-server lost the consumer's state, so after
 *    the connection to it was lost. At every (re)connect the gateway loads the journal's entries
 *    from shortly before the disconnect; until they are loaded no delivery is handed out, and for
 *    `JOURNAL_MAX_AGE_MS` a delivery of a journaled (durable, sequence) is settled again silently
 *    (ack, or term: the dead-letter record is unique per delivery) and left out (`Screen`).
 *
 * A durable recreated since (rewind) delivers its messages again on purpose: entries carry the
 * durable's creation time, and a delivery counts as a repeat only while it is unchanged.
 */
/** What settling a delivery again needs (nats.js's JsMsg and the pull path's Delivery both fit). */
export interface Settleable {
  seq: number;
  ack(): void;
  term(): void;
}

export class SettledJournal {
  readonly #window = new SettledWindow();
  #loading: Promise<void> = Promise.resolve();
  /** Counts (re)connects: a read that spans one screens its page again. */
  #generation = 0;
  /** The first disconnect since the link was last up. */
  #downSince: number | undefined;
  /** From when entries are still to be loaded (undefined: all), while a load has not succeeded. */
  #unloaded: { since: number | undefined } | undefined;
  #repeats = 0;
  #off: (() => void) | undefined;
  #report: NodeJS.Timeout | undefined;
  readonly #autoAcks = new Map<string, { created: string; msgs: JsMsg[] }>();

  constructor(private readonly deps: SettledJournalDeps) {}

  get enabled(): boolean {
    return this.deps.enabled;
  }

  /** Loads what the journal holds (a restart of the gateway may follow one of nats-server) and watches for reconnects. */
  start(): void {
    if (!this.deps.enabled) return;
    this.#reload(undefined);
    this.#off = this.deps.link.watch((up) => {
      if (!up) {
        this.#downSince ??= Date.now();
        return;
      }
      // Runs in the tick the link comes up: no pull sees it up before the load has begun.
      const since = (this.#downSince ?? Date.now()) - LOAD_MARGIN_MS;
      this.#downSince = undefined;
      this.#reload(since);
    });
  }

  stop(): void {
    this.#off?.();
    clearTimeout(this.#report);
  }

  /** Journals one request's settlements; true once the journal has them on disk. */
  async record(durable: string, op: JournaledOp, created: string, seqs: readonly number[]): Promise<boolean> {
    if (!this.deps.enabled || seqs.length === 0) return true;
    const subject = journalSubject(this.deps.stream, durable);
    const entry = encodeEntry({ op, created, seqs: [...seqs] });
    try {
      // Sent again if a reconnect dropped it (a second copy of an entry is harmless).
      await requestThroughReconnects(this.deps.link, this.deps.timeoutMs, (timeout) => this.deps.js.publish(subject, entry, { timeout }), natsDown);
      return true;
    } catch {
      return false;
    }
  }

  /** Resolves true once the entries of the last (re)connect are loaded; false after `timeoutMs`. */
  async ready(timeoutMs = this.deps.timeoutMs): Promise<boolean> {
    if (this.#loaded) return true;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([this.#loading.then(() => true), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A screen for one read of `durable`'s deliveries (call after `ready()`). */
  screen(durable: string): Screen {
    return new Screen(this, durable, this.#generation);
  }

  /** For a delivery read alone (the live stream): true when it was a repeat, settled again and not to be shown. */
  async repeated(durable: string, m: Settleable): Promise<boolean> {
    if (!this.deps.enabled) return false;
    if (!this.#loaded) await this.#loading;
    const s = this.lookup(durable, m.seq);
    if (!s) return false;
    return (await this.settleRepeats(durable, [{ m, s }])).length === 0;
  }

  /**
   * Acks `m` once it is journaled (a live stream's `ack=auto`). A durable's acks are journaled
   * together while an earlier entry is being written, one entry per round.
   */
  ackAfterRecord(durable: string, created: string, m: JsMsg): void {
    if (!this.deps.enabled) {
      m.ack();
      return;
    }
    const q = this.#autoAcks.get(durable);
    if (q) {
      q.msgs.push(m);
      return;
    }
    this.#autoAcks.set(durable, { created, msgs: [m] });
    void this.#flushAutoAcks(durable);
  }

  async #flushAutoAcks(durable: string): Promise<void> {
    for (;;) {
      const q = this.#autoAcks.get(durable);
      if (!q || q.msgs.length === 0) {
        this.#autoAcks.delete(durable);
        return;
      }
      const msgs = q.msgs.splice(0);
      // Not journaled (nats-server down): acked all the same; the delivery is at-least-once.
      await this.record(durable, "ack", q.created, msgs.map((m) => m.seq));
      for (const m of msgs) m.ack();
    }
  }

  /** What the window holds for (durable, seq). */
  lookup(durable: string, seq: number): Settled | undefined {
    return this.#window.lookup(durable, seq, Date.now());
  }

  get generation(): number {
    return this.#generation;
  }

  /** Settles `held` repeats again (or returns those of a durable recreated since); counts them. */
  async settleRepeats<T extends Settleable>(durable: string, held: { m: T; s: Settled }[]): Promise<T[]> {
    const created = await this.deps.createdOf(durable);
    const shown: T[] = [];
    let repeats = 0;
    for (const { m, s } of held) {
      if (!isRepeat(s, created)) {
        shown.push(m);
        continue;
      }
      if (s.op === "term") m.term();
      else m.ack();
      repeats++;
    }
    // Recreated since: its old settlements no longer say anything about its deliveries.
    if (shown.length > 0) this.#window.drop(durable);
    if (repeats > 0) {
      this.#repeats += repeats;
      this.deps.metrics?.settledRepeats.inc(repeats);
    }
    return shown;
  }

  /** No load under way (most of the time: reads then skip the wait). */
  #loaded = true;

  #reload(since: number | undefined): void {
    // A load that has not succeeded yet is replaced by this one: it covers that one's start too.
    const pending = this.#unloaded;
    if (pending) since = pending.since === undefined || since === undefined ? undefined : Math.min(pending.since, since);
    this.#unloaded = { since };
    const generation = ++this.#generation;
    const previous = this.#loading;
    this.#loaded = false;
    this.#loading = previous
      .then(() => this.#loadRetrying(since, generation))
      .finally(() => {
        if (generation === this.#generation) this.#loaded = true;
      });
  }

  async #loadRetrying(since: number | undefined, generation: number): Promise<void> {
    for (;;) {
      if (generation !== this.#generation) return; // a newer reconnect loads from the earlier point
      try {
        const { entries, deliveries } = await this.#load(since);
        if (generation === this.#generation) this.#unloaded = undefined;
        this.#window.prune(Date.now());
        this.deps.log.info({ entries, deliveries, since: since === undefined ? "start" : new Date(since).toISOString() }, "settlement journal loaded: these deliveries are settled again if they come back");
        this.#scheduleReport(since);
        return;
      } catch (err) {
        if (this.deps.link.closed) return;
        this.deps.log.warn({ err: (err as Error).message }, "loading the settlement journal failed; retrying");
        if (!(await this.deps.link.waitUp(this.deps.timeoutMs))) continue;
        await sleep(500);
      }
    }
  }

  #scheduleReport(since: number | undefined): void {
    clearTimeout(this.#report);
    const before = this.#repeats;
    this.#report = setTimeout(() => {
      const n = this.#repeats - before;
      if (n > 0) {
        this.deps.log.warn(
          { suppressed: n, since: since === undefined ? "start" : new Date(since).toISOString() },
          "settled deliveries came back after nats-server lost their consumer state: settled again, not shown",
        );
      }
    }, REPORT_AFTER_MS);
    this.#report.unref();
  }

  async #load(since: number | undefined): Promise<{ entries: number; deliveries: number }> {
    const name = journalStreamName(this.deps.stream);
    let state;
    try {
      state = (await this.deps.jsm.streams.info(name)).state;
    } catch (err) {
      if (isStreamNotFound(err)) return { entries: 0, deliveries: 0 };
      throw err;
    }
    if (state.messages === 0) return { entries: 0, deliveries: 0 };
    if (since !== undefined && Date.parse(state.last_ts) < since) return { entries: 0, deliveries: 0 };
    const before = this.#window.size;
    const until = Date.now() + JOURNAL_MAX_AGE_MS;
    const consumer = await this.deps.js.consumers.get(
      name,
      since === undefined ? { deliver_policy: DeliverPolicy.All } : { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(since).toISOString() },
    );
    let entries = 0;
    try {
      for (let done = false; !done; ) {
        let got = 0;
        for await (const m of await consumer.fetch({ max_messages: 1_000, expires: 2_000 })) {
          got++;
          const durable = durableOfJournalSubject(this.deps.stream, m.subject);
          const e = durable === undefined ? undefined : decodeEntry(m.string());
          if (durable !== undefined && e) {
            this.#window.add(durable, e, until);
            entries++;
          }
          // Entries written after the load began settle deliveries of this connection: not needed.
          if (m.seq >= state.last_seq || m.info.pending === 0) {
            done = true;
            break;
          }
        }
        if (got === 0) done = true;
      }
    } finally {
      await consumer.delete().catch(() => {});
    }
    return { entries, deliveries: this.#window.size - before };
  }
}

/**
 * One read's check against the journal: `hold` takes the deliveries that repeat a journaled
 * settlement out of the read (synchronously, so they do not count toward its page), `finish`
 * settles them again and returns what is to be shown. Pulls and the live stream both go through it.
 */
export class Screen {
  readonly #held: { m: Settleable; s: Settled }[] = [];

  constructor(
    private readonly journal: SettledJournal,
    private readonly durable: string,
    private readonly generation: number,
  ) {}

  hold(m: Settleable): boolean {
    if (!this.journal.enabled) return false;
    const s = this.journal.lookup(this.durable, m.seq);
    if (!s) return false;
    this.#held.push({ m, s });
    return true;
  }

  /**
   * Settles the held repeats and returns `shown` without any (re-screened when a reconnect came
   * during the read), plus held deliveries of a durable recreated since, in sequence order.
   */
  async finish<T extends Settleable>(shown: T[]): Promise<T[]> {
    if (!this.journal.enabled) return shown;
    let out = shown;
    if (this.journal.generation !== this.generation) {
      await this.journal.ready();
      out = out.filter((m) => !this.hold(m));
    }
    if (this.#held.length === 0) return out;
    const back = (await this.journal.settleRepeats(this.durable, this.#held.splice(0))) as T[];
    return back.length === 0 ? out : [...out, ...back].sort((a, b) => a.seq - b.seq);
  }
}
