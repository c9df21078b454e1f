import { randomUUID } from "node:crypto";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { deliverySubject, type ConsumerPlan, type schema } from "@wb/authz";
import { describe, expect, it } from "vitest";
import { deliveryFilter, H, MAX_JSON_DEPTH, renderMessage, renderPage } from "./deliveries.js";

const enc = new TextEncoder();
const bytes = (s: string) => enc.encode(s);

describe("renderMessage", () => {
  const endpointId = randomUUID();
  const stored = (data: Uint8Array, extra: Record<string, string> = {}) => {
    const h = natsHeaders();
    const ours = {
      [H.event]: "push",
      [H.deliveryId]: "d-1",
      [H.contentType]: "application/json",
      [H.receivedAt]: "2026-01-02T03:04:05.000Z",
      [H.endpointId]: endpointId,
      [H.source]: "github",
      [H.verified]: "true",
      [H.path]: "gh/repo/a b/ü",
    };
    for (const [k, v] of Object.entries({ ...ours, ...extra })) h.append(k, v);
    return { seq: 12, subject: "ignored", headers: h, data };
  };

  it("shows the envelope, the sender's headers (not ours, not nats-*), and a JSON body verbatim", () => {
    const body = '{ "b": [1, 2],\n "a": "x" }';
    const m = stored(bytes(body), { "X-GitHub-Event": "push", "User-Agent": "GitHub-Hookshot/1", "Nats-Msg-Id": "e:d-1" });
    const text = renderMessage({ ...m, redeliveryCount: 2, ackToken: "12.abc" });
    expect(text).toContain(`"payload":${body}}`); // spliced, not re-serialized
    expect(JSON.parse(text)).toEqual({
      id: 12,
      endpoint_id: endpointId,
      webhook_path: "/webhook/gh/repo/a%20b/%C3%BC",
      source: "github",
      event: "push",
      delivery_id: "d-1",
      verified: true,
      received_at: "2026-01-02T03:04:05.000Z",
      content_type: "application/json",
      delivery_count: 2,
      ack_token: "12.abc",
      headers: { "X-GitHub-Event": "push", "User-Agent": "GitHub-Hookshot/1" },
      payload_encoding: "json",
      payload: { b: [1, 2], a: "x" },
    });
  });

  it("leaves out delivery_count and ack_token when absent (replay)", () => {
    const out = JSON.parse(renderMessage(stored(bytes("{}"))));
    expect(out).not.toHaveProperty("delivery_count");
    expect(out).not.toHaveProperty("ack_token");
    expect(out.verified).toBe(true);
    expect(JSON.parse(renderMessage(stored(bytes("{}"), { [H.verified]: "false" }))).verified).toBe(false);
  });

  it("returns base64 for bodies that are not a JSON object or array: invalid JSON, scalars, binary, empty", () => {
    for (const raw of ['{"a":', "42", '"text"', "null", "", "\u00ff\u0000", "[1,2] trailing", " 42", '\n "text"', "  ", " \r\n\tnull"]) {
      const data = raw === "\u00ff\u0000" ? new Uint8Array([0xff, 0x00]) : bytes(raw);
      const out = JSON.parse(renderMessage(stored(data)));
      expect(out.payload_encoding, JSON.stringify(raw)).toBe("base64");
      expect(Buffer.from(out.payload, "base64")).toEqual(Buffer.from(data));
    }
    // Not UTF-8 but looks like JSON: base64 too, so no byte is lost.
    const latin1 = new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d]);
    expect(JSON.parse(renderMessage(stored(latin1))).payload_encoding).toBe("base64");
    // Leading whitespace does not change the rule: an object or array after it is inline.
    expect(JSON.parse(renderMessage(stored(bytes(' \n {"a":1}')))).payload).toEqual({ a: 1 });
  });

  it("inlines JSON up to MAX_JSON_DEPTH levels; deeper is base64 (parsers such as jq and Python's refuse it)", () => {
    const nested = (n: number) => "[".repeat(n) + "]".repeat(n);
    const ok = nested(MAX_JSON_DEPTH);
    expect(renderMessage(stored(bytes(ok))).endsWith(`"payload_encoding":"json","payload":${ok}}`)).toBe(true);
    const deep = JSON.parse(renderMessage(stored(bytes(nested(5_000)))));
    expect(deep.payload_encoding).toBe("base64");
    expect(Buffer.from(deep.payload, "base64").toString()).toBe(nested(5_000));
  });

  it("payload=base64 gives every payload as base64", () => {
    const out = JSON.parse(renderMessage(stored(bytes('{"a":1}')), { base64: true }));
    expect(out).toMatchObject({ payload_encoding: "base64", payload: Buffer.from('{"a":1}').toString("base64") });
  });

  it("renderPage: the page holds each message as renderMessage renders it, JSON bodies byte for byte", () => {
    const body = '{ "b": [1, 2],\n "é": "😀" }';
    const messages = [{ ...stored(bytes(body)), ackToken: "12.a" }, { ...stored(bytes("not json")), seq: 13 }, { ...stored(bytes("[1]")), seq: 14 }];
    const rest = ',"has_more":true,"next_cursor":"14"}';
    const page = Buffer.from(renderPage(messages, {}, rest)).toString("utf8");
    expect(page).toBe(`{"messages":[${messages.map((m) => renderMessage(m)).join(",")}]${rest}`);
    expect(page).toContain(`"payload":${body}}`);
    expect(JSON.parse(page).messages.map((m: { payload_encoding: string }) => m.payload_encoding)).toEqual(["json", "base64", "json"]);
    expect(JSON.parse(Buffer.from(renderPage(messages, { base64: true }, rest)).toString()).messages.map((m: { payload_encoding: string }) => m.payload_encoding)).toEqual(["base64", "base64", "base64"]);
    expect(Buffer.from(renderPage([], {}, ',"has_more":false,"next_cursor":null}')).toString()).toBe('{"messages":[],"has_more":false,"next_cursor":null}');
  });

  it("joins repeated sender headers", () => {
    const h = stored(bytes("{}")).headers;
    h.append("X-Forwarded-For", "10.0.0.1");
    h.append("X-Forwarded-For", "10.0.0.2");
    expect(JSON.parse(renderMessage({ seq: 1, subject: "s", headers: h, data: bytes("{}") })).headers["X-Forwarded-For"]).toBe("10.0.0.1, 10.0.0.2");
  });
});

