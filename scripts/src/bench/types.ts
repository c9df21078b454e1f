/**
 * The contract between the bench (index.ts) and the auth-callout measurement (callout.ts,
 * written in the auth-callout change). index.ts imports callout.ts dynamically and calls
 * `measureCallout(ctx)` when it is exported; a missing module, a missing export, an error or
 * no result within 90 s skips the row with a note instead of failing the bench.
 */
export interface CalloutBenchContext {
  /** A nats-server >= 2.12 (from ensureNatsServer); start your own with the callout config. */
  natsServerBin: string;
  /** Superuser URL of the bench's PostgreSQL; create a database of your own on it. */
  databaseUrl: string;
  /** An empty directory of your own; the bench removes it (with everything else) afterwards. */
  tmpDir: string;
  warmupMs: number;
  /** How long to measure after the warm-up. */
  durationMs: number;
  /** The fixed concurrency used by the other targets (concurrent connection attempts). */
  connections: number;
  quick: boolean;
  /** Aborted on Ctrl-C: stop promptly. Stop every process you start before resolving. */
  signal: AbortSignal;
  log(msg: string): void;
}

export interface CalloutMeasurement {
  /** Completed, authorized client connections (CONNECT through the callout) per second. */
  connectionsPerSecond: number;
  /** Latency of one connection (TCP connect to the server's first PONG), milliseconds. */
  p50Ms: number;
  p99Ms: number;
  /** Connection attempts that failed. */
  errors?: number;
  /** % of one core per process over the measured window, e.g. { nats: 40, callout: 30 }. */
  cpu?: Record<string, number>;
  note?: string;
}
