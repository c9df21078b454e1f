import { BlockList, isIP } from "node:net";
import type { Context, MiddlewareHandler } from "hono";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { AppEnv } from "../../env.js";

/**
 * The proxies whose `X-Forwarded-For` the gateway believes (TRUSTED_PROXIES): addresses and
 * CIDR ranges, IPv4 and IPv6. Empty = none: the header is ignored and the client address is the
 * TCP peer.
 */
export interface TrustedProxies {
  /** The ranges as written (normalized), for logs and error messages. */
  readonly ranges: readonly string[];
  has(address: string): boolean;
}

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) is `10.0.0.1`. */
function normalize(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

/**
 * Parses TRUSTED_PROXIES: a comma- or space-separated list of addresses (`10.0.0.5`, `::1`) and
 * CIDR ranges (`10.0.0.0/8`, `fd00::/8`). Throws one error naming every entry it cannot read.
 */
export function parseTrustedProxies(text: string | undefined): TrustedProxies {
  const list = new BlockList();
  const ranges: string[] = [];
  const bad: string[] = [];
  for (const entry of (text ?? "").split(/[\s,]+/).filter(Boolean)) {
    const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(entry);
    const address = m ? normalize(m[1]!) : "";
    const family = isIP(address);
    const bits = m?.[2] === undefined ? (family === 6 ? 128 : 32) : Number(m[2]);
    if (!family || bits > (family === 6 ? 128 : 32)) {
      bad.push(entry);
      continue;
    }
    const type = family === 6 ? "ipv6" : "ipv4";
    list.addSubnet(address, bits, type);
    ranges.push(`${address}/${bits}`);
  }
  if (bad.length) {
    throw new Error(`not an IP address or CIDR range: ${bad.join(", ")} (e.g. 10.0.0.0/8, 192.168.1.7, fd00::/8)`);
  }
  return {
    ranges,
    has(address) {
      const a = normalize(address);
      const family = isIP(a);
      return family !== 0 && list.check(a, family === 6 ? "ipv6" : "ipv4");
    },
  };
}

/**
 * The client's address, as a pure function of the TCP peer, the `X-Forwarded-For` values the
 * request carries (every header line, in order) and the trusted proxies.
 *
 * A peer that is not a trusted proxy is the client, whatever the header says (anyone can write
 * it). From a trusted peer, the header's addresses are read from the right (each proxy appends
 * the address it received the request from) and the first one that is not itself a trusted proxy
 * is the client. An entry that is not an address ends the walk: the last trusted hop, which
 * forwarded it, stands for the client. When every entry is a trusted proxy, the leftmost is.
 */
export function resolveClientAddress(peer: string, forwardedFor: readonly string[], trusted: TrustedProxies): string {
  let client = normalize(peer);
  if (!trusted.has(client)) return client;
  const hops = forwardedFor.flatMap((line) => line.split(",")).map((s) => s.trim()).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalize(hops[i]!);
    if (!isIP(hop)) return client;
    client = hop;
    if (!trusted.has(hop)) return client;
  }
  return client;
}

/** The TCP peer's address ("unknown" when not served by node:http, e.g. app.request in a unit test). */
function peerAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    return "unknown";
  }
}

/**
 * Sets the context's `clientAddress` once per request: the TCP peer, or with trusted proxies
 * the address their `X-Forwarded-For` names (see {@link resolveClientAddress}).
 */
export function clientAddressMiddleware(trusted: TrustedProxies): MiddlewareHandler<AppEnv> {
  return async function clientAddressMiddleware(c, next) {
    const peer = peerAddress(c);
    const forwarded = trusted.ranges.length ? (c.req.raw.headers.get("x-forwarded-for") ?? "") : "";
    c.set("clientAddress", forwarded ? resolveClientAddress(peer, [forwarded], trusted) : normalize(peer));
    await next();
  };
}

/** The client address the middleware resolved; the TCP peer where it did not run. */
export function clientAddress(c: Context): string {
  return (c.get("clientAddress") as string | undefined) ?? peerAddress(c);
}
