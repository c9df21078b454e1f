import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestBroker, type TestBroker, postGithub, pull, pushPayload, streamCount } from "@wb/test-support";

let broker: TestBroker;
let owner: { id: string; token: string };
let ep: { id: string; path: string; secret: string };
let small: { id: string; path: string; secret: string };

beforeAll(async () => {
  broker = await startTestBroker();
  owner = await broker.user();
  ep = await broker.endpoint({ userId: owner.id });
  small = await broker.endpoint({ userId: owner.id }, { maxBodyBytes: 1024 });
});
afterAll(() => broker?.close());

/** Sends bytes exactly as given (fetch would normalize paths and framing). */
function rawRequest(path: string, headers: Record<string, string>, chunks: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(broker.url + "/", { method: "POST", path, headers }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
    });
    req.on("error", reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

describe("ingest", () => {
  it("stores a signed GitHub push and answers 202 with the stream sequence", async () => {
    const before = await streamCount(broker);
    const res = await postGithub(`${broker.url}/webhook/${ep.path}`, { secret: ep.secret, deliveryId: "d-1" });
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(body).toMatchObject({ id: expect.any(Number), duplicate: false });
    expect(Date.parse(body.received_at)).toBeGreaterThan(Date.now() - 60_000);
    expect(await streamCount(broker)).toBe(before + 1);

    const got = await pull(broker.url, owner.token, "wait=2s&limit=10");
    const m = got.body.messages.find((x: any) => x.id === body.id);
    expect(m).toMatchObject({
      webhook_path: `/webhook/${ep.path}`,
      source: "github",
      event: "push",
      delivery_id: "d-1",
      endpoint_id: ep.id,
      payload_encoding: "json",
      received_at: body.received_at,
    });
    expect(m.payload).toEqual(JSON.parse(pushPayload));
    expect(m.headers["x-hub-signature-256"]).toMatch(/^sha256=/);
  });

  it("stores a redelivery once and answers duplicate with the first id", async () => {
    const first = await (await postGithub(`${broker.url}/webhook/${ep.path}/sub/dir`, { secret: ep.secret, deliveryId: "dup-1" })).json();
    const count = await streamCount(broker);
    const again = await postGithub(`${broker.url}/webhook/${ep.path}/sub/dir`, { secret: ep.secret, deliveryId: "dup-1" });
    expect(again.status).toBe(202);
    expect(await again.json()).toEqual({ id: first.id, received_at: first.received_at, duplicate: true });
    expect(await streamCount(broker)).toBe(count);
  });

  it.each([
    ["a wrong signature", { signature: "sha256=" + "0".repeat(64) }, "signature_invalid"],
    ["a malformed signature", { signature: "sha1=abc" }, "signature_invalid"],
    ["no signature", { signature: null }, "signature_missing"],
  ])("rejects %s with 401 and stores nothing", async (_name, opts, code) => {
    const before = await streamCount(broker);
    const res = await postGithub(`${broker.url}/webhook/${ep.path}`, { secret: ep.secret, ...opts });
    expect(res.status).toBe(401);
    const body = await res.json();
    expect(body.error).toMatchObject({ code, message: expect.any(String), request_id: expect.any(String) });
    expect(await streamCount(broker)).toBe(before);
  });

  it("rejects a body signed with another secret", async () => {
    const before = await streamCount(broker);
    const res = await postGithub(`${broker.url}/webhook/${ep.path}`, { secret: "not-the-endpoint-secret" });
    expect(res.status).toBe(401);
    expect(await streamCount(broker)).toBe(before);
  });

  it("answers 404 for a path no endpoint covers and stores nothing", async () => {
    const before = await streamCount(broker);
    const res = await postGithub(`${broker.url}/webhook/nobody/here`, { secret: ep.secret });
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe("endpoint_not_found");
    // A sibling that merely shares a string prefix is not covered either.
    const sibling = await postGithub(`${broker.url}/webhook/${ep.path}x`, { secret: ep.secret });
    expect(sibling.status).toBe(404);
    expect(await streamCount(broker)).toBe(before);
  });

  it("answers 413 over the size limit, declared or chunked, and stores nothing", async () => {
    const before = await streamCount(broker);
    const big = "x".repeat(2048);
    const declared = await postGithub(`${broker.url}/webhook/${small.path}`, { secret: small.secret, body: big });
    expect(declared.status).toBe(413);
    expect((await declared.json()).error.code).toBe("payload_too_large");
    const chunked = await rawRequest(`/webhook/${small.path}`, { "transfer-encoding": "chunked", "x-hub-signature-256": "sha256=00" }, [big.slice(0, 1000), big.slice(1000)]);
    expect(chunked.status).toBe(413);
    expect(await streamCount(broker)).toBe(before);
  });

  it.each([
    ["a dot-dot segment", "/../x"],
    ["an encoded dot-dot", "/%2E%2E/x"],
    ["fullwidth dots", "/%EF%BC%8E%EF%BC%8E/x"],
    ["a NUL", "/a%00b"],
    ["an encoded slash", "/a%2Fb"],
    ["a malformed escape", "/a%zz"],
  ])("rejects a path with %s as 400", async (_n, suffix) => {
    const before = await streamCount(broker);
    const res = await rawRequest(`/webhook/${ep.path}${suffix}`, { "x-hub-signature-256": "sha256=00" }, ["{}"]);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).error.code).toBe("path_invalid");
    expect(await streamCount(broker)).toBe(before);
  });

  it("keeps wildcard characters literal: they reach the endpoint as path text", async () => {
    const res = await postGithub(`${broker.url}/webhook/${ep.path}/*/%3E/$x`, { secret: ep.secret });
    expect(res.status).toBe(202);
    const id = (await res.json()).id;
    const got = await pull(broker.url, owner.token, `after_id=${id - 1}&limit=1`);
    expect(got.body.messages[0].webhook_path).toBe(`/webhook/${ep.path}/*/%3E/%24x`);
  });

  it("stores non-JSON bodies byte for byte and returns them base64", async () => {
    const body = "a=1&b=%FF\u00e9";
    const res = await postGithub(`${broker.url}/webhook/${ep.path}`, { secret: ep.secret, body, headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(res.status).toBe(202);
    const id = (await res.json()).id;
    const m = (await pull(broker.url, owner.token, `after_id=${id - 1}&limit=1`)).body.messages[0];
    expect(m.payload_encoding).toBe("base64");
    expect(Buffer.from(m.payload, "base64").toString("utf8")).toBe(body);
  });

  it("never answers 2xx while JetStream is down, and recovers when it is back", async () => {
    await broker.nats.stop();
    try {
      for (let i = 0; i < 2; i++) {
        const t0 = Date.now();
        const res = await postGithub(`${broker.url}/webhook/${ep.path}`, { secret: ep.secret });
        expect(res.status).toBe(503);
        expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
        expect((await res.json()).error.code).toBe("unavailable");
        // At once, not after the publish timeout (5 s): the gateway knows the connection is down.
        expect(Date.now() - t0).toBeLessThan(1_000);
      }
    } finally {
      await broker.nats.start();
    }
    // The client reconnects on its own (a post sent before that waits out the publish timeout).
    await broker.gatewaysConnected();
    await expect
      .poll(async () => (await postGithub(`${broker.url}/webhook/${ep.path}`, { secret: ep.secret })).status, { timeout: 10_000, interval: 200 })
      .toBe(202);
  });
});
