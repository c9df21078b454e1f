import type { Context, MiddlewareHandler } from "hono";
import { BrokerError } from "@wb/authz";
import type { RateLimit } from "../../config.js";
import { clientAddress } from "../client-address/index.js";

/**
 * Token buckets keyed by a string (an endpoint id, a client address), in this process's memory:
 * each gateway limits on its own (see README, "Scaling out": the rates are per gateway process).
 * At most `maxKeys` buckets are kept; past that the least recently used is dropped (it would
 * start again full, which only matters when that many keys are active at once).
 */
export class TokenBuckets {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly limit: RateLimit,
    readonly maxKeys = 100_000,
  ) {}

  get size(): number {
    return this.#buckets.size;
  }

  /** Takes one token for `key` at `now` (ms). Returns 0 when admitted, else whole seconds until a token is due. */
  take(key: string, now: number): number {
    const { rate, perMs, burst } = this.limit;
    const held = this.#buckets.get(key);
    let tokens = burst;
    if (held) {
      tokens = Math.min(burst, held.tokens + (Math.max(0, now - held.at) * rate) / perMs);
      this.#buckets.delete(key); // re-inserted below: Map order is then least recently used first
    } else if (this.#buckets.size >= this.maxKeys) {
      const oldest = this.#buckets.keys().next().value;
      if (oldest !== undefined) this.#buckets.delete(oldest);
    }
    const admitted = tokens >= 1;
    if (admitted) tokens -= 1;
    this.#buckets.set(key, { tokens, at: now });
    return admitted ? 0 : Math.max(1, Math.ceil(((1 - tokens) * perMs) / rate / 1000));
  }
}

/** Throws the 429 (with Retry-After) when `key` has no token left. */
export function admit(buckets: TokenBuckets | undefined, key: string, what: string, now = Date.now()): void {
  if (!buckets) return;
  const wait = buckets.take(key, now);
  if (wait > 0) {
    throw new BrokerError("rate_limited", `too many requests for this ${what}; retry in ${wait} s`, { retryAfterSeconds: wait });
  }
}

export interface RateLimitOptions {
  /** `null` turns the limit off. */
  limit: RateLimit | null;
  /** What a bucket belongs to; default the client address. */
  key?: (c: Context) => string;
  /** Named in the 429 message. */
  what?: string;
  now?: () => number;
}

/** Rate-limits every request through it, one bucket per key. */
export function rateLimit(opts: RateLimitOptions): MiddlewareHandler {
  const buckets = opts.limit ? new TokenBuckets(opts.limit) : undefined;
  const key = opts.key ?? clientAddress;
  const now = opts.now ?? Date.now;
  return async function rateLimitMiddleware(c, next) {
    admit(buckets, key(c), opts.what ?? "client address", now());
    await next();
  };
}
