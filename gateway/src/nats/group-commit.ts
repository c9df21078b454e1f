import type { JetStreamClient } from "@nats-io/jetstream";
import { nuid, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";

/** What the ingest route needs from a JetStream publish: where the delivery was stored. */
export interface StoredAck {
  stream: string;
  seq: number;
  duplicate: boolean;
}

export interface PublishRequest {
  subject: string;
  body: Uint8Array;
  headers: MsgHdrs;
  /** The dedupe id (`Nats-Msg-Id`): what makes a resend of the same delivery harmless. */
  msgID: string;
  timeout: number;
}

/** Stores one delivery and resolves only once JetStream has confirmed it. */
export interface Publisher {
  publish(req: PublishRequest): Promise<StoredAck>;
}

/** One JetStream publish per delivery: one fsync per delivery with `sync_interval: always`. */
export function directPublisher(js: JetStreamClient, stream: string): Publisher {
  return {
    async publish({ subject, body, headers, msgID, timeout }) {
      const ack = await js.publish(subject, body, { headers, msgID, expect: { streamName: stream }, timeout });
      return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate };
    },
  };
}

/** nats-server 2.15 syncs an R1 atomic batch once (nats-server PR #8539); 2.12-2.14 sync each message. */
export const GROUP_COMMIT_MIN_SERVER = [2, 15, 0] as const;
/** nats-server's default limit on the messages of one atomic batch. */
export const MAX_BATCH_MESSAGES = 1000;

export interface GroupCommitOptions {
  stream: string;
  /**
   * Fewer queued deliveries than this are published one by one: an atomic batch costs about six
   * syncs on the server (its staging directory and the commit), a single publish one.
   */
  minBatch?: number;
  /** At most this many deliveries per batch (nats-server refuses more than 1000). */
  maxBatch?: number;
  /** A batch closes once its bodies reach this many bytes. */
  maxBatchBytes?: number;
  /**
   * Single publishes in flight at once; what arrives beyond them waits and goes in the next
   * batch. Light load therefore never waits: it is published at once, as without group commit.
   */
  maxSingles?: number;
}

interface Item {
  req: PublishRequest;
  deadline: number;
  settled: boolean;
  resolve(ack: StoredAck): void;
  reject(err: unknown): void;
}

export class PublishTimeoutError extends Error {
  constructor() {
    super("JetStream did not confirm the publish in time");
    this.name = "PublishTimeoutError";
  }
}

class BatchRefused extends Error {}

/**
 * Group commit over nats-server's atomic batch publish (ADR-50): deliveries that arrive while
 * the server is busy wait, and then go to JetStream together as one atomic batch, which an R1 file stream with `sync_interval: always` syncs once (nats-server >= 2.15)
 * before it acknowledges the commit. Every caller's promise resolves only after that
 * acknowledgement, so a resolved publish is as durable as a single one.
 *
 * While fewer than `maxSingles` publishes are in flight a delivery is published at once, on its
 * own: there is no waiting window, so light load keeps single-publish latency; only what arrives
 * beyond that waits for the next batch. When a batch is refused (a delivery in it
 * is a duplicate: JetStream rejects the whole batch) or fails, each of its deliveries is
 * published on its own; their message ids make that safe whatever the batch did.
 */
export class GroupCommitPublisher implements Publisher {
  readonly #queue: Item[] = [];
  /** A batch is in flight (one at a time: the next forms meanwhile). */
  #batching = false;
  #singles = 0;
  readonly #maxSingles: number;
  readonly #single: Publisher;
  readonly #minBatch: number;
  readonly #maxBatch: number;
  readonly #maxBatchBytes: number;
  /** Batches committed and deliveries in them, for tests and metrics. */
  readonly stats = { batches: 0, batched: 0, singles: 0, fallbacks: 0 };

  constructor(
    private readonly nc: NatsConnection,
    js: JetStreamClient,
    private readonly opts: GroupCommitOptions,
  ) {
    this.#single = directPublisher(js, opts.stream);
    this.#minBatch = Math.max(2, opts.minBatch ?? 16);
    this.#maxBatch = Math.min(MAX_BATCH_MESSAGES, opts.maxBatch ?? 500);
    this.#maxBatchBytes = opts.maxBatchBytes ?? 8 * 1024 * 1024;
    this.#maxSingles = Math.max(1, opts.maxSingles ?? 4);
  }

  publish(req: PublishRequest): Promise<StoredAck> {
    return new Promise<StoredAck>((resolve, reject) => {
      const timer = setTimeout(() => item.reject(new PublishTimeoutError()), req.timeout);
      const item: Item = {
        req,
        deadline: Date.now() + req.timeout,
        settled: false,
        resolve: (ack) => {
          if (item.settled) return;
          item.settled = true;
          clearTimeout(timer);
          resolve(ack);
        },
        reject: (err) => {
          if (item.settled) return;
          item.settled = true;
          clearTimeout(timer);
          reject(err);
        },
      };
      this.#queue.push(item);
      this.#pump();
    });
  }

