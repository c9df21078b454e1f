/**
 * Many users: publish rate with 0 / 1,000 / 5,000 durable pull consumers on one stream, each
 * filtered like a broker durable (its own `dur.u<i>.>` plus one shared subject), and nats-server's
 * memory per durable. A private publish matches one durable, a public one matches all of them.
 */
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { rssMiB } from "./proc.js";

export interface DurablesFigures {
  durables: number;
  privateRate: number;
  publicRate: number;
  /** nats-server RSS growth per durable, KiB (undefined for 0 durables). */
  kibPerDurable?: number;
}

const STREAM = "BENCH_DURABLES";

/** Pipelined publishes from `concurrency` loops for `ms`; messages per second. */
async function publishRate(nc: NatsConnection, subject: string, body: Uint8Array, ms: number, concurrency: number, signal?: AbortSignal): Promise<number> {
  const js = jetstream(nc);
  const end = performance.now() + ms;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end && !signal?.aborted) {
        await js.publish(subject, body);
        done++;
      }
    }),
  );
  return done / (ms / 1000);
}

export async function measureDurables(opts: {
  nc: NatsConnection;
  natsPid: number;
  counts: number[];
  body: Uint8Array;
  durationMs: number;
  concurrency: number;
  signal?: AbortSignal;
  log(msg: string): void;
}): Promise<DurablesFigures[]> {
  const jsm = await jetstreamManager(opts.nc, { timeout: 30_000 });
  // nats-server 2.15 caps a stream at 1,000 consumers unless the stream sets its own limit.
  const maxConsumers = Math.max(1, ...opts.counts) + 10;
  await jsm.streams.add({ name: STREAM, subjects: ["dur.>"], storage: StorageType.File, max_msgs: 200_000, max_consumers: maxConsumers });
  const out: DurablesFigures[] = [];
  try {
    let created = 0;
    const rss0 = rssMiB(opts.natsPid);
    for (const n of [...opts.counts].sort((a, b) => a - b)) {
      // Created in parallel waves: one at a time would take minutes at 5,000.
      while (created < n && !opts.signal?.aborted) {
        const wave = Array.from({ length: Math.min(50, n - created) }, (_, k) => created + k);
        await Promise.all(
          wave.map((i) =>
            jsm.consumers.add(STREAM, {
              durable_name: `u${i}`,
              ack_policy: AckPolicy.Explicit,
              deliver_policy: DeliverPolicy.New,
              filter_subjects: [`dur.u${i}.>`, "dur.public.>"],
            }),
          ),
        );
        created += wave.length;
      }
      const kib = n > 0 ? ((rssMiB(opts.natsPid) - rss0) * 1024) / n : undefined;
      const privateRate = await publishRate(opts.nc, "dur.u0.push", opts.body, opts.durationMs, opts.concurrency, opts.signal);
      const publicRate = await publishRate(opts.nc, "dur.public.push", opts.body, opts.durationMs, opts.concurrency, opts.signal);
      opts.log(`${n} durables: private ${privateRate.toFixed(0)} msgs/s, public ${publicRate.toFixed(0)} msgs/s${kib === undefined ? "" : `, nats-server +${kib.toFixed(0)} KiB per durable`}`);
      out.push({ durables: n, privateRate, publicRate, kibPerDurable: kib });
    }
  } finally {
    await jsm.streams.delete(STREAM).catch(() => {});
  }
  return out;
}
