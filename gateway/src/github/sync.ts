/**
 * Access that follows GitHub, on a schedule: each signed-in user's GitHub organizations and
 * repositories are asked again (his own token) when the last answer is older than half of
 * GITHUB_CACHE_TTL, and each answer is valid for one TTL. Changes are applied through authz
 * (github-sync.ts) and announced like any grant change, so durables narrow and NATS
 * connections are re-decided at once. GitHub down or rate-limited: nothing is changed, the error
 * is recorded, and what GitHub granted runs out at the end of its TTL (fails closed).
 * Several gateways share the schedule (claimDueGitHubSyncs).
 */
import {
  announceGrantsChanged,
  applyGitHubMemberships,
  applyRepoAccess,
  claimDueGitHubSyncs,
  dropGitHubAccess,
  forgetGitHubTokens,
  recordGitHubSync,
  repositoriesToCheck,
  type Db,
  type SecretBox,
} from "@wb/authz";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { GitHubError, type GitHubClient } from "./client.js";
import { githubAccessToken } from "./tokens.js";

export interface GitHubSyncOptions {
  db: Db;
  box: SecretBox;
  client: GitHubClient;
  /** Announces grant changes; absent: the gateways' and callout's safety sweeps pick them up. */
  nc?: Pick<NatsConnection, "publish" | "flush">;
  log: Pick<Logger, "info" | "warn">;
  /** How long one GitHub answer counts (GITHUB_CACHE_TTL). */
  ttlMs: number;
}

export type SyncOutcome =
  | { status: "ok"; changedOrgs: string[]; reposChanged: boolean }
  /** No usable GitHub token (never had one, or GitHub refused it): GitHub's grants ended. */
  | { status: "signed_out"; changedOrgs: string[] }
  /** GitHub down or rate-limited: nothing changed; the grants run out at their TTL. */
  | { status: "unavailable"; error: string };

export class GitHubSync {
  #timer?: NodeJS.Timeout;
  #running?: Promise<void>;

  constructor(private readonly o: GitHubSyncOptions) {}

  /** Checks for due users every TTL/5 (at most every minute). */
  start(): void {
    const every = Math.max(200, Math.min(60_000, Math.floor(this.o.ttlMs / 5)));
    this.#timer = setInterval(() => void this.runDue(), every);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  /** One round: every user whose last answer is older than TTL/2 (one round at a time per gateway). */
  runDue(): Promise<void> {
    this.#running ??= (async () => {
      try {
        const due = await claimDueGitHubSyncs(this.o.db, { staleMs: this.o.ttlMs / 2, claimMs: Math.max(30_000, this.o.ttlMs), limit: 100 });
        for (const userId of due) await this.syncUser(userId);
      } catch (err) {
        this.o.log.warn({ err: (err as Error).message }, "GitHub sync round failed");
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  /** Asks GitHub about one user now (`token`: the one he just signed in with) and applies the answer. */
  async syncUser(userId: string, token?: string): Promise<SyncOutcome> {
    let outcome: SyncOutcome;
    try {
      outcome = await this.#sync(userId, token);
    } catch (err) {
      if (!(err instanceof GitHubError) || (err.kind !== "unavailable" && err.kind !== "rate_limited")) throw err;
      await recordGitHubSync(this.o.db, userId, { error: err.message });
      this.o.log.warn({ userId, kind: err.kind }, "GitHub sync: GitHub not available; access granted by GitHub runs out at its TTL");
      return { status: "unavailable", error: err.message };
    }
    if (outcome.status === "ok") await recordGitHubSync(this.o.db, userId, { ok: true });
    const changed = outcome.status !== "unavailable" && (outcome.changedOrgs.length > 0 || (outcome.status === "ok" && outcome.reposChanged));
    if (changed && this.o.nc) await announceGrantsChanged(this.o.nc, { user_ids: [userId], change: "github_sync" });
    if (changed) this.o.log.info({ userId, organizations: outcome.status !== "unavailable" ? outcome.changedOrgs : [] }, "GitHub sync: access changed");
    return outcome;
  }

  async #sync(userId: string, given?: string): Promise<SyncOutcome> {
    const token = given ?? (await githubAccessToken(this.o, userId));
    if (!token) return this.#signedOut(userId);
    let github;
    try {
      github = await this.o.client.memberships(token);
    } catch (err) {
      if (err instanceof GitHubError && err.kind === "unauthorized") return this.#signedOut(userId);
      throw err;
    }
    const changedOrgs = await applyGitHubMemberships(this.o.db, userId, github, this.o.ttlMs);
    const answers = new Map<string, boolean>();
    for (const repo of await repositoriesToCheck(this.o.db, userId)) answers.set(repo, await this.o.client.canReadRepo(token, repo));
    const reposChanged = await applyRepoAccess(this.o.db, userId, answers, this.o.ttlMs);
    return { status: "ok", changedOrgs, reposChanged };
  }

  async #signedOut(userId: string): Promise<SyncOutcome> {
    const changedOrgs = await dropGitHubAccess(this.o.db, userId);
    // Without tokens he is not scheduled again, and GET /api/v1/me says: sign in again.
    await forgetGitHubTokens(this.o.db, userId);
    return { status: "signed_out", changedOrgs };
  }
}
