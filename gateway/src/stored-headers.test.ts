import { describe, expect, it } from "vitest";
import { headers as natsHeaders, type MsgHdrs } from "@nats-io/transport-node";
import { storedHeaders } from "./stored-headers.js";

/** What the ingest route stored before: a WHATWG Headers object, filtered, appended in order. */
function viaHeadersObject(raw: string[]): MsgHdrs {
  const headers = new Headers();
  for (let i = 0; i < raw.length; i += 2) if (!raw[i]!.startsWith(":")) headers.append(raw[i]!, raw[i + 1]!);
  const h = natsHeaders();
  headers.forEach((value, name) => {
    const stored = !["authorization", "cookie", "proxy-authorization", "x-gitlab-token", "host", "connection", "transfer-encoding", "content-length"].includes(name);
    if (stored && !name.startsWith("nats-") && !name.startsWith("wb-")) h.append(name, value);
  });
  return h;
}

const entries = (h: MsgHdrs) => [...(h as unknown as Iterable<[string, string[]]>)];

describe("storedHeaders", () => {
  const cases: Record<string, string[]> = {
    "a GitHub delivery": [
      "Host", "127.0.0.1:8080", "User-Agent", "GitHub-Hookshot/abc", "Content-Type", "application/json", "Content-Length", "6923",
      "X-GitHub-Event", "push", "X-GitHub-Delivery", "72d3162e", "X-Hub-Signature-256", "sha256=ab", "Accept", "*/*",
    ],
    "repeated headers, mixed case, padding": ["X-Tag", "a", "x-tag", " b ", "X-TAG", "c\t", "Accept", "text/html", "accept", "*/*"],
    "set-cookie kept apart": ["Set-Cookie", "a=1", "set-cookie", "b=2", "X-A", "1"],
    "credentials and reserved prefixes left out": [
      "Authorization", "Bearer secret", "Cookie", "s=1", "Proxy-Authorization", "Basic x", "X-Gitlab-Token", "t",
      "Nats-Msg-Id", "forged", "Wb-Verified", "true", "WB-Path", "x", "Connection", "keep-alive", "Transfer-Encoding", "chunked", "X-Kept", "yes",
    ],
    "HTTP/2 pseudo-headers": [":method", "POST", ":path", "/webhook/x", "x-a", "1"],
    "names that look like numbers": ["123", "n", "X-B", "2", "1", "m"],
    none: [],
  };
  for (const [name, raw] of Object.entries(cases)) {
    it(`stores what a Headers object gave: ${name}`, () => {
      expect(entries(storedHeaders(raw))).toEqual(entries(viaHeadersObject(raw)));
    });
  }

  it("never stores a credential", () => {
    const stored = storedHeaders(cases["credentials and reserved prefixes left out"]!);
    expect(entries(stored)).toEqual([["x-kept", ["yes"]]]);
  });
});
