/**
 * Closing callout users' connections when their access changed, with the system account's
 * connection (CONNZ to list them, KICK to close one; NATS-FACTS.md).
 *
 * Driven by the one mechanism of authz/src/access-changes.ts: every announced change (API, CLI)
 * is applied at once for the users it names, again after the recheck delay, and a safety sweep
 * over every connection runs every `sweepMs`. A pass lists the CLIENTS connections (one CONNZ),
 * keeps those of the users concerned, and kicks each whose credential is no longer valid or
 * whose access fingerprint changed (both read back from the connection's name, see
 * `connectionName`). Narrowing the durables' filter subjects is the gateways' part of the same
 * mechanism. A token's expiry needs no pass: the user JWT expires with it (service.ts).
 *
 * Bound for an announced change: the debounce + one CONNZ round (`CONNZ_STALL_MS` after the last
 * server answers) + the database + the KICK, well under {@link REVOCATION_BOUND_MS}. Unannounced
 * changes: the safety sweep's interval. Reconnects go through the callout and are decided afresh.
 * Without the system account (no sys password) the user JWT's expiry is the bound.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { watchAccessChanges, type AccessChangeWatcher, type Concerned } from "../access-changes.js";
import type { CredentialChecker } from "./credentials.js";
import type { CalloutLogger } from "./service.js";
import type { CalloutMetrics } from "../metrics.js";
import { parseConnectionName } from "./service.js";
import { CLIENTS_ACCOUNT } from "./nats-config.js";

/** How long a CONNZ ping waits for more servers after the last answer. */
export const CONNZ_STALL_MS = 250;
/** The stated bound for an announced change to close the connections it concerns. */
export const REVOCATION_BOUND_MS = 5_000;

export interface ClientConnection {
  serverId: string;
  cid: number;
  /** The user JWT's name: the user id. */
  user: string;
  credentialId: string | undefined;
  /** The access fingerprint stamped at connect (see accessFingerprint). */
  access: string | undefined;
}

interface ConnzResponse {
  server?: { id?: string };
  data?: { connections?: { cid: number; authorized_user?: string }[] };
  error?: { description?: string };
}

/** Every connection in CLIENTS (optionally of one user), across all servers that answer. */
export async function listClientConnections(sys: NatsConnection, filter: { user?: string } = {}): Promise<ClientConnection[]> {
  // Filtered here: the server's `user` filter would need the whole connection name.
  const body = JSON.stringify({ acc: CLIENTS_ACCOUNT, auth: true, limit: 100_000 });
  const replies = await sys.requestMany("$SYS.REQ.SERVER.PING.CONNZ", body, {
    strategy: "stall",
    stall: CONNZ_STALL_MS,
    maxWait: 2_000,
  });
  const out: ClientConnection[] = [];
  for await (const msg of replies) {
    const res = msg.json<ConnzResponse>();
    const serverId = res.server?.id;
    if (!serverId || res.error) continue;
    for (const c of res.data?.connections ?? []) {
      const conn = { serverId, cid: c.cid, ...parseConnectionName(c.authorized_user ?? "") };
      if (filter.user === undefined || conn.user === filter.user) out.push({ credentialId: undefined, access: undefined, ...conn });
    }
  }
  return out;
}

/** Disconnects one connection at once. */
export async function kickConnection(sys: NatsConnection, conn: Pick<ClientConnection, "serverId" | "cid">): Promise<void> {
  await sys.request(`$SYS.REQ.SERVER.${conn.serverId}.KICK`, JSON.stringify({ cid: conn.cid }), { timeout: 2_000 });
}

/** Disconnects every callout connection of `userId`; returns how many. */
export async function kickUser(sys: NatsConnection, userId: string): Promise<number> {
  const conns = await listClientConnections(sys, { user: userId });
  await Promise.all(conns.map((c) => kickConnection(sys, c)));
  return conns.length;
}

export interface RevokerDeps {
  /** Connection of the system account user. */
  sys: NatsConnection;
  check: CredentialChecker;
  /** The user's access fingerprint now; a connection stamped with another one is kicked. */
  fingerprint?: (userId: string) => Promise<string>;
  log: CalloutLogger;
  /** Counts passes and the connections they close, by cause. */
  metrics?: CalloutMetrics;
}

/**
 * One pass: kicks the connections of `users` (or everyone's) whose credential is no longer valid
 * or whose access changed since they connected; resolves with how many. Throws when CONNZ or the
 * database fails (the watcher logs it): a database outage must not kick everyone.
 */
export async function revokeStale(deps: RevokerDeps, users: Concerned): Promise<number> {
  const all = await listClientConnections(deps.sys);
  const concerned = users === "all" ? all : all.filter((c) => users.includes(c.user));
  if (concerned.length === 0) return 0;
  const ids = [...new Set(concerned.flatMap((c) => (c.credentialId ? [c.credentialId] : [])))];
  const valid = await deps.check(ids);
  const revoked = concerned.filter((c) => !c.credentialId || !valid.has(c.credentialId));
  const changed: ClientConnection[] = [];
  if (deps.fingerprint) {
    const live = concerned.filter((c) => !revoked.includes(c));
    const now = new Map<string, string>();
    for (const user of new Set(live.map((c) => c.user))) now.set(user, await deps.fingerprint(user));
    changed.push(...live.filter((c) => c.access !== now.get(c.user)));
  }
  const stale = [...revoked, ...changed];
  await Promise.all(stale.map((c) => kickConnection(deps.sys, c).catch(() => {})));
  if (revoked.length) deps.metrics?.disconnects.inc({ cause: "revoked" }, revoked.length);
  if (changed.length) deps.metrics?.disconnects.inc({ cause: "access_changed" }, changed.length);
  for (const c of revoked) deps.log.info({ userId: c.user, cid: c.cid }, "auth callout: connection revoked");
  for (const c of changed) deps.log.info({ userId: c.user, cid: c.cid }, "auth callout: access changed, connection closed");
  return stale.length;
}

export interface Revoker {
  /** One pass over every connection now (what the safety sweep runs); resolves with the number kicked. */
  sweep(): Promise<number>;
  /** The access-change watcher (announcements, recheck, sweep). */
  readonly watcher: AccessChangeWatcher;
  stop(): Promise<void>;
}

/**
 * Starts revoking: `nc` receives the announcements (the callout's own connection; its account
 * imports them from APP), `sys` lists and kicks connections.
 */
export function startRevoker(opts: RevokerDeps & { nc: Pick<NatsConnection, "subscribe">; sweepMs?: number; recheckMs?: number }): Revoker {
  const watcher = watchAccessChanges({
    nc: opts.nc,
    log: opts.log,
    failure: "auth callout: revocation pass failed",
    sweepMs: opts.sweepMs,
    recheckMs: opts.recheckMs,
    apply: async (users) => {
      try {
        const kicked = await revokeStale(opts, users);
        opts.metrics?.passes.inc({ result: "ok" });
        return kicked;
      } catch (err) {
        opts.metrics?.passes.inc({ result: "error" });
        throw err;
      }
    },
  });
  return {
    watcher,
    sweep: async () => (await watcher.run<number>("all")) ?? 0,
    stop: () => watcher.stop(),
  };
}
