import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { stripe } from "./stripe.js";
import { NOW_S, expectCode, input } from "./testing.js";

// Signatures from Stripe's own library (`generateTestHeaderString`), not from our code.
const SECRET = "whsec_test_current_0123456789";
const PREVIOUS = "whsec_test_previous_9876543210";
const payload = JSON.stringify({ id: "evt_1NG8Du2eZvKYlo2CUI79vXWy", object: "event", type: "payment_intent.succeeded", data: { object: {} } });
const header = (secret = SECRET, timestamp = NOW_S, body = payload) =>
  Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp });
const verify = (h: string, secrets: string[] = [SECRET], body = payload, options = {}) =>
  stripe.verify(input({ body, headers: { "Stripe-Signature": h }, secrets, options }));

describe("stripe", () => {
  it("verifies Stripe's test header and reads type and id from the verified body", () => {
    expect(verify(header())).toEqual({ event: "payment_intent.succeeded", deliveryId: "evt_1NG8Du2eZvKYlo2CUI79vXWy", verified: true });
  });

  it("rejects a tampered body", () => {
    expectCode(() => verify(header(), [SECRET], payload.replace("succeeded", "failed")), "signature_invalid", /matches/);
  });

  it("rejects the wrong secret", () => {
    expectCode(() => verify(header(), ["whsec_other"]), "signature_invalid");
  });

  it("rejects a missing header", () => {
    expectCode(() => stripe.verify(input({ body: payload, secrets: [SECRET] })), "signature_missing");
  });

  it("rejects malformed headers", () => {
    expectCode(() => verify("garbage"), "signature_invalid", /no v1/);
    expectCode(() => verify(`t=${NOW_S},v0=abc`), "signature_invalid", /no v1/);
    expectCode(() => verify(`v1=${"a".repeat(64)}`), "timestamp_invalid");
    expectCode(() => verify(`t=${NOW_S},t=${NOW_S},v1=${"a".repeat(64)}`), "timestamp_invalid");
    expectCode(() => verify(`t=soon,v1=${"a".repeat(64)}`), "timestamp_invalid");
    expectCode(() => verify(`t=${NOW_S},v1=zz`), "signature_invalid");
  });

  it("rejects stale and future timestamps beyond 300 s, accepts them within", () => {
    expectCode(() => verify(header(SECRET, NOW_S - 301)), "timestamp_out_of_range");
    expectCode(() => verify(header(SECRET, NOW_S + 301)), "timestamp_out_of_range");
    expect(verify(header(SECRET, NOW_S - 300)).verified).toBe(true);
    expect(verify(header(SECRET, NOW_S + 300)).verified).toBe(true);
  });

  it("accepts a delivery exactly 300 s old late in that second, as stripe-node does", () => {
    // Received 300.999 s after the signed second: stripe-node compares whole seconds and accepts.
    const receivedAt = (NOW_S + 300) * 1000 + 999;
    const h = header(SECRET, NOW_S);
    expect(Stripe.webhooks.signature!.verifyHeader(payload, h, SECRET, 300, undefined, Math.floor(receivedAt / 1000))).toBe(true);
    expect(stripe.verify(input({ body: payload, headers: { "Stripe-Signature": h }, secrets: [SECRET], now: receivedAt })).verified).toBe(true);
    expectCode(() => stripe.verify(input({ body: payload, headers: { "Stripe-Signature": h }, secrets: [SECRET], now: receivedAt + 1 })), "timestamp_out_of_range");
  });

  it("honours tolerance_seconds", () => {
    expectCode(() => verify(header(SECRET, NOW_S - 61), [SECRET], payload, { tolerance_seconds: 60 }), "timestamp_out_of_range");
  });

  it("accepts any of several v1 signatures (Stripe rolling its secret)", () => {
    const [t, v1] = header(PREVIOUS).split(",");
    const other = header("whsec_unrelated").split(",")[1];
    expect(verify(`${t},${other},${v1}`, [SECRET, PREVIOUS]).verified).toBe(true);
  });

  it("accepts the previous secret during rotation, and no secret outside the list", () => {
    expect(verify(header(PREVIOUS), [SECRET, PREVIOUS]).verified).toBe(true);
    expectCode(() => verify(header(PREVIOUS), [SECRET]), "signature_invalid");
  });

  it("verifies a body that is not JSON, with no event or delivery id", () => {
    expect(verify(header(SECRET, NOW_S, "not json"), [SECRET], "not json")).toEqual({ event: "", deliveryId: null, verified: true });
  });
});
