/**
 * Exact bytes: the senders' signatures re-verified by their own libraries (GitHub's
 * @octokit/webhooks-methods, Stripe's `stripe`) or by the sender's documented scheme (Slack,
 * Shopify) from what `/messages/:id/raw` and `payload=base64` return. Stripe's pretty-printed
 * JSON and a Shopify id above 2^53 are exactly what a JSON round trip breaks.
 */
import { execFileSync } from "node:child_process";
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { verify as verifyGithub } from "@octokit/webhooks-methods";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, deliverGithub, openStream, pull, pushPayload, startTestBroker, type TestBroker } from "@wb/test-support";

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker();
});
afterAll(() => broker?.close());

const hmac = (secret: string, text: string, enc: "hex" | "base64") => createHmac("sha256", secret).update(text).digest(enc);
const raw = (id: number, token: string) => fetch(`${broker.url}/api/v1/messages/${id}/raw`, { headers: bearer(token) });

async function post(path: string, body: string, headers: Record<string, string>): Promise<number> {
  const res = await fetch(`${broker.url}/webhook/${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
  expect(res.status).toBe(202);
  return (await res.json()).id;
}

/** The message's payload bytes from a base64 pull (a replay from just before it, so ack state is untouched). */
async function base64Payload(token: string, id: number): Promise<Buffer> {
  const page = await pull(broker.url, token, `after_id=${id - 1}&limit=1&payload=base64`);
  const m = page.body.messages[0];
  expect(m).toMatchObject({ id, payload_encoding: "base64" });
  return Buffer.from(m.payload, "base64");
}

describe("exact bytes", () => {
  it("GitHub: raw returns the body and headers the signature verifies against", async () => {
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    const id = await deliverGithub(broker.url, ep);
    const res = await raw(id, u.token);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("x-wb-event")).toBe("push");
    expect(res.headers.get("x-wb-header-x-github-event")).toBe("push");
    const body = await res.text();
    expect(body).toBe(pushPayload);
    expect(await verifyGithub(ep.secret, body, res.headers.get("x-wb-header-x-hub-signature-256")!)).toBe(true);
    expect(await verifyGithub(ep.secret, (await base64Payload(u.token, id)).toString("utf8"), res.headers.get("x-wb-header-x-hub-signature-256")!)).toBe(true);
  });

  it("Stripe: pretty-printed JSON verifies from raw and base64, not after a JSON round trip", async () => {
    const u = await broker.user();
    const secret = `whsec_${randomBytes(24).toString("base64")}`;
    const ep = await broker.endpoint({ userId: u.id }, { provider: "stripe", secret });
    // Stripe sends its events pretty-printed (two-space indent, newlines).
    const body = JSON.stringify({ id: `evt_${randomBytes(6).toString("hex")}`, object: "event", type: "invoice.paid", data: { object: { amount: 100 } } }, null, 2);
    const id = await post(ep.path, body, { "stripe-signature": Stripe.webhooks.generateTestHeaderString({ payload: body, secret }) });
    const res = await raw(id, u.token);
    const bytes = Buffer.from(await res.arrayBuffer());
    const signature = res.headers.get("x-wb-header-stripe-signature")!;
    const stripe = new Stripe("sk_test_unused");
    expect(stripe.webhooks.constructEvent(bytes, signature, secret).type).toBe("invoice.paid");
    expect(stripe.webhooks.constructEvent(await base64Payload(u.token, id), signature, secret).type).toBe("invoice.paid");
    // What a JSON pull hands out, re-serialized, no longer verifies: why raw bytes are needed.
    const page = await pull(broker.url, u.token, `after_id=${id - 1}&limit=1`);
    expect(() => stripe.webhooks.constructEvent(JSON.stringify(page.body.messages[0].payload), signature, secret)).toThrow();
  });

  it("Slack: the v0 signature over v0:timestamp:body verifies from raw (Slack's documented scheme)", async () => {
    const u = await broker.user();
    const secret = randomBytes(24).toString("hex");
    const ep = await broker.endpoint({ userId: u.id }, { provider: "slack", secret });
    const ts = String(Math.floor(Date.now() / 1000));
    const body = JSON.stringify({ type: "event_callback", event_id: `Ev${randomBytes(6).toString("hex")}`, event: { type: "app_mention", text: "héllo" } });
    const id = await post(ep.path, body, { "x-slack-request-timestamp": ts, "x-slack-signature": `v0=${hmac(secret, `v0:${ts}:${body}`, "hex")}` });
    const res = await raw(id, u.token);
    const got = await res.text();
    const sent = Buffer.from(res.headers.get("x-wb-header-x-slack-signature")!);
    const expected = Buffer.from(`v0=${hmac(secret, `v0:${res.headers.get("x-wb-header-x-slack-request-timestamp")}:${got}`, "hex")}`);
    expect(sent.length === expected.length && timingSafeEqual(sent, expected)).toBe(true);
  });

  it("Shopify: an id above 2^53 survives in the bytes, and the HMAC verifies from base64", async () => {
    const u = await broker.user();
    const secret = randomBytes(24).toString("hex");
    const ep = await broker.endpoint({ userId: u.id }, { provider: "shopify", secret });
    const body = `{"id":9007199254740993,"total_price":"10.00"}`;
    const id = await post(ep.path, body, {
      "x-shopify-topic": "orders/create",
      "x-shopify-webhook-id": randomBytes(6).toString("hex"),
      "x-shopify-hmac-sha256": hmac(secret, body, "base64"),
    });
    const bytes = await base64Payload(u.token, id);
    expect(bytes.toString("utf8")).toContain("9007199254740993");
    const res = await raw(id, u.token);
    expect(hmac(secret, bytes.toString("utf8"), "base64")).toBe(res.headers.get("x-wb-header-x-shopify-hmac-sha256"));
    // JSON.parse would have made it ...992.
    expect(String(JSON.parse(bytes.toString("utf8")).id)).not.toBe("9007199254740993");
  });

  it("payload=base64 on the stream too", async () => {
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    await deliverGithub(broker.url, ep);
    const s = await openStream(broker.url, u.token, "payload=base64&ack=auto");
    const m = JSON.parse((await s.nextEvent()).data);
    expect(m.payload_encoding).toBe("base64");
    expect(Buffer.from(m.payload, "base64").toString("utf8")).toBe(pushPayload);
    s.close();
  });

  it("a payload nested 1000 deep comes back base64 and the page stays readable for Python and jq", async () => {
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    const deep = "[".repeat(1000) + "]".repeat(1000);
    const a = await deliverGithub(broker.url, ep, { body: deep });
    const b = await deliverGithub(broker.url, ep);
    const res = await fetch(`${broker.url}/api/v1/messages?after_id=${a - 1}&limit=2`, { headers: bearer(u.token) });
    const text = await res.text();
    const page = JSON.parse(text);
    expect(page.messages.map((m: any) => [m.id, m.payload_encoding])).toEqual([
      [a, "base64"],
      [b, "json"],
    ]);
    expect(Buffer.from(page.messages[0].payload, "base64").toString()).toBe(deep);
    expect(execFileSync("python3", ["-c", "import json,sys; print(len(json.load(sys.stdin)['messages']))"], { input: text }).toString().trim()).toBe("2");
    expect(execFileSync("jq", [".messages | length"], { input: text }).toString().trim()).toBe("2");
  });

  it("raw reads only what the caller may read: a foreign id is the same 404 as a missing one", async () => {
    const owner = await broker.user();
    const outsider = await broker.user();
    const id = await deliverGithub(broker.url, await broker.endpoint({ userId: owner.id }));
    expect((await raw(id, owner.token)).status).toBe(200); // positive control
    const foreign = await raw(id, outsider.token);
    const missing = await raw(id + 1_000_000, outsider.token);
    expect(foreign.status).toBe(404);
    expect(missing.status).toBe(404);
    const [f, m] = [await foreign.json(), await missing.json()];
    expect(f.error.code).toBe("message_not_found");
    expect(f.error.code).toBe(m.error.code);
    expect((await raw(0, owner.token)).status).toBe(400);
    expect((await fetch(`${broker.url}/api/v1/messages/${id}/raw`)).status).toBe(401);
  });
});