describe("deliveryFilter", () => {
  const mine = randomUUID();
  const revoked = randomUUID();
  type Sub = { pattern: string; event_type?: string[]; payload?: Record<string, unknown> };
  const plan = (subs: Sub[], readable = [mine]) =>
    ({
      consumer: {} as schema.Consumer,
      readable: new Set(readable),
      filters: [],
      subscriptions: subs.map((s) => ({
        webhookPathPattern: s.pattern,
        filters: { ...(s.event_type ? { event_type: s.event_type } : {}), ...(s.payload ? { payload: s.payload } : {}) },
      })) as ConsumerPlan["subscriptions"],
    }) satisfies ConsumerPlan;
  const msg = (path: string[], event = "push", body = "{}", endpoint = mine) => ({ subject: deliverySubject(endpoint, event, path), data: bytes(body) });

  it("hides deliveries of endpoints no longer readable, whatever the subscriptions", () => {
    expect(deliveryFilter(plan([]))(msg(["gh", "x"], "push", "{}", revoked))).toBe("hide");
    expect(deliveryFilter(plan([{ pattern: "/webhook/**" }], [mine]))(msg(["gh", "x"], "push", "{}", revoked))).toBe("hide");
    expect(deliveryFilter(plan([], []))(msg(["gh", "x"]))).toBe("hide");
  });

  it("shows everything readable when there are no subscriptions", () => {
    expect(deliveryFilter(plan([]))(msg(["gh", "x", "deep", "er"], "anything", "not json"))).toBe("show");
  });

  it("filters by path pattern and event type", () => {
    const f = deliveryFilter(plan([{ pattern: "/webhook/gh/x/ci/*", event_type: ["push"] }]));
    expect(f(msg(["gh", "x", "ci", "a"]))).toBe("show");
    expect(f(msg(["gh", "x", "ci", "a"], "pull_request"))).toBe("filter");
    expect(f(msg(["gh", "x", "ci", "a", "deeper"]))).toBe("filter");
    expect(f(msg(["gh", "x", "other"]))).toBe("filter");
  });

  it("applies payload filters only to the subscriptions whose path and event match", () => {
    const f = deliveryFilter(plan([{ pattern: "/webhook/gh/x/**", payload: { ref: "refs/heads/main", "repository.name": ["a", "b"] } }]));
    expect(f(msg(["gh", "x"], "push", JSON.stringify({ ref: "refs/heads/main", repository: { name: "b" } })))).toBe("show");
    expect(f(msg(["gh", "x"], "push", JSON.stringify({ ref: "refs/heads/dev", repository: { name: "b" } })))).toBe("filter");
    expect(f(msg(["gh", "x"], "push", JSON.stringify({ ref: "refs/heads/main", repository: { name: "c" } })))).toBe("filter");
    expect(f(msg(["gh", "x"], "push", "[1,2]"))).toBe("filter");
    expect(f(msg(["gh", "x"], "push", "not json"))).toBe("filter");
    expect(f(msg(["gh", "y"], "push", JSON.stringify({ ref: "refs/heads/main", repository: { name: "a" } })))).toBe("filter");
  });

  it("shows a message when any matching subscription has no payload filter, or any payload filter matches", () => {
    const f = deliveryFilter(
      plan([
        { pattern: "/webhook/gh/x/ci/**", payload: { ref: "refs/heads/main" } },
        { pattern: "/webhook/gh/x/ci/**", event_type: ["release"] },
        { pattern: "/webhook/gh/x/docs/**", payload: { ref: "refs/heads/docs" } },
      ]),
    );
    expect(f(msg(["gh", "x", "ci"], "release", "not json"))).toBe("show");
    expect(f(msg(["gh", "x", "ci"], "push", '{"ref":"refs/heads/main"}'))).toBe("show");
    expect(f(msg(["gh", "x", "ci"], "push", '{"ref":"refs/heads/docs"}'))).toBe("filter");
    expect(f(msg(["gh", "x", "docs"], "push", '{"ref":"refs/heads/docs"}'))).toBe("show");
  });
});
