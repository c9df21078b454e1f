/**
 * SSE latency in an open loop (issue 14): deliveries scheduled on a timer at a constant rate;
 * each latency runs from the moment the sender has its 202 to the moment the event is read from
 * `GET /api/v1/messages/stream` (ack=auto) by a reader that keeps one stream open. An event
 * that arrives before its 202 counts as 0 ms.
 */
import { request } from "node:http";
import { type OpenLoopLoad, sendOpenLoop } from "./open-loop.js";

export interface SseLatencyOptions extends OpenLoopLoad {
  token: string;
  /** The reader's consumer (created with start "new" by the caller). */
  consumer: string;
  warmupMs: number;
}

export interface SseLatencyResult {
  sent: number;
  accepted: number;
  failed: number;
  latenciesMs: number[];
  /** Counted deliveries whose event did not arrive within 10 s after the last send. */
  lost: number;
  seconds: number;
}

const READ_GRACE_MS = 10_000;

export async function sseLatency(o: SseLatencyOptions): Promise<SseLatencyResult> {
  const runId = Math.random().toString(16).slice(2, 10);
  const acceptedAt = new Map<string, number>();
  const arrivedAt = new Map<string, number>();
  const counted = new Set<string>();
  const latencies: number[] = [];
  const settle = (id: string) => {
    const a = acceptedAt.get(id);
    const e = arrivedAt.get(id);
    if (a === undefined || e === undefined) return;
    if (counted.has(id)) latencies.push(Math.max(0, e - a));
    acceptedAt.delete(id);
    arrivedAt.delete(id);
    counted.delete(id);
  };

  // The reader: one stream, parsed as it arrives; the delivery id is in each event's JSON.
  const stream = await new Promise<import("node:http").IncomingMessage>((resolve, reject) => {
    const u = new URL(`${o.baseUrl}/api/v1/messages/stream?ack=auto&max_in_flight=1000&consumer=${o.consumer}`);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname + u.search, headers: { authorization: `Bearer ${o.token}` } }, resolve);
    req.on("error", reject);
    req.end();
  });
  if (stream.statusCode !== 200) throw new Error(`SSE reader: ${stream.statusCode}`);
  let buffer = "";
  let received = 0;
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    const now = performance.now();
    buffer += chunk;
    let end: number;
    // biome-ignore lint/suspicious/noAssignInExpressions: the usual block loop
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const m = /"delivery_id":"([^"]+)"/.exec(block);
      if (!m || !block.includes("event: message")) continue;
      received++;
      arrivedAt.set(m[1]!, now);
      settle(m[1]!);
    }
  });

  const t0 = performance.now();
  const { sent, accepted, failed } = await sendOpenLoop({
    ...o,
    idPrefix: `sse-${runId}`,
    t0,
    onSend: (id, at) => {
      if (at - t0 >= o.warmupMs) counted.add(id);
    },
    onAccepted: (id) => {
      acceptedAt.set(id, performance.now());
      settle(id);
    },
    onFailed: (id) => void counted.delete(id),
  });
  const deadline = performance.now() + READ_GRACE_MS;
  while (received < accepted && performance.now() < deadline && !o.signal?.aborted) await new Promise((r) => setTimeout(r, 50));
  stream.destroy();
  const lost = [...counted].filter((id) => acceptedAt.has(id)).length;
  return { sent, accepted, failed, latenciesMs: latencies, lost, seconds: (performance.now() - t0) / 1000 };
}
