/**
 * The headers of a delivered message, read without nats.js's `MsgHdrsImpl.decode`: that one
 * canonicalizes and looks up every key against all earlier ones (quadratic in the number of
 * headers, and each `get` builds an array of every key), which was about a tenth of the gateway's
 * CPU on the bench's HTTP drain (a GitHub delivery carries some twenty headers).
 */
import type { MsgHdrs } from "@nats-io/transport-node";

/** What the pull and stream paths read of a message's headers (nats.js's MsgHdrs has the same methods). */
export interface StoredHeaders {
  /** The first value of exactly this key, or "" when absent. */
  get(k: string): string;
  /** Every key once, in the order first seen. */
  keys(): string[];
  /** Every value of exactly this key, in order. */
  values(k: string): string[];
}

class ParsedHeaders implements StoredHeaders {
  constructor(private readonly map: Map<string, string[]>) {}
  get(k: string): string {
    return this.map.get(k)?.[0] ?? "";
  }
  keys(): string[] {
    return [...this.map.keys()];
  }
  values(k: string): string[] {
    return [...(this.map.get(k) ?? [])];
  }
}

const decoder = new TextDecoder();

/**
 * Parses a NATS header block (`NATS/1.0[ status]\r\nKey: value\r\n...`) as nats.js does:
 * keys exactly as written (no trimming, matched exactly), values trimmed, lines without a colon
 * and the status line skipped. Unlike nats.js it never throws on a key with characters a header
 * name may not have; the broker writes every stored header through nats.js, which refuses those.
 */
export function parseHeaderBlock(raw: Uint8Array): StoredHeaders {
  const map = new Map<string, string[]>();
  const lines = decoder.decode(raw).split("\r\n");
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const k = line.slice(0, colon);
    const v = line.slice(colon + 1).trim();
    const seen = map.get(k);
    if (seen) seen.push(v);
    else map.set(k, [v]);
  }
  return new ParsedHeaders(map);
}

/** nats.js's message internals (MsgImpl, @nats-io/nats-core 3.x): the raw bytes and where the headers end. */
interface RawMsg {
  _rdata?: Uint8Array;
  _msg?: { hdr?: number };
}

/**
 * A message's headers, parsed from its raw header block when nats.js's message exposes it (the
 * same answer as `m.headers`, see parseHeaderBlock), else `m.headers`. Takes a core `Msg` or a
 * JetStream `JsMsg` (whose `msg` is the core message).
 */
export function headersOf(m: { headers?: MsgHdrs }): StoredHeaders | undefined {
  const raw = ((m as { msg?: unknown }).msg ?? m) as RawMsg;
  const hdr = raw._msg?.hdr;
  if (raw._rdata instanceof Uint8Array && typeof hdr === "number") return hdr > -1 ? parseHeaderBlock(raw._rdata.subarray(0, hdr)) : undefined;
  return m.headers;
}
