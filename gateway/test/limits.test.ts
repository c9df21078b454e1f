import { request } from "node:http";
import { connect as tcpConnect } from "node:net";
import { sign as githubSign } from "@octokit/webhooks-methods";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { bodyCeiling } from "../src/body.js";
import { parseRateLimit } from "../src/config.js";
import { createLogger } from "@wb/authz";
import { startGateway, type RunningGateway } from "../src/gateway.js";
import { startTestBroker, type TestBroker, streamReader, type StreamReader, bearer } from "@wb/test-support";

let broker: TestBroker;
let stream: StreamReader;
let owner: { id: string; token: string };
const extra: RunningGateway[] = [];

beforeAll(async () => {
  broker = await startTestBroker({ RATE_LIMIT_PER_ENDPOINT: "off", RATE_LIMIT_PER_CLIENT: "off" });
  stream = await streamReader(broker);
  owner = await broker.user();
});
afterAll(async () => {
  for (const g of extra) await g.close().catch(() => {});
  await stream?.close();
  await broker?.close();
});

/** A gateway on the same NATS and PostgreSQL with some settings changed. */
async function gatewayWith(over: Partial<typeof broker.config>): Promise<RunningGateway> {
  const g = await startGateway({ ...broker.config, ...over }, createLogger("gateway", { level: "silent" }));
  extra.push(g);
  return g;
}

/**
 * An endpoint `g` serves: `broker.endpoint()` waits only for the gateways the broker started, and
 * `g` learns of it from the same announcement a few ms later (a 404 before that was this file's flake).
 */
async function endpointOn(g: RunningGateway): Promise<{ id: string; path: string; secret: string }> {
  const ep = await broker.endpoint({ userId: owner.id });
  await vi.waitFor(() => expect(g.endpoints.peek(ep.path.split("/"))?.id).toBe(ep.id), { timeout: 10_000, interval: 10 });
  return ep;
}

