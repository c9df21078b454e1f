import {
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { isStreamNotFound, STREAM_SUBJECTS } from "@wb/authz";
import type { Config } from "../config.js";

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

/** Creates the stream, or updates its limits when the config changed. */
export async function ensureStream(jsm: JetStreamManager, cfg: Config): Promise<void> {
  const want = streamConfig(cfg);
  try {
    const info = await jsm.streams.info(want.name);
    const have = info.config;
    const differs = (Object.keys(want) as (keyof typeof want)[]).some(
      (k) => JSON.stringify(have[k]) !== JSON.stringify(want[k]),
    );
    if (differs) {
      try {
        await jsm.streams.update(want.name, { ...have, ...want });
      } catch (err) {
        // nats-server before 2.12.15 cannot change max_consumers in place; it has no default
        // limit either, so the stream's "unlimited" is as good there.
        if (!/MaxConsumers/i.test(String((err as Error).message))) throw err;
        const { max_consumers: _keep, ...rest } = want;
        await jsm.streams.update(want.name, { ...have, ...rest });
      }
    }
  } catch (err) {
    if (isStreamNotFound(err)) {
      await jsm.streams.add(want);
      return;
    }
    throw err;
  }
}
