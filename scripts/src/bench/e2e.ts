/**
 * End-to-end latency in an open loop: deliveries are scheduled on a timer at a constant rate
 * and each latency runs from its *scheduled* send time to the moment a long-polling HTTP
 * reader has it, so a slow broker cannot hide latency by slowing the sender (closed loop).
 * The same run is the soak: the gateway's RSS is sampled throughout.
 */
import type { Agent } from "node:http";
import { httpRequest } from "./http.js";
import { type OpenLoopLoad, sendOpenLoop } from "./open-loop.js";

export interface OpenLoopOptions extends OpenLoopLoad {
  readerAgent: Agent;
  token: string;
  /** Deliveries scheduled before this offset are sent but not counted. */
  warmupMs: number;
  /** Called about once a second while the load runs (RSS sampling). */
  onTick?: (elapsedMs: number) => void;
}

export interface OpenLoopResult {
  sent: number;
  accepted: number;
  failed: number;
  received: number;
  /** Latencies (ms) of counted deliveries, in arrival order. */
  latenciesMs: number[];
  /** Counted deliveries not read within 10 s after the last send. */
  lost: number;
  /** Sends that started more than 5 ms after their scheduled time (sender overloaded). */
  lateSends: number;
  seconds: number;
}

const READ_GRACE_MS = 10_000;

export async function openLoop(o: OpenLoopOptions): Promise<OpenLoopResult> {
  const runId = Math.random().toString(16).slice(2, 10);
  const scheduled = new Map<string, number>();
  const latencies: number[] = [];
  let received = 0;
  const t0 = performance.now();
  let senderDone = false;
  /** After the last send the reader waits at most this long for what is still missing. */
  let readerDeadline = Number.POSITIVE_INFINITY;

  const acks = new Set<Promise<void>>();
  const ackFailures: string[] = [];
  const reader = (async () => {
    const auth = { authorization: `Bearer ${o.token}` };
    let idleAfterDone = 0;
    while (!o.signal?.aborted) {
      const res = await httpRequest(o.readerAgent, "GET", `${o.baseUrl}/api/v1/messages?limit=100&wait=2s`, auth);
      const now = performance.now();
      if (res.status !== 200) throw new Error(`reader: GET ${res.status} ${res.body.toString().slice(0, 300)}`);
      const msgs = (JSON.parse(res.body.toString()) as { messages: { id: number; delivery_id: string; ack_token: string }[] }).messages;
      for (const m of msgs) {
        const at = scheduled.get(m.delivery_id);
        if (at === undefined) continue;
        scheduled.delete(m.delivery_id);
        received++;
        if (at - t0 >= o.warmupMs) latencies.push(now - at);
      }
      if (msgs.length > 0) {
        // As a client that keeps up would: ack by token while already polling for the next page.
        const ack = httpRequest(o.readerAgent, "POST", `${o.baseUrl}/api/v1/messages/ack`, { ...auth, "content-type": "application/json" }, JSON.stringify({ ack_tokens: msgs.map((m) => m.ack_token) })).then(
          (r) => {
            if (r.status !== 200) ackFailures.push(`ack ${r.status} ${r.body.toString().slice(0, 300)}`);
          },
          (err: Error) => void ackFailures.push(`ack: ${err.message}`),
        );
        acks.add(ack);
        void ack.finally(() => acks.delete(ack));
      }
      if (senderDone) {
        if (scheduled.size === 0 || performance.now() > readerDeadline) break;
        if (msgs.length === 0 && ++idleAfterDone >= 3) break;
      }
    }
    await Promise.all(acks);
    if (ackFailures.length > 0) throw new Error(`reader: ${ackFailures.length} acks failed, first: ${ackFailures[0]}`);
  })();

  const { sent, accepted, failed, lateSends } = await sendOpenLoop({
    ...o,
    idPrefix: `e2e-${runId}`,
    t0,
    onSend: (id, at) => void scheduled.set(id, at),
    onFailed: (id) => void scheduled.delete(id),
  });
  // Anything not read within the grace is counted as lost (e.g. waiting for an ack-wait redelivery).
  readerDeadline = performance.now() + READ_GRACE_MS;
  senderDone = true;
  await reader;
  const lost = [...scheduled.values()].filter((at) => at - t0 >= o.warmupMs).length;
  return { sent, accepted, failed, received, latenciesMs: latencies, lost, lateSends, seconds: (performance.now() - t0) / 1000 };
}