/** A signed GitHub delivery, sent from a chosen local address (127.0.0.0/8 is all loopback on Linux). */
async function send(url: string, path: string, secret: string, localAddress = "127.0.0.1"): Promise<{ status: number; retryAfter?: string; body: any }> {
  const body = '{"zen":"Keep it logically awesome."}';
  const headers = { "content-type": "application/json", "x-github-event": "ping", "x-github-delivery": randomUUID(), "x-hub-signature-256": await githubSign(secret, body) };
  return new Promise((resolve, reject) => {
    const req = request(`${url}/webhook/${path}`, { method: "POST", headers, localAddress }, (res) => {
      let text = "";
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode!, retryAfter: res.headers["retry-after"] as string | undefined, body: JSON.parse(text) }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("rate limits (per gateway process)", () => {
  it("limits each endpoint on its own: 429 with Retry-After, nothing stored", async () => {
    const g = await gatewayWith({ RATE_LIMIT_PER_ENDPOINT: parseRateLimit("2/m")!, RATE_LIMIT_PER_CLIENT: null });
    const a = await endpointOn(g);
    const b = await endpointOn(g);
    expect((await send(g.url, a.path, a.secret)).status).toBe(202);
    expect((await send(g.url, a.path, a.secret)).status).toBe(202);
    const before = await stream.count();
    const limited = await send(g.url, a.path, a.secret);
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe("rate_limited");
    expect(Number(limited.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(limited.retryAfter)).toBeLessThanOrEqual(30);
    expect(await stream.count()).toBe(before);
    // Another endpoint, and the same endpoint through another gateway, are not limited.
    expect((await send(g.url, b.path, b.secret)).status).toBe(202);
    expect((await send(broker.url, a.path, a.secret)).status).toBe(202);
  });

  it("limits each client address on its own, before any work (404s count too)", async () => {
    const g = await gatewayWith({ RATE_LIMIT_PER_ENDPOINT: null, RATE_LIMIT_PER_CLIENT: parseRateLimit("1/h:3")! });
    const ep = await endpointOn(g);
    expect((await send(g.url, ep.path, ep.secret, "127.0.0.2")).status).toBe(202);
    expect((await send(g.url, "no/such/endpoint", ep.secret, "127.0.0.2")).status).toBe(404);
    expect((await send(g.url, ep.path, ep.secret, "127.0.0.2")).status).toBe(202);
    const limited = await send(g.url, ep.path, ep.secret, "127.0.0.2");
    expect(limited.status).toBe(429);
    expect(Number(limited.retryAfter)).toBeGreaterThan(1000); // one token an hour
    expect((await send(g.url, "no/such/endpoint", ep.secret, "127.0.0.2")).status).toBe(429);
    expect((await send(g.url, ep.path, ep.secret, "127.0.0.3")).status).toBe(202);
    // Only webhook ingest is limited here; the API is behind its own authentication.
    expect((await fetch(`${g.url}/api/v1/endpoints`, { headers: bearer(owner.token) })).status).toBe(200);
  });
});

/** Opens a raw connection, writes `head`, then drips `drip` every `everyMs`; resolves with what came back and when. */
function slowClient(url: string, head: string, drip: string, everyMs: number): Promise<{ ms: number; response: string }> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = tcpConnect(Number(port), "127.0.0.1");
    let response = "";
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      clearInterval(timer);
      resolve({ ms: Date.now() - started, response });
    };
    socket.on("connect", () => {
      socket.write(head);
      timer = setInterval(() => socket.writable && socket.write(drip), everyMs);
    });
    socket.on("data", (d) => (response += d));
    socket.on("close", done);
    socket.on("error", () => {});
    // A guard so a broken server fails the test instead of hanging it.
    setTimeout(() => socket.destroy(), 10_000).unref();
  });
}

describe("slow clients", () => {
  let g: RunningGateway;
  let ep: { path: string; secret: string };
  beforeAll(async () => {
    g = await gatewayWith({ HEADERS_TIMEOUT: 400, REQUEST_TIMEOUT: 1_000 });
    ep = await endpointOn(g);
  });

  it("cuts off a body that trickles in (slowloris) at the request timeout, storing nothing", async () => {
    const before = await stream.count();
    const head = `POST /webhook/${ep.path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-GitHub-Event: push\r\nX-Hub-Signature-256: sha256=00\r\nContent-Length: 10000\r\n\r\n{`;
    const { ms, response } = await slowClient(g.url, head, " ", 100);
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(3_000);
    // node:http answers 408 when it can, else just closes.
    if (response) expect(response).toMatch(/^HTTP\/1\.1 408/);
    expect(await stream.count()).toBe(before);
  });

  it("cuts off headers that trickle in at the headers timeout", async () => {
    const { ms, response } = await slowClient(g.url, `POST /webhook/${ep.path} HTTP/1.1\r\nHost: x\r\n`, "X-Pad: a\r\n", 100);
    expect(ms).toBeGreaterThanOrEqual(300);
    expect(ms).toBeLessThan(2_500);
    if (response) expect(response).toMatch(/^HTTP\/1\.1 408/);
  });

  it("still serves a normal delivery", async () => {
    expect((await send(g.url, ep.path, ep.secret)).status).toBe(202);
  });
});

describe("body limit and the server's max_payload", () => {
  const maxPayload = () => 32 * 1024 * 1024; // the generated nats-server config (stack/src/nats-config.ts)

  it("refuses to start with a MAX_BODY_BYTES that cannot fit under max_payload", async () => {
    await expect(startGateway({ ...broker.config, MAX_BODY_BYTES: 40 * 1024 * 1024 }, createLogger("gateway", { level: "silent" }))).rejects.toThrow(
      /MAX_BODY_BYTES: 41943040 bytes does not fit in a NATS message: the server's max_payload is 33554432 bytes/,
    );
  });

  it("refuses at creation an endpoint body limit above what max_payload allows", async () => {
    const create = (max_body_bytes: number) =>
      fetch(`${broker.url}/api/v1/endpoints`, {
        method: "POST",
        headers: { ...bearer(owner.token), "content-type": "application/json" },
        body: JSON.stringify({ path: `big/${randomUUID()}`, provider: "github", max_body_bytes }),
      });
    const over = await create(bodyCeiling(maxPayload()) + 1);
    expect(over.status).toBe(400);
    expect((await over.json()).error.message).toMatch(/max_body_bytes: \d+ does not fit in a NATS message; this broker's max_payload of 33554432 bytes allows at most 33488896/);
    expect((await create(bodyCeiling(maxPayload()))).status).toBe(201);
  });

  it("stores a body of exactly the largest size max_payload allows, and refuses one byte more with 413", async () => {
    const ep = await broker.endpoint({ userId: owner.id }, { maxBodyBytes: bodyCeiling(maxPayload()) });
    const body = Buffer.alloc(bodyCeiling(maxPayload()), "a").toString();
    const post = async (text: string) =>
      fetch(`${broker.url}/webhook/${ep.path}`, {
        method: "POST",
        headers: { "x-github-event": "push", "x-github-delivery": randomUUID(), "x-hub-signature-256": await githubSign(ep.secret, text) },
        body: text,
      });
    const before = await stream.count();
    const ok = await post(body);
    expect(ok.status).toBe(202);
    expect((await stream.get((await ok.json()).id)).data.byteLength).toBe(body.length);
    const over = await post(body + "a");
    expect(over.status).toBe(413);
    expect(await stream.count()).toBe(before + 1);
  });
});
