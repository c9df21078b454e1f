import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hmacOptionsSchema, hmacProvider } from "./hmac.js";
import { NOW_S, digestHeaderCases, expectCode, input } from "./testing.js";

const body = JSON.stringify({ kind: "thing.happened", id: 42 });
const extra = { "X-Event": "thing.happened", "X-Delivery": "d-42" };
const expected = { event: "thing.happened", deliveryId: "d-42" };

describe("hmac: sha256, hex, with prefix", () => {
  digestHeaderCases({
    provider: hmacProvider,
    header: "X-Signature",
    sign: (secret, b) => `sha256=${createHmac("sha256", secret).update(b).digest("hex")}`,
    body,
    extra,
    expected,
    options: { header: "X-Signature", prefix: "sha256=", event_header: "X-Event", delivery_header: "X-Delivery" },
  });
});

describe("hmac: sha512, base64, no prefix", () => {
  digestHeaderCases({
    provider: hmacProvider,
    header: "X-Signature",
    sign: (secret, b) => createHmac("sha512", secret).update(b).digest("base64"),
    body,
    extra,
    expected,
    options: { header: "X-Signature", algorithm: "sha512", encoding: "base64", event_header: "X-Event", delivery_header: "X-Delivery" },
  });
});

// biome-ignore lint/suspicious/noTemplateCurlyInString: the title shows the signed string's shape
describe("hmac: with timestamp_header, signing `${ts}.${body}`", () => {
  const SECRET = "timestamped-secret";
  const options = { header: "X-Signature", timestamp_header: "X-Timestamp", tolerance_seconds: 120 };
  const signed = (ts: number, b = body, secret = SECRET) => ({
    "X-Timestamp": String(ts),
    "X-Signature": createHmac("sha256", secret).update(`${ts}.${b}`).digest("hex"),
  });
  const verify = (headers: Record<string, string>, b = body) => hmacProvider.verify(input({ body: b, headers, secrets: [SECRET], options }));

  it("verifies, with no event or delivery header configured", () => {
    expect(verify(signed(NOW_S))).toEqual({ event: "", deliveryId: null, verified: true });
  });

  it("signs the timestamp: changing it breaks the signature", () => {
    expectCode(() => verify({ ...signed(NOW_S), "X-Timestamp": String(NOW_S - 1) }), "signature_invalid");
  });

  it("does not accept a signature of the body alone", () => {
    const headers = { "X-Timestamp": String(NOW_S), "X-Signature": createHmac("sha256", SECRET).update(body).digest("hex") };
    expectCode(() => verify(headers), "signature_invalid");
  });

  it("rejects stale, future, missing and malformed timestamps", () => {
    expectCode(() => verify(signed(NOW_S - 121)), "timestamp_out_of_range");
    expectCode(() => verify(signed(NOW_S + 121)), "timestamp_out_of_range");
    expect(verify(signed(NOW_S + 120)).verified).toBe(true);
    expectCode(() => verify({ "X-Signature": signed(NOW_S)["X-Signature"] }), "signature_missing", /X-Timestamp/);
    expectCode(() => verify({ ...signed(NOW_S), "X-Timestamp": "-5" }), "timestamp_invalid");
  });
});

describe("hmacOptionsSchema", () => {
  it("fills defaults", () => {
    expect(hmacOptionsSchema.parse({ header: "X-Sig" })).toEqual({ header: "X-Sig", algorithm: "sha256", encoding: "hex", prefix: "", tolerance_seconds: 300 });
  });

  it("rejects what an endpoint must not be created with", () => {
    for (const bad of [
      {},
      { header: "" },
      { header: "X Sig" },
      { header: "X-Sig", algorithm: "md5" },
      { header: "X-Sig", encoding: "base32" },
      { header: "X-Sig", tolerance_seconds: 0 },
      { header: "X-Sig", tolerance_seconds: 1.5 },
      { header: "X-Sig", timestamp_header: "bad header" },
      { header: "X-Sig", unknown: true },
    ]) {
      expect(hmacOptionsSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });

  it("is enforced by verify as well", () => {
    expect(() => hmacProvider.verify(input({ body, headers: {}, secrets: ["s"], options: {} }))).toThrow();
  });
});
