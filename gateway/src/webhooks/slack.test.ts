import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { slack } from "./slack.js";
import { NOW_S, expectCode, input, without } from "./testing.js";

// Slack's documented example (api.slack.com, "Verifying requests from Slack"). The body there
// has `command=%2Fwebhook-collect`; the vector below was cross-checked against several
// independent copies of that page's example.
const DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
const DOC_TS = 1531420618;
const DOC_BODY =
  "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
const DOC_SIG = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

// For the other cases: node:crypto following the same documentation, not our verifier.
const SECRET = "slack-signing-secret-current";
const PREVIOUS = "slack-signing-secret-previous";
const event = JSON.stringify({ type: "event_callback", event_id: "Ev08MFMKH6", event: { type: "app_mention", text: "hi" } });
function signed(body = event, secret = SECRET, ts = NOW_S): Record<string, string> {
  return {
    "X-Slack-Request-Timestamp": String(ts),
    "X-Slack-Signature": `v0=${createHmac("sha256", secret).update(`v0:${ts}:${body}`).digest("hex")}`,
  };
}
const verify = (body: string, headers: Record<string, string>, secrets: string[] = [SECRET], options = {}) =>
  slack.verify(input({ body, headers, secrets, options }));

describe("slack", () => {
  it("verifies Slack's documented example (a slash command)", () => {
    const headers = { "X-Slack-Request-Timestamp": String(DOC_TS), "X-Slack-Signature": DOC_SIG };
    const result = slack.verify(input({ body: DOC_BODY, headers, secrets: [DOC_SECRET], now: (DOC_TS + 60) * 1000 }));
    expect(result).toEqual({ event: "slash_command", deliveryId: null, verified: true });
  });

  it("extracts event.type and event_id from an Events API callback", () => {
    expect(verify(event, signed())).toEqual({ event: "app_mention", deliveryId: "Ev08MFMKH6", verified: true });
  });

  it("answers url_verification with the challenge, after verifying", () => {
    const body = JSON.stringify({ token: "Jhj5dZrVaK7ZwHHjRyZWjbDl", challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", type: "url_verification" });
    expect(verify(body, signed(body)).reply).toEqual({ status: 200, contentType: "text/plain", body: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" });
    expectCode(() => verify(body, signed(body, "not the secret")), "signature_invalid");
  });

  it("reads the type of an interactivity payload", () => {
    const body = `payload=${encodeURIComponent(JSON.stringify({ type: "block_actions", actions: [] }))}`;
    expect(verify(body, signed(body))).toEqual({ event: "block_actions", deliveryId: null, verified: true });
  });

  it("rejects a tampered body", () => {
    expectCode(() => verify(event.replace("hi", "ho"), signed()), "signature_invalid", /does not match/);
  });

  it("rejects the wrong secret", () => {
    expectCode(() => verify(event, signed(), ["other"]), "signature_invalid");
  });

  it("rejects a missing signature or timestamp header", () => {
    expectCode(() => verify(event, without(signed(), "X-Slack-Signature")), "signature_missing", /X-Slack-Signature/);
    expectCode(() => verify(event, without(signed(), "X-Slack-Request-Timestamp")), "signature_missing", /Timestamp/);
  });

  it("rejects malformed headers", () => {
    const sig = signed()["X-Slack-Signature"]!;
    expectCode(() => verify(event, { ...signed(), "X-Slack-Signature": sig.replace("v0=", "v1=") }), "signature_invalid", /not of the form/);
    expectCode(() => verify(event, { ...signed(), "X-Slack-Signature": `${sig}00` }), "signature_invalid", /not of the form/);
    expectCode(() => verify(event, { ...signed(), "X-Slack-Request-Timestamp": "1.5e9" }), "timestamp_invalid");
  });

  it("rejects stale and future timestamps beyond five minutes", () => {
    expectCode(() => verify(event, signed(event, SECRET, NOW_S - 301)), "timestamp_out_of_range");
    expectCode(() => verify(event, signed(event, SECRET, NOW_S + 301)), "timestamp_out_of_range");
    expect(verify(event, signed(event, SECRET, NOW_S - 300)).verified).toBe(true);
    // The documented example is years old: replayed now, it must fail on time.
    const headers = { "X-Slack-Request-Timestamp": String(DOC_TS), "X-Slack-Signature": DOC_SIG };
    expectCode(() => verify(DOC_BODY, headers, [DOC_SECRET]), "timestamp_out_of_range");
  });

  it("accepts the previous secret during rotation, and no secret outside the list", () => {
    expect(verify(event, signed(event, PREVIOUS), [SECRET, PREVIOUS]).verified).toBe(true);
    expectCode(() => verify(event, signed(event, PREVIOUS), [SECRET]), "signature_invalid");
  });
});
