/**
 * Prometheus metrics: the pieces every component shares, and the metrics of what lives in this
 * package (PostgreSQL queries, the consumer cache, the auth callout, revocation).
 *
 * No global registry: each process (or each gateway a test starts) creates one with
 * {@link createRegistry} and passes it, or the metric groups made on it, to what records them.
 * Adding a metric is one line in a group (`name: m.counter("wb_…_total", "help", ["label"])`)
 * and one call where it happens; its name then appears on /metrics (and the README lists it).
 *
 * Label values are bounded everywhere: route patterns, never paths; reason codes, never
 * messages; no delivery ids; per-user labels through a {@link LabelCap}.
 */
import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type pg from "pg";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

export { Registry };

/** Latency buckets (seconds) for work that usually takes milliseconds: queries, publishes, callouts. */
export const FAST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Latency buckets (seconds) for HTTP requests, long-polls included. */
export const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * A registry for one process. `processMetrics` adds prom-client's process and Node metrics
 * (CPU, memory, event-loop lag, GC); off where many gateways share one process (tests).
 */
export function createRegistry(opts: { processMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

/** Makers of metrics registered on `registry` only (never prom-client's global one). */
export function metricsOn(registry: Registry) {
  const registers = [registry];
  return {
    registry,
    counter: <const L extends string = never>(name: string, help: string, labelNames: readonly L[] = []) =>
      new Counter<L>({ name, help, labelNames, registers }),
    gauge: <const L extends string = never>(name: string, help: string, labelNames: readonly L[] = []) =>
      new Gauge<L>({ name, help, labelNames, registers }),
    histogram: <const L extends string = never>(name: string, help: string, labelNames: readonly L[] = [], buckets = FAST_BUCKETS) =>
      new Histogram<L>({ name, help, labelNames, buckets, registers }),
  };
}
export type MetricsMaker = ReturnType<typeof metricsOn>;

/** Seconds since `started` (a `performance.now()`), as histograms take them. */
export const secondsSince = (started: number): number => (performance.now() - started) / 1000;

/**
 * Bounds a label whose values come from data (user names): the first `max` distinct values keep
 * their own series for the life of the process, every later one is counted under `overflow`.
 * Counters must not reset, so a value once admitted stays.
 */
export class LabelCap {
  readonly #seen = new Set<string>();
  constructor(
    readonly max: number,
    readonly overflow = "_other",
  ) {}

  value(v: string): string {
    if (this.#seen.has(v)) return v;
    if (this.#seen.size >= this.max) return this.overflow;
    this.#seen.add(v);
    return v;
  }
}

// ---- this package's metric groups --------------------------------------------------------------

/** PostgreSQL, recorded by {@link instrumentPool}. */
export function dbMetrics(m: MetricsMaker) {
  return {
    queryDuration: m.histogram("wb_db_query_duration_seconds", "PostgreSQL query time, by statement kind (select, insert, ...) and result (ok, error)", ["operation", "result"]),
  };
}
export type DbMetrics = ReturnType<typeof dbMetrics>;

/**
 * In-memory caches: `endpoint` (the gateway's endpoint table) and `consumer` (the durables a
 * process has checked recently). A lookup is a hit or a miss; a reload refreshes the cache from
 * its source (the whole endpoint table; one durable's state from JetStream).
 */
export function cacheMetrics(m: MetricsMaker) {
  return {
    lookups: m.counter("wb_cache_lookups_total", "Cache lookups, by cache (endpoint, consumer) and result (hit, miss)", ["cache", "result"]),
    reloads: m.counter("wb_cache_reloads_total", "Cache reloads from their source, by cache and result (ok, error)", ["cache", "result"]),
  };
}
export type CacheMetrics = ReturnType<typeof cacheMetrics>;

/** The auth callout and revocation (authz/src/callout). */
export function calloutMetrics(m: MetricsMaker) {
  return {
    requests: m.counter(
      "wb_callout_requests_total",
      "Auth callout requests, by result (allowed, denied, dropped) and reason (a code; none when allowed)",
      ["result", "reason"],
    ),
    duration: m.histogram("wb_callout_duration_seconds", "Time to answer one auth callout request, by result", ["result"]),
    disconnects: m.counter(
      "wb_revocation_disconnects_total",
      "Connections closed by revocation passes, by cause (revoked: credential no longer valid; access_changed)",
      ["cause"],
    ),
    passes: m.counter("wb_revocation_passes_total", "Revocation passes (announced changes and safety sweeps), by result (ok, error)", ["result"]),
  };
}
export type CalloutMetrics = ReturnType<typeof calloutMetrics>;

// ---- PostgreSQL: one hook ----------------------------------------------------------------------

const OPERATIONS = new Set(["select", "insert", "update", "delete", "with", "begin", "commit", "rollback", "lock", "create", "alter", "drop", "set", "show"]);

/** The statement's first keyword when it is a known one, else `other` (bounded label values). */
export function queryOperation(query: unknown): string {
  const text = typeof query === "string" ? query : (query as { text?: unknown } | null)?.text;
  if (typeof text !== "string") return "other";
  const word = /^\s*(?:\(\s*)?([a-z]+)/i.exec(text)?.[1]?.toLowerCase() ?? "";
  return OPERATIONS.has(word) ? word : "other";
}

/**
 * Times every query of the pool's clients: drizzle (pool and transactions), migrations and raw
 * `pool.query` all end in `client.query`, so wrapping it on each new client sees them all.
 * Callback, promise and submittable forms pass through unchanged (submittables are not timed).
 */
export function instrumentPool(pool: pg.Pool, metrics: DbMetrics): void {
  pool.on("connect", (client) => {
    const original = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      const started = performance.now();
      const operation = queryOperation(args[0]);
      const observe = (err: unknown) => metrics.queryDuration.observe({ operation, result: err ? "error" : "ok" }, secondsSince(started));
      const cb = args.findIndex((a) => typeof a === "function");
      if (cb >= 0) {
        const callback = args[cb] as (err: unknown, res: unknown) => void;
        args[cb] = (err: unknown, res: unknown) => {
          observe(err);
          callback(err, res);
        };
        return original(...args);
      }
      const result = original(...args);
      if (result && typeof (result as Promise<unknown>).then === "function") {
        return (result as Promise<unknown>).then(
          (res) => {
            observe(undefined);
            return res;
          },
          (err) => {
            observe(err);
            throw err;
          },
        );
      }
      return result;
    };
  });
}

// ---- serving -----------------------------------------------------------------------------------

/** The Prometheus text format's content type. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Whether a request may read /metrics: always when no token is configured, else only with
 * `Authorization: Bearer <token>` (compared in constant time, over digests so lengths leak nothing).
 */
export function metricsAccess(token: string | undefined, authorization: string | undefined | null): boolean {
  if (!token) return true;
  const m = /^Bearer\s+(.+)$/i.exec(authorization ?? "");
  if (!m) return false;
  const digest = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(m[1]!.trim()), digest(token));
}

/** The 401 body /metrics answers without the right token (the API's error shape). */
export function metricsDenied(requestId: string): { error: { code: "unauthenticated"; message: string; request_id: string } } {
  return { error: { code: "unauthenticated", message: "GET /metrics needs Authorization: Bearer <METRICS_TOKEN>", request_id: requestId } };
}

export interface MetricsServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * A bare HTTP server for processes without one of their own (the auth callout):
 * `GET /metrics` (token-protected like the gateway's), everything else 404.
 */
export async function serveMetrics(opts: { registry: Registry; port: number; host: string; token?: string }): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0];
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (path !== "/metrics" || (req.method !== "GET" && req.method !== "HEAD")) {
      json(404, { error: { code: "not_found", message: `no route for ${req.method} ${path}`, request_id: randomUUID() } });
      return;
    }
    if (!metricsAccess(opts.token, req.headers.authorization)) {
      json(401, metricsDenied(randomUUID()));
      return;
    }
    opts.registry.metrics().then(
      (text) => {
        res.writeHead(200, { "content-type": METRICS_CONTENT_TYPE });
        res.end(req.method === "HEAD" ? undefined : text);
      },
      () => json(500, { error: { code: "internal", message: "collecting metrics failed", request_id: randomUUID() } }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${opts.host.includes(":") ? `[${opts.host}]` : opts.host === "0.0.0.0" ? "127.0.0.1" : opts.host}:${port}`,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
