/**
 * Active revocation of callout users' connections, with the system account's connection.
 *
 * The path the broker relies on is the sweep (`startRevocationSweep`, run by the callout
 * service): every `intervalMs` it lists the CLIENTS connections and kicks those whose credential
 * is no longer valid or whose access fingerprint changed (both read back from the connection's
 * name, see `connectionName`), whoever changed the database. Narrowing the durables' filter
 * subjects is the gateway reconciler's job.
 *
 * `kickUser` and `accessChanged` are the immediate variants for a caller that holds the system
 * connection; the CLI and API do not call them today (they have no system-account connection).
 *
 * Bound: a connection is gone within `intervalMs` + one CONNZ round (`CONNZ_STALL_MS` after the
 * last server answers) + the KICK; with the defaults (2 s sweep) that is under
 * {@link REVOCATION_BOUND_MS}. Reconnects go through the callout and are decided afresh. Without
 * the sweep (no system-account password) the user JWT's expiry is the bound.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { listConsumers } from "../consumers.js";
import { ConsumerManager } from "../durables/index.js";
import type { Db } from "../db/client.js";
import type { CredentialChecker } from "./credentials.js";
import type { CalloutLogger } from "./service.js";
import { parseConnectionName } from "./service.js";
import { CLIENTS_ACCOUNT } from "./nats-config.js";

export const DEFAULT_SWEEP_INTERVAL_MS = 2_000;
/** How long a CONNZ ping waits for more servers after the last answer. */
export const CONNZ_STALL_MS = 250;
/** The stated bound for a revoked credential's connections with the default sweep interval. */
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

export interface AccessChangeDeps {
  db: Db;
  /** JetStream manager on APP (admin or gateway user). */
  jsm: JetStreamManager;
  /** Connection of the system account user. */
  sys: NatsConnection;
  stream: string;
}

/**
 * After a user's access shrank (membership or endpoint grant removed, token revoked, user
 * disabled): narrows the filters of his existing durables to what he may read now, then kicks
 * his connections so every reconnect is decided afresh.
 */
export async function accessChanged(deps: AccessChangeDeps, userId: string): Promise<{ kicked: number }> {
  // Each durable gets its plan (his subscriptions ∩ his grants now), as the gateway's reconciler
  // computes it: grants alone would undo his subscriptions.
  const durables = new ConsumerManager({ jsm: deps.jsm, stream: deps.stream });
  for (const row of await listConsumers(deps.db, userId)) await durables.applyPlan(deps.db, row);
  return { kicked: await kickUser(deps.sys, userId) };
}

export interface RevocationSweep {
  /** One pass now (also what the timer runs); resolves with the number kicked. */
  sweep(): Promise<number>;
  stop(): void;
}

/**
 * Periodically kicks CLIENTS connections whose credential is no longer valid, and (with
 * `fingerprint`) those whose access changed since they connected.
 */
export function startRevocationSweep(opts: {
  sys: NatsConnection;
  check: CredentialChecker;
  /** The user's access fingerprint now; a connection stamped with another one is kicked. */
  fingerprint?: (userId: string) => Promise<string>;
  log: CalloutLogger;
  intervalMs?: number;
}): RevocationSweep {
  const intervalMs = opts.intervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
  let running: Promise<number> | undefined;
  const sweep = (): Promise<number> => {
    running ??= (async () => {
      try {
        const conns = await listClientConnections(opts.sys);
        if (conns.length === 0) return 0;
        const ids = [...new Set(conns.flatMap((c) => (c.credentialId ? [c.credentialId] : [])))];
        const valid = await opts.check(ids);
        const revoked = conns.filter((c) => !c.credentialId || !valid.has(c.credentialId));
        const changed: ClientConnection[] = [];
        if (opts.fingerprint) {
          const live = conns.filter((c) => !revoked.includes(c));
          const now = new Map<string, string>();
          for (const user of new Set(live.map((c) => c.user))) now.set(user, await opts.fingerprint(user));
          changed.push(...live.filter((c) => c.access !== now.get(c.user)));
        }
        const stale = [...revoked, ...changed];
        await Promise.all(stale.map((c) => kickConnection(opts.sys, c).catch(() => {})));
        for (const c of revoked) opts.log.info({ userId: c.user, cid: c.cid }, "auth callout: connection revoked");
        for (const c of changed) opts.log.info({ userId: c.user, cid: c.cid }, "auth callout: access changed, connection closed");
        return stale.length;
      } catch (err) {
        // A database outage must not kick everyone; new connects are refused meanwhile anyway.
        opts.log.warn({ err: (err as Error).message }, "auth callout: revocation sweep failed");
        return 0;
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  const timer = setInterval(() => void sweep(), intervalMs);
  timer.unref();
  return { sweep, stop: () => clearInterval(timer) };
}
