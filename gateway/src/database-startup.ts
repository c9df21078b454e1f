import { withoutQueryParams } from "@wb/authz";
import type { Logger } from "pino";
import { databaseUnreachable } from "./errors.js";

/** Delay before retry number `attempt` (1, 2, ...): doubling from `minMs`, at most `maxMs`. */
export function retryDelay(attempt: number, minMs: number, maxMs: number): number {
  return Math.min(maxMs, minMs * 2 ** Math.max(0, attempt - 1));
}

export interface DatabaseStartupOptions {
  /** PostgreSQL's part of the start (migrations, signing key, endpoint table); throws on failure. */
  run: () => Promise<void>;
  log: Logger;
  minRetryMs?: number;
  maxRetryMs?: number;
}

/**
 * The gateway's start on PostgreSQL, retried until it succeeds: a gateway started while the
 * database is down serves anyway (readiness says postgres is down; the API answers 503 with
 * Retry-After) and becomes ready once the database answers, without a restart.
 */
export class DatabaseStartup {
  #ready = false;
  #problem: string | undefined = "not started";
  #timer?: NodeJS.Timeout;
  #stopped = false;
  #attempt = 0;
  #running?: Promise<void>;

  constructor(private readonly o: DatabaseStartupOptions) {}

  /** True once `run` has succeeded (it is not run again). */
  get ready(): boolean {
    return this.#ready;
  }

  /** Why it is not ready yet, for /readyz; undefined once ready. */
  get problem(): string | undefined {
    return this.#problem;
  }

  /**
   * Runs the first attempt. PostgreSQL unreachable: resolves anyway and retries in the background
   * with backoff. Any other failure (a wrong password, a broken migration) is thrown: that is a
   * configuration to fix, not an outage to wait out.
   */
  async start(): Promise<void> {
    try {
      await this.#attemptOnce();
    } catch (err) {
      if (!databaseUnreachable(err)) throw err;
      this.#schedule();
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running?.catch(() => {});
  }

  async #attemptOnce(): Promise<void> {
    this.#attempt++;
    try {
      this.#running = this.o.run();
      await this.#running;
      this.#ready = true;
      this.#problem = undefined;
      if (this.#attempt > 1) this.o.log.info({ attempt: this.#attempt }, "PostgreSQL is back: migrations applied, endpoint table loaded; ready");
    } catch (err) {
      this.#problem = `${databaseUnreachable(err) ? "unreachable" : "start failed"} (${rootMessage(err)}); retrying`;
      throw err;
    } finally {
      this.#running = undefined;
    }
  }

  #schedule(): void {
    if (this.#stopped) return;
    const delay = retryDelay(this.#attempt, this.o.minRetryMs ?? 250, this.o.maxRetryMs ?? 5_000);
    this.o.log.warn({ attempt: this.#attempt, retryInMs: delay, problem: this.#problem }, "PostgreSQL not ready at start: serving without it (API answers 503) and retrying");
    this.#timer = setTimeout(() => {
      this.#attemptOnce().catch((err) => {
        if (!databaseUnreachable(err)) this.o.log.error({ err }, "PostgreSQL start failed");
        this.#schedule();
      });
    }, delay);
    this.#timer.unref();
  }
}

/** The innermost error's first line (drizzle wraps the driver's error in "Failed query: ..."). */
function rootMessage(err: unknown): string {
  let e = err as { message?: unknown; cause?: unknown };
  for (let depth = 0; e?.cause instanceof Error && depth < 5; depth++) e = e.cause as typeof e;
  if (e instanceof AggregateError && e.errors[0] instanceof Error) e = e.errors[0];
  return withoutQueryParams(String(e?.message ?? e)).split("\n")[0]!;
}
