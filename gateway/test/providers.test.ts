/**
 * Every provider through the real HTTP ingest and a real nats-server. Deliveries are signed by
 * the providers' own libraries where one exists (@octokit/webhooks-methods, stripe,
 * standardwebhooks, svix, atlassian-jwt); Slack, Shopify, GitLab and the generic HMAC have no
 * such library and are signed with node:crypto as their documentation describes.
 */
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { sign as githubSign } from "@octokit/webhooks-methods";
import { createQueryStringHash, encodeSymmetric, fromMethodAndUrl } from "atlassian-jwt";
import { Webhook as StandardWebhook } from "standardwebhooks";
import Stripe from "stripe";
import { Webhook as SvixWebhook } from "svix";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startTestBroker, type TestBroker, streamReader, type StreamReader, bearer, pull } from "@wb/test-support";

interface Signing {
  secret: string;
  body: string;
  /** Delivery id for schemes that carry one in a header. */
  id: string;
  /** Signing time, Unix ms. */
  at: number;
  /** `/webhook/<path>` as sent (the Connect JWT binds it). */
  urlPath: string;
}

interface Sender {
  name: string;
  provider: string;
  options?: Record<string, unknown>;
  newSecret(): string;
  /** A payload; `id` lets body-only schemes (Stripe) carry a fresh delivery id. */
  body(id: string): string;
  headers(s: Signing): Promise<Record<string, string>> | Record<string, string>;
  /** Removed for the missing-signature case. */
  signatureHeader: string;
  /** `both`: stale and future timestamps are refused; `past`: only expiry (a JWT's exp). */
  timestamp?: "both" | "past";
  /** The scheme does not cover the body (GitLab's token, Connect's JWT), so a tampered body cannot be told apart. */
  unsignedBody?: boolean;
  event: string;
  /** The delivery id the broker records for `id`. */
  deliveryId(id: string): string;
}

const hex = () => randomBytes(24).toString("hex");
const hmac = (alg: string, key: string | Buffer, data: string, enc: "hex" | "base64") => createHmac(alg, key).update(data).digest(enc);
const seconds = (ms: number) => Math.floor(ms / 1000);
const whsec = () => `whsec_${randomBytes(24).toString("base64")}`;

