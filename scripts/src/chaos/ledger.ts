/**
 * The ledger of a fault run: every delivery sent and the answer it got, every answer of the API
 * during the run, every message read and when it was acked; and the verdict drawn from it
 * against what the stream really holds. Pure apart from the clock: the checks are functions of
 * the ledger and the stored map.
 */
export type Kind = "ingest" | "pull" | "ack";

export interface Answer {
  kind: Kind;
  at: number;
  /** HTTP status, or 0 when no answer came (connection refused or reset: the gateway was down). */
  status: number;
  retryAfter: string | null;
  code?: string;
}

export interface Sent {
  deliveryId: string;
  at: number;
  status: number;
  /** The stream sequence a 202 named. */
  seq?: number;
  /** How long the answer took. */
  ms: number;
}

export class Ledger {
  readonly sent: Sent[] = [];
  readonly answers: Answer[] = [];
  /** Stream sequence → when its ack was answered 200. */
  readonly ackedAt = new Map<number, number>();
  readonly reads: { seq: number; at: number; deliveryCount: number; deliveryId: string }[] = [];
  /** Reads of a message after its ack had been answered 200. */
  readonly redeliveredAfterAck: { seq: number; ackedAt: number; readAt: number; deliveryCount: number }[] = [];

  answer(a: Answer): void {
    this.answers.push(a);
  }

  read(seq: number, deliveryCount: number, deliveryId: string, at = Date.now()): void {
    this.reads.push({ seq, at, deliveryCount, deliveryId });
    const acked = this.ackedAt.get(seq);
    if (acked !== undefined) this.redeliveredAfterAck.push({ seq, ackedAt: acked, readAt: at, deliveryCount });
  }
}

export interface Verdict {
  sent: number;
  accepted: number;
  /** 2xx answers whose delivery is not in the stream at the sequence named (must be 0). */
  acceptedNotStored: number;
  /** Non-2xx answers whose delivery is in the stream anyway (allowed: the sender retries and gets a duplicate). */
  refusedButStored: number;
  stored: number;
  /** Stored deliveries the reader never had acked by the end (must be 0). */
  unread: number;
  /** Acked (200) deliveries delivered again (a broken promise, after a kill -9 of nats-server too). */
  redeliveredAfterAck: number;
  /** 5xx other than 503, or 503 without Retry-After (must be 0). */
  badAnswers: Answer[];
  /** Per kind: 503s with Retry-After, and attempts that got no answer at all. */
  outage: Record<Kind, { unavailable: number; noAnswer: number; retryAfter: string[] }>;
}

/**
 * Draws the verdict from the ledger and what the stream holds at the end (delivery id →
 * sequence). A delivery the reader read at the sequence its 202 named was stored too, even if
 * it is gone by the end (the purge of acked deliveries removed it).
 */
export function verdict(ledger: Ledger, stored: ReadonlyMap<string, number>): Verdict {
  const accepted = ledger.sent.filter((s) => s.status >= 200 && s.status < 300);
  const readAt = new Map(ledger.reads.map((r) => [r.seq, r.deliveryId]));
  const wasStored = (s: Sent) => stored.get(s.deliveryId) === s.seq || (s.seq !== undefined && readAt.get(s.seq) === s.deliveryId);
  const storedSeqs = new Set(stored.values());
  const outage = {} as Verdict["outage"];
  for (const kind of ["ingest", "pull", "ack"] as const) {
    const mine = ledger.answers.filter((a) => a.kind === kind);
    outage[kind] = {
      unavailable: mine.filter((a) => a.status === 503 && a.retryAfter).length,
      noAnswer: mine.filter((a) => a.status === 0).length,
      retryAfter: [...new Set(mine.filter((a) => a.status === 503).map((a) => a.retryAfter ?? "none"))],
    };
  }
  return {
    sent: ledger.sent.length,
    accepted: accepted.length,
    acceptedNotStored: accepted.filter((s) => !wasStored(s)).length,
    refusedButStored: ledger.sent.filter((s) => (s.status < 200 || s.status >= 300) && stored.has(s.deliveryId)).length,
    stored: stored.size,
    unread: [...storedSeqs].filter((seq) => !ledger.ackedAt.has(seq)).length,
    redeliveredAfterAck: ledger.redeliveredAfterAck.length,
    badAnswers: ledger.answers.filter((a) => (a.status >= 500 && a.status !== 503) || (a.status === 503 && !a.retryAfter)),
    outage,
  };
}

/**
 * The promises of the README, as failures (empty: kept). A redelivery after a 200 ack is one in
 * every scenario, nats-server SIGKILLed included (the settlement journal closes that window).
 */
export function broken(v: Verdict): string[] {
  const out: string[] = [];
  if (v.redeliveredAfterAck > 0) out.push(`${v.redeliveredAfterAck} deliveries acked with 200 were delivered again`);
  if (v.acceptedNotStored > 0) out.push(`${v.acceptedNotStored} deliveries answered 2xx are not stored`);
  if (v.unread > 0) out.push(`${v.unread} stored deliveries were never read and acked`);
  if (v.badAnswers.length > 0) out.push(`${v.badAnswers.length} answers were 5xx other than 503 + Retry-After (${[...new Set(v.badAnswers.map((a) => `${a.kind} ${a.status}`))].join(", ")})`);
  return out;
}
