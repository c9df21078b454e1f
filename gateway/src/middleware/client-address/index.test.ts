import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import type { AppEnv } from "../../env.js";
import { loadConfig } from "../../config.js";
import { clientAddress, clientAddressMiddleware, parseTrustedProxies, resolveClientAddress } from "./index.js";

const none = parseTrustedProxies(undefined);
const lb = parseTrustedProxies("10.0.0.0/8, 192.168.1.7 fd00::/8");

describe("parseTrustedProxies", () => {
  it("reads addresses and CIDR ranges, IPv4 and IPv6; empty means none", () => {
    expect(lb.ranges).toEqual(["10.0.0.0/8", "192.168.1.7/32", "fd00::/8"]);
    expect(lb.has("10.200.3.4")).toBe(true);
    expect(lb.has("::ffff:10.200.3.4")).toBe(true);
    expect(lb.has("192.168.1.7")).toBe(true);
    expect(lb.has("192.168.1.8")).toBe(false);
    expect(lb.has("fd12::1")).toBe(true);
    expect(lb.has("fe80::1")).toBe(false);
    expect(lb.has("not an address")).toBe(false);
    expect(parseTrustedProxies("").ranges).toEqual([]);
    expect(none.has("127.0.0.1")).toBe(false);
  });

  it("names every entry it cannot read", () => {
    expect(() => parseTrustedProxies("10.0.0.0/8, 10.0.0.0/33, example.com, ::1/129")).toThrow(
      "not an IP address or CIDR range: 10.0.0.0/33, example.com, ::1/129",
    );
  });

  it("is a validated setting: a bad TRUSTED_PROXIES refuses to start, unset or empty means none", () => {
    const env = { NATS_URL: "nats://x", DATABASE_URL: "postgres://x", SECRET_KEY: Buffer.alloc(32, 7).toString("base64") };
    expect(loadConfig(env).TRUSTED_PROXIES).toBeUndefined();
    expect(loadConfig({ ...env, TRUSTED_PROXIES: "" }).TRUSTED_PROXIES).toBeUndefined();
    expect(loadConfig({ ...env, TRUSTED_PROXIES: "10.0.0.0/8" }).TRUSTED_PROXIES).toBe("10.0.0.0/8");
    expect(() => loadConfig({ ...env, TRUSTED_PROXIES: "10.0.0.0/8,lb" })).toThrow(/TRUSTED_PROXIES: not an IP address or CIDR range: lb/);
  });
});

describe("resolveClientAddress", () => {
  it("ignores the header from a peer that is not a trusted proxy (anyone can write it)", () => {
    expect(resolveClientAddress("203.0.113.9", ["198.51.100.1"], lb)).toBe("203.0.113.9");
    expect(resolveClientAddress("10.0.0.2", ["198.51.100.1"], none)).toBe("10.0.0.2");
  });

  it("takes the address the trusted proxy saw (the rightmost entry)", () => {
    expect(resolveClientAddress("10.0.0.2", ["198.51.100.1"], lb)).toBe("198.51.100.1");
    expect(resolveClientAddress("::ffff:10.0.0.2", ["198.51.100.1"], lb)).toBe("198.51.100.1");
  });

  it("skips trusted hops from the right; a spoofed entry left of the real client is not believed", () => {
    // client 198.51.100.1 wrote "1.2.3.4" himself; the edge proxy 192.168.1.7 and the balancer 10.0.0.2 appended.
    expect(resolveClientAddress("10.0.0.2", ["1.2.3.4, 198.51.100.1, 192.168.1.7"], lb)).toBe("198.51.100.1");
    // one header line per proxy reads the same as one joined line
    expect(resolveClientAddress("10.0.0.2", ["1.2.3.4", "198.51.100.1", "192.168.1.7"], lb)).toBe("198.51.100.1");
  });

  it("with every entry trusted, the leftmost; with an unreadable entry, the trusted hop that forwarded it", () => {
    expect(resolveClientAddress("10.0.0.2", ["10.9.9.9, 10.0.0.3"], lb)).toBe("10.9.9.9");
    expect(resolveClientAddress("10.0.0.2", ["198.51.100.1, unknown, 10.0.0.3"], lb)).toBe("10.0.0.3");
    expect(resolveClientAddress("10.0.0.2", ["garbage"], lb)).toBe("10.0.0.2");
    expect(resolveClientAddress("10.0.0.2", [], lb)).toBe("10.0.0.2");
    expect(resolveClientAddress("10.0.0.2", [" , "], lb)).toBe("10.0.0.2");
  });
});

describe("clientAddressMiddleware", () => {
  const app = (trusted: string | undefined) => {
    const a = new Hono<AppEnv>();
    a.use(clientAddressMiddleware(parseTrustedProxies(trusted)));
    a.get("/", (c) => c.text(clientAddress(c)));
    return a;
  };
  // What @hono/node-server passes as the env: the Node request, whose socket is the TCP peer.
  const from = (peer: string) => ({ incoming: { socket: { remoteAddress: peer, remotePort: 5000, remoteFamily: "IPv4" } } });
  const get = async (a: Hono<AppEnv>, peer: string, xff?: string) =>
    (await a.request("/", { headers: xff ? { "x-forwarded-for": xff } : {} }, from(peer))).text();

  it("unset: the TCP peer, whatever X-Forwarded-For says; set: the address the trusted balancer forwarded", async () => {
    expect(await get(app(undefined), "10.0.0.2", "198.51.100.1")).toBe("10.0.0.2");
    expect(await get(app("10.0.0.0/8"), "10.0.0.2", "198.51.100.1")).toBe("198.51.100.1");
    expect(await get(app("10.0.0.0/8"), "203.0.113.9", "198.51.100.1")).toBe("203.0.113.9");
    expect(await get(app("10.0.0.0/8"), "10.0.0.2")).toBe("10.0.0.2");
  });
});