const senders: Sender[] = [
  {
    name: "github",
    provider: "github",
    newSecret: hex,
    body: (id) => JSON.stringify({ ref: "refs/heads/main", after: id }),
    headers: async (s) => ({ "x-github-event": "push", "x-github-delivery": s.id, "x-hub-signature-256": await githubSign(s.secret, s.body) }),
    signatureHeader: "x-hub-signature-256",
    event: "push",
    deliveryId: (id) => id,
  },
  {
    name: "gitlab",
    provider: "gitlab",
    newSecret: hex,
    body: (id) => JSON.stringify({ object_kind: "push", checkout_sha: id }),
    headers: (s) => ({ "x-gitlab-event": "Push Hook", "x-gitlab-event-uuid": s.id, "x-gitlab-token": s.secret }),
    signatureHeader: "x-gitlab-token",
    unsignedBody: true,
    event: "Push Hook",
    deliveryId: (id) => id,
  },
  {
    // Jira admin webhooks sign exactly as GitHub's X-Hub-Signature-256, so GitHub's library is the oracle.
    name: "jira (X-Hub-Signature)",
    provider: "jira",
    newSecret: hex,
    body: (id) => JSON.stringify({ webhookEvent: "jira:issue_created", issue: { key: id } }),
    headers: async (s) => ({ "x-atlassian-webhook-identifier": s.id, "x-hub-signature": await githubSign(s.secret, s.body) }),
    signatureHeader: "x-hub-signature",
    event: "jira:issue_created",
    deliveryId: (id) => id,
  },
  {
    name: "jira (Atlassian Connect JWT)",
    provider: "jira",
    newSecret: hex,
    body: (id) => JSON.stringify({ webhookEvent: "jira:issue_updated", issue: { key: id } }),
    headers: (s) => ({
      "x-atlassian-webhook-identifier": s.id,
      authorization: `JWT ${encodeSymmetric(
        { iss: "jira:client", iat: seconds(s.at), exp: seconds(s.at) + 180, qsh: createQueryStringHash(fromMethodAndUrl("POST", s.urlPath)) },
        s.secret,
      )}`,
    }),
    signatureHeader: "authorization",
    timestamp: "past",
    // Atlassian's qsh binds method, path and query, not the body: a token captured in transit
    // could carry another body until it expires. Only the admin-webhook signature covers the body.
    unsignedBody: true,
    event: "jira:issue_updated",
    deliveryId: (id) => id,
  },
  {
    // Bitbucket's X-Hub-Signature is the same sha256=<hex> of the body.
    name: "bitbucket",
    provider: "bitbucket",
    newSecret: hex,
    body: (id) => JSON.stringify({ push: { changes: [] }, id }),
    headers: async (s) => ({ "x-event-key": "repo:push", "x-request-uuid": s.id, "x-hub-signature": await githubSign(s.secret, s.body) }),
    signatureHeader: "x-hub-signature",
    event: "repo:push",
    deliveryId: (id) => id,
  },
  {
    name: "stripe",
    provider: "stripe",
    newSecret: whsec,
    body: (id) => JSON.stringify({ id: `evt_${id}`, object: "event", type: "invoice.paid", data: { object: {} } }),
    headers: (s) => ({ "stripe-signature": Stripe.webhooks.generateTestHeaderString({ payload: s.body, secret: s.secret, timestamp: seconds(s.at) }) }),
    signatureHeader: "stripe-signature",
    timestamp: "both",
    event: "invoice.paid",
    deliveryId: (id) => `evt_${id}`,
  },
  {
    name: "slack",
    provider: "slack",
    newSecret: hex,
    body: (id) => JSON.stringify({ type: "event_callback", event_id: `Ev${id}`, event: { type: "app_mention", text: "hi" } }),
    headers: (s) => ({
      "x-slack-request-timestamp": String(seconds(s.at)),
      "x-slack-signature": `v0=${hmac("sha256", s.secret, `v0:${seconds(s.at)}:${s.body}`, "hex")}`,
    }),
    signatureHeader: "x-slack-signature",
    timestamp: "both",
    event: "app_mention",
    deliveryId: (id) => `Ev${id}`,
  },
  {
    name: "shopify",
    provider: "shopify",
    newSecret: hex,
    body: (id) => JSON.stringify({ id, total_price: "10.00" }),
    headers: (s) => ({ "x-shopify-topic": "orders/create", "x-shopify-webhook-id": s.id, "x-shopify-hmac-sha256": hmac("sha256", s.secret, s.body, "base64") }),
    signatureHeader: "x-shopify-hmac-sha256",
    event: "orders/create",
    deliveryId: (id) => id,
  },
  {
    name: "standard-webhooks",
    provider: "standard-webhooks",
    newSecret: whsec,
    body: (id) => JSON.stringify({ type: "user.created", data: { id } }),
    headers: (s) => ({
      "webhook-id": s.id,
      "webhook-timestamp": String(seconds(s.at)),
      "webhook-signature": new StandardWebhook(s.secret).sign(s.id, new Date(s.at), s.body),
    }),
    signatureHeader: "webhook-signature",
    timestamp: "both",
    event: "user.created",
    deliveryId: (id) => id,
  },
  {
    name: "svix (standard-webhooks, svix-* headers)",
    provider: "standard-webhooks",
    newSecret: whsec,
    body: (id) => JSON.stringify({ type: "invoice.created", data: { id } }),
    headers: (s) => ({
      "svix-id": s.id,
      "svix-timestamp": String(seconds(s.at)),
      "svix-signature": new SvixWebhook(s.secret).sign(s.id, new Date(s.at), s.body),
    }),
    signatureHeader: "svix-signature",
    timestamp: "both",
    event: "invoice.created",
    deliveryId: (id) => id,
  },
  {
    name: "hmac (sha512, base64, prefix, timestamp)",
    provider: "hmac",
    options: { header: "X-Signature", algorithm: "sha512", encoding: "base64", prefix: "sha512=", timestamp_header: "X-Timestamp", event_header: "X-Event", delivery_header: "X-Delivery" },
    newSecret: hex,
    body: (id) => JSON.stringify({ id }),
    headers: (s) => ({
      "x-event": "thing.happened",
      "x-delivery": s.id,
      "x-timestamp": String(seconds(s.at)),
      "x-signature": `sha512=${hmac("sha512", s.secret, `${seconds(s.at)}.${s.body}`, "base64")}`,
    }),
    signatureHeader: "x-signature",
    timestamp: "both",
    event: "thing.happened",
    deliveryId: (id) => id,
  },
];

