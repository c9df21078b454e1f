/**
 * The open-loop sender the latency benches share: deliveries are scheduled on a timer at a
 * constant rate and sent when due whatever the broker's answers take, so a slow broker cannot
 * hide latency by slowing the sender (as a closed loop would).
 */
import type { Agent } from "node:http";
import { httpRequest } from "./http.js";

/** What to send, how fast and for how long. */
export interface OpenLoopLoad {
  agent: Agent;
  baseUrl: string;
  /** e.g. `/webhook/bench/e2e` */
  path: string;
  body: Buffer;
  /** Headers with the signature; the delivery id is added per request. */
  headers: Record<string, string>;
  ratePerSecond: number;
  durationMs: number;
  signal?: AbortSignal;
}

export interface OpenLoopSender {
  /** Delivery ids are `${idPrefix}-${i}`. */
  idPrefix: string;
  /** The schedule's origin (performance.now()): delivery i is due at t0 + i / rate. */
  t0: number;
  /** Called as each delivery is sent, with the time it was due. */
  onSend?: (id: string, dueAt: number) => void;
  onAccepted?: (id: string) => void;
  /** Anything but a 202, or no answer. */
  onFailed?: (id: string) => void;
  /** Called about once a second while the load runs (RSS sampling). */
  onTick?: (elapsedMs: number) => void;
}

export interface OpenLoopSent {
  sent: number;
  accepted: number;
  failed: number;
  /** Sends that started more than 5 ms after their scheduled time (sender overloaded). */
  lateSends: number;
}

/** Sends the load on its schedule; resolves once every request has its answer (or the signal aborted). */
export async function sendOpenLoop(o: OpenLoopLoad & OpenLoopSender): Promise<OpenLoopSent> {
  const counts: OpenLoopSent = { sent: 0, accepted: 0, failed: 0, lateSends: 0 };
  const intervalMs = 1000 / o.ratePerSecond;
  const total = Math.floor((o.durationMs / 1000) * o.ratePerSecond);
  const t0 = o.t0;
  const inflight = new Set<Promise<void>>();

  const send = (i: number, at: number) => {
    const id = `${o.idPrefix}-${i}`;
    o.onSend?.(id, at);
    counts.sent++;
    const failed = () => {
      counts.failed++;
      o.onFailed?.(id);
    };
    const p = httpRequest(o.agent, "POST", o.baseUrl + o.path, { ...o.headers, "x-github-delivery": id }, o.body).then((res) => {
      if (res.status !== 202) return failed();
      counts.accepted++;
      o.onAccepted?.(id);
    }, failed);
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };

  await new Promise<void>((resolve) => {
    let next = 0;
    let lastTick = 0;
    const tick = () => {
      if (o.signal?.aborted) return resolve();
      const now = performance.now();
      while (next < total && t0 + next * intervalMs <= now) {
        const at = t0 + next * intervalMs;
        if (now - at > 5) counts.lateSends++;
        send(next, at);
        next++;
      }
      if (now - t0 - lastTick >= 1000) {
        lastTick = now - t0;
        o.onTick?.(lastTick);
      }
      if (next >= total) return resolve();
      setTimeout(tick, Math.max(0, Math.min(1, t0 + next * intervalMs - now)));
    };
    tick();
  });
  await Promise.allSettled([...inflight]);
  return counts;
}
