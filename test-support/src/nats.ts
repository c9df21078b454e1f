import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";
import { startNats, startNatsCluster, type NatsCluster, type NatsServer, type StartNatsOptions } from "@wb/stack";
import { testStack } from "./inject.js";

export interface PrivateNats extends NatsServer {
  /** Stops the server and deletes its directory. */
  dispose(): Promise<void>;
}

/**
 * Starts something in a fresh temporary directory; its `stop` and removing the directory become
 * `dispose`. The directory is removed when the start fails too.
 */
async function inFreshDir<T extends object>(prefix: string, start: (dir: string) => Promise<T>, stop: (started: T) => Promise<void>): Promise<T & { dispose(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    const started = await start(dir);
    return Object.assign(started, {
      async dispose() {
        await stop(started);
        await rm(dir, { recursive: true, force: true });
      },
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * A nats-server of this test's own, in a fresh temporary directory, for tests that kill,
 * restart or reconfigure NATS (the shared server from global-setup must stay up for everyone).
 */
export function startPrivateNats(opts: Partial<Omit<StartNatsOptions, "binary" | "dir">> = {}): Promise<PrivateNats> {
  return inFreshDir(
    "wb-test-nats-",
    (dir) => startNats({ monitoring: true, ...opts, binary: testStack().natsServerBin, dir }),
    (server) => server.stop(),
  );
}

export interface PrivateCluster extends PrivateNats {
  /** All nodes; this object itself is node 1, except `dispose`, which stops them all. */
  cluster: NatsCluster;
}

/**
 * A JetStream cluster of this test's own: three real nats-servers with routes, rendered like a
 * private server (monitoring on), in a fresh temporary directory.
 */
export function startPrivateCluster(
  opts: Partial<Omit<StartNatsOptions, "binary" | "dir" | "port" | "httpPort" | "cluster" | "serverName" | "storeDir">> = {},
): Promise<PrivateCluster> {
  return inFreshDir(
    "wb-test-cluster-",
    async (dir) => {
      const cluster = await startNatsCluster({ monitoring: true, ...opts, binary: testStack().natsServerBin, dir });
      return Object.assign(cluster.nodes[0]!, { cluster });
    },
    (node) => node.cluster.stop(),
  );
}

/** Where a nats-server is and its admin user's credentials. */
export interface AdminAccess {
  url: string;
  users: { admin: { user: string; password: string } };
}

/** The shared nats-server (global-setup), for connectAdmin. */
export function sharedNats(): AdminAccess {
  const stack = testStack();
  return { url: stack.natsUrl, users: { admin: { user: stack.natsAdminUser, password: stack.natsAdminPassword } } };
}

/**
 * A connection as the server's admin user (APP account: JetStream management, announcements),
 * of a private server or of the shared one (sharedNats()).
 */
export function connectAdmin(server: AdminAccess, opts: Partial<ConnectionOptions> = {}): Promise<NatsConnection> {
  return connect({ servers: server.url, user: server.users.admin.user, pass: server.users.admin.password, ...opts });
}
