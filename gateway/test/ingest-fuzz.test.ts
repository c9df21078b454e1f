/**
 * Property test over hostile paths and header values, sent byte for byte over a raw socket to the
 * real HTTP server (fetch and node:http would normalize or refuse them first). Properties: the
 * gateway never answers 5xx, and everything it stores is on a well-formed delivery subject of an
 * endpoint that exists: no `*`, `>` or empty token, no stray subject.
 */
import { connect as tcpConnect } from "node:net";
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { parseDeliverySubject } from "@wb/authz";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestBroker, type TestBroker, streamReader, type StreamReader } from "@wb/test-support";

let broker: TestBroker;
let stream: StreamReader;
const endpointIds = new Set<string>();
let prefix: string;

beforeAll(async () => {
  broker = await startTestBroker({ RATE_LIMIT_PER_ENDPOINT: "off", RATE_LIMIT_PER_CLIENT: "off" });
  stream = await streamReader(broker);
  const owner = await broker.user();
  prefix = `fz${randomBytes(3).toString("hex")}`;
  // `none` stores whatever arrives, so every accepted path reaches the stream; the event comes
  // from a header, so header values reach the subject too. A nested endpoint tests longest-prefix.
  for (const path of [prefix, `${prefix}/nested`, `${prefix}/$JS`]) {
    const ep = await broker.endpoint({ userId: owner.id }, { path, provider: "none", options: { event_header: "x-event", delivery_header: "x-delivery" } });
    endpointIds.add(ep.id);
  }
});
afterAll(async () => {
  await stream?.close();
  await broker?.close();
});

/** Sends one request as raw bytes with `Connection: close`; the status, or 0 when the server just closed. */
function rawPost(requestTarget: string, headers: [string, string][], body: string): Promise<number> {
  const { port } = new URL(broker.url);
  return new Promise((resolve) => {
    const socket = tcpConnect(Number(port), "127.0.0.1");
    let response = "";
    socket.on("connect", () => {
      const head = [`POST ${requestTarget} HTTP/1.1`, "Host: fuzz", "Connection: close", `Content-Length: ${Buffer.byteLength(body)}`, ...headers.map(([k, v]) => `${k}: ${v}`)];
      // write, not end: a client that half-closes its side gets no answer from node:http.
      socket.write(Buffer.from(`${head.join("\r\n")}\r\n\r\n${body}`, "utf8"));
    });
    socket.on("data", (d) => (response += d.toString("latin1")));
    socket.on("error", () => {});
    socket.on("close", () => resolve(Number(/^HTTP\/1\.[01] (\d{3})/.exec(response)?.[1] ?? 0)));
    setTimeout(() => socket.destroy(), 10_000).unref();
  });
}

const nasty = [
  ".", "..", "...", "*", ">", "a*", "a>", "%2E", "%2e%2E", "%2E%2E%2F", "%00", "%0D%0A", "\r\n", "\n", "%", "%zz", "%E0%A4%A",
  "．", "．．", "%EF%BC%8E%EF%BC%8E", "$SYS", "$JS", "%24JS", "$G", "~", "~7E", "%7E", "%2F", "%5C", "\\", "%25", "%20", " ", "\t",
  "é", "%C3%A9", "%FF", "%E2%80%AE", "\u202e", "x".repeat(5_000), "y".repeat(700), "🦀", "?q=1", "#frag", ";", "a.b", "wh", "",
];
const segment = fc.oneof(
  fc.constantFrom(...nasty),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
  fc.string({ unit: "binary", maxLength: 8 }),
  fc.string({ unit: "grapheme", maxLength: 6 }),
);
const target = fc.tuple(fc.constantFrom("known", "nested", "$JS", "unknown", "bare"), fc.array(segment, { maxLength: 6 })).map(([base, segs]) => {
  const head = { known: `/webhook/${prefix}`, nested: `/webhook/${prefix}/nested`, $JS: `/webhook/${prefix}/%24JS`, unknown: "/webhook/nope", bare: "/webhook" }[base];
  return [head, ...segs].join("/");
});
const headerValue = fc.oneof(
  fc.constantFrom("", "*", ">", "a.b", "..", "push.*", "$SYS.x", "x".repeat(3_000), "a\u0000b", "é", "\r\nX-Injected: 1", " spaced "),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 20 }),
);

describe("ingest under hostile paths and headers", () => {
  it("never answers 5xx and stores only well-formed subjects of existing endpoints", async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(target, headerValue, headerValue, fc.string({ maxLength: 64 }), async (path, event, delivery, body) => {
        const status = await rawPost(path, [["X-Event", event], ["X-Delivery", delivery], ["Content-Type", "application/json"]], body);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        expect(status, `${JSON.stringify(path)} event=${JSON.stringify(event)}`).toBeLessThan(500);
      }),
      { numRuns: 400 },
    );
    // The run must have exercised both sides: stored deliveries and refusals.
    expect(statuses.get(202) ?? 0).toBeGreaterThan(20);
    expect([...statuses.keys()].some((s) => s >= 400)).toBe(true);

    const subjects = await stream.subjects();
    // Duplicates answer 202 without storing, so at most one message per 202.
    expect(subjects.length).toBeGreaterThan(0);
    expect(subjects.length).toBeLessThanOrEqual(statuses.get(202) ?? 0);
    for (const subject of subjects) {
      const tokens = subject.split(".");
      expect(tokens.every((t) => t !== "" && t !== "*" && t !== ">" && !/\s/.test(t)), subject).toBe(true);
      const parsed = parseDeliverySubject(subject);
      expect(endpointIds.has(parsed.endpointId), subject).toBe(true);
    }
  }, 60_000);
});
