import type { NatsConnection } from "@nats-io/transport-node";

/**
 * Whether the NATS connection is up right now, from the client's status events. While it is
 * down the client keeps what is published for after the reconnect, where a request's reply
 * may never come: a request sent then waits out its whole timeout (issue 16 #3). Callers use
 * `up` to answer 503 at once instead, and `requestThroughReconnects` to resend what a
 * reconnect dropped.
 */
export class NatsLink {
  #up = true;
  readonly #listeners = new Set<() => void>();
  readonly #watchers = new Set<(up: boolean) => void>();

  constructor(private readonly nc: NatsConnection) {
    void this.#watch();
  }

  get up(): boolean {
    return this.#up && !this.nc.isClosed();
  }

  /** Closed for good (the gateway is shutting down): it will not come up again. */
  get closed(): boolean {
    return this.nc.isClosed();
  }

  /** Calls `f` at the next disconnect or reconnect; returns the function that cancels that. */
  onChange(f: () => void): () => void {
    const once = () => {
      this.#listeners.delete(once);
      f();
    };
    this.#listeners.add(once);
    return () => this.#listeners.delete(once);
  }

  /**
   * Calls `f(up)` at every disconnect and reconnect until cancelled, in the same tick as `up`
   * changes: nothing sees the link up before `f` has run.
   */
  watch(f: (up: boolean) => void): () => void {
    this.#watchers.add(f);
    return () => this.#watchers.delete(f);
  }

  /** Resolves true once connected, false if that takes longer than `ms`. */
  async waitUp(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.up) {
      const left = deadline - Date.now();
      if (left <= 0 || this.nc.isClosed()) return false;
      let timer: NodeJS.Timeout | undefined;
      let off = () => {};
      await new Promise<void>((resolve) => {
        off = this.onChange(resolve);
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      off();
    }
    return true;
  }

  async #watch(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === "disconnect") this.#up = false;
      else if (s.type === "reconnect") this.#up = true;
      else continue;
      for (const f of [...this.#watchers]) f(this.#up);
      for (const f of [...this.#listeners]) f();
    }
  }
}

const DROPPED = Symbol("dropped by a reconnect");

/** Pauses between the attempts of a publish the stream had no leader for: short, the election is what takes time. */
export const LEADERLESS_BACKOFF_MS = [25, 50, 100, 200, 250] as const;

/**
 * Runs a NATS request-reply (a JetStream publish) within `timeoutMs`: answers `onDown()`'s
 * error at once when the connection is down at the start, and sends it again when the
 * connection dropped while it waited and comes back in time (the caller makes that safe: a
 * publish carries a message id the stream dedupes on, so a copy that did arrive is a duplicate).
 * A failure `retryable` accepts (a stream between leaders) is sent again after a short pause
 * ({@link LEADERLESS_BACKOFF_MS}) while time is left; the last failure is thrown once it is not.
 */
export async function requestThroughReconnects<T>(
  link: NatsLink,
  timeoutMs: number,
  send: (timeoutMs: number) => Promise<T>,
  onDown: () => Error,
  retryable: (err: unknown) => boolean = () => false,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let failures = 0;
  for (let attempt = 0; ; attempt++) {
    if (!link.up && (attempt === 0 || !(await link.waitUp(deadline - Date.now())))) throw onDown();
    const left = deadline - Date.now();
    if (left <= 0) throw onDown();
    const sending = send(left);
    let off = () => {};
    const dropped = new Promise<typeof DROPPED>((resolve) => (off = link.onChange(() => resolve(DROPPED))));
    let result: T | typeof DROPPED;
    try {
      result = await Promise.race([sending, dropped]);
    } catch (err) {
      const pause = LEADERLESS_BACKOFF_MS[Math.min(failures++, LEADERLESS_BACKOFF_MS.length - 1)]!;
      if (!retryable(err) || deadline - Date.now() <= pause) throw err;
      await new Promise((resolve) => setTimeout(resolve, pause));
      continue;
    } finally {
      off();
    }
    if (result !== DROPPED) return result;
    sending.catch(() => {}); // its answer, if any, no longer matters: the resend's does
  }
}
