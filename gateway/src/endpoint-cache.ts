import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { ENDPOINTS_CHANGED_SUBJECT, listAllEndpoints, type CacheMetrics, type Db, type SecretBox } from "@wb/authz";
import type { Logger } from "pino";
import { coalesce } from "./coalesce.js";

type EndpointRow = Awaited<ReturnType<typeof listAllEndpoints>>[number];

export interface CachedEndpoint {
  id: string;
  path: string;
  provider: string;
  options: Record<string, unknown>;
  isPublic: boolean;
  maxBodyBytes: number | null;
  current: string;
  previous: { secret: string; expiresAt: number } | null;
}

/**
 * Every endpoint and its decrypted secrets, held in memory so ingest never waits on
 * PostgreSQL. Reloaded when any process announces a change on NATS, and periodically in case
 * an announcement was missed (e.g. during a reconnect).
 */
export class EndpointCache {
  #byPath = new Map<string, CachedEndpoint>();
  #sub?: Subscription;
  #timer?: NodeJS.Timeout;
  #loaded = false;
  #lastError: unknown;
  #undecryptable = 0;
  /** Endpoints already logged as undecryptable (one line each, not one per reload). */
  #reported = new Set<string>();

  constructor(
    private readonly deps: { db: Db; box: SecretBox; nc: NatsConnection; log: Logger; refreshMs: number; metrics?: CacheMetrics },
  ) {}

  get ready(): boolean {
    return this.#loaded;
  }

  /** Why the last load failed; undefined after a load that succeeded. */
  get lastError(): unknown {
    return this.#lastError;
  }

  /** Endpoints skipped by the last load because their secret did not open under SECRET_KEY. */
  get undecryptable(): number {
    return this.#undecryptable;
  }

  async start(): Promise<void> {
    this.#sub = this.deps.nc.subscribe(ENDPOINTS_CHANGED_SUBJECT, {
      callback: () => void this.reload(),
    });
    await this.reload();
    this.#timer = setInterval(() => void this.reload(), this.deps.refreshMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#sub?.unsubscribe();
  }

  /**
   * Reloads the whole table (small: one row per endpoint). Resolves after a load that began
   * after the call, so a change announced during a load is never missed; calls during a load
   * share one follow-up load.
   */
  readonly reload: () => Promise<void> = coalesce(() => this.#load());

  async #load(): Promise<void> {
    try {
      const rows = await listAllEndpoints(this.deps.db);
      const next = new Map<string, CachedEndpoint>();
      let undecryptable = 0;
      for (const e of rows) {
        const secrets = this.#open(e);
        if (!secrets) {
          undecryptable++;
          continue;
        }
        next.set(e.path, {
          id: e.id,
          path: e.path,
          provider: e.provider,
          options: e.providerOptions,
          isPublic: e.isPublic,
          maxBodyBytes: e.maxBodyBytes,
          ...secrets,
        });
      }
      this.#undecryptable = undecryptable;
      this.#byPath = next;
      this.#loaded = true;
      this.#lastError = undefined;
      this.deps.metrics?.reloads.inc({ cache: "endpoint", result: "ok" });
    } catch (err) {
      this.#lastError = err;
      this.deps.metrics?.reloads.inc({ cache: "endpoint", result: "error" });
      // Keep serving from the last good table; readiness reflects a cache never loaded.
      this.deps.log.warn({ err: (err as Error).message }, "endpoint cache reload failed");
    }
  }

  /**
   * One endpoint's secrets, or undefined (logged) when they do not open: one bad row must not
   * empty the whole table, which would answer 404 for every endpoint.
   */
  #open(e: EndpointRow): Pick<CachedEndpoint, "current" | "previous"> | undefined {
    try {
      return {
        current: this.deps.box.open(e.secretEnc),
        previous:
          e.previousSecretEnc && e.previousSecretExpiresAt
            ? { secret: this.deps.box.open(e.previousSecretEnc), expiresAt: e.previousSecretExpiresAt.getTime() }
            : null,
      };
    } catch {
      if (!this.#reported.has(e.id)) {
        this.#reported.add(e.id);
        this.deps.log.error({ endpointId: e.id, path: e.path }, "endpoint secret does not open under SECRET_KEY; endpoint skipped");
      }
      return undefined;
    }
  }

  /** Longest-prefix match by whole path segments (counted: a miss is a path no endpoint serves). */
  match(segments: readonly string[]): CachedEndpoint | undefined {
    const found = this.peek(segments);
    this.deps.metrics?.lookups.inc({ cache: "endpoint", result: found ? "hit" : "miss" });
    return found;
  }

  /** As {@link match}, uncounted (for tests and tools that look without serving a request). */
  peek(segments: readonly string[]): CachedEndpoint | undefined {
    for (let n = segments.length; n > 0; n--) {
      const hit = this.#byPath.get(segments.slice(0, n).join("/"));
      if (hit) return hit;
    }
    return undefined;
  }
}

/** Secrets that verify at `now`: current first, then an unexpired previous one. */
export function secretsAt(e: CachedEndpoint, now: number): string[] {
  return e.previous && e.previous.expiresAt > now ? [e.current, e.previous.secret] : [e.current];
}
