/**
 * The one mechanism that carries a change of who may read what from PostgreSQL into NATS.
 *
 * The API and the CLI announce each change on NATS (announcements.ts). Every process that
 * mirrors access into NATS runs one watcher with its own `apply`:
 * - each gateway: durables' filter subjects = their plan (durables/reconcile.ts);
 * - the auth callout: closes connections whose token is no longer valid or whose access
 *   changed since they connected (callout/revoker.ts).
 * A watcher applies an announced change at once (changes within `debounceMs` together), again
 * after `recheckMs` (a connect or a sweep of another process that read the database just before
 * the change may act on the old state just after it), and runs a safety sweep over everyone
 * every `sweepMs` for what was never announced (an announcement lost in a reconnect, a change
 * made in the database by hand). `apply` must be idempotent and compute from the database alone.
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { ENDPOINTS_CHANGED_SUBJECT, GRANTS_CHANGED_SUBJECT, concernedUsers } from "./announcements.js";

/** The users a change concerns, or everyone. */
export type Concerned = string[] | "all";

/** Default interval of the safety sweep. */
export const SAFETY_SWEEP_MS = 15_000;
/** Default debounce of announcements. */
export const DEBOUNCE_MS = 50;
/** Default delay of the second application of an announced change. */
export const RECHECK_MS = 2_000;

export interface WatchLogger {
  warn(obj: object, msg: string): void;
}

export interface AccessChangeOptions {
  /** Where the announcements arrive (the callout's account imports them from APP). */
  nc: Pick<NatsConnection, "subscribe">;
  /** Brings NATS in line with the database for these users (or everyone). */
  apply(users: Concerned): Promise<unknown>;
  log: WatchLogger;
  /** What the warning on a failed pass says (e.g. "consumer reconciliation failed"). */
  failure: string;
  sweepMs?: number;
  debounceMs?: number;
  recheckMs?: number;
}

export interface AccessChangeWatcher {
  /** Applies a change now-ish (debounced) and again after the recheck delay, as an announcement does. */
  changed(users: Concerned): void;
  /** Runs one pass after any running one (never two at once); resolves with apply's result. */
  run<T = unknown>(users: Concerned): Promise<T | undefined>;
  /** Passes completed since start (for tests that wait for one). */
  readonly passes: number;
  stop(): Promise<void>;
}

export function watchAccessChanges(o: AccessChangeOptions): AccessChangeWatcher {
  const timers = new Set<NodeJS.Timeout>();
  let queued: Set<string> | "all" | undefined;
  let debounce: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  let passes = 0;

  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    t.unref();
    timers.add(t);
  };

  const run = <T>(users: Concerned): Promise<T | undefined> => {
    const pass = running.then(async () => {
      if (stopped) return undefined;
      try {
        return (await o.apply(users)) as T;
      } catch (err) {
        o.log.warn({ err: (err as Error).message }, o.failure);
        return undefined;
      } finally {
        passes++;
      }
    });
    running = pass;
    return pass;
  };

  const enqueue = (users: Concerned) => {
    queued = users === "all" || queued === "all" ? "all" : new Set([...(queued ?? []), ...users]);
    if (debounce) return;
    debounce = setTimeout(() => {
      debounce = undefined;
      const batch = queued;
      queued = undefined;
      if (batch) void run(batch === "all" ? "all" : [...batch]);
    }, o.debounceMs ?? DEBOUNCE_MS);
    debounce.unref();
  };

  const changed = (users: Concerned) => {
    if (stopped) return;
    enqueue(users);
    later(o.recheckMs ?? RECHECK_MS, () => void run(users));
  };

  const subs: Subscription[] = [GRANTS_CHANGED_SUBJECT, ENDPOINTS_CHANGED_SUBJECT].map((subject) =>
    o.nc.subscribe(subject, { callback: (err, m) => void (err ? undefined : changed(concernedUsers(m.subject, m.data))) }),
  );
  const sweep = setInterval(() => void run("all"), o.sweepMs ?? SAFETY_SWEEP_MS);
  sweep.unref();

  return {
    changed,
    run,
    get passes() {
      return passes;
    },
    async stop() {
      stopped = true;
      clearInterval(sweep);
      clearTimeout(debounce);
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of subs) s.unsubscribe();
      await running;
    },
  };
}
