/**
 * The settlement journal's pure parts: what one entry says, how it is written, and the window of
 * entries a gateway holds after (re)connecting to nats-server. The I/O is in nats/settled-journal.ts;
 * the README ("Settling messages") says why the journal exists.
 */

/** The settlements that are journaled: those after which a message must never come back. */
export type JournaledOp = "ack" | "term";

export interface JournalEntry {
  op: JournaledOp;
  /**
   * When the durable was created (its ConsumerInfo `created`): a rewind or recreate deletes and
   * creates it again under the same name, and must deliver its old messages again.
   */
  created: string;
  /** Stream sequences (message ids) settled by one request. */
  seqs: number[];
}

/** The journal stream of a main stream. */
export function journalStreamName(stream: string): string {
  return `${stream}_SETTLED`;
}

/** The journal's subjects: one per durable, under a root of its own (never the main stream's `wh.>`). */
export function journalSubject(stream: string, durable: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(durable)) throw new RangeError(`not a durable name: ${durable}`);
  return `wb_settled.${stream}.${durable}`;
}

export function journalSubjects(stream: string): string[] {
  return [`wb_settled.${stream}.>`];
}

/** The durable a journal subject names, or undefined when it is not one of `stream`'s. */
export function durableOfJournalSubject(stream: string, subject: string): string | undefined {
  const prefix = `wb_settled.${stream}.`;
  if (!subject.startsWith(prefix)) return undefined;
  const durable = subject.slice(prefix.length);
  return /^[A-Za-z0-9_-]+$/.test(durable) ? durable : undefined;
}

export function encodeEntry(e: JournalEntry): string {
  return JSON.stringify({ op: e.op, created: e.created, seqs: e.seqs });
}

/** The entry in `text`, or undefined when it is not one (an entry is never trusted blindly). */
export function decodeEntry(text: string): JournalEntry | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null) return undefined;
  const { op, created, seqs } = v as Record<string, unknown>;
  if (op !== "ack" && op !== "term") return undefined;
  if (typeof created !== "string" || !Array.isArray(seqs)) return undefined;
  if (!seqs.every((s) => Number.isSafeInteger(s) && (s as number) > 0)) return undefined;
  return { op, created, seqs: seqs as number[] };
}

/** What the window knows of one settled delivery. */
export interface Settled {
  op: JournaledOp;
  created: string;
}

/**
 * The journal entries loaded after a (re)connect, per durable and sequence, each kept until
 * `until` (epoch ms). A later entry of the same delivery replaces an earlier one (a term after an
 * ack cannot happen; an ack of a recreated durable's message can).
 */
export class SettledWindow {
  readonly #byDurable = new Map<string, Map<number, Settled & { until: number }>>();
  #size = 0;

  add(durable: string, e: JournalEntry, until: number): void {
    let m = this.#byDurable.get(durable);
    if (!m) {
      m = new Map();
      this.#byDurable.set(durable, m);
    }
    for (const seq of e.seqs) {
      if (!m.has(seq)) this.#size++;
      m.set(seq, { op: e.op, created: e.created, until });
    }
  }

  /** The settlement journaled for (durable, seq), if any and not expired at `now`. */
  lookup(durable: string, seq: number, now: number): Settled | undefined {
    if (this.#size === 0) return undefined;
    const s = this.#byDurable.get(durable)?.get(seq);
    if (!s || s.until <= now) return undefined;
    return { op: s.op, created: s.created };
  }

  /** Forgets one durable's entries (it was recreated: its old settlements no longer apply). */
  drop(durable: string): void {
    const m = this.#byDurable.get(durable);
    if (!m) return;
    this.#size -= m.size;
    this.#byDurable.delete(durable);
  }

  /** Forgets what expired by `now`. */
  prune(now: number): void {
    for (const [durable, m] of this.#byDurable) {
      for (const [seq, s] of m) {
        if (s.until <= now) {
          m.delete(seq);
          this.#size--;
        }
      }
      if (m.size === 0) this.#byDurable.delete(durable);
    }
  }

  /** Deliveries held. */
  get size(): number {
    return this.#size;
  }
}

/**
 * Whether a delivery matching a journal entry is the lost-state repeat of that settlement (to be
 * settled again silently) rather than a new delivery of a durable recreated since (to be shown).
 */
export function isRepeat(settled: Settled, durableCreated: string | undefined): boolean {
  return durableCreated !== undefined && settled.created === durableCreated;
}
