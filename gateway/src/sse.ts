/**
 * Server-Sent Events framing (https://html.spec.whatwg.org/multipage/server-sent-events.html)
 * and the bookkeeping of one stream's unsettled events. Pure: no I/O, unit-tested.
 */

/**
 * One event. `data` may span lines (a pretty-printed JSON payload): every line becomes a
 * `data:` line, which the client joins back with `\n`. A `\r` or `\r\n` line end comes back as
 * `\n` (the format has no other way to carry one); JSON means the same either way, and
 * `payload=base64` keeps the exact bytes.
 */
export function sseEvent(id: number | undefined, event: string, data: string): string {
  return `${id === undefined ? "" : `id: ${id}\n`}event: ${event}\n${data
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}\n`)
    .join("")}\n`;
}

/** A comment line: ignored by clients, keeps proxies from closing an idle connection. */
export function sseComment(text: string): string {
  return `: ${text.replace(/[\r\n]+/g, " ")}\n\n`;
}

/**
 * The id a reconnecting client says it has seen last (`Last-Event-ID`, or `after_id` where a
 * client cannot set headers). Undefined when neither is given; NaN when what is given is not an id.
 */
export function resumePoint(lastEventId: string | undefined, afterId: number | undefined): number | undefined {
  if (lastEventId !== undefined && lastEventId.trim() !== "") {
    const n = /^\d{1,16}$/.test(lastEventId.trim()) ? Number(lastEventId.trim()) : Number.NaN;
    return Number.isSafeInteger(n) ? n : Number.NaN;
  }
  return afterId;
}

/**
 * The events one stream has taken from the durable and not yet seen settled, by stream
 * sequence: the flow-control window. An entry leaves when the event is settled (by anyone, on
 * any transport), when its ack wait runs out (JetStream then delivers it again, maybe to this
 * stream), or when the stream hands it back.
 */
export class InFlight<T> {
  readonly #entries = new Map<number, { value: T; due: number }>();

  constructor(
    readonly limit: number,
    private readonly ackWaitMs: number,
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  /** How many more events may be taken now. */
  free(now: number): number {
    this.expire(now);
    return Math.max(0, this.limit - this.#entries.size);
  }

  add(seq: number, value: T, now: number): void {
    this.#entries.set(seq, { value, due: now + this.ackWaitMs });
  }

  /** `in_progress` restarts the ack wait. */
  touch(seq: number, now: number): void {
    const e = this.#entries.get(seq);
    if (e) e.due = now + this.ackWaitMs;
  }

  delete(seq: number): boolean {
    return this.#entries.delete(seq);
  }

  has(seq: number): boolean {
    return this.#entries.has(seq);
  }

  /** Drops entries whose ack wait has run out; the earliest remaining due time, if any. */
  expire(now: number): number | undefined {
    let next: number | undefined;
    for (const [seq, e] of this.#entries) {
      if (e.due <= now) this.#entries.delete(seq);
      else if (next === undefined || e.due < next) next = e.due;
    }
    return next;
  }

  /** Empties the window, returning what was in it. */
  takeAll(): T[] {
    const all = [...this.#entries.values()].map((e) => e.value);
    this.#entries.clear();
    return all;
  }
}
