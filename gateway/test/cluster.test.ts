/**
 * The broker on a three-node JetStream cluster (issue 15), without Docker: three real
 * nats-servers with routes (the same rendered config as a single node, plus a cluster block),
 * the stream at R3, two gateways on different nodes, the auth callout on node 1.
 *
 * A ledger records every delivery id a sender posted and what it got. The stream's leader is
 * SIGKILLed mid-ingest and started again; afterwards every delivery that got a 202 is read
 * exactly once (and acked) through both gateways. A user connected straight to a node the
 * callout is not connected to is still kicked within the revocation bound.
 */
import { randomUUID } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { REVOCATION_BOUND_MS } from "@wb/authz";
import type { RunningGateway } from "@wb/gateway";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ack, bearer, callApi, expectAllAcked, postGithub, pull, startTestBroker, type TestBroker } from "@wb/test-support";

type NatsServer = NonNullable<TestBroker["cluster"]>["nodes"][number];

let broker: TestBroker;
let gatewayB: RunningGateway;
let nodes: NatsServer[];

beforeAll(async () => {
  broker = await startTestBroker({ STREAM_REPLICAS: "3", ACK_WAIT: "5s" }, { callout: true, cluster: true });
  nodes = broker.cluster!.nodes;
  // Gateway A (broker.url) and the callout start on node 1; gateway B on node 2.
  gatewayB = await broker.anotherGateway({ NATS_URL: nodes[1]!.url });
}, 120_000);
afterAll(async () => {
  await gatewayB?.close();
  await broker?.close();
});

/** The server name a node's monitoring port reports. */
const serverName = async (node: NatsServer) => ((await (await fetch(`${node.monitorUrl}/varz`)).json()) as { server_name: string }).server_name;

/** How long a sender waits before retrying after `res`: its Retry-After in seconds, at most 1 s (1 s without one). */
const retryDelayMs = (res: Response | undefined) => {
  const seconds = Number(res?.headers.get("retry-after") ?? Number.NaN);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds, 1) * 1000 : 1000;
};

/** The node whose connz lists a connection named `name` (the callout's, the gateways'). */
async function nodeWith(connectionName: string): Promise<NatsServer[]> {
  const found: NatsServer[] = [];
  for (const node of nodes) {
    if (!node.pid) continue;
    const connz = (await (await fetch(`${node.monitorUrl}/connz?limit=1000`)).json()) as { connections?: { name?: string }[] };
    if ((connz.connections ?? []).some((c) => c.name === connectionName)) found.push(node);
  }
  return found;
}

