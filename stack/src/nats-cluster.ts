import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { startNats, type NatsServer, type NatsUsers, type StartNatsOptions } from "./nats.js";
import { freePort } from "./ports.js";

export interface StartNatsClusterOptions
  extends Omit<StartNatsOptions, "dir" | "port" | "httpPort" | "cluster" | "serverName" | "storeDir"> {
  /** Each node gets `<dir>/<server name>` for its config, store and log. */
  dir: string;
  /** Number of nodes. Default 3 (what an R3 stream needs). */
  size?: number;
  /** Cluster name; the nodes are `<name>-1` … `<name>-<size>`. Default `wb`. */
  name?: string;
}

export interface NatsCluster {
  nodes: NatsServer[];
  /** Every node's client URL, comma-separated (what NATS_URL takes). */
  url: string;
  /** The same static users on every node. */
  users: NatsUsers;
  /** Stops every node (graceful). */
  stop(): Promise<void>;
}

const generatePassword = () => randomBytes(18).toString("base64url");

/**
 * Starts a JetStream cluster of real nats-servers on this machine, each rendered by the same
 * renderNatsConfig as a single node, plus a `cluster` block whose routes name every node. The
 * nodes start together (a JetStream cluster is healthy only once it has a meta leader, which
 * needs a quorum). Each node can be killed and started again on its own (NatsServer.kill/start).
 */
export async function startNatsCluster(opts: StartNatsClusterOptions): Promise<NatsCluster> {
  const size = opts.size ?? 3;
  const name = opts.name ?? "wb";
  const host = opts.host ?? "127.0.0.1";
  const passwords = {
    gatewayPassword: opts.gatewayPassword ?? generatePassword(),
    adminPassword: opts.adminPassword ?? generatePassword(),
    sysPassword: opts.sysPassword ?? generatePassword(),
  };
  const ports = await Promise.all(
    Array.from({ length: size }, async () => ({
      client: await freePort(host),
      route: await freePort(host),
      http: opts.monitoring ? await freePort(host) : undefined,
    })),
  );
  const routes = ports.map((p) => `${host}:${p.route}`);
  const started = await Promise.allSettled(
    ports.map((p, i) =>
      startNats({
        ...opts,
        ...passwords,
        host,
        dir: join(opts.dir, `${name}-${i + 1}`),
        serverName: `${name}-${i + 1}`,
        port: p.client,
        httpPort: p.http,
        cluster: { name, port: p.route, routes },
      }),
    ),
  );
  const nodes = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    await Promise.allSettled(nodes.map((n) => n.stop()));
    throw failed.reason;
  }
  return {
    nodes,
    url: nodes.map((n) => n.url).join(","),
    users: nodes[0]!.users,
    stop: async () => {
      await Promise.allSettled(nodes.map((n) => n.stop()));
    },
  };
}
