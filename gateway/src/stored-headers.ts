import { MsgHdrsImpl, type MsgHdrs } from "@nats-io/transport-node";

/** Sender headers never stored: credentials that would let a reader forge deliveries. */
const NOT_STORED = new Set(["authorization", "cookie", "proxy-authorization", "x-gitlab-token", "host", "connection", "transfer-encoding", "content-length"]);

/** Whether a sender's header (lower-case name) is stored with the delivery. */
export function isStoredHeader(name: string): boolean {
  return !NOT_STORED.has(name) && !name.startsWith("nats-") && !name.startsWith("wb-");
}

/**
 * The sender's headers as stored with a delivery, from Node's `rawHeaders` (name, value, name,
 * value...): lower-case names in sorted order, values trimmed, repeated headers joined with
 * ", " (`set-cookie` kept apart), credentials and reserved prefixes left out. That is what a
 * WHATWG `Headers` object iterates, without building one per delivery (the ingest profile showed
 * it); `stored-headers.test.ts` holds the two to the same result.
 */
export function storedHeaders(rawHeaders: readonly string[]): MsgHdrs {
  const joined = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (name.startsWith(":") || !isStoredHeader(name)) continue; // HTTP/2 pseudo-headers are not headers
    const value = rawHeaders[i + 1]!.trim();
    const had = joined.get(name);
    if (!had) joined.set(name, [value]);
    else if (name === "set-cookie") had.push(value);
    else had[0] = `${had[0]}, ${value}`;
  }
  const h = new MsgHdrsImpl();
  for (const name of [...joined.keys()].sort()) h.headers.set(name, joined.get(name)!);
  return h;
}
