/** The load of a fault run: a sender at a fixed rate and a reader that pulls and acks, both writing the ledger. */
import { connect as netConnect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { Ledger } from "./ledger.js";
import type { Rig } from "./rig.js";

const REQUEST_TIMEOUT_MS = 20_000;

async function call(url: string, init: RequestInit): Promise<{ status: number; retryAfter: string | null; body: any }> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const text = await res.text();
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, retryAfter: res.headers.get("retry-after"), body };
  } catch {
    return { status: 0, retryAfter: null, body: undefined };
  }
}

export interface Running {
  /** Stops starting new work and resolves when what is in flight has answered. */
  stop(): Promise<void>;
}

/** Sends `rate` deliveries per second (ids `<prefix>-<n>`), each answer in the ledger. */
export function startSender(rig: Rig, ledger: Ledger, rate: number, prefix: string): Running {
  let stopped = false;
  const inFlight = new Set<Promise<void>>();
  let n = 0;
  const loop = (async () => {
    const start = Date.now();
    while (!stopped) {
      const due = start + (n * 1000) / rate;
      if (due > Date.now()) await sleep(due - Date.now());
      if (stopped) break;
      const deliveryId = `${prefix}-${n++}`;
      const { url, init } = rig.signed(deliveryId);
      const at = Date.now();
      const p = call(url, init).then((r) => {
        ledger.sent.push({ deliveryId, at, status: r.status, seq: r.status === 202 ? r.body?.id : undefined, ms: Date.now() - at });
        ledger.answer({ kind: "ingest", at, status: r.status, retryAfter: r.retryAfter, code: r.body?.error?.code });
      });
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      // A sender holds at most this many requests open (an outage must not pile up thousands).
      if (inFlight.size >= 64) await Promise.race(inFlight);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await Promise.all(inFlight);
    },
  };
}

/** Pulls and acks by token until stopped; `paused()` holds it (a reader that is away). */
export function startReader(rig: Rig, ledger: Ledger, paused: () => boolean = () => false): Running {
  let stopped = false;
  const auth = { authorization: `Bearer ${rig.token}` };
  const loop = (async () => {
    while (!stopped) {
      if (paused()) {
        await sleep(100);
        continue;
      }
      const at = Date.now();
      const page = await call(`${rig.url}/api/v1/messages?limit=100&wait=1s`, { headers: auth });
      ledger.answer({ kind: "pull", at, status: page.status, retryAfter: page.retryAfter, code: page.body?.error?.code });
      if (page.status !== 200) {
        await sleep(200);
        continue;
      }
      const messages: { id: number; delivery_count: number; ack_token: string; delivery_id: string }[] = page.body.messages;
      for (const m of messages) ledger.read(m.id, m.delivery_count, m.delivery_id);
      if (messages.length === 0) continue;
      for (;;) {
        const ackAt = Date.now();
        const ack = await call(`${rig.url}/api/v1/messages/ack`, {
          method: "POST",
          headers: { ...auth, "content-type": "application/json" },
          body: JSON.stringify({ ack_tokens: messages.map((m) => m.ack_token) }),
        });
        ledger.answer({ kind: "ack", at: ackAt, status: ack.status, retryAfter: ack.retryAfter, code: ack.body?.error?.code });
        if (ack.status === 200) {
          const now = Date.now();
          for (const id of ack.body.acked as number[]) ledger.ackedAt.set(id, now);
          break;
        }
        // Unconfirmed: send the same ack again (harmless twice) until the ack wait would hand them out again.
        if (stopped || Date.now() - at > 20_000) break;
        await sleep(200);
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/**
 * Slowloris: `count` connections that send a request's headers one byte at a time, never
 * finishing. Resolves the stopper with how many the gateway cut off (408 or closed) and how fast.
 */
export function startSlowClients(rig: Rig, count: number, byteEveryMs: number): { stop(): Promise<{ cut: number; total: number; cutAfterMs: number[] }> } {
  const port = Number(new URL(rig.url).port);
  const sockets: { socket: Socket; openedAt: number; cutAt?: number }[] = [];
  const head = `POST /webhook/${rig.endpoint.path} HTTP/1.1\r\nHost: x\r\nX-Slow: ${"a".repeat(4096)}`;
  for (let i = 0; i < count; i++) {
    const socket = netConnect(port, "127.0.0.1");
    const entry: (typeof sockets)[number] = { socket, openedAt: Date.now() };
    sockets.push(entry);
    socket.on("error", () => {});
    socket.on("close", () => (entry.cutAt ??= Date.now()));
    let i2 = 0;
    const timer = setInterval(() => {
      if (socket.destroyed) return clearInterval(timer);
      socket.write(head[i2++ % head.length]!);
    }, byteEveryMs);
    socket.on("close", () => clearInterval(timer));
  }
  return {
    async stop() {
      const cut = sockets.filter((s) => s.cutAt !== undefined);
      const out = { cut: cut.length, total: sockets.length, cutAfterMs: cut.map((s) => s.cutAt! - s.openedAt) };
      for (const s of sockets) s.socket.destroy();
      return out;
    },
  };
}
