import { Webhook as StandardWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { afterEach, describe, expect, it, vi } from "vitest";
import { standardWebhooks } from "./standard-webhooks.js";
import { NOW, NOW_S, expectCode, input, without } from "./testing.js";

// Signatures from the reference libraries (standardwebhooks, svix), not from our code.
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const PREVIOUS = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
const payload = JSON.stringify({ type: "invoice.paid", timestamp: "2026-01-01T00:00:00Z", data: { id: "inv_1" } });

function signed(secret = SECRET, at = NOW, body = payload): Record<string, string> {
  return {
    "webhook-id": ID,
    "webhook-timestamp": String(Math.floor(at / 1000)),
    "webhook-signature": new StandardWebhook(secret).sign(ID, new Date(at), body),
  };
}
const verify = (headers: Record<string, string>, secrets: string[] = [SECRET], body = payload, options = {}) =>
  standardWebhooks.verify(input({ body, headers, secrets, options }));

describe("standard-webhooks", () => {
  it("verifies a standardwebhooks signature; delivery id is webhook-id, event the body's type", () => {
    expect(verify(signed())).toEqual({ event: "invoice.paid", deliveryId: ID, verified: true });
  });

  it("verifies Svix's svix-* headers signed by the svix library", () => {
    const headers = {
      "svix-id": ID,
      "svix-timestamp": String(NOW_S),
      "svix-signature": new SvixWebhook(SECRET).sign(ID, new Date(NOW), payload),
    };
    expect(verify(headers)).toMatchObject({ deliveryId: ID, verified: true });
  });

  it("rejects a tampered body, a changed id and a changed timestamp", () => {
    expectCode(() => verify(signed(), [SECRET], `${payload} `), "signature_invalid", /matches/);
    expectCode(() => verify({ ...signed(), "webhook-id": "msg_other" }), "signature_invalid");
    expectCode(() => verify({ ...signed(), "webhook-timestamp": String(NOW_S + 1) }), "signature_invalid");
  });

  it("rejects the wrong secret", () => {
    expectCode(() => verify(signed(), ["whsec_bm90IHRoZSBzZWNyZXQ="]), "signature_invalid");
  });

  it("rejects each missing header", () => {
    for (const name of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
      expectCode(() => verify(without(signed(), name)), "signature_missing", new RegExp(name));
    }
  });

  it("rejects malformed signature and timestamp headers", () => {
    expectCode(() => verify({ ...signed(), "webhook-signature": "v2,abc" }), "signature_invalid", /no v1/);
    expectCode(() => verify({ ...signed(), "webhook-signature": "v1,!!!" }), "signature_invalid", /no v1/);
    expectCode(() => verify({ ...signed(), "webhook-timestamp": "yesterday" }), "timestamp_invalid");
  });

  it("rejects stale and future timestamps beyond the tolerance", () => {
    expectCode(() => verify(signed(SECRET, NOW - 301_000)), "timestamp_out_of_range");
    expectCode(() => verify(signed(SECRET, NOW + 301_000)), "timestamp_out_of_range");
    expect(verify(signed(SECRET, NOW - 299_000)).verified).toBe(true);
    expectCode(() => verify(signed(SECRET, NOW - 31_000), [SECRET], payload, { tolerance_seconds: 30 }), "timestamp_out_of_range");
  });

  describe("at exactly the tolerance", () => {
    afterEach(() => vi.useRealTimers());
    it("accepts a delivery 300 s old late in that second, as the standardwebhooks library does", () => {
      const receivedAt = (NOW_S + 300) * 1000 + 999;
      const headers = signed(SECRET, NOW);
      vi.useFakeTimers({ now: receivedAt, toFake: ["Date"] });
      expect(new StandardWebhook(SECRET).verify(payload, headers)).toEqual(JSON.parse(payload));
      vi.useRealTimers();
      expect(standardWebhooks.verify(input({ body: payload, headers, secrets: [SECRET], now: receivedAt })).verified).toBe(true);
      expectCode(() => standardWebhooks.verify(input({ body: payload, headers, secrets: [SECRET], now: receivedAt + 1 })), "timestamp_out_of_range");
    });
  });

  it("accepts any of several space-separated signatures, ignoring other versions", () => {
    const mine = signed(PREVIOUS)["webhook-signature"];
    const headers = { ...signed(), "webhook-signature": `v1a,Zm9v v1,${"A".repeat(43)}= ${mine}` };
    expect(verify(headers, [PREVIOUS]).verified).toBe(true);
  });

  it("accepts the previous secret during rotation, and no secret outside the list", () => {
    expect(verify(signed(PREVIOUS), [SECRET, PREVIOUS]).verified).toBe(true);
    expectCode(() => verify(signed(PREVIOUS), [SECRET]), "signature_invalid");
  });

  it("accepts a secret without the whsec_ prefix, as the reference libraries do", () => {
    expect(verify(signed(), [SECRET.slice("whsec_".length)]).verified).toBe(true);
  });
});
