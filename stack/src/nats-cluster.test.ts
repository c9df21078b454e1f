import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testStack } from "@wb/test-support";
import { startNatsCluster, type NatsCluster } from "./nats-cluster.js";

const stack = testStack();
let scratch: string;
let cluster: NatsCluster;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "wb-cluster-test-"));
  cluster = await startNatsCluster({ binary: stack.natsServerBin, dir: scratch, monitoring: true });
});
afterAll(async () => {
  await cluster?.stop();
  await rm(scratch, { recursive: true, force: true });
});

describe("startNatsCluster", () => {
  it("starts three routed JetStream nodes; an R3 stream keeps taking writes with one node killed, and the node catches up", async () => {
    expect(cluster.nodes.map((n) => n.url)).toHaveLength(3);
    const route = await fetch(`${cluster.nodes[0]!.monitorUrl}/routez`).then((r) => r.json() as Promise<{ num_routes: number }>);
    expect(route.num_routes).toBeGreaterThanOrEqual(2);

    const nc = await connect({ servers: cluster.url.split(","), user: cluster.users.admin.user, pass: cluster.users.admin.password });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: "R3TEST", subjects: ["r3test.>"], num_replicas: 3 });
      const js = jetstream(nc);
      expect((await js.publish("r3test.a", "1")).seq).toBe(1);

      const victim = cluster.nodes.find((n) => n.url !== `nats://${nc.getServer()}`)!;
      await victim.kill();
      // If the victim led the stream, the others elect a new leader first (no responders meanwhile).
      await expect.poll(() => js.publish("r3test.a", "2", { msgID: "m2" }).then((a) => a.seq, () => 0), { timeout: 15_000 }).toBe(2);
      await victim.start();
      await expect
        .poll(async () => {
          const info = await jsm.streams.info("R3TEST");
          return [info.state.messages, info.cluster?.replicas?.filter((r) => r.current).length];
        }, { timeout: 20_000 })
        .toEqual([2, 2]);
    } finally {
      await nc.close();
    }
  });
});