let broker: TestBroker;
let stream: StreamReader;
let owner: { id: string; token: string };

beforeAll(async () => {
  broker = await startTestBroker();
  stream = await streamReader(broker);
  owner = await broker.user();
});
afterAll(async () => {
  await stream?.close();
  await broker?.close();
});

async function post(path: string, body: string | Uint8Array, headers: Record<string, string>): Promise<{ status: number; json: any; text: string }> {
  const res = await fetch(`${broker.url}/webhook/${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: body as BodyInit });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

/** Posts and expects a 401 with `code`, and that nothing was stored. */
async function expectRejected(path: string, body: string, headers: Record<string, string>, code: string | RegExp): Promise<void> {
  const before = await stream.count();
  const res = await post(path, body, headers);
  expect(res.status, res.text).toBe(401);
  expect(res.json.error.code).toMatch(code);
  expect(await stream.count()).toBe(before);
}

async function rotate(endpointId: string, token: string, body: Record<string, unknown>): Promise<Response> {
  return fetch(`${broker.url}/api/v1/endpoints/${endpointId}/rotate-secret`, {
    method: "POST",
    headers: { ...bearer(token), "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

type Endpoint = { id: string; path: string; secret: string };
/** Each sender's endpoint, made by its describe block below (the rotation test reuses them). */
const endpoints = new Map<string, Endpoint>();

function signingFor(sender: Sender, ep: Endpoint, over: Partial<Signing> = {}): Signing {
  const id = over.id ?? randomUUID();
  return { secret: ep.secret, body: sender.body(id), id, at: Date.now(), urlPath: `/webhook/${ep.path}`, ...over };
}

describe.each(senders)("$name", (sender) => {
  let ep: Endpoint;
  const signing = (over: Partial<Signing> = {}): Signing => signingFor(sender, ep, over);

  beforeAll(async () => {
    ep = await broker.endpoint({ userId: owner.id }, { provider: sender.provider, options: sender.options, secret: sender.newSecret() });
    endpoints.set(sender.name, ep);
  });

  it("stores a delivery signed by the sender's scheme, bytes and headers as received", async () => {
    const s = signing();
    const before = await stream.count();
    const res = await post(ep.path, s.body, await sender.headers(s));
    expect(res.status, res.text).toBe(202);
    expect(res.json).toMatchObject({ id: expect.any(Number), duplicate: false });
    expect(await stream.count()).toBe(before + 1);
    const m = await stream.get(res.json.id);
    expect(Buffer.from(m.data).toString("utf8")).toBe(s.body);
    expect(m.header.get("Wb-Source")).toBe(sender.provider);
    expect(m.header.get("Wb-Event")).toBe(sender.event);
    expect(m.header.get("Wb-Delivery-Id")).toBe(sender.deliveryId(s.id));
    expect(m.header.get("Wb-Verified")).toBe("true");
  });

  it("stores a redelivery once and answers duplicate with the first id", async () => {
    const s = signing();
    const headers = await sender.headers(s);
    const first = await post(ep.path, s.body, headers);
    expect(first.status, first.text).toBe(202);
    const count = await stream.count();
    const again = await post(ep.path, s.body, headers);
    expect(again.status).toBe(202);
    expect(again.json).toEqual({ id: first.json.id, received_at: first.json.received_at, duplicate: true });
    expect(await stream.count()).toBe(count);
  });

  it.skipIf(sender.unsignedBody)("rejects a tampered body", async () => {
    const s = signing();
    await expectRejected(ep.path, s.body.replace("{", '{"x":1,'), await sender.headers(s), "signature_invalid");
  });

  it("rejects a delivery signed with another secret", async () => {
    const s = signing({ secret: sender.newSecret() });
    await expectRejected(ep.path, s.body, await sender.headers(s), "signature_invalid");
  });

  it("rejects a delivery without its signature header", async () => {
    const s = signing();
    const headers = await sender.headers(s);
    delete headers[sender.signatureHeader];
    await expectRejected(ep.path, s.body, headers, "signature_missing");
  });

  it.skipIf(!sender.timestamp)("rejects a stale timestamp (10 minutes old)", async () => {
    const s = signing({ at: Date.now() - 600_000 });
    await expectRejected(ep.path, s.body, await sender.headers(s), "timestamp_out_of_range");
  });

  it.skipIf(sender.timestamp !== "both")("rejects a future timestamp (10 minutes ahead)", async () => {
    const s = signing({ at: Date.now() + 600_000 });
    await expectRejected(ep.path, s.body, await sender.headers(s), "timestamp_out_of_range");
  });
});

describe("secret rotation", () => {
  // Every sender in one test, so the run waits for one expiry rather than one per sender.
  it("after a rotation, each sender's new secret verifies, and the previous one only until it expires", async () => {
    const rotated: { sender: Sender; ep: Endpoint; old: string; expiresAt: number }[] = [];
    for (const sender of senders) {
      const before = endpoints.get(sender.name)!;
      const next = sender.newSecret();
      const res = await rotate(before.id, owner.token, { secret: next, previous_valid_for: "2s" });
      expect(res.status, sender.name).toBe(200);
      const body = await res.json();
      expect(body).toMatchObject({ id: before.id, secret: next, previous_secret_expires_at: expect.any(String) });
      const ep = { ...before, secret: next };
      endpoints.set(sender.name, ep);
      const withOld = signingFor(sender, ep, { secret: before.secret });
      expect((await post(ep.path, withOld.body, await sender.headers(withOld))).status, `${sender.name} old`).toBe(202);
      const withNew = signingFor(sender, ep);
      expect((await post(ep.path, withNew.body, await sender.headers(withNew))).status, `${sender.name} new`).toBe(202);
      rotated.push({ sender, ep, old: before.secret, expiresAt: Date.parse(body.previous_secret_expires_at) });
    }

    const last = Math.max(...rotated.map((r) => r.expiresAt));
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(last + 50), { timeout: 5_000, interval: 20 });
    for (const { sender, ep, old } of rotated) {
      const late = signingFor(sender, ep, { secret: old });
      await expectRejected(ep.path, late.body, await sender.headers(late), "signature_invalid");
      const still = signingFor(sender, ep);
      expect((await post(ep.path, still.body, await sender.headers(still))).status, sender.name).toBe(202);
    }
  });
});

describe("slack url_verification", () => {
  it("answers the challenge and stores nothing", async () => {
    const secret = hex();
    const ep = await broker.endpoint({ userId: owner.id }, { provider: "slack", secret });
    const body = JSON.stringify({ token: "legacy", challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", type: "url_verification" });
    const ts = seconds(Date.now());
    const before = await stream.count();
    const res = await post(ep.path, body, { "x-slack-request-timestamp": String(ts), "x-slack-signature": `v0=${hmac("sha256", secret, `v0:${ts}:${body}`, "hex")}` });
    expect(res.status).toBe(200);
    expect(res.text).toBe("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P");
    expect(await stream.count()).toBe(before);
    // An unsigned challenge is not answered.
    await expectRejected(ep.path, body, { "x-slack-request-timestamp": String(ts) }, "signature_missing");
  });
});

describe("none", () => {
  it("stores what it is sent, marked unverified, and dedupes on the configured delivery header", async () => {
    const reader = await broker.user();
    const ep = await broker.endpoint({ userId: reader.id }, { provider: "none", options: { event_header: "x-event", delivery_header: "x-delivery" } });
    const res = await post(ep.path, '{"hello":"world"}', { "x-event": "greeting", "x-delivery": "d-1" });
    expect(res.status).toBe(202);
    const m = await stream.get(res.json.id);
    expect(m.header.get("Wb-Verified")).toBe("false");
    const again = await post(ep.path, '{"hello":"world"}', { "x-event": "greeting", "x-delivery": "d-1" });
    expect(again.json).toMatchObject({ id: res.json.id, duplicate: true });

    // An empty delivery header is no id: the id is derived from the body, not "" for everyone.
    const blank1 = await post(ep.path, '{"n":1}', { "x-delivery": "" });
    const blank2 = await post(ep.path, '{"n":2}', { "x-delivery": "" });
    expect([blank1.json.duplicate, blank2.json.duplicate]).toEqual([false, false]);
    expect((await post(ep.path, '{"n":2}', { "x-delivery": "" })).json).toMatchObject({ id: blank2.json.id, duplicate: true });

    const got = await pull(broker.url, reader.token, "wait=2s&limit=10");
    expect(got.body.messages).toHaveLength(3);
    expect(got.body.messages[0]).toMatchObject({ id: res.json.id, verified: false, source: "none", event: "greeting", delivery_id: "d-1", payload: { hello: "world" } });
  });
});

describe("bodies that are not JSON", () => {
  it("stores invalid JSON with a valid signature byte for byte; pull returns it base64", async () => {
    const reader = await broker.user();
    const gh = await broker.endpoint({ userId: reader.id });
    const text = '{"truncated": [1, 2, ';
    const res = await post(gh.path, text, { "x-github-event": "push", "x-github-delivery": randomUUID(), "x-hub-signature-256": await githubSign(gh.secret, text) });
    expect(res.status).toBe(202);

    // Arbitrary bytes (invalid UTF-8, NUL, a stray brace) through the generic HMAC provider.
    const secret = hex();
    const raw = Buffer.concat([Buffer.from("{"), randomBytes(2048), Buffer.from([0xff, 0xfe, 0x00, 0x7b])]);
    const bin = await broker.endpoint({ userId: reader.id }, { provider: "hmac", options: { header: "X-Sig" }, secret });
    const res2 = await post(bin.path, raw, { "content-type": "application/octet-stream", "x-sig": createHmac("sha256", secret).update(raw).digest("hex") });
    expect(res2.status).toBe(202);
    expect(Buffer.from((await stream.get(res2.json.id)).data).equals(raw)).toBe(true);

    const got = await pull(broker.url, reader.token, "wait=2s&limit=10");
    const byId = new Map<number, any>(got.body.messages.map((m: any) => [m.id, m]));
    expect(byId.get(res.json.id)).toMatchObject({ payload_encoding: "base64" });
    expect(Buffer.from(byId.get(res.json.id).payload, "base64").toString("utf8")).toBe(text);
    expect(byId.get(res2.json.id)).toMatchObject({ payload_encoding: "base64" });
    expect(Buffer.from(byId.get(res2.json.id).payload, "base64").equals(raw)).toBe(true);
  });
});

describe("rotate-secret API", () => {
  it("generates a secret when none is given, returns it once, and lets only managers rotate", async () => {
    const stranger = await broker.user();
    const mine = await broker.endpoint({ userId: owner.id });
    const shared = await broker.endpoint({ userId: owner.id }, { isPublic: true });

    const res = await rotate(mine.id, owner.token, {});
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.secret).toMatch(/^[0-9a-f]{64}$/);
    expect(body.secret).not.toBe(mine.secret);
    // Default: the previous secret keeps verifying for 24 hours.
    expect(Date.parse(body.previous_secret_expires_at) - Date.now()).toBeGreaterThan(23.9 * 3_600_000);
    const shown = await (await fetch(`${broker.url}/api/v1/endpoints/${mine.id}`, { headers: bearer(owner.token) })).json();
    expect(JSON.stringify(shown)).not.toContain(body.secret);

    // previous_valid_for 0s cuts the old secret off at once.
    const cut = await (await rotate(mine.id, owner.token, { previous_valid_for: "0s" })).json();
    expect(cut.previous_secret_expires_at).toBeNull();
    const d = randomUUID();
    const payload = '{"a":1}';
    expect((await post(mine.path, payload, { "x-github-event": "push", "x-github-delivery": d, "x-hub-signature-256": await githubSign(body.secret, payload) })).status).toBe(401);
    expect((await post(mine.path, payload, { "x-github-event": "push", "x-github-delivery": d, "x-hub-signature-256": await githubSign(cut.secret, payload) })).status).toBe(202);

    expect((await rotate(mine.id, stranger.token, {})).status).toBe(404);
    expect((await rotate(randomUUID(), owner.token, {})).status).toBe(404);
    expect((await rotate(shared.id, stranger.token, {})).status).toBe(403);
    expect((await rotate(mine.id, owner.token, { previous_valid_for: "forever" })).status).toBe(400);
    expect((await rotate(mine.id, owner.token, { secret: "short" })).status).toBe(400);
    expect((await rotate(mine.id, owner.token, { owner: "me" })).status).toBe(400);
    const anonymous = await fetch(`${broker.url}/api/v1/endpoints/${mine.id}/rotate-secret`, { method: "POST" });
    expect(anonymous.status).toBe(401);
  });
});
