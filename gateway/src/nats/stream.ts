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
    if (differs) await jsm.streams.update(want.name, { ...have, ...want });
  } catch (err) {
    if (isStreamNotFound(err)) {
      await jsm.streams.add(want);
      return;
    }
    throw err;
  }
}