describe("a three-node cluster, R3", () => {
  it("creates the stream with three replicas", async () => {
    const info = await jetstreamManager(await broker.admin()).then((jsm) => jsm.streams.info(broker.config.STREAM_NAME));
    expect(info.config.num_replicas).toBe(3);
    expect([info.cluster?.leader, ...(info.cluster?.replicas ?? []).map((r) => r.name)].sort()).toEqual(["wb-1", "wb-2", "wb-3"]);
  });

  it("loses nothing it answered 202 for when the stream's leader is SIGKILLed mid-ingest and restarted; both gateways keep serving", async () => {
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    const gateways = [broker.url, gatewayB.url];
    const total = 240;
    /** delivery id → the stored id of the 202, or the last status when the sender gave up. */
    const ledger = new Map<string, { status: number; id?: number; attempts: number }>();
    const deliveryIds = Array.from({ length: total }, () => randomUUID());
    let done = 0;
    let killed: NatsServer | undefined;
    let restarted: Promise<void> | undefined;

    // A sender as the README asks senders to be: on anything but a 202 it retries the same
    // delivery id after the answer's Retry-After (capped at 1 s to keep the test short; 1 s too
    // when there was no answer or no Retry-After), up to 40 times.
    const send = async (i: number) => {
      const deliveryId = deliveryIds[i]!;
      const entry = { status: 0, attempts: 0 } as { status: number; id?: number; attempts: number };
      ledger.set(deliveryId, entry);
      while (entry.attempts < 40) {
        entry.attempts++;
        const res = await postGithub(`${gateways[(i + entry.attempts) % 2]}/webhook/${ep.path}`, { secret: ep.secret, deliveryId }).catch(() => undefined);
        entry.status = res?.status ?? 0;
        if (res?.status === 202) {
          entry.id = ((await res.json()) as { id: number }).id;
          break;
        }
        await res?.body?.cancel();
        await new Promise((r) => setTimeout(r, retryDelayMs(res)));
      }
      done++;
      if (done === 60 && !killed) {
        const info = await jetstreamManager(await broker.admin()).then((jsm) => jsm.streams.info(broker.config.STREAM_NAME));
        const leader = info.cluster?.leader;
        for (const n of nodes) if ((await serverName(n)) === leader) killed = n;
        await killed!.kill();
      }
      if (done === 150 && killed && !restarted) restarted = killed.start();
    };
    const queue = deliveryIds.map((_, i) => i);
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = queue.shift(); i !== undefined; i = queue.shift()) await send(i);
      }),
    );
    expect(killed, "the leader was killed mid-ingest").toBeDefined();
    await restarted;

    const accepted = [...ledger].filter(([, e]) => e.status === 202);
    const retried = [...ledger].filter(([, e]) => e.attempts > 1).length;
    console.info(`[cluster] ${accepted.length}/${total} accepted; ${retried} needed a retry while the leader (${await serverName(killed!)}) was down`);
    expect(accepted).toHaveLength(total);

    // Read everything back, alternating the gateways, acking each page where it was read.
    const read = new Map<string, number[]>();
    await vi.waitFor(
      async () => {
        for (const url of gateways) {
          const page = await pull(url, u.token, "limit=100&wait=1s");
          expect(page.status, JSON.stringify(page.body)).toBe(200);
          for (const m of page.body.messages) read.set(m.delivery_id, [...(read.get(m.delivery_id) ?? []), m.id]);
          if (page.body.messages.length) expect((await ack(url, u.token, page.body.messages.map((m: { id: number }) => m.id))).status).toBe(200);
        }
        expect(read.size).toBeGreaterThanOrEqual(total);
      },
      { timeout: 60_000, interval: 100 },
    );
    await expectAllAcked(broker.url, u.token);
    // Exactly once: each delivery id read once, as the message the 202 named; nothing else.
    for (const [deliveryId, entry] of accepted) expect(read.get(deliveryId), deliveryId).toEqual([entry.id]);
    expect(read.size).toBe(total);
    // And nothing comes back on either gateway (ACK_WAIT is 5 s; a pull that waits past it would see a redelivery).
    for (const url of gateways) expect((await pull(url, u.token, "limit=100&wait=6s")).body.messages).toEqual([]);
  }, 240_000);

  it("rides out a leader election: deliveries posted while the stream has no leader get their 202 once one is elected, each stored once", async () => {
    const jsm = await jetstreamManager(await broker.admin());
    // All three replicas current again (the previous test restarted one) before the next kill.
    await vi.waitFor(
      async () => {
        const c = (await jsm.streams.info(broker.config.STREAM_NAME)).cluster;
        expect(c?.leader).toBeTruthy();
        expect((c?.replicas ?? []).filter((r) => r.current && !r.offline)).toHaveLength(2);
      },
      { timeout: 60_000, interval: 250 },
    );
    const leaderName = (await jsm.streams.info(broker.config.STREAM_NAME)).cluster!.leader!;
    let leader: NatsServer | undefined;
    for (const n of nodes) if ((await serverName(n)) === leaderName) leader = n;
    // A gateway on a node that stays up: its connection never drops, only the stream's leader goes.
    // PUBLISH_TIMEOUT above nats-server's election time (its Raft waits 4 to 9 s for a heartbeat).
    const follower = nodes.find((n) => n !== leader)!;
    const gateway = await broker.anotherGateway({ NATS_URL: follower.url, PUBLISH_TIMEOUT: "20s" });
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    try {
      // Senders that do not retry: whatever the gateway answers first is what they keep.
      const answers = new Map<string, { status: number; id?: number; ms: number }>();
      const post = async () => {
        const deliveryId = randomUUID();
        const t0 = Date.now();
        const res = await postGithub(`${gateway.url}/webhook/${ep.path}`, { secret: ep.secret, deliveryId });
        const body = (await res.json()) as { id?: number };
        answers.set(deliveryId, { status: res.status, id: body.id, ms: Date.now() - t0 });
      };
      for (let i = 0; i < 10; i++) await post();
      await leader!.kill();
      const killedAt = Date.now();
      // Posted while there is no leader, until one is elected and a little after.
      const during = Promise.all(Array.from({ length: 6 }, async () => {
        while (Date.now() - killedAt < 2_000) await post();
      }));
      await vi.waitFor(async () => {
        const now = (await jsm.streams.info(broker.config.STREAM_NAME)).cluster?.leader;
        expect(now && now !== leaderName).toBeTruthy();
      }, { timeout: 30_000, interval: 200 });
      const electedAfter = Date.now() - killedAt;
      await during;
      for (let i = 0; i < 10; i++) await post();
      const slowest = Math.max(...[...answers.values()].map((a) => a.ms));
      console.info(`[cluster] leader ${leaderName} killed: new leader after ${electedAfter} ms; ${answers.size} deliveries, the slowest 202 took ${slowest} ms`);

      expect([...answers.values()].filter((a) => a.status !== 202)).toEqual([]);
      // The publishes the gateway sent again were deduplicated by delivery id: each is stored once.
      const read = new Map<string, number[]>();
      await vi.waitFor(
        async () => {
          const page = await pull(gateway.url, u.token, "limit=100&wait=1s");
          expect(page.status, JSON.stringify(page.body)).toBe(200);
          for (const m of page.body.messages) read.set(m.delivery_id, [...(read.get(m.delivery_id) ?? []), m.id]);
          if (page.body.messages.length) expect((await ack(gateway.url, u.token, page.body.messages.map((m: { id: number }) => m.id))).status).toBe(200);
          expect(read.size).toBeGreaterThanOrEqual(answers.size);
        },
        { timeout: 60_000, interval: 100 },
      );
      for (const [deliveryId, a] of answers) expect(read.get(deliveryId), deliveryId).toEqual([a.id]);
      expect(read.size).toBe(answers.size);
    } finally {
      await gateway.close();
      if (leader && !leader.pid) await leader.start();
    }
  }, 180_000);

  it(`kicks a user connected to a node without the callout within ${REVOCATION_BOUND_MS} ms of revoking his token; his other token stays`, async () => {
    const calloutNodes = await nodeWith("wb-auth-callout");
    expect(calloutNodes).toHaveLength(1);
    const elsewhere = nodes.find((n) => n !== calloutNodes[0] && n.pid)!;
    const u = await broker.user();
    const me = (await callApi(broker.url, u.token, "GET", "/me")).body as { nats: { inbox_prefix: string } };
    const made = await callApi(broker.url, u.token, "POST", "/tokens", { name: `laptop-${randomUUID().slice(0, 8)}` });
    expect(made.status).toBe(201);
    const second = made.body as { id: string; token: string };
    const doomed = await connect({ servers: elsewhere.url, token: second.token, inboxPrefix: me.nats.inbox_prefix, reconnect: false });
    const control = await connect({ servers: elsewhere.url, token: u.token, inboxPrefix: me.nats.inbox_prefix, reconnect: false });
    try {
      const where = doomed.info?.server_name;
      expect(where).toBe(await serverName(elsewhere));
      const t0 = Date.now();
      // Revoked through the other gateway than the callout's node's: the announcement crosses the cluster.
      expect((await fetch(`${gatewayB.url}/api/v1/tokens/${second.id}`, { method: "DELETE", headers: bearer(u.token) })).status).toBe(204);
      await vi.waitFor(() => expect(doomed.isClosed()).toBe(true), { timeout: REVOCATION_BOUND_MS, interval: 50 });
      console.info(`[cluster] token revoked: connection on ${where} closed ${Date.now() - t0} ms after the DELETE (callout on ${await serverName(calloutNodes[0]!)})`);
      await control.flush();
      expect(control.isClosed()).toBe(false);
    } finally {
      await Promise.allSettled([doomed.close(), control.close()]);
    }
  });
});