  /**
   * Enough waiting for a batch, and none in flight: send one. Otherwise waiting deliveries go
   * out as single publishes while fewer than `maxSingles` are in flight.
   */
  #pump(): void {
    this.#dropSettled();
    if (!this.#batching && this.#queue.length >= this.#minBatch) {
      const items = this.#take();
      this.#batching = true;
      void this.#writeBatch(items).finally(() => {
        this.#batching = false;
        this.#pump();
      });
    }
    while (this.#queue.length > 0 && this.#queue.length < this.#minBatch && this.#singles < this.#maxSingles) {
      const item = this.#queue.shift()!;
      if (item.settled) continue;
      this.#singles++;
      this.stats.singles++;
      void this.#publishOne(item).finally(() => {
        this.#singles--;
        this.#pump();
      });
    }
  }

  #dropSettled(): void {
    while (this.#queue.length > 0 && this.#queue[0]!.settled) this.#queue.shift(); // timed out while waiting
  }

  /** The next group: the oldest waiting deliveries, within the count and byte limits. */
  #take(): Item[] {
    const out: Item[] = [];
    let bytes = 0;
    while (this.#queue.length > 0 && out.length < this.#maxBatch) {
      const next = this.#queue[0]!;
      if (next.settled) {
        this.#queue.shift(); // timed out while waiting
        continue;
      }
      if (out.length > 0 && bytes + next.req.body.length > this.#maxBatchBytes) break;
      bytes += next.req.body.length;
      out.push(this.#queue.shift()!);
    }
    return out;
  }

  async #writeBatch(items: Item[]): Promise<void> {
    try {
      const ack = await this.#commit(items);
      this.stats.batches++;
      this.stats.batched += items.length;
      // The batch is stored in order under consecutive sequences ending at the commit's.
      for (const [i, it] of items.entries()) it.resolve({ stream: ack.stream, seq: ack.seq - items.length + 1 + i, duplicate: false });
    } catch {
      this.stats.fallbacks++;
      await Promise.all(items.map((it) => this.#publishOne(it)));
    }
  }

  async #publishOne(it: Item): Promise<void> {
    if (it.settled) return;
    const left = it.deadline - Date.now();
    if (left <= 0) {
      it.reject(new PublishTimeoutError());
      return;
    }
    for (const h of BATCH_HEADERS) it.req.headers.delete(h);
    try {
      it.resolve(await this.#single.publish({ ...it.req, timeout: left }));
    } catch (err) {
      it.reject(err);
    }
  }

  /** Sends the items as one atomic batch; resolves with the commit's acknowledgement. */
  async #commit(items: Item[]): Promise<{ stream: string; seq: number }> {
    const id = nuid.next();
    const timeout = Math.max(...items.map((it) => it.deadline)) - Date.now();
    if (timeout <= 0) throw new PublishTimeoutError();
    const last = items.length - 1;
    for (let i = 0; i <= last; i++) {
      const { subject, body, headers, msgID } = items[i]!.req;
      headers.set("Nats-Msg-Id", msgID);
      headers.set("Nats-Expected-Stream", this.opts.stream);
      headers.set("Nats-Batch-Id", id);
      headers.set("Nats-Batch-Sequence", String(i + 1));
      if (i < last) {
        // Staged by the server; only the commit is answered.
        this.nc.publish(subject, body, { headers });
      } else {
        headers.set("Nats-Batch-Commit", "1");
        const reply = await this.nc.request(subject, body, { headers, timeout });
        const ack = reply.json<{ stream?: string; seq?: number; count?: number; error?: { description?: string } }>();
        if (ack.error || typeof ack.seq !== "number" || typeof ack.stream !== "string") {
          throw new BatchRefused(ack.error?.description ?? "no acknowledgement");
        }
        if (ack.count !== items.length) throw new BatchRefused(`the server committed ${ack.count} of ${items.length}`);
        return { stream: ack.stream, seq: ack.seq };
      }
    }
    throw new BatchRefused("empty batch");
  }
}

const BATCH_HEADERS = ["Nats-Batch-Id", "Nats-Batch-Sequence", "Nats-Batch-Commit", "Nats-Msg-Id", "Nats-Expected-Stream"];

/** Whether a nats-server version (`nc.info.version`) syncs an R1 atomic batch once. */
export function coalescesBatchSyncs(version: string | undefined): boolean {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version ?? "");
  if (!m) return false;
  const v = [Number(m[1]), Number(m[2]), Number(m[3])];
  for (let i = 0; i < 3; i++) if (v[i] !== GROUP_COMMIT_MIN_SERVER[i]) return v[i]! > GROUP_COMMIT_MIN_SERVER[i]!;
  return true;
}
