import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import {
  ENDPOINTS_CHANGED_SUBJECT,
  GRANTS_CHANGED_SUBJECT,
  listAllConsumers,
  type ConsumerManager,
  readableEndpoints,
  type Db,
  type ReadableEndpoint,
} from "@wb/authz";
import type { Logger } from "pino";

export interface ReconcilerOptions {
  db: Db;
  nc: NatsConnection;
  jsm: JetStreamManager;
  consumers: ConsumerManager;
  stream: string;
  log: Logger;
  /** Safety-net sweep over every consumer, for announcements that were missed. */
  sweepMs?: number;
  /** Changes announced within this window are applied together. */
  debounceMs?: number;
  /**
   * Each announced change is applied again after this long: another gateway's sweep that read
   * the database just before the change may write its stale result just after our update.
   */
  recheckMs?: number;
}

/**
 * Keeps every durable consumer's filter subjects equal to {@link consumerPlan} of the
 * database: on each announcement (GRANTS_CHANGED_SUBJECT, ENDPOINTS_CHANGED_SUBJECT), and on a
 * periodic sweep. It only ever updates filter subjects of durables that exist, which keeps
 * their position and ack state. Idempotent: every gateway runs one, and they converge on the
 * same value because each computes it from the database alone.
 */
export class Reconciler {
  #subs: Subscription[] = [];
  #timer?: NodeJS.Timeout;
  #debounce?: NodeJS.Timeout;
  #queued: Set<string> | "all" | undefined;
  #running: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(private readonly o: ReconcilerOptions) {}

  start(): void {
    const onGrants = (data: Uint8Array) => {
      let users: string[] = [];
      try {
        const msg = JSON.parse(new TextDecoder().decode(data)) as { user_ids?: unknown };
        if (Array.isArray(msg.user_ids)) users = msg.user_ids.filter((u): u is string => typeof u === "string");
      } catch {
        // No or malformed payload: reconcile everyone.
      }
      this.announce(users.length ? users : "all");
    };
    this.#subs = [
      this.o.nc.subscribe(GRANTS_CHANGED_SUBJECT, { callback: (_e, m) => onGrants(m.data) }),
      // Endpoint creation, deletion, ownership and visibility can concern anyone (public).
      this.o.nc.subscribe(ENDPOINTS_CHANGED_SUBJECT, { callback: () => this.announce("all") }),
    ];
    this.#timer = setInterval(() => void this.run("all"), this.o.sweepMs ?? 15_000);
    this.#timer.unref();
  }

  stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    clearTimeout(this.#debounce);
    for (const s of this.#subs) s.unsubscribe();
    return this.#running;
  }

  /** Schedules a reconciliation of some users' consumers (or all), and a recheck later. */
  announce(users: string[] | "all"): void {
    this.#enqueue(users);
    const recheck = setTimeout(() => void this.run(users), this.o.recheckMs ?? 2_000);
    recheck.unref();
  }

  #enqueue(users: string[] | "all"): void {
    if (users === "all" || this.#queued === "all") this.#queued = "all";
    else this.#queued = new Set([...(this.#queued ?? []), ...users]);
    if (this.#debounce) return;
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      const batch = this.#queued;
      this.#queued = undefined;
      if (batch) void this.run(batch === "all" ? "all" : [...batch]);
    }, this.o.debounceMs ?? 50);
  }

  /** Runs one reconciliation after any running one (never two at once in this process). */
  run(users: string[] | "all"): Promise<void> {
    this.#running = this.#running.then(() => (this.#stopped ? undefined : this.#reconcile(users))).catch((err) => {
      this.o.log.warn({ err: (err as Error).message }, "consumer reconciliation failed");
    });
    return this.#running;
  }

  async #reconcile(users: string[] | "all"): Promise<void> {
    const rows = await listAllConsumers(this.o.db, users === "all" ? undefined : users);
    const readableByUser = new Map<string, Promise<ReadableEndpoint[]>>();
    let updated = 0;
    for (const row of rows) {
      if (this.#stopped) return;
      if (!readableByUser.has(row.userId)) readableByUser.set(row.userId, readableEndpoints(this.o.db, row.userId));
      try {
        if (await this.o.consumers.applyPlan(this.o.db, row, await readableByUser.get(row.userId)!)) updated++;
      } catch (err) {
        this.o.log.warn({ err: (err as Error).message, durable: row.durableName }, "consumer reconciliation failed");
      }
    }
    if (updated) this.o.log.info({ updated }, "durable consumers' filter subjects updated");
  }
}
