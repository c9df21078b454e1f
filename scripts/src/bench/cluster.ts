/**
 * Three local nats-servers with routes, for the bench's replicated (R3) rows: the same cluster
 * the tests run (startNatsCluster: each node the broker's generated config, `sync_interval:
 * always`, plus a `cluster {}` block), resolved once every node is healthy (JetStream meta
 * leader elected).
 */
import { startNatsCluster } from "@wb/stack";

export interface BenchCluster {
  /** Every node's client URL, node 1 first. */
  urls: string[];
  pids: number[];
  users: { gateway: { user: string; password: string }; admin: { user: string; password: string } };
  stop(): Promise<void>;
}

export async function startBenchCluster(binary: string, dir: string, size = 3): Promise<BenchCluster> {
  const cluster = await startNatsCluster({ binary, dir, size, name: "bench" });
  return {
    urls: cluster.nodes.map((n) => n.url),
    pids: cluster.nodes.map((n) => n.pid!),
    users: cluster.users,
    stop: () => cluster.stop(),
  };
}
